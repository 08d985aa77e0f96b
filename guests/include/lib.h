/*
 * lib.h — the guest's tiny C library: string functions (the compiler emits
 * calls to memset/memcpy even in freestanding code) and formatting.
 */
#ifndef __LIB_H__
#define __LIB_H__

#include <stdarg.h>
#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *memset(void *s, int c, size_t n);
void *memcpy(void *dest, const void *src, size_t n);
void *memmove(void *dest, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
char *strncpy(char *dest, const char *src, size_t n);

/*
 * Formatting (lib/printf.c): %d %i %u %x %X %p %s %c %% with the l and ll
 * length modifiers, a width, the '0' and '-' flags, and a precision for %s.
 */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The engine under vsnprintf and printk: emit(c, arg) for every output char. */
typedef void (*format_emit_t)(char c, void *arg);
int do_printf(format_emit_t emit, void *arg, const char *fmt, va_list ap);

#endif /* __LIB_H__ */
