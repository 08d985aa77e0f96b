"""Building xenlab's guest kernels with nothing but ``pip install``.

The toolstack and the labs call :func:`build_guest` to turn a guest's C and
assembly sources (``guests/<name>/`` plus the shared ``guests/lib`` and
``guests/include``) into a 32-bit PAE kernel ELF that the domain builder
loads. :func:`list_guests` names the built-in guests. Images are cached by
content (:mod:`xenlab.build.cache`); the compiler is zig's clang from the
``ziglang`` wheel (:mod:`xenlab.build.toolchain`).
"""

from .cache import CACHE_ENV, default_cache_root
from .guests import GUESTS_DIR, GUESTS_ENV, GuestInfo, build_guest, guests_dir, list_guests
from .toolchain import CFLAGS, LDFLAGS, BuildError, zig_version

__all__ = [
    "CACHE_ENV",
    "CFLAGS",
    "GUESTS_DIR",
    "GUESTS_ENV",
    "LDFLAGS",
    "BuildError",
    "GuestInfo",
    "build_guest",
    "default_cache_root",
    "guests_dir",
    "list_guests",
    "zig_version",
]
