// SPDX-License-Identifier: GPL-2.0
/*
 * Entering a region's pages into page tables ahead of the faults that would
 * ask for them: the runs that fault-around maps beside a faulting page, and
 * VSHM_MAP_POPULATE, which enters a new mapping's pages into every mmap of
 * the region when the mapping is made.
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
 * Lock order (as in vshm_internal.h):
 *   i_mmap_rwsem (read)                   only to collect the region's
 *                                          VMAs, with no other lock held
 *   mmap_lock (read) -> region->lock (read)
 *                                          entering pages into one VMA, as
 *                                          the fault path does
 * Populate runs after VSHM_IOC_MAP has dropped the region's write lock.
 * It takes the mmap_lock of other processes (those that mmap the region),
 * one at a time, never while holding the region lock or i_mmap_rwsem.
 */
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/rbtree.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "vshm_compat.h"
#include "vshm_internal.h"

/*
 * Most pages entered under one hold of the region lock: one page table's
 * worth, so that populating a large mapping lets MAP and UNMAP in between.
 */
#define VSHM_POPULATE_CHUNK	(PMD_SIZE >> PAGE_SHIFT)

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
 * The PMD of the run must not hold a PMD entry, which apply_to_page_range()
 * WARNs on: fault-around runs only where its fault's PMD is a page table,
 * and populate never enters a range that a PMD entry may map
 * (vshm_pmd_mappable()), whose PMD therefore stays a page table or empty.
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

/*
 * Enter the pages that region offsets [@start, @end) have now into
 * @vma, one page table's worth per hold of the region lock.  Holes are
 * left alone (a fault decides what they show); so are ranges that a PMD
 * entry will map.
 */
static void vshm_populate_vma(struct vshm_region *region,
			      struct vm_area_struct *vma, u64 start, u64 end)
{
	u64 vma_start = vshm_vma_offset(vma, vma->vm_start);
	u64 off = max(start, vma_start);

	end = min(end, vshm_vma_offset(vma, vma->vm_end));
	while (off < end) {
		unsigned long addr = vma->vm_start + (off - vma_start);
		unsigned long chunk = min_t(u64, end - off,
					    VSHM_POPULATE_CHUNK << PAGE_SHIFT);
		struct vshm_mapping *map;

		if (fatal_signal_pending(current))
			return;
		cond_resched();
		chunk = min(chunk, ALIGN(addr + 1, PMD_SIZE) - addr);
		down_read(&region->lock);
		map = vshm_mapping_lookup(region, off);
		if (!map) {
			/* Unmapped meanwhile: the rest of the chunk is its fault's. */
			up_read(&region->lock);
			off += chunk;
			continue;
		}
		chunk = min_t(u64, chunk, map->start + map->len - off);
		if (!vshm_pmd_mappable(vma, map, addr) &&
		    vshm_pte_insert_run(vma, map, addr, addr + chunk,
					vshm_pte_prot(vma, map->writable)) !=
		    chunk >> PAGE_SHIFT) {
			up_read(&region->lock);
			return;
		}
		up_read(&region->lock);
		off += chunk;
	}
}

/* A VMA of the region to populate: a reference on its mm, and its start. */
struct vshm_populate_target {
	struct mm_struct *mm;
	unsigned long addr;
};

/*
 * Record up to @max VMAs of the region that show a part of [@first,
 * @last] (page offsets), with a reference on each one's mm.  The region's
 * inode has its own address_space, so i_mmap holds its VMAs and no
 * other; the interval tree's iterators are not exported, so this walks it
 * in order.  A VMA whose mm is exiting is left out.
 */
static unsigned int vshm_populate_collect(struct vshm_region *region,
					  pgoff_t first, pgoff_t last,
					  struct vshm_populate_target *targets,
					  unsigned int max)
{
	struct address_space *mapping = region->inode->i_mapping;
	unsigned int n = 0;
	struct rb_node *node;

	i_mmap_lock_read(mapping);
	for (node = rb_first_cached(&mapping->i_mmap); node && n < max;
	     node = rb_next(node)) {
		struct vm_area_struct *vma = rb_entry(node, struct vm_area_struct,
						      shared.rb);

		if (vma->vm_pgoff > last || vma->vm_pgoff + vma_pages(vma) <= first)
			continue;
		if (targets && !mmget_not_zero(vma->vm_mm))
			continue;
		if (targets)
			targets[n] = (struct vshm_populate_target){
				.mm = vma->vm_mm, .addr = vma->vm_start,
			};
		n++;
	}
	i_mmap_unlock_read(mapping);
	return n;
}

/*
 * Populate the VMA that starts at @addr of @mm, if it is still a VMA of
 * this region (the process may have unmapped it or mapped something else
 * there since it was collected).
 */
static void vshm_populate_mm(struct vshm_region *region, struct mm_struct *mm,
			     unsigned long addr, u64 start, u64 end)
{
	struct vm_area_struct *vma;

	if (mmap_read_lock_killable(mm))
		return;
	vma = find_vma(mm, addr);
	if (vma && vma->vm_start <= addr && vma->vm_file &&
	    file_inode(vma->vm_file) == region->inode)
		vshm_populate_vma(region, vma, start, end);
	mmap_read_unlock(mm);
}

/**
 * vshm_region_populate() - enter a range's pages into every mmap of a region
 * @region: the region.
 * @start: region offset of the range, page aligned.
 * @len: its length, page aligned and non-zero.
 *
 * VSHM_MAP_POPULATE, after the mapping is in the table: every VMA of the
 * region that exists when this starts gets an entry for each page of the
 * range that a mapping holds, as a read fault there would give (writable
 * for a writable mapping in a writable VMA), so that the first touch of
 * the range takes no fault.  Best effort: whatever cannot be entered (no
 * memory for a page table or for the list of VMAs, a fatal signal, a
 * process exiting) is left to its fault, which gives the same entry.
 * Must be called with no vshm lock held and not under any mmap_lock.
 */
void vshm_region_populate(struct vshm_region *region, u64 start, u64 len)
{
	pgoff_t first = start >> PAGE_SHIFT, last = (start + len - 1) >> PAGE_SHIFT;
	struct vshm_populate_target *targets;
	unsigned int i, n;

	n = vshm_populate_collect(region, first, last, NULL, UINT_MAX);
	if (!n)
		return;
	targets = kvmalloc_array(n, sizeof(*targets), GFP_KERNEL);
	if (!targets)
		return;
	n = vshm_populate_collect(region, first, last, targets, n);
	for (i = 0; i < n; i++) {
		vshm_populate_mm(region, targets[i].mm, targets[i].addr, start,
				 start + len);
		mmput(targets[i].mm);
	}
	kvfree(targets);
}
