"""Domain 0: the control domain's drivers and daemons (paper §2.3, §3.2; Xen 3's tools).

On a real Xen host, domain 0 is a guest kernel (XenLinux) with privileges: it runs the
back-end drivers that own the real devices and the daemons that hold policy (xenstored,
xenconsoled, the toolstack).  Simplified in xenlab: domain 0's *kernel* is not emulated.
It is a real domain (id 0, privileged, with event channels other domains bind to) whose
code is Python in the host process — :class:`~xenlab.dom0.domain0.ControlDomain` — and
its drivers reach guests only through what Xen gives any domain: their ring pages (shared
with it, as a grant would) and event channels.  That is what lets the disk be a real file
and the network a real socket on the host.

``domain0.py`` (the domain and its event loop); the store: ``xenstore.py`` (the tree and
its API) with ``xs_paths``, ``xs_perms``, ``xs_watch``, ``xs_transaction``, ``xs_wire``, and
``xenstored.py`` (its ring transport to each guest); ``console.py`` (xenconsoled);
``xenbus.py`` (what split drivers share); block devices: ``vbd.py``, ``blkback.py``,
``elevator.py``, ``block.py``; the network: ``packet.py``, ``vfr.py``, ``netback.py``,
``bridge.py``, ``network.py``.
"""
