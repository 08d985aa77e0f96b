/*
 * printf.c — formatting for printk() and snprintf(): one engine,
 * do_printf(), that hands each output character to a callback, so the
 * console can stream in chunks and snprintf can fill a buffer.
 *
 * Conversions: %d %i %u %x %X %c %s %p %%, length l or ll (h and z are
 * accepted and mean int/long, as they do on this ILP32 target), width
 * (digits or *), flags '-' (left-justify) and '0' (zero-pad numbers), and
 * a precision for %s (digits or *), which stops at that many bytes.
 * %p prints 0x and 8 hex digits. Anything else is copied out verbatim.
 */
#include <lib.h>
#include <stdint.h>

struct spec {
    int left;       /* '-' */
    int zero;       /* '0' */
    int width;
    int prec;       /* -1: none */
    int length;     /* 0 int, 1 long, 2 long long */
};

struct out {
    format_emit_t emit;
    void *arg;
    int count;
};

static void put(struct out *o, char c)
{
    o->emit(c, o->arg);
    o->count++;
}

static void put_n(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

/*
 * Write prefix and body into a field of s->width: spaces before (or after,
 * with '-'), or zeros between the prefix ("-", "0x") and the digits.
 */
static void put_field(struct out *o, const struct spec *s, const char *prefix,
                      const char *body, int len, int numeric)
{
    int plen = 0, pad;

    while (prefix[plen])
        plen++;
    pad = s->width - plen - len;
    if (!s->left && !(numeric && s->zero))
        put_n(o, ' ', pad);
    while (*prefix)
        put(o, *prefix++);
    if (!s->left && numeric && s->zero)
        put_n(o, '0', pad);
    while (len-- > 0)
        put(o, *body++);
    if (s->left)
        put_n(o, ' ', pad);
}

/*
 * Digits of v in base 10 or 16, written backwards ending at end; returns
 * the first digit. Values that fit in 32 bits use 32-bit division, which
 * is one instruction; only larger ones need __udivdi3/__umoddi3.
 */
static char *utoa(char *end, unsigned long long v, unsigned int base, int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char *p = end;

    if (v >> 32) {
        do {
            *--p = digits[v % base];
            v /= base;
        } while (v >> 32);
    }
    for (uint32_t w = (uint32_t)v; w || p == end; w /= base)
        *--p = digits[w % base];
    return p;
}

static void put_number(struct out *o, const struct spec *s, char conv, va_list *ap)
{
    char buf[24], *end = buf + sizeof(buf), *p;
    unsigned long long u;
    const char *prefix = "";

    if (conv == 'd' || conv == 'i') {
        long long v = s->length == 2 ? va_arg(*ap, long long)
                    : s->length == 1 ? va_arg(*ap, long) : va_arg(*ap, int);
        u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
        if (v < 0)
            prefix = "-";
    } else {
        u = s->length == 2 ? va_arg(*ap, unsigned long long)
          : s->length == 1 ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned int);
    }
    p = utoa(end, u, conv == 'u' || conv == 'd' || conv == 'i' ? 10 : 16, conv == 'X');
    put_field(o, s, prefix, p, end - p, 1);
}

static void put_string(struct out *o, const struct spec *s, const char *str)
{
    int len = 0;

    if (!str)
        str = "(null)";
    while (str[len] && (s->prec < 0 || len < s->prec))
        len++;
    put_field(o, s, "", str, len, 0);
}

/* Parse flags, width, precision and length after a '%'; returns a pointer to the conversion char. */
static const char *parse_spec(const char *fmt, struct spec *s, va_list *ap)
{
    *s = (struct spec){ .prec = -1 };
    for (;; fmt++) {
        if (*fmt == '-')
            s->left = 1;
        else if (*fmt == '0')
            s->zero = 1;
        else
            break;
    }
    if (*fmt == '*') {
        s->width = va_arg(*ap, int);
        if (s->width < 0) {
            s->left = 1;
            s->width = -s->width;
        }
        fmt++;
    }
    while (*fmt >= '0' && *fmt <= '9')
        s->width = s->width * 10 + (*fmt++ - '0');
    if (*fmt == '.') {
        fmt++;
        s->prec = 0;
        if (*fmt == '*') {
            s->prec = va_arg(*ap, int);
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            s->prec = s->prec * 10 + (*fmt++ - '0');
    }
    for (; *fmt == 'l' || *fmt == 'h' || *fmt == 'z'; fmt++)
        if (*fmt == 'l' && s->length < 2)
            s->length++;
    return fmt;
}

int do_printf(format_emit_t emit, void *arg, const char *fmt, va_list ap)
{
    struct out o = { .emit = emit, .arg = arg, .count = 0 };
    struct spec s;
    va_list args;

    /* Work on a copy so helpers can take a va_list * (va_list may be an array type). */
    va_copy(args, ap);
    for (; *fmt; fmt++) {
        const char *start = fmt;

        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        fmt = parse_spec(fmt + 1, &s, &args);
        switch (*fmt) {
        case 'd': case 'i': case 'u': case 'x': case 'X':
            put_number(&o, &s, *fmt, &args);
            break;
        case 'p': {
            /* Always "0x" and 8 digits, so addresses line up. */
            char buf[12], *end = buf + sizeof(buf);
            char *p = utoa(end, (uintptr_t)va_arg(args, void *), 16, 0);

            s = (struct spec){ .zero = 1, .width = 10, .prec = -1 };
            put_field(&o, &s, "0x", p, end - p, 1);
            break;
        }
        case 'c': {
            char c = (char)va_arg(args, int);

            put_field(&o, &s, "", &c, 1, 0);
            break;
        }
        case 's':
            put_string(&o, &s, va_arg(args, const char *));
            break;
        case '%':
            put(&o, '%');
            break;
        default:
            /* Unknown conversion, or a '%' at the end: copy it out as written. */
            while (start < fmt)
                put(&o, *start++);
            if (*fmt)
                put(&o, *fmt);
            else
                fmt--;          /* let the loop see the terminating NUL */
            break;
        }
    }
    va_end(args);
    return o.count;
}

struct snbuf {
    char *buf;
    size_t size, pos;
};

static void snprintf_emit(char c, void *arg)
{
    struct snbuf *b = arg;

    if (b->pos + 1 < b->size)
        b->buf[b->pos] = c;
    b->pos++;
}

/* Like C's: writes at most size - 1 chars plus a NUL; returns the full length. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct snbuf b = { .buf = buf, .size = size, .pos = 0 };
    int n = do_printf(snprintf_emit, &b, fmt, ap);

    if (size)
        buf[b.pos < size ? b.pos : size - 1] = '\0';
    return n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
