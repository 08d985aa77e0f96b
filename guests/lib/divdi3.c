/*
 * divdi3.c — 64-bit division for a 32-bit CPU. `div` on i686 divides a
 * 64-bit value by a 32-bit one only, so clang turns every u64 / and % into
 * calls to these libgcc/compiler-rt helpers (toolchain-notes pitfall 6).
 * printk's %llu needs them.
 *
 * Method: schoolbook binary long division, one quotient bit per step. It is
 * slow (up to 64 steps) but obviously correct, and it uses no division
 * itself, so it cannot recurse into this file.
 */
#include <stdint.h>

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem);
uint64_t __udivdi3(uint64_t n, uint64_t d);
uint64_t __umoddi3(uint64_t n, uint64_t d);
int64_t __divdi3(int64_t n, int64_t d);
int64_t __moddi3(int64_t n, int64_t d);

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem)
{
    uint64_t q = 0;
    int shift;

    if (d == 0) {
        /* Raise #DE as the hardware would: a 32-bit divide by zero. */
        volatile uint32_t zero = 0;
        return 1 / zero;
    }
    if (n < d) {
        if (rem)
            *rem = n;
        return 0;
    }
    if ((n >> 32) == 0) {
        /* Both fit in 32 bits: one native divl. */
        if (rem)
            *rem = (uint32_t)n % (uint32_t)d;
        return (uint32_t)n / (uint32_t)d;
    }

    /* Line d up under n's top bit, then subtract it back down. */
    shift = __builtin_clzll(d) - __builtin_clzll(n);
    d <<= shift;
    for (; shift >= 0; shift--) {
        q <<= 1;
        if (n >= d) {
            n -= d;
            q |= 1;
        }
        d >>= 1;
    }
    if (rem)
        *rem = n;
    return q;
}

uint64_t __udivdi3(uint64_t n, uint64_t d)
{
    return __udivmoddi4(n, d, 0);
}

uint64_t __umoddi3(uint64_t n, uint64_t d)
{
    uint64_t r;

    __udivmoddi4(n, d, &r);
    return r;
}

/* Signed: divide the magnitudes; the quotient is negative when the signs
 * differ, the remainder takes the dividend's sign (C rounds toward zero). */
int64_t __divdi3(int64_t n, int64_t d)
{
    uint64_t un = n < 0 ? -(uint64_t)n : (uint64_t)n;
    uint64_t ud = d < 0 ? -(uint64_t)d : (uint64_t)d;
    uint64_t q = __udivmoddi4(un, ud, 0);

    return (int64_t)((n < 0) != (d < 0) ? 0 - q : q);
}

int64_t __moddi3(int64_t n, int64_t d)
{
    uint64_t un = n < 0 ? -(uint64_t)n : (uint64_t)n;
    uint64_t ud = d < 0 ? -(uint64_t)d : (uint64_t)d;
    uint64_t r;

    __udivmoddi4(un, ud, &r);
    return (int64_t)(n < 0 ? 0 - r : r);
}
