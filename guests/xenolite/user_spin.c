/*
 * user_spin.c — the preemption demo ("spin=1"), run by init: two spinners
 * that compute without a single system call between their progress lines,
 * and a sleeper. Without the clock tick the first spinner would run to the
 * end before the second printed anything; with it, their lines interleave.
 * The sleeper sleeps 5 ms twice and prints how much system time each
 * sleep took, read with rdtsc in ring 3 (Xen emulates it); then init,
 * alone, sleeps 5 ms, and the kernel blocks the domain. User code: see the
 * rules in user.h.
 */
#include "user.h"

#define SPIN_STEPS      8               /* progress lines per spinner */
#define SPIN_ITERS      250000          /* loop iterations between them */
#define SLEEP_MS        5

/* xorshift32 steps: pure computation, no memory but the stack, no system call. */
static unsigned int spin(int id)
{
    unsigned int x = 2463534242u + (unsigned int)id * 7919u;
    int step, i;

    for (step = 1; step <= SPIN_STEPS; step++) {
        for (i = 0; i < SPIN_ITERS; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
        }
        uprintf(USTR("spin %d: pid %d step %d x=0x%08x\n"), id, getpid(), step, x);
    }
    return x;
}

static void sleeper(void)
{
    unsigned int t0, t1;
    int round;

#pragma clang loop unroll(disable)
    for (round = 1; round <= 2; round++) {
        t0 = rdtsc_lo();
        sleep(SLEEP_MS);
        t1 = rdtsc_lo();
        uprintf(USTR("sleeper: pid %d slept %u ns\n"), getpid(), t1 - t0);
    }
}

void run_spin(void)
{
    struct sysinfo info;
    unsigned int t0;
    int i, pid, status;

    uprintf(USTR("init: pid %d forks 2 spinners, 1 sleeper\n"), getpid());
    for (i = 0; i < 2; i++) {
        pid = fork();
        if (pid == 0)
            exit((int)spin(i));
    }
    pid = fork();
    if (pid == 0) {
        sleeper();
        exit(0);
    }
    while ((pid = wait(&status)) > 0)
        uprintf(USTR("init: pid %d exited with 0x%08x\n"), pid, status);
    /* Alone now: while it sleeps nothing can run, and the kernel blocks the domain. */
    t0 = uptime();
    sleep(SLEEP_MS);
    uprintf(USTR("init: slept alone %u us\n"), uptime() - t0);
    sysinfo(&info);
    uprintf(USTR("xenolite: spin done at %u us, %u ticks, %u preemptions\n"), uptime(),
            info.ticks, info.preemptions);
}
