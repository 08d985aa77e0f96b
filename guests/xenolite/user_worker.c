/*
 * user_worker.c — a worker: fills a 64 KiB buffer in the (demand-zero)
 * heap with a pseudo-random sequence seeded by its number, gives the CPU
 * away once, hashes the buffer (FNV-1a) and returns the hash, which init
 * receives as the exit status. Each of its 16 pages arrives on a page
 * fault, and its stack is init's, copied on its first write.
 */
#include "user.h"

#define BUFSIZE (64 * 1024)

unsigned int worker(int id)
{
    unsigned char *buf = (unsigned char *)USER_HEAP;
    unsigned int x = 2463534242u + (unsigned int)id * 7919u;     /* xorshift32 state */
    unsigned int hash = 2166136261u;                            /* FNV-1a offset basis */
    int i;

    uprintf(USTR("worker %d: pid %d fills %u KiB at 0x%08x\n"), id, getpid(), BUFSIZE / 1024,
            (unsigned int)buf);
    for (i = 0; i < BUFSIZE; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (unsigned char)x;
    }
    yield();
    for (i = 0; i < BUFSIZE; i++)
        hash = (hash ^ buf[i]) * 16777619u;                     /* FNV prime */
    return hash;
}
