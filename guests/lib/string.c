/*
 * string.c — the memory and string functions of the guest's C library.
 * Clang emits calls to memset/memcpy for struct copies and zeroing even
 * with -ffreestanding, so every guest links these. -ffreestanding also
 * stops clang from turning the loops below back into calls to themselves.
 */
#include <lib.h>

void *memset(void *s, int c, size_t n)
{
    unsigned char *p = s;

    while (n--)
        *p++ = (unsigned char)c;
    return s;
}

void *memcpy(void *dest, const void *src, size_t n)
{
    unsigned char *d = dest;
    const unsigned char *s = src;

    while (n--)
        *d++ = *s++;
    return dest;
}

/* Like memcpy, but the areas may overlap: copy backwards when dest is above src. */
void *memmove(void *dest, const void *src, size_t n)
{
    unsigned char *d = dest;
    const unsigned char *s = src;

    if (d <= s || d >= s + n)
        return memcpy(dest, src, n);
    while (n--)
        d[n] = s[n];
    return dest;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;

    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

size_t strlen(const char *s)
{
    const char *p = s;

    while (*p)
        p++;
    return p - s;
}

/* strlen that never reads past s[max - 1]: for fixed-size fields like start_info.magic. */
size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;

    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

/* Copy at most n bytes and pad with NULs; like C's, it does not terminate a long src. */
char *strncpy(char *dest, const char *src, size_t n)
{
    size_t i = 0;

    for (; i < n && src[i]; i++)
        dest[i] = src[i];
    for (; i < n; i++)
        dest[i] = '\0';
    return dest;
}
