"""Domain 0's side (paper §2.3, §3.4): building domains and controlling them.

In Xen the domain builder is not part of the hypervisor: the control domain loads the
kernel image, lays out its memory and page tables, and asks Xen to start it.  xenlab keeps
that split: ``elfimage`` reads images, ``builder`` lays out a new domain, ``control`` offers
the operations the CLI and the labs use.
"""
