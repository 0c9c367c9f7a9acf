/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernel series vshm builds against.  Every guard
 * names the version that changed and why; behaviour is the same on all.
 *
 * VSHM_KERNEL_MAJOR and VSHM_KERNEL_MINOR come from kbuild (Kbuild), i.e.
 * from the tree the module is being built against.
 */
#ifndef _VSHM_COMPAT_H
#define _VSHM_COMPAT_H

#include <linux/err.h>
#include <linux/mm.h>
#include <linux/pagemap.h>

#define VSHM_KERNEL_SERIES	(VSHM_KERNEL_MAJOR * 256 + VSHM_KERNEL_MINOR)
#define VSHM_KERNEL_AT_LEAST(major, minor) \
	(VSHM_KERNEL_SERIES >= (major) * 256 + (minor))

/* 6.3 made vma->vm_flags read-only behind vm_flags_mod() and friends. */
static inline void vshm_vma_set_flags(struct vm_area_struct *vma,
				      vm_flags_t set, vm_flags_t clear)
{
#if VSHM_KERNEL_AT_LEAST(6, 3)
	vm_flags_mod(vma, set, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

/* 6.3: __filemap_get_folio() returns ERR_PTR(-ENOENT), not NULL, if absent. */
static inline struct folio *vshm_filemap_get_folio(struct address_space *mapping,
						   pgoff_t index)
{
	struct folio *folio = __filemap_get_folio(mapping, index, 0, 0);

	return IS_ERR(folio) ? NULL : folio;
}

/* 6.7: hugetlbfs page cache indices count base pages, not huge pages. */
static inline pgoff_t vshm_hugetlb_index(u64 off, unsigned int huge_shift)
{
#if VSHM_KERNEL_AT_LEAST(6, 7)
	return (off >> huge_shift) << (huge_shift - PAGE_SHIFT);
#else
	return off >> huge_shift;
#endif
}

/* 6.18 removed nth_page(): an sg entry's pages are contiguous in memmap. */
static inline struct page *vshm_nth_page(struct page *page, unsigned long n)
{
#if VSHM_KERNEL_AT_LEAST(6, 18)
	return page + n;
#else
	return nth_page(page, n);
#endif
}

/*
 * 6.11 added memfd_pin_folios(), which pins a memfd's pages long-term
 * without a user mapping.  Named like the feature probes that replace
 * these version guards.
 */
#if VSHM_KERNEL_AT_LEAST(6, 11)
#define VSHM_HAVE_MEMFD_PIN_FOLIOS 1
#endif

#endif /* _VSHM_COMPAT_H */
