/*
 * port_io_from_ring1 — a PV kernel runs with IOPL 0 and no I/O bitmap, so in and out (any
 * size, immediate or %dx port) raise #GP(0) in ring 1: devices belong to the driver domain.
 * Xen grants port access only through physdev_op (set_iopl, set_iobitmap).
 */
#include "common.h"

#define PROBE(what, code)                                                             \
    do {                                                                              \
        unsigned long before_ = nr_faults;                                            \
        asm volatile("movl $1f, %0\n\tmovl $0x3f8, %%edx\n\tmovl $1, %%ecx\n\t"        \
                     "leal -64(%%esp), %%edi\n\t" code "\n1:\n\tmovl $0, %0"           \
                     : "+m"(fault_resume) : : "memory", "eax", "ecx", "edx", "edi");  \
        check(nr_faults != before_ ? (long)last_fault()->vector : NO_FAULT, 13, "%s", what); \
        if (nr_faults != before_)                                                     \
            check(last_fault()->error, 0, "  ...error code");                         \
    } while (0)

static void attack(void)
{
    PROBE("inb $0x80", "inb $0x80, %%al");
    PROBE("outb $0x80", "outb %%al, $0x80");
    PROBE("inl (%dx)", "inl %%dx, %%eax");
    PROBE("outw (%dx)", "outw %%ax, %%dx");
    PROBE("rep insb", "rep insb");
}
