/*
 * xen/io/xenbus.h — the state each end of a split device publishes in its
 * xenstore directory ("state"); front and back end step each other through
 * them to Connected.
 */
#ifndef __XEN_PUBLIC_IO_XENBUS_H__
#define __XEN_PUBLIC_IO_XENBUS_H__

enum xenbus_state {
    XenbusStateUnknown       = 0,
    XenbusStateInitialising  = 1,
    XenbusStateInitWait      = 2,   /* the back end waits for the front end's details */
    XenbusStateInitialised   = 3,   /* the front end has published its ring and port */
    XenbusStateConnected     = 4,
    XenbusStateClosing       = 5,
    XenbusStateClosed        = 6,
};

#endif /* __XEN_PUBLIC_IO_XENBUS_H__ */
