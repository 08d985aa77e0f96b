/*
 * console.h — early output through Xen's emergency console (console_io),
 * which needs no ring or event channel and so works from the first
 * instruction. Mini-OS names.
 */
#ifndef __CONSOLE_H__
#define __CONSOLE_H__

#include <stdarg.h>

/* Write len bytes of s with one console_io hypercall. */
void xen_console_write(const char *s, int len);

/* printf-style output to the console; see lib/printf.c for the formats. */
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vprintk(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif /* __CONSOLE_H__ */
