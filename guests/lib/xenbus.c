/*
 * xenbus.c — a small synchronous xenstore client over the store ring.
 *
 * Requests are written whole into req[] (waiting for room), then the store
 * port is notified; replies are read from rsp[] a header at a time. Watch
 * events may arrive between a request and its reply: they are kept (a few)
 * for xenbus_wait_watch.
 */
#include <console.h>
#include <events.h>
#include <hypercall.h>
#include <hypervisor.h>
#include <lib.h>
#include <xenbus.h>
#include <xen/io/xenbus.h>
#include <xen/io/xs_wire.h>

static struct xenstore_domain_interface *xs;
static evtchn_port_t xs_port;
static uint32_t next_req_id = 1;

#define MAX_EVENTS 4
static struct { char data[256]; int len; } events[MAX_EVENTS];
static int nr_events;

#define mb() __asm__ __volatile__("lock; addl $0,0(%%esp)" ::: "memory")

int xenbus_init(const start_info_t *si)
{
    struct evtchn_status st = { .dom = DOMID_SELF, .port = si->store_evtchn };

    if (!si->store_mfn || HYPERVISOR_event_channel_op(EVTCHNOP_status, &st) != 0 ||
        st.status != EVTCHNSTAT_interdomain)
        return -1;
    xs_port = si->store_evtchn;
    xs = boot_mfn_to_virt(si->store_mfn);
    return 0;
}

static void wait_for_domain0(void)
{
    HYPERVISOR_sched_op(SCHEDOP_yield, 0);
}

static void ring_write(const void *data, int len)
{
    const char *p = data;

    while (len > 0) {
        XENSTORE_RING_IDX cons = xs->req_cons, prod = xs->req_prod;
        int room;

        mb();
        room = XENSTORE_RING_SIZE - (int)(prod - cons);
        if (room <= 0) {
            notify_remote_via_evtchn(xs_port);
            wait_for_domain0();
            continue;
        }
        while (room-- > 0 && len > 0) {
            xs->req[MASK_XENSTORE_IDX(prod++)] = *p++;
            len--;
        }
        mb();                                   /* the bytes before the index */
        xs->req_prod = prod;
    }
}

static void ring_read(void *data, int len)
{
    char *p = data;

    while (len > 0) {
        XENSTORE_RING_IDX cons = xs->rsp_cons, prod = xs->rsp_prod;

        mb();                                   /* the index before the bytes */
        if (cons == prod || prod - cons > XENSTORE_RING_SIZE) {
            wait_for_domain0();
            continue;
        }
        while (cons != prod && len > 0) {
            *p++ = xs->rsp[MASK_XENSTORE_IDX(cons++)];
            len--;
        }
        mb();
        xs->rsp_cons = cons;
        notify_remote_via_evtchn(xs_port);      /* room for more of a long reply */
    }
}

static int errno_of(const char *name)
{
    static const struct { const char *name; int value; } table[] = {
        { "EPERM", 1 }, { "ENOENT", 2 }, { "EIO", 5 }, { "E2BIG", 7 },
        { "EAGAIN", 11 }, { "ENOMEM", 12 }, { "EACCES", 13 }, { "EBUSY", 16 },
        { "EEXIST", 17 }, { "EISDIR", 21 }, { "EINVAL", 22 }, { "ENOSPC", 28 },
        { "EROFS", 30 }, { "ENOSYS", 38 }, { "ENOTEMPTY", 39 }, { "EQUOTA", 122 },
    };
    for (unsigned int i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (!strcmp(name, table[i].name))
            return -table[i].value;
    return -5;  /* EIO: a name this client does not know */
}

/*
 * One request (its payload is the strings in parts, each with or without
 * its NUL as xs_wire wants) and its reply into reply[len]: the reply's
 * length, or -errno.
 */
static int xs_talk(uint32_t type, const char *const *parts, const int *lens, int nparts,
                   char *reply, int len)
{
    struct xsd_sockmsg msg = { .type = type, .req_id = next_req_id++, .tx_id = 0, .len = 0 };
    char scratch[64];

    if (!xs)
        return -38;  /* ENOSYS: no store on this host */
    for (int i = 0; i < nparts; i++)
        msg.len += lens[i];
    ring_write(&msg, sizeof(msg));
    for (int i = 0; i < nparts; i++)
        ring_write(parts[i], lens[i]);
    notify_remote_via_evtchn(xs_port);
    for (;;) {
        struct xsd_sockmsg rep;
        uint32_t n, keep;

        ring_read(&rep, sizeof(rep));
        if (rep.len > XENSTORE_PAYLOAD_MAX)
            return -5;
        if (rep.type == XS_WATCH_EVENT) {
            int slot = nr_events < MAX_EVENTS ? nr_events++ : MAX_EVENTS - 1;
            keep = rep.len < sizeof(events[0].data) ? rep.len : sizeof(events[0].data);
            ring_read(events[slot].data, keep);
            for (n = keep; n < rep.len; n++)
                ring_read(scratch, 1);
            events[slot].len = keep;
            continue;
        }
        keep = rep.len < (uint32_t)(len - 1) ? rep.len : (uint32_t)(len - 1);
        ring_read(reply, keep);
        for (n = keep; n < rep.len; n++)
            ring_read(scratch, 1);
        reply[keep] = '\0';
        if (rep.req_id != msg.req_id)
            continue;  /* not ours (cannot happen with one request at a time) */
        if (rep.type == XS_ERROR)
            return errno_of(reply);
        return (int)keep;
    }
}

static int xs_path_op(uint32_t type, const char *path, char *reply, int len)
{
    const char *parts[] = { path };
    int lens[] = { (int)strlen(path) + 1 };

    return xs_talk(type, parts, lens, 1, reply, len);
}

int xenbus_read(const char *path, char *buf, int len)
{
    return xs_path_op(XS_READ, path, buf, len);
}

int xenbus_write(const char *path, const char *value)
{
    const char *parts[] = { path, value };
    int lens[] = { (int)strlen(path) + 1, (int)strlen(value) };
    char ok[8];
    int rc = xs_talk(XS_WRITE, parts, lens, 2, ok, sizeof(ok));

    return rc < 0 ? rc : 0;
}

int xenbus_mkdir(const char *path)
{
    char ok[8];
    int rc = xs_path_op(XS_MKDIR, path, ok, sizeof(ok));

    return rc < 0 ? rc : 0;
}

int xenbus_rm(const char *path)
{
    char ok[8];
    int rc = xs_path_op(XS_RM, path, ok, sizeof(ok));

    return rc < 0 ? rc : 0;
}

int xenbus_directory(const char *path, char *buf, int len)
{
    int n = xs_path_op(XS_DIRECTORY, path, buf, len), count = 0;

    for (int i = 0; i < n; i++)
        if (buf[i] == '\0')
            count++;
    return n < 0 ? n : count;
}

int xenbus_read_ulong(const char *path, unsigned long *value)
{
    char buf[24];
    int n = xenbus_read(path, buf, sizeof(buf));

    if (n < 0)
        return n;
    *value = 0;
    for (int i = 0; i < n; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -22;
        *value = *value * 10 + (unsigned long)(buf[i] - '0');
    }
    return 0;
}

static int watch_op(uint32_t type, const char *path, const char *token)
{
    const char *parts[] = { path, token };
    int lens[] = { (int)strlen(path) + 1, (int)strlen(token) + 1 };
    char ok[8];
    int rc = xs_talk(type, parts, lens, 2, ok, sizeof(ok));

    return rc < 0 ? rc : 0;
}

int xenbus_watch(const char *path, const char *token)
{
    return watch_op(XS_WATCH, path, token);
}

int xenbus_unwatch(const char *path, const char *token)
{
    return watch_op(XS_UNWATCH, path, token);
}

int xenbus_wait_watch(char *path, int plen, char *token, int tlen)
{
    while (!nr_events) {
        /* An event with nothing asked: read whatever xenstored sends next. */
        struct xsd_sockmsg rep;
        int keep;

        ring_read(&rep, sizeof(rep));
        if (rep.len > sizeof(events[0].data))
            return -7;
        keep = (int)rep.len;
        ring_read(events[0].data, keep);
        if (rep.type == XS_WATCH_EVENT) {
            events[0].len = keep;
            nr_events = 1;
        }
    }
    {
        const char *p = events[0].data;
        int plen_in = (int)strnlen(p, (size_t)events[0].len);
        const char *t = p + plen_in + 1;

        strncpy(path, p, (size_t)plen);
        path[plen - 1] = '\0';
        strncpy(token, t, (size_t)tlen);
        token[tlen - 1] = '\0';
    }
    nr_events--;
    memmove(events, events + 1, sizeof(events[0]) * (size_t)nr_events);
    return 0;
}

int xenbus_read_key(const char *dir, const char *key, char *buf, int len)
{
    char path[160];

    snprintf(path, sizeof(path), "%s/%s", dir, key);
    return xenbus_read(path, buf, len);
}

int xenbus_read_key_ulong(const char *dir, const char *key, unsigned long *value)
{
    char path[160];

    snprintf(path, sizeof(path), "%s/%s", dir, key);
    return xenbus_read_ulong(path, value);
}

int xenbus_write_key_ulong(const char *dir, const char *key, unsigned long value)
{
    char path[160], text[24];

    snprintf(path, sizeof(path), "%s/%s", dir, key);
    snprintf(text, sizeof(text), "%lu", value);
    return xenbus_write(path, text);
}

int xenbus_wait_connected(const char *backend, const char *who)
{
    char path[160], event[128], token[16], error[96];
    unsigned long state = 0;
    int rc;

    snprintf(path, sizeof(path), "%s/state", backend);
    rc = xenbus_watch(path, who);
    for (;;) {
        if (rc == 0)
            rc = xenbus_wait_watch(event, sizeof(event), token, sizeof(token));
        if (rc == 0)
            rc = xenbus_read_ulong(path, &state);
        if (rc < 0 || state >= XenbusStateClosing || state == XenbusStateConnected)
            break;
    }
    xenbus_unwatch(path, who);
    if (rc == 0 && state == XenbusStateConnected)
        return 0;
    if (xenbus_read_key(backend, "error", error, sizeof(error)) < 0)
        error[0] = '\0';
    printk("%s: the back end did not connect (state %lu, rc %d): %s\n", who, state, rc, error);
    return -1;
}
