/*
 * compute — the workload both sides of the "PV domain vs bare CPU" comparison
 * run.  Arithmetic plus loads and stores to a small table, so paging is on the
 * path as it is for real code; no calls, no hypercalls.
 */
#include <stdint.h>

uint32_t compute_table[1024];

uint32_t compute(uint32_t n)
{
    uint32_t h = 2166136261u, i;

    for (i = 0; i < n; i++) {
        compute_table[i & 1023] += h;
        h = (h ^ compute_table[(i * 7) & 1023]) * 16777619u;
    }
    return h;
}
