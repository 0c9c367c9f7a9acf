/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels vshm builds against.  Every guard tests
 * a feature probe (kmod/probes/<name>.c, compiled against the target tree
 * by kmod/Makefile into vshm_config.h), never the version, because
 * distributions backport APIs; each names the mainline release that changed
 * and why.  Behaviour is the same on all.
 */
#ifndef _VSHM_COMPAT_H
#define _VSHM_COMPAT_H

#include <linux/err.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>

#include "vshm_config.h"

/* Upstream 6.2; distributions backport it (Debian's 6.1 has it). */
#ifndef VSHM_HAVE_DMA_BUF_MAP_ATTACHMENT_UNLOCKED
#error "vshm needs dma_buf_map_attachment_unlocked() (Linux 6.2 or a backport)"
#endif

/* 6.3 made vma->vm_flags read-only behind vm_flags_mod() and friends. */
static inline void vshm_vma_set_flags(struct vm_area_struct *vma,
				      vm_flags_t set, vm_flags_t clear)
{
#ifdef VSHM_HAVE_VM_FLAGS_MOD
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
#ifdef VSHM_HAVE_HUGETLB_BASEPAGE_INDEX
	return off >> huge_shift;
#else
	return (off >> huge_shift) << (huge_shift - PAGE_SHIFT);
#endif
}

/* 6.18 removed nth_page(): an sg entry's pages are contiguous in memmap. */
static inline struct page *vshm_nth_page(struct page *page, unsigned long n)
{
#ifdef VSHM_HAVE_NTH_PAGE
	return nth_page(page, n);
#else
	return page + n;
#endif
}

/*
 * 6.12: VM_PFNMAP VMAs may hold PMD entries, inserted by ->huge_fault()
 * (probes/pmd_pfnmap.c).  Before, the fault path never asks a PFN map for
 * one, and every region PTE maps 4 KiB.
 */
#ifdef VSHM_HAVE_PMD_PFNMAP
#ifndef VSHM_HAVE_VMF_INSERT_PFN_PMD_ULONG
#include <linux/pfn_t.h>
#endif
#include <linux/huge_mm.h>

/* 6.16 removed pfn_t: vmf_insert_pfn_pmd() takes the pfn itself. */
static inline vm_fault_t vshm_insert_pfn_pmd(struct vm_fault *vmf,
					     unsigned long pfn, bool write)
{
#ifdef VSHM_HAVE_VMF_INSERT_PFN_PMD_ULONG
	return vmf_insert_pfn_pmd(vmf, pfn, write);
#else
	return vmf_insert_pfn_pmd(vmf, pfn_to_pfn_t(pfn), write);
#endif
}

/*
 * What a region VMA's PMD holds, read without its lock: the answers
 * decide only whether a fault is retried or a fault-around skipped.  A
 * PMD there goes from a page table or a PMD entry only to empty (a zap or
 * split of a PFN map's entry leaves no page table), never straight from
 * one to the other.
 */
static inline bool vshm_pmd_leaf(pmd_t *pmd)
{
	return pmd_leaf(pmdp_get_lockless(pmd));
}

static inline bool vshm_pmd_maps_pfn(pmd_t *pmd, unsigned long pfn)
{
	pmd_t val = pmdp_get_lockless(pmd);

	return pmd_leaf(val) && pmd_pfn(val) == pfn;
}

static inline bool vshm_pmd_table(pmd_t *pmd)
{
	pmd_t val = pmdp_get_lockless(pmd);

	return pmd_present(val) && !pmd_leaf(val);
}
#else
/* No region PMD ever holds an entry: after a 4 KiB insert it is a table. */
static inline bool vshm_pmd_leaf(pmd_t *pmd)
{
	return false;
}

static inline bool vshm_pmd_table(pmd_t *pmd)
{
	return true;
}
#endif

/* 6.13: MODULE_IMPORT_NS() takes a string literal instead of a name. */
#ifdef VSHM_HAVE_MODULE_IMPORT_NS_STRING
#define VSHM_IMPORT_NS(ns)	MODULE_IMPORT_NS(#ns)
#else
#define VSHM_IMPORT_NS(ns)	MODULE_IMPORT_NS(ns)
#endif

#endif /* _VSHM_COMPAT_H */
