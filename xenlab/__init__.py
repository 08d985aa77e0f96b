"""xenlab: a laboratory for "Xen and the Art of Virtualization" (Barham et al., SOSP 2003).

Layers, bottom up (each imports only those below it):

- ``xenlab.abi``        Xen's public 32-bit PV ABI as data
- ``xenlab.hw``         the emulated machine (Unicorn): CPU, machine memory
- ``xenlab.xen``        the hypervisor: hypercalls, traps, memory, scheduling, domains
- ``xenlab.build``      the guest toolchain (ziglang) and its cache
- ``xenlab.toolstack``  domain 0's side: the domain builder and control operations
- ``xenlab.lab``, ``xenlab.cli``  the notebooks' widgets and the command line
"""

__version__ = "0.1.0"
