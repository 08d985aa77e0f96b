/* bench_compute — runs compute(n) once in ring 1 and prints the hash. */
#include <cmdline.h>
#include <console.h>
#include <hypervisor.h>
#include <stdint.h>

uint32_t compute(uint32_t n);

void start_kernel(start_info_t *si)
{
    uint32_t n = (uint32_t)cmdline_ulong((const char *)si->cmd_line, "n", 1000000);

    printk("compute(%u) = %08x\n", (unsigned)n, (unsigned)compute(n));
    shutdown(SHUTDOWN_poweroff);
}
