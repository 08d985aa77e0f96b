/*
 * drivers/netfront.c — the virtual network interface's front end (paper
 * §3.3.5; Xen's netfront in its page-flipping days) and a minimal UDP/IPv4
 * stack on top of it.
 *
 * The interface is two rings in pages we share with domain 0 (paper §3.2):
 *
 *   transmit: we put a frame in a buffer page of ours and queue a request
 *             naming the page (its machine frame: xenlab has no grant
 *             tables), the offset and the size; domain 0 runs the frame
 *             through its firewall-router and answers with a status.
 *   receive:  we queue requests each naming a free page we GIVE UP; for
 *             each packet domain 0 fills a page of its own and exchanges
 *             it for one of ours ("page flipping"), and answers with the
 *             size. The machine frame of the page we got is in the transfer
 *             table (rx-transfer-ref: one uint32_t per request id), the
 *             role Xen 3's grant entry plays for GTF_accept_transfer. We
 *             then tell Xen which of our pseudo-physical pages it is
 *             (MMU_MACHPHYS_UPDATE), note it in our p2m and map it — one
 *             mmu_update for both (paper §3.3.4). Before giving a page up
 *             we unmap it: domain 0 refuses a page that is still mapped.
 *
 * The handshake is Xen 3's, as blkfront's: the toolstack wrote
 * device/vif/<devid>/{backend, mac, ip, state=1}; we write tx-ring-ref,
 * rx-ring-ref, rx-transfer-ref, event-channel (one port for both rings)
 * and state=Initialised; the back end connects and goes Connected; we post
 * the receive pages and go Connected.
 *
 * The stack has no ARP and no routing table: every frame goes to the
 * firewall-router's MAC, which delivers by destination IP. It speaks only
 * UDP, with one bound port (simplified: no sockets, and a process waiting
 * for the network makes the whole domain wait, in SCHEDOP_poll on our
 * masked port, rather than switching to another process).
 *
 * Notifications (paper §3.2): domain 0 notifies us only when the response
 * it publishes reaches the threshold we left in the ring's rsp_event.
 * "holdoff=K" on the command line asks for one notification per K
 * received packets — fewer events, more latency — with a timeout of
 * HOLDOFF_TIMEOUT_NS so that the last few are not stranded.
 */
#include <cmdline.h>
#include <console.h>
#include <events.h>
#include <hypercall.h>
#include <lib.h>
#include <xenbus.h>
#include <xen/io/netif.h>
#include <xen/io/xenbus.h>
#include "defs.h"
#include "syscall.h"
#include "netfront.h"


#define NET_TX_BUFS     64              /* transmit buffers in flight at most, two per page */
#define NET_TX_BUFSIZE  2048
#define NET_RX_MAX      256             /* receive pages at most: the ring's size */
#define NET_RX_DEFAULT  128             /* unless "rxbufs=N" */
#define NET_RX_BATCH    32              /* pages mapped or unmapped per mmu_update */
#define HOLDOFF_TIMEOUT_NS 1000000ULL   /* 1 ms: the longest a held-back packet waits */
#define INVALID_P2M_ENTRY (~0UL)

/* Ethernet / IPv4 / UDP: the only frames we make or take. */
#define ETH_HLEN        14
#define IP_HLEN         20
#define UDP_HLEN        8
#define HDR_LEN         (ETH_HLEN + IP_HLEN + UDP_HLEN)
#define UDP_MAX         (1500 - IP_HLEN - UDP_HLEN)
#define IPPROTO_UDP     17

/* The firewall-router's MAC (Xen's netback uses it for every vif): our only next hop. */
static const uint8_t vfr_mac[6] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff };

static struct {
    int connected;
    char node[32];                      /* device/vif/<devid>, relative to our home */
    char backend[96];
    uint8_t mac[6];
    uint32_t ip;                        /* host order */
    unsigned int lport;                 /* netfront_bind */
    unsigned int holdoff;
    unsigned int ttcp, peer;            /* "ttcp=", "peer=": for the user program */
    uint16_t ip_id;
    evtchn_port_t port;
    netif_tx_front_ring_t tx;
    netif_rx_front_ring_t rx;
    volatile uint32_t *xfer;            /* the transfer table: our new frame, by request id */

    char *txbuf[NET_TX_BUFS];
    uint16_t tx_free[NET_TX_BUFS];      /* a stack of free buffer ids */
    unsigned int tx_nfree;

    unsigned int nrx;                   /* receive pages we own (ids 0..nrx-1) */
    unsigned long rx_pfn[NET_RX_MAX];   /* each id's pseudo-physical page: fixed */
    unsigned long rx_mfn[NET_RX_MAX];   /* the machine frame behind it now */
    uint16_t rx_off[NET_RX_MAX], rx_len[NET_RX_MAX];
    uint8_t rx_posted[NET_RX_MAX];      /* given to domain 0, not yet back */
    uint16_t ready[NET_RX_MAX];         /* received, in order, for recv */
    unsigned int ready_head, ready_count;
    uint16_t repost[NET_RX_MAX];        /* read, to be given back in one batch */
    unsigned int nrepost;

    struct netinfo stats;
} net;


/* ------------------------------------------------------------ addresses */

static void put16(uint8_t *p, unsigned int v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static unsigned int get16(const uint8_t *p) { return (unsigned int)p[0] << 8 | p[1]; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

/* "10.0.0.1" -> 0x0a000001; 0 if it is not four decimal octets. */
static uint32_t parse_ip(const char *s)
{
    uint32_t ip = 0;
    int octets = 0;

    while (octets < 4) {
        unsigned int v = 0, digits = 0;

        while (*s >= '0' && *s <= '9' && digits < 4) {
            v = v * 10 + (unsigned int)(*s++ - '0');
            digits++;
        }
        if (!digits || v > 255)
            return 0;
        ip = ip << 8 | v;
        if (++octets < 4 && *s++ != '.')
            return 0;
    }
    return ip;
}

/* "00:16:3e:0a:0b:0c" -> six bytes: 0, or -1. */
static int parse_mac(const char *s, uint8_t *mac)
{
    for (int i = 0; i < 6; i++) {
        unsigned int v = 0;

        for (int d = 0; d < 2; d++, s++) {
            char c = *s;
            unsigned int x = c >= '0' && c <= '9' ? (unsigned int)(c - '0')
                           : c >= 'a' && c <= 'f' ? (unsigned int)(c - 'a' + 10)
                           : c >= 'A' && c <= 'F' ? (unsigned int)(c - 'A' + 10) : 16;
            if (x > 15)
                return -1;
            v = v << 4 | x;
        }
        mac[i] = (uint8_t)v;
        if (i < 5 && *s++ != ':')
            return -1;
    }
    return 0;
}

/* The word after "key=" on the command line (up to a space) into buf: 0, or -1. */
static int cmdline_word(const char *cmdline, const char *key, char *buf, int len)
{
    int klen = (int)strlen(key);

    for (const char *p = cmdline; *p; p++) {
        if ((p != cmdline && p[-1] != ' ') || memcmp(p, key, (size_t)klen) != 0 || p[klen] != '=')
            continue;
        p += klen + 1;
        int n = 0;
        while (*p && *p != ' ' && n < len - 1)
            buf[n++] = *p++;
        buf[n] = '\0';
        return 0;
    }
    return -1;
}

/* ------------------------------------------------------------ waiting */

/*
 * Sleep until domain 0 notifies our port, or system time passes deadline
 * (0: none). The port is masked: the event sets only its pending bit, which
 * SCHEDOP_poll waits for. The clock tick, if on, still wakes us: run its
 * handler here, as blkfront does. 1 if the port's event woke us.
 */
static int wait_for_event(uint64_t deadline)
{
    struct sched_poll poll = { .ports = &net.port, .nr_ports = 1, .timeout = deadline };
    volatile xen_ulong_t *pending = HYPERVISOR_shared_info->evtchn_pending;

    if (arch_events_pending()) {
        arch_handle_events();
        return 0;
    }
    HYPERVISOR_sched_op(SCHEDOP_poll, &poll);
    return (pending[net.port / 32] >> (net.port % 32)) & 1;
}

/* ------------------------------------------------------------ transmit */

/* Take back the buffers of answered transmit requests. */
static void tx_reclaim(void)
{
    RING_IDX i, rp = net.tx.sring->rsp_prod;

    xen_rmb();                          /* the index before the responses it publishes */
    if (RING_RESPONSE_PROD_OVERFLOW(&net.tx, rp))
        panic("netfront: the back end published %u TX responses", rp - net.tx.rsp_cons);
    for (i = net.tx.rsp_cons; i != rp; i++) {
        netif_tx_response_t rsp;

        RING_COPY_RESPONSE(&net.tx, i, &rsp);
        if (rsp.id >= NET_TX_BUFS || net.tx_nfree >= NET_TX_BUFS)
            panic("netfront: a TX response for buffer %u", rsp.id);
        if (rsp.status != NETIF_RSP_OKAY)
            net.stats.tx_errors++;      /* DROPPED: the firewall-router; ERROR: refused */
        net.tx_free[net.tx_nfree++] = rsp.id;
    }
    net.tx.rsp_cons = rp;
}

/* Wait for domain 0 to answer the next transmit request: ask to be told of it (no
 * hold-off: we are stuck), look once more, sleep. */
static void tx_wait(void)
{
    clear_evtchn(net.port);
    net.tx.sring->rsp_event = net.tx.rsp_cons + 1;
    xen_mb();
    if (!RING_HAS_UNCONSUMED_RESPONSES(&net.tx))
        wait_for_event(0);
}

/* A free transmit buffer's id, waiting for domain 0 to answer if none is. */
static unsigned int tx_get_buffer(void)
{
    for (;;) {
        tx_reclaim();
        if (net.tx_nfree)
            return net.tx_free[--net.tx_nfree];
        tx_wait();
    }
}

/* The IPv4 header checksum: the ones'-complement sum of its 16-bit words. */
static unsigned int ip_checksum(const uint8_t *h)
{
    uint32_t sum = 0;

    for (int i = 0; i < IP_HLEN; i += 2)
        sum += get16(h + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return ~sum & 0xffff;
}

int netfront_send(const struct udp_addr *to, pte_t *l3, unsigned long va, unsigned long len)
{
    unsigned int id;
    uint8_t *f;
    netif_tx_request_t *req;
    int notify;

    if (!net.connected || len > UDP_MAX || to->port > 0xffff)
        return -1;
    id = tx_get_buffer();
    f = (uint8_t *)net.txbuf[id];
    if (copyin(l3, f + HDR_LEN, va, len) < 0) {
        net.tx_free[net.tx_nfree++] = (uint16_t)id;
        return -1;
    }
    memcpy(f, vfr_mac, 6);              /* Ethernet: to the router, from us, IPv4 */
    memcpy(f + 6, net.mac, 6);
    put16(f + 12, 0x0800);
    f[14] = 0x45;                       /* IPv4, 20-byte header */
    f[15] = 0;
    put16(f + 16, IP_HLEN + UDP_HLEN + len);
    put16(f + 18, net.ip_id++);
    put16(f + 20, 0);                   /* no fragments */
    f[22] = 64;                         /* TTL */
    f[23] = IPPROTO_UDP;
    put16(f + 24, 0);
    put32(f + 26, net.ip);
    put32(f + 30, to->ip);
    put16(f + 24, ip_checksum(f + ETH_HLEN));
    put16(f + 34, net.lport);           /* UDP: ports, length, no checksum (IPv4 allows) */
    put16(f + 36, to->port);
    put16(f + 38, UDP_HLEN + len);
    put16(f + 40, 0);

    req = RING_GET_REQUEST(&net.tx, net.tx.req_prod_pvt);
    req->gref = (grant_ref_t)virt_to_mfn(f);
    req->offset = (uint16_t)((unsigned long)f & (PGSIZE - 1));
    req->flags = 0;
    req->id = (uint16_t)id;
    req->size = (uint16_t)(HDR_LEN + len);
    net.tx.req_prod_pvt++;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&net.tx, notify);
    if (notify) {                       /* domain 0 asked (req_event): it is not busy with us */
        notify_remote_via_evtchn(net.port);
        net.stats.tx_kicks++;
    }
    net.stats.tx_packets++;
    return (int)len;
}

/* ------------------------------------------------------------ receive */

/* The direct-map entry of a kernel address (as arch/xen/mmu.c finds it). */
static pte_t *direct_map_pte(const void *va)
{
    pte_t *l1 = pte_page(kernel_l2[L2X(va)]);

    return &l1[L1X(va)];
}

static void mmu_update_or_panic(mmu_update_t *u, int n, const char *what)
{
    int done = 0, rc;

    if (n == 0)
        return;
    rc = HYPERVISOR_mmu_update(u, n, &done, DOMID_SELF);
    if (rc < 0)
        panic("netfront: %s: mmu_update refused request %d of %d: error %d", what, done + 1, n,
              rc);
}

/*
 * Give receive pages to domain 0: unmap each (one mmu_update per batch:
 * the back end refuses a page that is still mapped), forget its frame in
 * our p2m, and queue a request naming it.
 */
static void rx_post(const uint16_t *ids, unsigned int n)
{
    mmu_update_t u[NET_RX_BATCH];
    unsigned int i, k;
    int notify;

    for (i = 0; i < n; i += k) {
        for (k = 0; k < NET_RX_BATCH && i + k < n; k++) {
            void *page = pfn_to_virt(net.rx_pfn[ids[i + k]]);

            u[k].ptr = virt_to_machine(direct_map_pte(page)) | MMU_NORMAL_PT_UPDATE;
            u[k].val = 0;
        }
        mmu_update_or_panic(u, (int)k, "unmapping receive pages");
        for (unsigned int j = i; j < i + k; j++) {
            unsigned int id = ids[j];
            netif_rx_request_t *req = RING_GET_REQUEST(&net.rx, net.rx.req_prod_pvt);

            phys_to_machine_mapping[net.rx_pfn[id]] = INVALID_P2M_ENTRY;
            req->id = (uint16_t)id;
            req->gref = (grant_ref_t)net.rx_mfn[id];
            net.rx_posted[id] = 1;
            net.rx.req_prod_pvt++;
        }
    }
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&net.rx, notify);
    if (notify) {
        notify_remote_via_evtchn(net.port);
        net.stats.tx_kicks++;
    }
}

static void rx_flush_reposts(void)
{
    rx_post(net.repost, net.nrepost);
    net.nrepost = 0;
}

/*
 * Take every response domain 0 has published: for each flipped page, one
 * batch entry tells Xen its pfn (the M2P) and one maps it where the page we
 * gave up was mapped; then it waits in `ready` for recv.
 */
static void rx_collect(void)
{
    mmu_update_t u[2 * NET_RX_BATCH];
    RING_IDX i, rp = net.rx.sring->rsp_prod;
    int k = 0;

    xen_rmb();
    if (RING_RESPONSE_PROD_OVERFLOW(&net.rx, rp))
        panic("netfront: the back end published %u RX responses", rp - net.rx.rsp_cons);
    for (i = net.rx.rsp_cons; i != rp; i++) {
        netif_rx_response_t rsp;
        unsigned long pfn, mfn;
        unsigned int id;

        RING_COPY_RESPONSE(&net.rx, i, &rsp);
        id = rsp.id;
        if (id >= net.nrx || !net.rx_posted[id]) {
            net.stats.rx_ignored++;     /* an answer to nothing we asked */
            continue;
        }
        net.rx_posted[id] = 0;
        if (rsp.status <= 0) {          /* refused: the page is still ours, unmapped */
            net.stats.rx_ignored++;
            net.repost[net.nrepost++] = (uint16_t)id;
            continue;
        }
        pfn = net.rx_pfn[id];
        mfn = net.xfer[id];             /* written by domain 0 before the response */
        net.rx_mfn[id] = mfn;
        u[k].ptr = ((uint64_t)mfn << 12) | MMU_MACHPHYS_UPDATE;
        u[k++].val = pfn;
        u[k].ptr = virt_to_machine(direct_map_pte(pfn_to_virt(pfn))) | MMU_NORMAL_PT_UPDATE;
        u[k++].val = ((pte_t)mfn << 12) | KERNEL_PTE;
        phys_to_machine_mapping[pfn] = mfn;
        net.rx_off[id] = rsp.offset;
        net.rx_len[id] = (uint16_t)rsp.status;
        net.ready[(net.ready_head + net.ready_count++) % NET_RX_MAX] = (uint16_t)id;
        net.stats.rx_flips++;
        if (k == 2 * NET_RX_BATCH) {
            mmu_update_or_panic(u, k, "mapping received pages");
            k = 0;
        }
    }
    net.rx.rsp_cons = rp;
    mmu_update_or_panic(u, k, "mapping received pages");
}

/*
 * Nothing ready: ask to be notified when `holdoff` responses are waiting
 * (rsp_event), look once more, and sleep — for at most HOLDOFF_TIMEOUT_NS
 * when holding off, so that fewer than `holdoff` packets still arrive.
 */
static void rx_wait(void)
{
    uint64_t deadline = 0;

    clear_evtchn(net.port);             /* before looking: a later notify re-raises it */
    net.rx.sring->rsp_event = net.rx.rsp_cons + net.holdoff;
    xen_mb();
    if (RING_HAS_UNCONSUMED_RESPONSES(&net.rx) >= net.holdoff)
        return;
    if (net.holdoff > 1)
        deadline = arch_system_time() + HOLDOFF_TIMEOUT_NS;
    net.stats.rx_waits++;
    if (wait_for_event(deadline))
        net.stats.rx_wakeups++;
}

/* The UDP datagram in a received frame, if it is for our address and port. */
static const uint8_t *udp_for_us(const uint8_t *f, unsigned int size, unsigned int *len,
                                 struct udp_addr *from)
{
    unsigned int ihl, ulen;

    if (size < HDR_LEN || get16(f + 12) != 0x0800 || f[14] >> 4 != 4 || f[23] != IPPROTO_UDP)
        return 0;
    ihl = (f[14] & 15) * 4u;
    if (ihl < IP_HLEN || size < ETH_HLEN + ihl + UDP_HLEN || get32(f + 30) != net.ip)
        return 0;
    f += ETH_HLEN + ihl;                /* the UDP header */
    ulen = get16(f + 4);
    if (net.lport && get16(f + 2) != net.lport)
        return 0;
    if (ulen < UDP_HLEN || ulen > size - ETH_HLEN - ihl)
        return 0;
    from->ip = get32(f - ihl + 12);
    from->port = get16(f);
    *len = ulen - UDP_HLEN;
    return f + UDP_HLEN;
}

int netfront_recv(struct udp_addr *from, pte_t *l3, unsigned long va, unsigned long len)
{
    if (!net.connected)
        return -1;
    for (;;) {
        while (net.ready_count) {
            unsigned int id = net.ready[net.ready_head], plen = 0;
            const uint8_t *frame = (const uint8_t *)pfn_to_virt(net.rx_pfn[id]) + net.rx_off[id];
            const uint8_t *data = udp_for_us(frame, net.rx_len[id], &plen, from);
            int rc = 0;

            net.ready_head = (net.ready_head + 1) % NET_RX_MAX;
            net.ready_count--;
            if (data && plen > len)
                plen = (unsigned int)len;
            if (data)
                rc = copyout(l3, va, data, plen);
            net.repost[net.nrepost++] = (uint16_t)id;
            if (net.nrepost == NET_RX_BATCH)
                rx_flush_reposts();
            if (!data) {
                net.stats.rx_ignored++;
                continue;
            }
            net.stats.rx_packets++;
            return rc < 0 ? -1 : (int)plen;
        }
        rx_flush_reposts();             /* every page back before we wait for more */
        rx_collect();
        if (!net.ready_count)
            rx_wait();
    }
}

void netfront_bind(unsigned int port)
{
    net.lport = port & 0xffff;
}

/* Wait until domain 0 has answered every transmit request (so the counters are final, and
 * nothing is left in the ring of a program about to power off). */
static void tx_drain(void)
{
    for (;;) {
        tx_reclaim();
        if (net.tx_nfree == NET_TX_BUFS)
            return;
        tx_wait();
    }
}

int netfront_info(struct netinfo *info)
{
    if (!net.connected)
        return -1;
    tx_drain();
    *info = net.stats;
    memcpy(info->mac, net.mac, 6);
    info->holdoff = (unsigned short)net.holdoff;
    info->ip = net.ip;
    info->ttcp = net.ttcp;
    info->peer = net.peer;
    return 0;
}

/* ------------------------------------------------------------ connecting */

/* The command line's network options: ttcp=tx|rx|echo, peer=IP, holdoff=K, rxbufs=N. */
static void read_options(const char *cmdline)
{
    char word[20];

    if (cmdline_word(cmdline, "ttcp", word, sizeof(word)) == 0)
        net.ttcp = !strcmp(word, "tx") ? TTCP_TX : !strcmp(word, "rx") ? TTCP_RX
                 : !strcmp(word, "echo") ? TTCP_ECHO : 0;
    if (cmdline_word(cmdline, "peer", word, sizeof(word)) == 0)
        net.peer = parse_ip(word);
    net.holdoff = (unsigned int)cmdline_ulong(cmdline, "holdoff", 1);
    if (net.holdoff < 1 || net.holdoff > NET_RX_MAX)
        net.holdoff = 1;
    net.nrx = (unsigned int)cmdline_ulong(cmdline, "rxbufs", NET_RX_DEFAULT);
    if (net.nrx > NET_RX_MAX)
        net.nrx = NET_RX_MAX;
}

int netfront_init(start_info_t *si)
{
    char list[64], value[24];
    netif_tx_sring_t *txs;
    netif_rx_sring_t *rxs;
    uint16_t ids[NET_RX_MAX];
    unsigned int i;

    if (xenbus_init(si) != 0)
        return -1;                      /* a bare Xen: no store, no network */
    if (xenbus_directory("device/vif", list, sizeof(list)) <= 0)
        return -1;                      /* no VIF for us */
    snprintf(net.node, sizeof(net.node), "device/vif/%s", list);   /* the first one */
    if (xenbus_read_key(net.node, "backend", net.backend, sizeof(net.backend)) <= 0)
        return -1;
    if (xenbus_read_key(net.node, "mac", value, sizeof(value)) <= 0 ||
        parse_mac(value, net.mac) < 0)
        return -1;
    if (xenbus_read_key(net.node, "ip", value, sizeof(value)) <= 0 ||
        !(net.ip = parse_ip(value)))
        return -1;
    read_options((const char *)si->cmd_line);

    /* The rings and the transfer table: pages of ours, ready before domain 0 sees them. */
    txs = kalloc();
    rxs = kalloc();
    net.xfer = kalloc();
    if (!txs || !rxs || !net.xfer)
        panic("netfront: no pages for the rings");
    SHARED_RING_INIT(txs);
    FRONT_RING_INIT(&net.tx, txs, PGSIZE);
    SHARED_RING_INIT(rxs);
    FRONT_RING_INIT(&net.rx, rxs, PGSIZE);
    for (i = 0; i < NET_TX_BUFS; i += 2) {
        char *page = kalloc();

        if (!page)
            panic("netfront: no pages for transmit buffers");
        net.txbuf[i] = page;
        net.txbuf[i + 1] = page + NET_TX_BUFSIZE;
    }
    for (i = 0; i < NET_TX_BUFS; i++)
        net.tx_free[i] = (uint16_t)(NET_TX_BUFS - 1 - i);
    net.tx_nfree = NET_TX_BUFS;
    for (i = 0; i < net.nrx; i++) {
        void *page = kalloc();

        if (!page)
            panic("netfront: no pages to receive into");
        net.rx_pfn[i] = virt_to_pfn(page);
        net.rx_mfn[i] = virt_to_mfn(page);
        ids[i] = (uint16_t)i;
    }
    /* A port domain 0 may bind to. We never take its upcall: we poll it. */
    if (evtchn_alloc_unbound(0, &net.port) != 0)
        panic("netfront: alloc_unbound failed");
    mask_evtchn(net.port);

    xenbus_write_key_ulong(net.node, "tx-ring-ref", virt_to_mfn(txs));
    xenbus_write_key_ulong(net.node, "rx-ring-ref", virt_to_mfn(rxs));
    xenbus_write_key_ulong(net.node, "rx-transfer-ref", virt_to_mfn((void *)net.xfer));
    xenbus_write_key_ulong(net.node, "event-channel", net.port);
    xenbus_write_key_ulong(net.node, "state", XenbusStateInitialised);
    if (xenbus_wait_connected(net.backend, "netfront") < 0)
        return -1;
    net.connected = 1;
    rx_post(ids, net.nrx);              /* the pages domain 0 may flip packets into */
    xenbus_write_key_ulong(net.node, "state", XenbusStateConnected);
    printk("netfront: %s: mac %02x:%02x:%02x:%02x:%02x:%02x, ip %u.%u.%u.%u, "
           "%u receive pages posted, port %u\n", net.node, net.mac[0], net.mac[1], net.mac[2],
           net.mac[3], net.mac[4], net.mac[5], net.ip >> 24, (net.ip >> 16) & 255,
           (net.ip >> 8) & 255, net.ip & 255, net.nrx, net.port);
    return 0;
}
