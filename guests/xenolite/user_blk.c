/*
 * user_blk.c — the block workload ("blk=1"), a ring-3 program that drives
 * the virtual disk through blkread/blkwrite/blkflush (drivers/blkfront.c).
 *
 * The disk is cut into blocks of 4 KiB (8 sectors). Every block written is
 * stamped: its number, a generation (the number of the operation that
 * wrote it, so later writes have higher ones), a checksum, and 4080 bytes
 * derived from the number and generation. So whatever is read back can be
 * judged on its own: a block is either never written (all zero) or a
 * consistent stamp of itself — and the program also remembers which
 * generation it last wrote where.
 *
 *   blk=1 ops=N seed=S   a dbench-like deterministic mix of writes (1-4
 *                        blocks), reads that verify, flushes and barrier
 *                        writes; one "ack seq=<n> block=<b> gen=<g>" line
 *                        per block of every write the disk acknowledged and
 *                        "ack seq=<n> flush" per flush; then every block is
 *                        read back and checked, and a summary printed
 *   blk=1 verify=1       only read the whole disk and check every block
 *   blk=1 bench=1 / 2    write / read the whole disk sequentially, 1 MiB
 *                        per call (for benchmarks/block.py)
 *
 * User code: see the rules in user.h (no globals, strings through USTR).
 */
#include "user.h"

#define BLOCK_WORDS 1024                /* a block: one page, 8 sectors */
#define SPB         8                   /* sectors per block */
#define MAGIC       0x4b4c4258u         /* "XBLK" */
#define MAX_RUN     4                   /* blocks per read or write of the mix */
#define MAX_BLOCKS  65536               /* GENS below is 256 KiB */
#define BUF_BLOCKS  256                 /* BUF: 1 MiB */

/* The demand-zero heap: the generation last written to each block (0: none
 * this run), then the I/O buffer (page-aligned, as the disk wants). */
#define GENS ((unsigned int *)USER_HEAP)
#define BUF  ((unsigned int *)(USER_HEAP + MAX_BLOCKS * 4))

struct blkstats {
    unsigned int writes, barriers, wblocks, reads, rblocks, flushes;
    unsigned int acks, errors, bad;
};

static unsigned int next(unsigned int *x)      /* xorshift32 */
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* FNV-1a over the block's words, except the checksum word itself (3). */
static unsigned int checksum(const unsigned int *w)
{
    unsigned int h = 2166136261u, i;

    for (i = 0; i < 3; i++)
        h = (h ^ w[i]) * 16777619u;
    for (i = 4; i < BLOCK_WORDS; i++)
        h = (h ^ w[i]) * 16777619u;
    return h;
}

static void stamp(unsigned int *w, unsigned int block, unsigned int gen)
{
    unsigned int x = ((block + 1) * 2654435761u) ^ (gen * 2246822519u), i;

    if (!x)
        x = 1;
    w[0] = MAGIC;
    w[1] = block;
    w[2] = gen;
    for (i = 4; i < BLOCK_WORDS; i++)
        w[i] = next(&x);
    w[3] = checksum(w);
}

/* A block as read back: its generation if it is a consistent stamp of this
 * block, 0 if never written (all zero), -1 if neither. */
static int check(const unsigned int *w, unsigned int block)
{
    unsigned int i;

    if (w[0] == 0) {
        for (i = 0; i < BLOCK_WORDS; i++)
            if (w[i])
                return -1;
        return 0;
    }
    if (w[0] != MAGIC || w[1] != block || w[2] == 0 || w[2] > 0x7fffffffu ||
        w[3] != checksum(w))
        return -1;
    return (int)w[2];
}

/* Judge block `block` read into w; want: the generation we wrote last (0: unknown). */
static void verify_block(const unsigned int *w, unsigned int block, unsigned int want,
                         struct blkstats *st)
{
    int gen = check(w, block);

    if (gen < 0 || (want && (unsigned int)gen != want)) {
        st->bad++;
        uprintf(USTR("blk: BAD block %u: found generation %d, expected %u\n"), block, gen, want);
    }
}

static void do_write(unsigned int b, unsigned int run, unsigned int gen, int barrier,
                     struct blkstats *st)
{
    unsigned int k;

    for (k = 0; k < run; k++)
        stamp(BUF + k * BLOCK_WORDS, b + k, gen);
    if (blkwrite(b * SPB, BUF, run * SPB | (barrier ? BLK_BARRIER : 0)) < 0) {
        st->errors++;
        uprintf(USTR("blk: write of blocks %u-%u failed\n"), b, b + run - 1);
        return;
    }
    if (barrier)
        st->barriers++;
    else
        st->writes++;
    st->wblocks += run;
    for (k = 0; k < run; k++) {
        GENS[b + k] = gen;
        uprintf(USTR("ack seq=%u block=%u gen=%u\n"), ++st->acks, b + k, gen);
    }
}

static void do_read(unsigned int b, unsigned int run, struct blkstats *st)
{
    unsigned int k;

    if (blkread(b * SPB, BUF, run * SPB) < 0) {
        st->errors++;
        uprintf(USTR("blk: read of blocks %u-%u failed\n"), b, b + run - 1);
        return;
    }
    st->reads++;
    st->rblocks += run;
    for (k = 0; k < run; k++)
        verify_block(BUF + k * BLOCK_WORDS, b + k, GENS[b + k], st);
}

/* The mix: half writes, five sixteenths reads, flushes, a barrier write now and then. */
static void run_ops(unsigned int nblocks, unsigned int ops, unsigned int seed,
                    struct blkstats *st)
{
    unsigned int x = seed * 2654435761u + 0x9e3779b9u, op;

    if (!x)
        x = 1;
    for (op = 1; op <= ops; op++) {
        unsigned int r = next(&x), kind = r % 16, b = next(&x) % nblocks;
        unsigned int run = 1 + (r >> 8) % MAX_RUN;

        if (run > nblocks - b)
            run = nblocks - b;
        if (kind < 8 || kind == 15) {
            do_write(b, run, op, kind == 15, st);
        } else if (kind < 13) {
            do_read(b, run, st);
        } else if (blkflush() < 0) {
            st->errors++;
            uprintf(USTR("blk: flush failed\n"));
        } else {
            st->flushes++;
            uprintf(USTR("ack seq=%u flush\n"), ++st->acks);
        }
    }
}

/* Read the whole disk, 1 MiB at a time, and judge every block. */
static void check_disk(unsigned int nblocks, struct blkstats *st, unsigned int *written,
                       unsigned int *empty)
{
    unsigned int b, k, n;
    int gen;

    for (b = 0; b < nblocks; b += n) {
        n = nblocks - b < BUF_BLOCKS ? nblocks - b : BUF_BLOCKS;
        if (blkread(b * SPB, BUF, n * SPB) < 0) {
            st->errors++;
            uprintf(USTR("blk: read of blocks %u-%u failed\n"), b, b + n - 1);
            continue;
        }
        for (k = 0; k < n; k++) {
            verify_block(BUF + k * BLOCK_WORDS, b + k, GENS[b + k], st);
            gen = check(BUF + k * BLOCK_WORDS, b + k);
            if (gen > 0)
                ++*written;
            else if (gen == 0)
                ++*empty;
        }
    }
}

/* bench=1: write the whole disk; bench=2: read it. Sequential, 1 MiB per call. */
static void bench(unsigned int nblocks, int write)
{
    unsigned int b, n, calls = 0;

    for (b = 0; b < nblocks; b += n) {
        n = nblocks - b < BUF_BLOCKS ? nblocks - b : BUF_BLOCKS;
        if ((write ? blkwrite(b * SPB, BUF, n * SPB) : blkread(b * SPB, BUF, n * SPB)) < 0) {
            uprintf(USTR("blk: bench: I/O error at block %u\n"), b);
            return;
        }
        calls++;
    }
    uprintf(USTR("blk: bench %s: %u blocks in %u calls\n"), write ? USTR("write") : USTR("read"),
            nblocks, calls);
}

void blk_main(void)
{
    struct blkinfo info;
    struct blkstats st = { 0 };
    unsigned int ops = param(USTR("ops"), 200), seed = param(USTR("seed"), 1);
    unsigned int nblocks, written = 0, empty = 0;

    if (blkinfo(&info) < 0) {
        uprintf(USTR("blk: no disk\n"));
        return;
    }
    nblocks = info.sectors / SPB < MAX_BLOCKS ? info.sectors / SPB : MAX_BLOCKS;
    uprintf(USTR("blk: disk of %u sectors: %u blocks of 4 KiB, %s\n"), info.sectors, nblocks,
            info.readonly ? USTR("read-only") : USTR("read-write"));
    if (nblocks == 0)
        return;
    if (param(USTR("bench"), 0)) {
        bench(nblocks, param(USTR("bench"), 0) == 1);
        return;
    }
    if (param(USTR("verify"), 0)) {
        check_disk(nblocks, &st, &written, &empty);
        uprintf(USTR("blk: verify: %u blocks: %u written, %u never written, %u bad\n"), nblocks,
                written, empty, st.bad);
        return;
    }
    uprintf(USTR("blk: %u operations, seed %u\n"), ops, seed);
    run_ops(nblocks, ops, seed, &st);
    /* USTR takes one literal: a long line is printed in two calls. */
    uprintf(USTR("blk: %u writes and %u barriers (%u blocks), "), st.writes, st.barriers,
            st.wblocks);
    uprintf(USTR("%u reads (%u blocks), %u flushes, %u errors\n"), st.reads, st.rblocks,
            st.flushes, st.errors);
    check_disk(nblocks, &st, &written, &empty);
    blkinfo(&info);
    uprintf(USTR("blk: final check: %u blocks written, %u never written, %u bad; "), written,
            empty, st.bad);
    uprintf(USTR("%u requests, %u error responses\n"), info.requests, info.errors);
}
