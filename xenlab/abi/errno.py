"""Error numbers a hypercall returns, negated, in EAX (``errno.h`` values Xen uses)."""

EPERM = 1
ENOENT = 2
ESRCH = 3
E2BIG = 7
EAGAIN = 11
ENOMEM = 12
EFAULT = 14
EBUSY = 16
EEXIST = 17
EINVAL = 22
ENOSPC = 28
ENOSYS = 38
ETIME = 62

NAMES: dict[int, str] = {
    v: k for k, v in dict(globals()).items() if k.startswith("E") and isinstance(v, int)
}
