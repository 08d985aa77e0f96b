"""The hypervisor: one module per mechanism of the paper, named as Xen names them.

``setup`` (start of day: the hypervisor hole, M2P, GDT) → ``domain`` (domains and vCPUs) →
``hypercall`` (the dispatch table) → ``traps``, ``mm``, ``console``, ``version``,
``schedule`` (the handlers) → ``crash`` (what a dying domain leaves behind).
``hypervisor.Xen`` wires them to the emulated machine in ``xenlab.hw``.
"""
