/* cmdline.h — reading "key=value" options from start_info.cmd_line. */
#ifndef __CMDLINE_H__
#define __CMDLINE_H__

/* The decimal value of "key=NNN" on the command line, or dflt if absent. */
unsigned long cmdline_ulong(const char *cmdline, const char *key, unsigned long dflt);

#endif /* __CMDLINE_H__ */
