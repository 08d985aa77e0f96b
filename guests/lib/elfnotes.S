/*
 * elfnotes.S — how this kernel describes itself to the domain builder
 * (Xen's ELF notes, name "Xen", section .note.Xen; xen/elfnote.h).
 *
 * The builder reads these before loading anything: where the image goes
 * (VIRT_BASE, and PADDR_OFFSET, which turns an ELF p_paddr into a
 * pseudo-physical address), where to start (ENTRY), which page to fill with
 * hypercall stubs (HYPERCALL_PAGE), and which ABI we speak (PAE_MODE,
 * XEN_VERSION, FEATURES).
 */
#include <xen/elfnote.h>

        ELFNOTE(Xen, XEN_ELFNOTE_GUEST_OS,       .asciz "xenlab")
        ELFNOTE(Xen, XEN_ELFNOTE_GUEST_VERSION,  .asciz "0.1")
        ELFNOTE(Xen, XEN_ELFNOTE_XEN_VERSION,    .asciz "xen-3.0")
        ELFNOTE(Xen, XEN_ELFNOTE_LOADER,         .asciz "generic")

        /*
         * _text is the image base (0xC0000000, set in guest.ld). The ELF is
         * linked with p_paddr == p_vaddr, so the same number is the paddr
         * offset: pseudo-physical address = p_paddr - 0xC0000000.
         */
        ELFNOTE(Xen, XEN_ELFNOTE_VIRT_BASE,      .long _text)
        ELFNOTE(Xen, XEN_ELFNOTE_PADDR_OFFSET,   .long _text)
        ELFNOTE(Xen, XEN_ELFNOTE_ENTRY,          .long _start)
        ELFNOTE(Xen, XEN_ELFNOTE_HYPERCALL_PAGE, .long hypercall_page)

        /*
         * A 3-level (PAE) kernel. FEATURES lists what the kernel can use; a
         * '!' prefix would mark one it requires (Linux's PAE kernels said
         * "!writable_page_tables"). xenlab's guests update page tables only
         * through hypercalls, so they require nothing, and they cope with an
         * L3 table in any frame.
         */
        ELFNOTE(Xen, XEN_ELFNOTE_PAE_MODE,       .asciz "yes")
        ELFNOTE(Xen, XEN_ELFNOTE_FEATURES,       .asciz "pae_pgdir_above_4gb")
