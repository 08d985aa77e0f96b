/*
 * console.c — printk(). Until the guest connects its console ring
 * (xencons_ring_init, lib/xencons.c), output goes through Xen's emergency
 * console (console_io), which works from the first instruction; after,
 * through the ring to domain 0, as Mini-OS's console does. Output is
 * formatted in 128-byte chunks, so a line costs one call however long the
 * arguments are (a 1 KiB command line included).
 */
#include <console.h>
#include <hypercall.h>
#include <lib.h>

/*
 * One console_io(CONSOLEIO_write) call: Xen copies the whole buffer (it
 * continues long writes internally) and returns 0 or -errno. There is
 * nowhere to report a failure, so it is ignored, as Mini-OS does.
 */
void xen_console_write(const char *s, int len)
{
    if (len <= 0)
        return;
    if (xencons_ring_ready())
        xencons_ring_write(s, len);
    else
        (void)HYPERVISOR_console_io(CONSOLEIO_write, len, (char *)s);
}

struct printk_buf {
    char data[128];
    int len;
};

static void printk_flush(struct printk_buf *b)
{
    xen_console_write(b->data, b->len);
    b->len = 0;
}

static void printk_emit(char c, void *arg)
{
    struct printk_buf *b = arg;

    b->data[b->len++] = c;
    if (b->len == (int)sizeof(b->data))
        printk_flush(b);
}

void vprintk(const char *fmt, va_list ap)
{
    struct printk_buf b = { .len = 0 };

    do_printf(printk_emit, &b, fmt, ap);
    printk_flush(&b);
}

void printk(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintk(fmt, ap);
    va_end(ap);
}
