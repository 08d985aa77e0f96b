/*
 * drivers/netfront.h — the virtual network interface's front end
 * (netfront.c) and its minimal UDP/IPv4 stack, as the rest of the kernel
 * (main.c, syscall.c) sees it.
 */
#ifndef XENOLITE_NETFRONT_H
#define XENOLITE_NETFRONT_H

#include "arch.h"

struct netinfo;
struct udp_addr;

/* Find device/vif/<devid> in xenstore, connect to the back end and post
 * the receive pages: 0, or -1 without a VIF (or without xenstore), quietly. */
int netfront_init(start_info_t *si);

/* Our addresses, the "ttcp=" and "peer=" options and the counters: 0, or -1
 * without a VIF. */
int netfront_info(struct netinfo *info);

/* The UDP port we receive on and send from (0: receive on any). */
void netfront_bind(unsigned int port);

/* Send len bytes of user memory (l3, va) as one UDP datagram to `to`:
 * len, or -1 (no VIF, too long, a bad buffer). Waits for a free transmit
 * buffer if every one is in flight. */
int netfront_send(const struct udp_addr *to, pte_t *l3, unsigned long va, unsigned long len);

/* Wait for a UDP datagram to our address and bound port; copy up to len
 * bytes of it to user memory (l3, va) and its source to *from: the
 * datagram's length, or -1. */
int netfront_recv(struct udp_addr *from, pte_t *l3, unsigned long va, unsigned long len);

#endif /* XENOLITE_NETFRONT_H */
