"""Xen's public 32-bit PV ABI as data (no behaviour, no imports from the rest of xenlab).

Every number and layout here comes from Xen's public headers (``xen/include/public``) as
summarised in ``shared/reference/xen-pv-abi.md``.  This package is the single source of truth
on the Python side; ``tests/abi`` checks the guests' C header ``guests/include/xen/xen.h``
against it so the two views of the ABI cannot drift apart.
"""
