/*
 * checks.h — for guests that test the hypervisor from the inside: each
 * check prints one line, "<what> = <value>  ok|FAIL", and checks_done()
 * prints the verdict and shuts down (poweroff if all passed, crash if not),
 * so a test can read both the console and the shutdown reason.
 */
#ifndef __CHECKS_H__
#define __CHECKS_H__

void check(const char *what, long got, long want);
void checks_done(void) __attribute__((noreturn));

#endif /* __CHECKS_H__ */
