"""The emulated machine: an x86-32 CPU with PAE paging and machine memory, built on Unicorn.

This is the only package that imports ``unicorn``.  It knows nothing of domains or
hypercalls: it offers a CPU that runs until something traps, hands the trap to one callback,
and lets its owner (the hypervisor in ``xenlab.xen``) change registers, rings and address
spaces.  Every Unicorn workaround from ``shared/reference/unicorn-field-notes.md`` lives here.
"""
