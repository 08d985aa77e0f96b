/*
 * xen/grant_table.h — grant_table_op(cmd, args, count): share or transfer
 * pages between domains (Xen 2.0+, the successor of the paper's page flip).
 */
#ifndef __XEN_PUBLIC_GRANT_TABLE_H__
#define __XEN_PUBLIC_GRANT_TABLE_H__

#define GNTTABOP_map_grant_ref    0
#define GNTTABOP_unmap_grant_ref  1
#define GNTTABOP_setup_table      2
#define GNTTABOP_transfer         4
#define GNTTABOP_copy             5
#define GNTTABOP_query_size       6

/* grant_entry_v1.flags */
#define GTF_permit_access    1  /* domid may map frame */
#define GTF_accept_transfer  2  /* domid may give us a frame */
#define GTF_readonly         4
#define GTF_reading          8  /* set by Xen while mapped for reading */
#define GTF_writing         16  /* set by Xen while mapped for writing */

#ifndef __ASSEMBLER__
#include <stdint.h>

typedef uint32_t grant_ref_t;

struct grant_entry_v1 {
    uint16_t flags;     /* GTF_* */
    uint16_t domid;     /* the domain being granted access */
    uint32_t frame;     /* the frame (or, for transfers, where it went) */
};
typedef struct grant_entry_v1 grant_entry_v1_t;

_Static_assert(sizeof(struct grant_entry_v1) == 8, "grant_entry_v1");

#endif /* !__ASSEMBLER__ */
#endif /* __XEN_PUBLIC_GRANT_TABLE_H__ */
