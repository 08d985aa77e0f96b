/*
 * cmdline.c — options passed by the toolstack (`xenlab boot NAME --cmdline
 * "n=1000"`) arrive in start_info.cmd_line, a NUL-terminated string.
 */
#include <cmdline.h>

static int starts_with(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return 0;
    return 1;
}

unsigned long cmdline_ulong(const char *cmdline, const char *key, unsigned long dflt)
{
    const char *p;

    for (p = cmdline; *p; p++) {
        /* A key starts the line or follows a space. */
        if ((p == cmdline || p[-1] == ' ') && starts_with(p, key)) {
            const char *v = p;
            unsigned long n = 0;

            while (*key) {
                v++;
                key++;
            }
            if (*v != '=')
                continue;
            for (v++; *v >= '0' && *v <= '9'; v++)
                n = n * 10 + (unsigned long)(*v - '0');
            return n;
        }
    }
    return dflt;
}
