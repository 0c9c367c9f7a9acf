// SPDX-License-Identifier: GPL-2.0
/*
 * Entering a region's pages into page tables ahead of the faults that would
 * ask for them: the runs that fault-around maps beside a faulting page.
 *
 * Every page of a mapping is held from MAP on (pinned, or held by the
 * dma-buf exporter), so entering one never allocates a page, only page
 * tables.  An entry is the one the fault path makes (vmf_insert_pfn_prot()
 * with vshm_pte_prot(): a special PTE of the page's PFN), made only where
 * the page table has none, so what it shows is what a fault at that
 * address would show.  Runs of a pinned source's pages are written in one
 * pass over their page table (vshm_pte_insert_run()): that, not the fault
 * itself, is most of what a first touch of a region costs beyond a direct
 * mmap of the source.  An entry that cannot be made is left to its fault.
 * Making an entry where there was none needs no MMU notifier (KVM learns
 * of it from its own next fault); only zaps do.
 *
 * Called with the VMA's mmap_lock (or VMA lock) and the region lock (read)
 * held, from the fault path.
 */
#include <linux/mm.h>

#include "vshm_compat.h"
#include "vshm_internal.h"

/**
 * vshm_pte_prot() - the protection of a region PTE in a VMA
 * @vma: a VMA of a region.
 * @writable: whether the mapping the page belongs to is writable.
 *
 * Writable whenever the VMA and the mapping are, never writable if the
 * mapping is not.  The access bits come from the VMA's flags, because
 * write-notify keeps vm_page_prot read-only; the rest comes from
 * vm_page_prot.  This is pgprot_modify(), which x86 modules cannot link
 * (it reads the unexported cc_mask), done by hand: the encryption bit is
 * part of every vm_get_page_prot() value, and the cache mode is carried
 * over as the generic pgprot_modify() does.
 *
 * Return: the protection to give vmf_insert_pfn_prot().
 */
pgprot_t vshm_pte_prot(struct vm_area_struct *vma, bool writable)
{
	pgprot_t old = vma->vm_page_prot;
	vm_flags_t flags = vma->vm_flags;
	pgprot_t prot;

	if (!writable)
		flags &= ~VM_WRITE;
	prot = vm_get_page_prot(flags);
	if (pgprot_val(old) == pgprot_val(pgprot_noncached(old)))
		prot = pgprot_noncached(prot);
	else if (pgprot_val(old) == pgprot_val(pgprot_writecombine(old)))
		prot = pgprot_writecombine(prot);
	return prot;
}

/* The region offset that @addr of @vma shows. */
static u64 vshm_vma_offset(struct vm_area_struct *vma, unsigned long addr)
{
	return ((u64)vma->vm_pgoff << PAGE_SHIFT) + (addr - vma->vm_start);
}

/* What vshm_pte_set() needs to write one run's entries. */
struct vshm_pte_run {
	struct vm_area_struct *vma;
	struct vshm_mapping *map;
	pgprot_t prot;
};

/*
 * Called by apply_to_page_range() for each entry of the run, with the page
 * table's lock held: the entry insert_pfn() (behind vmf_insert_pfn_prot())
 * would write, a special PTE of the page's PFN, where there is none yet.
 */
static int vshm_pte_set(pte_t *pte, unsigned long addr, void *data)
{
	struct vshm_pte_run *run = data;
	u64 off = vshm_vma_offset(run->vma, addr);
	struct page *page;
	int ret;

	if (!pte_none(ptep_get(pte)))
		return 0;
	ret = run->map->ops->get_page(run->map,
				      (off - run->map->start) >> PAGE_SHIFT, &page);
	if (ret)
		return ret;
	set_pte_at(run->vma->vm_mm, addr, pte,
		   pte_mkspecial(pfn_pte(page_to_pfn(page), run->prot)));
	update_mmu_cache(run->vma, addr, pte);
	return 0;
}

/*
 * One page at a time through vmf_insert_pfn_prot(), which walks the page
 * tables, takes the page table lock and looks the page's memory type up
 * for each page.  Returns the pages passed over.
 */
static unsigned long vshm_pte_insert_each(struct vm_area_struct *vma,
					  struct vshm_mapping *map,
					  unsigned long start, unsigned long end,
					  pgprot_t prot)
{
	unsigned long addr;

	for (addr = start; addr < end; addr += PAGE_SIZE) {
		u64 off = vshm_vma_offset(vma, addr);
		struct page *page;

		if (map->ops->get_page(map, (off - map->start) >> PAGE_SHIFT, &page))
			break;
		if (vmf_insert_pfn_prot(vma, addr, page_to_pfn(page), prot) &
		    VM_FAULT_ERROR)
			break;
	}
	return (addr - start) >> PAGE_SHIFT;
}

/*
 * Whether the huge fault would map the PMD_SIZE bytes at @addr of @vma
 * with one entry (vshm_vm_huge_fault()): populating them with 4 KiB
 * entries would rule that out, since a page table, once there, stays.
 */
static bool vshm_pmd_mappable(struct vm_area_struct *vma,
			      struct vshm_mapping *map, unsigned long addr)
{
#ifdef VSHM_HAVE_PMD_PFNMAP
	u64 off = vshm_vma_offset(vma, addr);
	struct page *page;

	return IS_ALIGNED(addr, PMD_SIZE) && vma->vm_end - addr >= PMD_SIZE &&
	       map->ops->get_pmd_page &&
	       map->start + map->len - off >= PMD_SIZE &&
	       !map->ops->get_pmd_page(map, (off - map->start) >> PAGE_SHIFT,
				       &page);
#else
	return false;
#endif
}

/*
 * Whether the PMD_SIZE bytes of @vma around @addr might hold a PMD entry:
 * only if their mapping could be mapped so now, since UNMAP and REPLACE
 * zap a mapping's entries before another takes its place, and the region
 * lock (held) keeps the table as it is.
 */
static bool vshm_pmd_possible(struct vm_area_struct *vma,
			      struct vshm_mapping *map, unsigned long addr)
{
	unsigned long huge = ALIGN_DOWN(addr, PMD_SIZE);

	return huge >= vma->vm_start && vshm_vma_offset(vma, huge) >= map->start &&
	       vshm_pmd_mappable(vma, map, huge);
}

/**
 * vshm_pte_insert_run() - enter a run of one mapping's pages into a VMA
 * @vma: a VMA of the region, its mmap_lock (or VMA lock) held.
 * @map: the mapping, region lock held (read).
 * @start: first user address of the run, page aligned.
 * @end: end of the run; [@start, @end) lies inside @vma, within one page
 *	table (PMD_SIZE-aligned range), and shows a part of @map.
 * @prot: vshm_pte_prot() of @vma and @map.
 *
 * Addresses that already have an entry keep it.  Sources whose pages are
 * write-back memory as their own mmaps map them (@map->ops->write_back)
 * get the whole run written under one hold of the page table lock, with
 * one walk of the page tables (apply_to_page_range(), as drivers that
 * insert runs of PFNs from their fault handlers do); others, and runs that
 * a PMD entry might map, a page at a time through vmf_insert_pfn_prot().
 * Stops at the first page it cannot enter (no memory for a page table).
 *
 * Return: the number of pages passed over, entered or already present.
 */
unsigned long vshm_pte_insert_run(struct vm_area_struct *vma,
				  struct vshm_mapping *map, unsigned long start,
				  unsigned long end, pgprot_t prot)
{
	struct vshm_pte_run run = { .vma = vma, .map = map, .prot = prot };

	if (start >= end)
		return 0;
	if (!map->ops->write_back || vshm_pmd_possible(vma, map, start))
		return vshm_pte_insert_each(vma, map, start, end, prot);
	if (apply_to_page_range(vma->vm_mm, start, end - start, vshm_pte_set,
				&run))
		return 0;
	return (end - start) >> PAGE_SHIFT;
}
