/* checks.c — see checks.h. */
#include <checks.h>
#include <console.h>
#include <hypervisor.h>

static int failures;

void check(const char *what, long got, long want)
{
    printk("%-52s = %6ld  %s\n", what, got, got == want ? "ok" : "FAIL");
    if (got != want)
        failures++;
}

void checks_done(void)
{
    printk("%s\n", failures ? "SOME CHECKS FAILED" : "all checks passed");
    shutdown(failures ? SHUTDOWN_crash : SHUTDOWN_poweroff);
}
