/*
 * drivers/blkfront.c — the virtual block device's front end (paper §3.3.6;
 * Xen 3's blkfront, after Mini-OS's blkfront.c).
 *
 * The disk is in domain 0: this driver only queues requests in a ring page
 * it shares with domain 0's back end and waits for the responses (paper
 * §3.2). The two ends meet through xenstore:
 *
 *   1. the toolstack wrote device/vbd/<devid>/{backend, state=1} for us and
 *      the back end waits in InitWait (2);
 *   2. we allocate the ring page and an event channel port offered to
 *      domain 0 (alloc_unbound), write ring-ref (the page's machine frame:
 *      xenlab has no grant tables), event-channel and state=Initialised (3);
 *   3. the back end maps the page, binds the port and goes Connected (4),
 *      publishing sectors and sector-size; we read them and go Connected.
 *
 * A request names up to 11 pages (segments) and the 512-byte sectors in
 * each. The pages are the user's own (blkfront_rw): domain 0 reads from or
 * writes into them directly — the paper's zero-copy I/O, with xenolite's
 * user memory as the DMA target. Requests of one call are queued together
 * (as many as the ring holds) so the back end's elevator may reorder them;
 * the call waits for all their responses before returning: synchronous I/O
 * (simplified: the whole domain waits, in SCHEDOP_poll on the masked port,
 * rather than switching to another process).
 */
#include <console.h>
#include <events.h>
#include <hypercall.h>
#include <lib.h>
#include <xenbus.h>
#include <xen/io/blkif.h>
#include <xen/io/xenbus.h>
#include "defs.h"
#include "syscall.h"
#include "blkfront.h"


#define VDISK_READONLY 0x4              /* in the back end's "info" */
#define SECTORS_PER_PAGE (PGSIZE / 512)

static struct {
    int connected;
    char node[32];                      /* device/vbd/<devid>, relative to our home */
    char backend[96];                   /* the back end's directory */
    unsigned long sectors, sector_size, readonly;
    evtchn_port_t port;
    blkif_front_ring_t ring;
    unsigned int requests, errors;      /* for blkinfo() */
} blk;

int blkfront_init(start_info_t *si)
{
    char list[64];
    blkif_sring_t *sring;
    unsigned long info = 0;

    if (xenbus_init(si) != 0)
        return -1;                      /* a bare Xen: no store, no disks */
    if (xenbus_directory("device/vbd", list, sizeof(list)) <= 0)
        return -1;                      /* no disk for us */
    snprintf(blk.node, sizeof(blk.node), "device/vbd/%s", list);   /* the first one */
    if (xenbus_read_key(blk.node, "backend", blk.backend, sizeof(blk.backend)) <= 0)
        return -1;

    /* The ring: one page of ours, initialised before the back end may see it. */
    if (!(sring = kalloc()))
        panic("blkfront: no page for the ring");
    SHARED_RING_INIT(sring);
    FRONT_RING_INIT(&blk.ring, sring, PGSIZE);
    /* A port domain 0 may bind to. We never take its upcall: we poll it. */
    if (evtchn_alloc_unbound(0, &blk.port) != 0)
        panic("blkfront: alloc_unbound failed");
    mask_evtchn(blk.port);

    xenbus_write_key_ulong(blk.node, "ring-ref", virt_to_mfn(sring));
    xenbus_write_key_ulong(blk.node, "event-channel", blk.port);
    xenbus_write_key_ulong(blk.node, "state", XenbusStateInitialised);
    if (xenbus_wait_connected(blk.backend, "blkfront") < 0)
        return -1;

    xenbus_read_key_ulong(blk.backend, "sectors", &blk.sectors);
    xenbus_read_key_ulong(blk.backend, "sector-size", &blk.sector_size);
    xenbus_read_key_ulong(blk.backend, "info", &info);
    blk.readonly = (info & VDISK_READONLY) != 0;
    if (blk.sector_size != 512) {
        printk("blkfront: %lu-byte sectors: only 512 is supported\n", blk.sector_size);
        return -1;
    }
    xenbus_write_key_ulong(blk.node, "state", XenbusStateConnected);
    blk.connected = 1;
    printk("blkfront: %s: %lu sectors of 512 bytes, %s, ring-ref %lu, port %u\n", blk.node,
           blk.sectors, blk.readonly ? "read-only" : "read-write", virt_to_mfn(sring), blk.port);
    return 0;
}

int blkfront_info(struct blkinfo *info)
{
    if (!blk.connected)
        return -1;
    info->sectors = blk.sectors;
    info->sector_size = blk.sector_size;
    info->readonly = blk.readonly;
    info->requests = blk.requests;
    info->errors = blk.errors;
    return 0;
}

/*
 * Sleep until the back end notifies. The port is masked, so the event sets
 * only its pending bit, which SCHEDOP_poll waits for (it sleeps through an
 * event pending elsewhere while our events are masked, as Xen's does). The
 * tick, if on, still wakes us: run its handler here, since a long wait
 * would otherwise hold it until we return to ring 3.
 */
static void wait_for_event(void)
{
    struct sched_poll poll = { .ports = &blk.port, .nr_ports = 1, .timeout = 0 };

    if (arch_events_pending()) {
        arch_handle_events();
        return;
    }
    HYPERVISOR_sched_op(SCHEDOP_poll, &poll);
}

/* Wait for n responses; how many said anything but BLKIF_RSP_OKAY. */
static int wait_responses(int n)
{
    int errors = 0, more;

    while (n > 0) {
        RING_IDX i, rp;

        clear_evtchn(blk.port);         /* before looking: a later notify re-raises it */
        rp = blk.ring.sring->rsp_prod;
        xen_rmb();                      /* the index before the responses it publishes */
        if (RING_RESPONSE_PROD_OVERFLOW(&blk.ring, rp))
            panic("blkfront: the back end published %u responses", rp - blk.ring.rsp_cons);
        for (i = blk.ring.rsp_cons; i != rp && n > 0; i++, n--) {
            blkif_response_t rsp;

            RING_COPY_RESPONSE(&blk.ring, i, &rsp);
            if (rsp.status != BLKIF_RSP_OKAY)
                errors++;
        }
        blk.ring.rsp_cons = i;
        if (n == 0)
            break;
        RING_FINAL_CHECK_FOR_RESPONSES(&blk.ring, more);
        if (!more)
            wait_for_event();
    }
    blk.errors += (unsigned int)errors;
    return errors;
}

/* Publish the requests queued and notify the back end if it asked to be. */
static void push_requests(void)
{
    int notify;

    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&blk.ring, notify);
    if (notify)
        notify_remote_via_evtchn(blk.port);
}

int blkfront_rw(int write, unsigned long sector, pte_t *l3, unsigned long va,
                unsigned long nsect)
{
    unsigned long done = 0;
    int errors = 0;

    if (!blk.connected || va & 511 || nsect == 0 || nsect > blk.sectors ||
        sector > blk.sectors - nsect)
        return -1;
    while (done < nsect && !errors) {
        int queued = 0, bad = 0;

        /* Fill the ring: each request up to 11 segments, one user page each. */
        while (done < nsect && !bad && !RING_FULL(&blk.ring)) {
            blkif_request_t *req = RING_GET_REQUEST(&blk.ring, blk.ring.req_prod_pvt);

            req->operation = write ? BLKIF_OP_WRITE : BLKIF_OP_READ;
            req->nr_segments = 0;
            req->handle = 0;
            req->id = blk.requests;
            req->sector_number = sector + done;
            while (done < nsect && req->nr_segments < BLKIF_MAX_SEGMENTS_PER_REQUEST) {
                unsigned long at = va + done * 512, first = (at & (PGSIZE - 1)) / 512;
                unsigned long count = SECTORS_PER_PAGE - first;
                /* A READ writes into the page: it must be private and writable. */
                unsigned long mfn = uvm_frame(l3, at, !write);
                struct blkif_request_segment *seg = &req->seg[req->nr_segments];

                if (!mfn) {
                    bad = 1;
                    break;
                }
                if (count > nsect - done)
                    count = nsect - done;
                seg->gref = (grant_ref_t)mfn;
                seg->first_sect = (uint8_t)first;
                seg->last_sect = (uint8_t)(first + count - 1);
                req->nr_segments++;
                done += count;
            }
            if (req->nr_segments == 0)
                break;
            /* "blkwrite(..., n | BLK_BARRIER)": the call's last request orders the rest. */
            if (write == 2 && done == nsect && !bad)
                req->operation = BLKIF_OP_WRITE_BARRIER;
            blk.ring.req_prod_pvt++;
            blk.requests++;
            queued++;
        }
        push_requests();
        errors = wait_responses(queued) + bad;
    }
    return errors ? -1 : (int)nsect;
}

int blkfront_flush(void)
{
    blkif_request_t *req;

    if (!blk.connected)
        return -1;
    req = RING_GET_REQUEST(&blk.ring, blk.ring.req_prod_pvt);
    req->operation = BLKIF_OP_FLUSH_DISKCACHE;
    req->nr_segments = 0;
    req->handle = 0;
    req->id = blk.requests;
    req->sector_number = 0;
    blk.ring.req_prod_pvt++;
    blk.requests++;
    push_requests();
    return wait_responses(1) ? -1 : 0;
}
