/*
 * user_init.c — init, the first process (pid 1), in ring 3.
 *
 * The kernel passes it the number of workers ("workers=N" on the command
 * line), whether to run the probes ("probes=1") and how much heap to touch
 * before forking ("prefault=KiB") as its arguments, and whether to run the
preemption demo instead ("spin=1", user_spin.c). It
 * forks the workers, waits for each one, prints the checksum each exited
 * with, checks that every page the workers used came back, and powers the
 * domain off.
 */
#include "user.h"

/* Fork the probes one at a time; each must be killed (exit status -1). */
static void run_probes(void)
{
    int kind, pid, status;

    /* Not unrolled: each copy would carry its own copies of the strings (USTR). */
#pragma clang loop unroll(disable)
    for (kind = 0; kind < NPROBES; kind++) {
        pid = fork();
        if (pid == 0) {
            probe(kind);
            exit(0);
        }
        if (wait(&status) != pid || status != -1)
            uprintf(USTR("init: probe %d was not stopped (status %d)\n"), kind, status);
        else
            uprintf(USTR("init: probe %d (pid %d) was killed\n"), kind, pid);
    }
}

void init_main(int nworkers, int probes, int prefault_kib, int spin)
{
    struct sysinfo before, after;
    struct netinfo ni;
    int pids[MAXWORKERS];
    int i, n, pid, status;

    if (spin) {                         /* "spin=1": the preemption demo instead */
        run_spin();
        poweroff();
        for (;;)
            ;
    }
    if (netinfo(&ni) == 0 && ni.ttcp) { /* "ttcp=...": the network test instead */
        ttcp_main(&ni);
        poweroff();
        for (;;)
            ;
    }
    if (param(USTR("blk"), 0)) {        /* "blk=1": the block workload instead */
        blk_main();
        poweroff();
        for (;;)
            ;
    }
    /* "prefault=K": touch K KiB of heap first, so each fork has that much to share. */
    for (i = 0; i < prefault_kib * 1024 && i < (int)(USER_HEAP_END - USER_HEAP); i += 4096)
        ((volatile unsigned char *)USER_HEAP)[i] = 1;
    if (prefault_kib)
        uprintf(USTR("init: touched %d KiB of heap before forking\n"), prefault_kib);
    sysinfo(&before);
    if (probes)
        run_probes();
    uprintf(USTR("init: pid %d, forking %d workers\n"), getpid(), nworkers);
    for (i = 0; i < nworkers; i++) {
        pid = fork();
        if (pid == 0)
            exit((int)worker(i));
        pids[i] = pid;
    }
    for (n = 0; n < nworkers; n++) {
        pid = wait(&status);
        for (i = 0; i < nworkers && pids[i] != pid; i++)
            ;
        uprintf(USTR("init: worker %d (pid %d) exited with checksum 0x%08x\n"), i, pid, status);
    }
    if (wait(&status) != -1)
        uprintf(USTR("init: wait() found a child too many\n"));
    sysinfo(&after);
    if (after.free_pages == before.free_pages)
        uprintf(USTR("init: every page its children used is free again (%u free)\n"),
                after.free_pages);
    else
        uprintf(USTR("init: LEAK: %u free pages before its children, %u after\n"),
                before.free_pages, after.free_pages);
    uprintf(USTR("xenolite: %d workers done, %u page faults, %u mmu_update batches\n"),
            nworkers, after.page_faults, after.mmu_batches);
    poweroff();
    for (;;)
        ;
}
