/*
 * xen/features.h — bits of the XENVER_get_features map, and the names a
 * kernel uses in its XEN_ELFNOTE_FEATURES note ("!name" = required).
 */
#ifndef __XEN_PUBLIC_FEATURES_H__
#define __XEN_PUBLIC_FEATURES_H__

#define XENFEAT_writable_page_tables        0   /* Xen emulates writes to L1 tables */
#define XENFEAT_writable_descriptor_tables  1
#define XENFEAT_auto_translated_physmap     2
#define XENFEAT_supervisor_mode_kernel      3
#define XENFEAT_pae_pgdir_above_4gb         4   /* the L3 may live above 4 GiB */

#define XENFEAT_NR_SUBMAPS 1

#endif /* __XEN_PUBLIC_FEATURES_H__ */
