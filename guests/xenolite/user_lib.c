/*
 * user_lib.c — the user programs' C library: formatted output, built in a
 * buffer on the stack and written with one write() per line (or per 128
 * bytes). User code: see the rules in user.h.
 */
#include "user.h"

struct obuf {
    char data[128];
    unsigned int len;
};

static void flush(struct obuf *b)
{
    if (b->len)
        write(1, b->data, b->len);
    b->len = 0;
}

static void put(struct obuf *b, char c)
{
    if (b->len == sizeof(b->data))
        flush(b);
    b->data[b->len++] = c;
    if (c == '\n')
        flush(b);
}

static void put_number(struct obuf *b, unsigned int n, unsigned int base, int negative,
                       int width, char pad)
{
    char digits[12];
    int i = 0;

    do {
        unsigned int d = n % base;

        digits[i++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        n /= base;
    } while (n);
    if (negative)
        digits[i++] = '-';
    for (; width > i; width--)
        put(b, pad);
    while (i > 0)
        put(b, digits[--i]);
}

/*
 * c == want, through an empty asm that makes each c look like a new value:
 * otherwise clang merges a chain of tests on one character into a switch
 * and compiles it to a jump table in the kernel's .rodata (user.h).
 */
static inline int is(char c, char want)
{
    asm volatile("" : "+r"(c));
    return c == want;
}

void uprintf(const char *fmt, ...)
{
    struct obuf b;
    va_list ap;
    const char *s;

    b.len = 0;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        char pad = ' ';
        int width = 0;

        if (!is(*fmt, '%')) {
            put(&b, *fmt);
            continue;
        }
        if (is(*++fmt, '0'))
            pad = '0';
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        if (is(*fmt, 'd')) {
            int v = va_arg(ap, int);

            put_number(&b, v < 0 ? 0u - (unsigned int)v : (unsigned int)v, 10, v < 0, width, pad);
        } else if (is(*fmt, 'u') || is(*fmt, 'x')) {
            put_number(&b, va_arg(ap, unsigned int), is(*fmt, 'u') ? 10 : 16, 0, width, pad);
        } else if (is(*fmt, 's')) {
            for (s = va_arg(ap, const char *); *s; s++)
                put(&b, *s);
        } else if (is(*fmt, 'c')) {
            put(&b, (char)va_arg(ap, int));
        } else if (*fmt) {
            put(&b, *fmt);              /* %% and anything unknown */
        } else {
            break;
        }
    }
    va_end(ap);
    flush(&b);
}
