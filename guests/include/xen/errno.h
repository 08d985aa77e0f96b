/*
 * xen/errno.h — error numbers. A failing hypercall returns -E<name> in EAX
 * (xen-pv-abi.md "Entering the hypervisor"); the values are Linux's, which
 * Xen's public errno.h copies.
 */
#ifndef __XEN_PUBLIC_ERRNO_H__
#define __XEN_PUBLIC_ERRNO_H__

#define EPERM       1   /* operation not permitted */
#define ENOENT      2   /* no such entry */
#define ESRCH       3   /* no such domain / process */
#define EINTR       4
#define EIO         5
#define E2BIG       7   /* argument list too long */
#define EBADF       9
#define EAGAIN     11   /* try again */
#define ENOMEM     12   /* out of memory */
#define EACCES     13
#define EFAULT     14   /* bad guest address */
#define EBUSY      16   /* device or resource busy */
#define EEXIST     17
#define ENODEV     19
#define EINVAL     22   /* invalid argument */
#define ENOSPC     28
#define ERANGE     34
#define ENOSYS     38   /* hypercall not implemented */
#define ETIME      62   /* a timer deadline already passed */

#endif /* __XEN_PUBLIC_ERRNO_H__ */
