/*
 * console.h — early output through Xen's emergency console (console_io),
 * which needs no ring or event channel and so works from the first
 * instruction. Mini-OS names.
 */
#ifndef __CONSOLE_H__
#define __CONSOLE_H__

#include <stdarg.h>

/* Write len bytes of s: to the console ring once connected, else console_io. */
void xen_console_write(const char *s, int len);

/*
 * The console ring (start_info.console.domU, io/console.h), served by
 * domain 0's xenconsoled. xencons_ring_init() connects it (0, or -1 on a
 * host with no console back end); from then on printk() uses it.
 */
struct start_info;
int xencons_ring_init(const struct start_info *si);
int xencons_ring_ready(void);
void xencons_ring_write(const char *s, int len);   /* waits for room */
int xencons_ring_read(char *buf, int len);         /* typed input; 0 if none */

/* printf-style output to the console; see lib/printf.c for the formats. */
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vprintk(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif /* __CONSOLE_H__ */
