/*
 * user_ttcp.c — ttcp, the throughput test of the paper's Table 6, over UDP
 * through the virtual network (paper §3.3.5), in ring 3.
 *
 * "ttcp=tx peer=IP n=COUNT size=BYTES" sends COUNT datagrams of BYTES (at
 * most 1472, one frame each) to port "port=" (5001, ttcp's) of the peer —
 * as fast as it can, or with "burst=B" in bursts of B, waiting after each
 * until domain 0 has taken them (a paced sender, for the notification
 * experiments);
 * "ttcp=rx n=COUNT" receives them on that port. Each side times itself in
 * system time (uptime(): virtual, so every run prints the same) and prints
 * its throughput: the sender from its first datagram to its last, the
 * receiver from the first datagram's arrival to the last's. The datagrams
 * carry their sequence number, so the receiver counts what was lost or came
 * out of order; the sender ends with a datagram of sequence 0xffffffff, so
 * a receiver that lost some still stops. "ttcp=echo port=P n=COUNT" sends
 * every datagram back where it came from (COUNT times; 0: for ever).
 * User code: see the rules in user.h.
 */
#include "user.h"

#define TTCP_PORT       5001
#define ECHO_PORT       7
#define MAX_PAYLOAD     1472
#define FIN             0xffffffffu

static void put_seq(unsigned char *buf, unsigned int seq)
{
    buf[0] = (unsigned char)(seq >> 24);
    buf[1] = (unsigned char)(seq >> 16);
    buf[2] = (unsigned char)(seq >> 8);
    buf[3] = (unsigned char)seq;
}

static unsigned int get_seq(const unsigned char *buf)
{
    return (unsigned int)buf[0] << 24 | (unsigned int)buf[1] << 16 |
           (unsigned int)buf[2] << 8 | buf[3];
}

/* "<who>: N datagrams, B bytes in T us = R Mbit/s" — bits per microsecond is Mbit/s. */
static void report(const char *who, unsigned int packets, unsigned int bytes, unsigned int us)
{
    unsigned int whole, frac = 0, rem, i;

    if (us == 0)
        us = 1;
    whole = bytes * 8 / us;             /* bytes < 512 MiB: no overflow */
    rem = bytes * 8 % us;
    for (i = 0; i < 3; i++) {           /* three decimals, one digit at a time */
        rem *= 10;
        frac = frac * 10 + rem / us;
        rem %= us;
    }
    uprintf(USTR("%s: %u datagrams, %u bytes in %u us = %u.%03u Mbit/s\n"), who, packets, bytes,
            us, whole, frac);
}

static void counters(const char *who)
{
    struct netinfo ni;

    netinfo(&ni);
    uprintf(USTR("%s: tx %u (%u refused), %u notifications to domain 0\n"), who,
            ni.tx_packets, ni.tx_errors, ni.tx_kicks);
    uprintf(USTR("%s: rx %u (%u page flips), %u waits, %u woken by domain 0\n"), who,
            ni.rx_packets, ni.rx_flips, ni.rx_waits, ni.rx_wakeups);
}

static void ttcp_tx(const struct netinfo *ni, unsigned int n, unsigned int size)
{
    unsigned char buf[MAX_PAYLOAD];
    struct udp_addr to;
    struct netinfo done;
    unsigned int i, start, refused = 0, burst = param(USTR("burst"), 0);

    to.ip = ni->peer;
    to.port = param(USTR("port"), TTCP_PORT);
    for (i = 0; i < size; i++)
        buf[i] = (unsigned char)(i * 7 + 1);
    uprintf(USTR("ttcp-t: %u x %u bytes to %u.%u.%u.%u:%u\n"), n, size, to.ip >> 24,
            (to.ip >> 16) & 255, (to.ip >> 8) & 255, to.ip & 255, to.port);
    start = uptime();
    for (i = 0; i < n; i++) {
        put_seq(buf, i);
        if (netsend(&to, buf, size) != (int)size)
            refused++;
        if (burst && (i + 1) % burst == 0)
            netinfo(&done);             /* returns once domain 0 has taken every datagram */
    }
    report(USTR("ttcp-t"), n - refused, (n - refused) * size, uptime() - start);
    put_seq(buf, FIN);
    netsend(&to, buf, 4);
    counters(USTR("ttcp-t"));
}

static void ttcp_rx(unsigned int n)
{
    unsigned char buf[MAX_PAYLOAD];
    struct udp_addr from;
    unsigned int got = 0, bytes = 0, expect = 0, disorder = 0, start = 0, end = 0;
    int len;

    netbind(param(USTR("port"), TTCP_PORT));
    uprintf(USTR("ttcp-r: waiting for %u datagrams\n"), n);
    while (got < n) {
        len = netrecv(&from, buf, sizeof(buf));
        if (len < 4)
            continue;
        if (get_seq(buf) == FIN)
            break;
        end = uptime();
        if (got == 0)
            start = end;
        if (get_seq(buf) != expect)
            disorder++;
        expect = get_seq(buf) + 1;
        got++;
        bytes += (unsigned int)len;
    }
    report(USTR("ttcp-r"), got, bytes, end - start);
    uprintf(USTR("ttcp-r: %u lost, %u out of sequence\n"), n - got, disorder);
    counters(USTR("ttcp-r"));
}

static void ttcp_echo(unsigned int n)
{
    unsigned char buf[MAX_PAYLOAD];
    struct udp_addr from;
    unsigned int i;
    int len;

    netbind(param(USTR("port"), ECHO_PORT));
    uprintf(USTR("echo: listening\n"));
    for (i = 0; n == 0 || i < n; i++) {
        len = netrecv(&from, buf, sizeof(buf));
        if (len < 0)
            break;
        netsend(&from, buf, (unsigned int)len);
        uprintf(USTR("echo: %d bytes from %u.%u.%u.%u:%u sent back\n"), len, from.ip >> 24,
                (from.ip >> 16) & 255, (from.ip >> 8) & 255, from.ip & 255, from.port);
    }
    counters(USTR("echo"));
}

void ttcp_main(const struct netinfo *ni)
{
    unsigned int n = param(USTR("n"), 1000), size = param(USTR("size"), MAX_PAYLOAD);

    if (size < 4)
        size = 4;
    if (size > MAX_PAYLOAD)
        size = MAX_PAYLOAD;
    uprintf(USTR("ttcp: %02x:%02x:%02x:%02x:%02x:%02x, %u.%u.%u.%u, hold-off %u\n"), ni->mac[0],
            ni->mac[1], ni->mac[2], ni->mac[3], ni->mac[4], ni->mac[5], ni->ip >> 24,
            (ni->ip >> 16) & 255, (ni->ip >> 8) & 255, ni->ip & 255, ni->holdoff);
    if (ni->ttcp == TTCP_TX)
        ttcp_tx(ni, n, size);
    else if (ni->ttcp == TTCP_RX)
        ttcp_rx(n);
    else
        ttcp_echo(param(USTR("n"), 0));
}
