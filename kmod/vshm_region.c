// SPDX-License-Identifier: GPL-2.0
/*
 * Region files: one per VIRTIO Shared Memory Region.
 *
 * The VMM mmaps a region once.  The VMA is VM_PFNMAP and stays one VMA
 * whatever the number of mappings: faults look the offset up in the mapping
 * table and insert the source page's PFN; holes raise SIGBUS.  Unmap and
 * replace zap the range in every VMA of the region through the region's own
 * address_space before the source is let go.  Under the safe hole
 * policy (VSHM_REGION_SAFE_HOLES) holes map the zero page for reads and
 * the region's scratch page for writes instead.  Read-only mappings get
 * read-only PTEs, and pfn_mkwrite refuses to upgrade them, so neither a
 * write fault nor mprotect(PROT_WRITE) can make them writable.  Writable
 * mappings get writable PTEs whenever the VMA allows writing, also after an
 * mprotect RO->RW cycle (see vshm_vm_mprotect()), so KVM never has to
 * emulate a guest's store.
 *
 * pread()/pwrite() copy to or from whatever is mapped at an offset (safe
 * holes read as zeros and discard writes), bracketed by the source's
 * CPU-access calls (dma_buf_{begin,end}_cpu_access() for dma-bufs), holding
 * a reference on the mapping rather than on pages.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include <uapi/linux/vshm.h>

#include "vshm_compat.h"
#include "vshm_internal.h"

/* Pages mapped per fault: the faulting one and its neighbours. */
#define VSHM_FAULT_AROUND_PAGES	16

/*
 * Map the pages of @map around the one just faulted in, within the same
 * aligned window, VMA and mapping, as the page cache's fault-around does:
 * guests touch memory sequentially, and a fault costs far more than a PTE.
 * The mapping holds all its pages from the moment it is made, so any
 * neighbour can be mapped without allocating, in one pass over the page
 * table (vshm_pte_insert_run()).  Best effort: any failure just stops it;
 * the next fault will retry.
 */
static void vshm_fault_around(struct vm_fault *vmf, struct vshm_mapping *map,
			      pgprot_t prot)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long window = VSHM_FAULT_AROUND_PAGES * PAGE_SIZE;
	u64 vma_start = (u64)vma->vm_pgoff << PAGE_SHIFT;
	unsigned long start = max(ALIGN_DOWN(vmf->address, window), vma->vm_start);
	unsigned long end = min(start + window, vma->vm_end);

	/*
	 * The window lies in the faulting address's PMD, which the insert
	 * just made a page table of; only that table may be walked, since
	 * apply_to_page_range() WARNs on a PMD entry.
	 */
	if (!vshm_pmd_table(vmf->pmd))
		return;
	/* Within the mapping: addresses that show its first and last page. */
	if (map->start > vma_start + (start - vma->vm_start))
		start = vma->vm_start + (map->start - vma_start);
	if (map->start + map->len < vma_start + (end - vma->vm_start))
		end = vma->vm_start + (map->start + map->len - vma_start);
	if (vshm_pte_insert_run(vma, map, start, vmf->address, prot) ==
	    (vmf->address - start) >> PAGE_SHIFT)
		vshm_pte_insert_run(vma, map, vmf->address + PAGE_SIZE, end, prot);
}

/* Zap every PTE of [start, start + len) in every VMA of the region. */
static void vshm_region_zap(struct vshm_region *region, u64 start, u64 len)
{
	unmap_mapping_range(region->inode->i_mapping, start, len, 1);
}

static bool vshm_region_safe_holes(const struct vshm_region *region)
{
	return region->flags & VSHM_REGION_SAFE_HOLES;
}

/*
 * Whether a 4 KiB insert that returned @ret lost to a PMD entry: its
 * huge_fault fell back, and by the time the insert ran another thread's
 * huge_fault had mapped the whole PMD (the mapping there changed in
 * between, from a hole or a 4 KiB one to one a PMD entry can map).
 * vmf_insert_pfn_prot() then finds no page table: get_locked_pte() cannot
 * map one under a PMD entry and says VM_FAULT_OOM.  That must not reach
 * the core mm, which would run the OOM path for a user fault and fail
 * KVM's or GUP's; the PMD entry maps the address, so a retry finds it.
 */
static bool vshm_fault_lost_to_pmd(struct vm_fault *vmf, vm_fault_t ret)
{
	return ret == VM_FAULT_OOM && vshm_pmd_leaf(vmf->pmd);
}

/*
 * A fault in a hole of a region with safe holes: the zero page, read-only,
 * for a read; the region's scratch page for a write, so the write lands
 * somewhere harmless and the writer runs on.  The scratch page belongs to
 * this region alone, and MAP zaps a hole's PTEs before a source shows
 * through, so what a write leaves there never reaches a source, another
 * region or a later mapping.
 */
static vm_fault_t vshm_fault_hole(struct vm_fault *vmf,
				  struct vshm_region *region, bool write)
{
	struct page *page = write ? region->scratch : ZERO_PAGE(vmf->address);
	vm_fault_t ret;

	ret = vmf_insert_pfn_prot(vmf->vma, vmf->address, page_to_pfn(page),
				  vshm_pte_prot(vmf->vma, write));
	/*
	 * No PMD entry maps a hole (UNMAP zaps under the write lock, and
	 * huge_fault maps only mappings), but should one ever be there, the
	 * answer is still a retry, not an OOM.
	 */
	return vshm_fault_lost_to_pmd(vmf, ret) ? VM_FAULT_NOPAGE : ret;
}

static vm_fault_t vshm_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vshm_region *region = vma->vm_file->private_data;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	u64 off = (u64)vmf->pgoff << PAGE_SHIFT;
	struct vshm_mapping *map;
	struct page *page;
	vm_fault_t ret;
	pgprot_t prot;
	int err;

	down_read(&region->lock);
	map = vshm_mapping_lookup(region, off);
	if (!map && vshm_region_safe_holes(region)) {
		ret = vshm_fault_hole(vmf, region, write);
		goto out;
	}
	if (!map || (write && !map->writable)) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	err = map->ops->get_page(map, (off - map->start) >> PAGE_SHIFT, &page);
	if (err) {
		ret = vmf_error(err);
		goto out;
	}
	/*
	 * Writable mappings get a writable PTE at once if the VMA allows
	 * writing; read-only ones never do.
	 */
	prot = vshm_pte_prot(vma, map->writable);
	ret = vmf_insert_pfn_prot(vma, vmf->address, page_to_pfn(page), prot);
	if (vshm_fault_lost_to_pmd(vmf, ret)) {
		ret = VM_FAULT_NOPAGE;
	} else if (!(ret & VM_FAULT_ERROR)) {
		atomic64_inc(&region->faults);
		atomic64_inc(&vshm_totals.faults);
		vshm_fault_around(vmf, map, prot);
	}
out:
	up_read(&region->lock);
	return ret;
}

#ifdef VSHM_HAVE_PMD_PFNMAP
/*
 * The core mm asks for a PMD entry first wherever the PMD is empty and the
 * system's THP policy allows (transparent_hugepage/enabled "always", or
 * "madvise" with MADV_HUGEPAGE).  One is only given where a single mapping
 * covers the whole PMD-aligned range of the VMA and its source holds those
 * bytes in one aligned folio (get_pmd_page); everything else, holes
 * included, falls back to vshm_vm_fault() and 4 KiB PTEs.  So does a write
 * to a read-only mapping: the core mm then splits (zaps) the PMD and the
 * 4 KiB path raises SIGBUS.  The entry is writable exactly when a PTE
 * would be (vshm_pte_prot()); the cache mode comes from vm_page_prot.
 */
static vm_fault_t vshm_vm_huge_fault(struct vm_fault *vmf, unsigned int order)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vshm_region *region = vma->vm_file->private_data;
	unsigned long addr = vmf->address & PMD_MASK;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	vm_fault_t ret = VM_FAULT_FALLBACK;
	struct vshm_mapping *map;
	unsigned long pfn;
	struct page *page;
	u64 off;

	if (order != PMD_ORDER || addr < vma->vm_start ||
	    vma->vm_end - addr < PMD_SIZE)
		return VM_FAULT_FALLBACK;
	off = ((u64)vma->vm_pgoff << PAGE_SHIFT) + (addr - vma->vm_start);

	down_read(&region->lock);
	map = vshm_mapping_lookup(region, off);
	if (!map || !map->ops->get_pmd_page || (write && !map->writable) ||
	    map->start + map->len - off < PMD_SIZE)
		goto out;
	if (map->ops->get_pmd_page(map, (off - map->start) >> PAGE_SHIFT, &page))
		goto out;
	pfn = page_to_pfn(page);
	/*
	 * A 4 KiB fault whose huge_fault fell back before a MAP may have put
	 * a page table here since the core mm saw the PMD empty.  Asked to
	 * write, vmf_insert_pfn_pmd() WARNs on any present PMD of another
	 * PFN, a page table included; not asked to, it just leaves the PMD
	 * alone.  So insert first, and upgrade to writable (the same call,
	 * with write set) only an entry of this PFN: only a zap can take one
	 * away, and zaps need the region lock or the mmap_lock (or the VMA
	 * lock) for write; the core mm's split on a write fault happens only
	 * when this falls back, which it does not for a writable mapping.
	 * Either way the fault is done: a page table there sends the retry to
	 * the 4 KiB path.
	 */
	ret = vshm_insert_pfn_pmd(vmf, pfn, false);
	if (ret != VM_FAULT_NOPAGE || !vshm_pmd_maps_pfn(vmf->pmd, pfn))
		goto out;
	if (map->writable && (vma->vm_flags & VM_WRITE))
		ret = vshm_insert_pfn_pmd(vmf, pfn, true);
	if (ret == VM_FAULT_NOPAGE) {
		atomic64_inc(&region->faults);
		atomic64_inc(&region->pmd_faults);
		atomic64_inc(&vshm_totals.faults);
		atomic64_inc(&vshm_totals.pmd_faults);
	}
out:
	up_read(&region->lock);
	return ret;
}
#endif

/*
 * A write to a present read-only PTE of a shared mapping: the core mm
 * would make it writable unless this refuses.  A safe hole's zero page must
 * never become writable: zap it, and the retried fault maps the scratch
 * page.
 */
static vm_fault_t vshm_vm_pfn_mkwrite(struct vm_fault *vmf)
{
	struct vshm_region *region = vmf->vma->vm_file->private_data;
	struct vshm_mapping *map;
	vm_fault_t ret;

	down_read(&region->lock);
	map = vshm_mapping_lookup(region, (u64)vmf->pgoff << PAGE_SHIFT);
	if (map) {
		ret = map->writable ? 0 : VM_FAULT_SIGBUS;
	} else if (vshm_region_safe_holes(region)) {
		vshm_region_zap(region, (u64)vmf->pgoff << PAGE_SHIFT, PAGE_SIZE);
		ret = VM_FAULT_NOPAGE;
	} else {
		ret = VM_FAULT_SIGBUS;
	}
	up_read(&region->lock);
	return ret;
}

/*
 * mprotect() is about to add write permission to [start, end) of @vma.
 * pfn_mkwrite makes the core mm keep write-notify on, so mprotect leaves
 * the PTEs installed while the VMA was read-only read-only, to be upgraded
 * one write fault at a time.  KVM never takes those faults: it finds the
 * present read-only PTE (follow_pte) and emulates the guest's store, which
 * is slow and fails for stores its emulator lacks (SSE).  So zap the range
 * instead: the next fault installs PTEs with the new protection.  A
 * read-only mapping's PTEs stay read-only, because the fault path never
 * makes them writable and pfn_mkwrite refuses to.  Called with mmap_lock
 * held for write.  The zap goes by region offset, so it also reaches other
 * VMAs of the region there, which merely fault again.
 */
static int vshm_vm_mprotect(struct vm_area_struct *vma, unsigned long start,
			    unsigned long end, unsigned long newflags)
{
	u64 off = ((u64)vma->vm_pgoff << PAGE_SHIFT) + (start - vma->vm_start);

	if ((newflags & VM_WRITE) && !(vma->vm_flags & VM_WRITE))
		vshm_region_zap(vma->vm_file->private_data, off, end - start);
	return 0;
}

static const struct vm_operations_struct vshm_vm_ops = {
	.fault = vshm_vm_fault,
#ifdef VSHM_HAVE_PMD_PFNMAP
	.huge_fault = vshm_vm_huge_fault,
#endif
	.pfn_mkwrite = vshm_vm_pfn_mkwrite,
	.mprotect = vshm_vm_mprotect,
};

static int vshm_region_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vshm_region *region = file->private_data;
	u64 start = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 len = vma->vm_end - vma->vm_start;
	u64 end;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (vma->vm_pgoff > (U64_MAX >> PAGE_SHIFT) ||
	    check_add_overflow(start, len, &end) || end > region->size)
		return -EINVAL;

	vshm_vma_set_flags(vma, VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP,
			   VM_MAYEXEC);
	vma->vm_ops = &vshm_vm_ops;
	return 0;
}

/* Open @map for CPU access by a copy; @map holds a reference for it. */
static int vshm_copy_begin(struct vshm_mapping *map, bool to_region)
{
	return map->ops->begin_cpu_access ?
	       map->ops->begin_cpu_access(map, to_region) : 0;
}

/* Close what vshm_copy_begin() opened and drop the copy's reference. */
static void vshm_copy_end(struct vshm_mapping *map, bool to_region)
{
	if (!map)
		return;
	if (map->ops->end_cpu_access)
		map->ops->end_cpu_access(map, to_region);
	vshm_mapping_put(map);
}

/* A safe hole: a read gets zeros, a write is consumed and discarded. */
static size_t vshm_region_copy_hole(struct iov_iter *iter, size_t chunk,
				    bool to_region)
{
	if (!to_region)
		return iov_iter_zero(chunk, iter);
	iov_iter_advance(iter, chunk);
	return chunk;
}

/*
 * Copy between an iov_iter and whatever is mapped at *ppos (or a safe
 * hole), a page at a time.  The region lock is held only to find the
 * page; the copy itself runs unlocked, so a user buffer inside a region's
 * mmap cannot deadlock against the region lock.  What keeps the page valid meanwhile is a
 * reference on its mapping, held for a run of pages of one mapping and
 * inside one CPU-access bracket of its source: an unmap during the copy
 * releases the mapping only when the copy lets it go.  No page refcount
 * is touched (dma-buf exporters own theirs).  Every page is looked up
 * again, so a copy never goes on into a mapping that was unmapped.  A
 * fault in the user buffer stops the copy without touching the rest of
 * the page (copy_page_from_iter() never zero-fills what it could not read).
 */
static ssize_t vshm_region_copy(struct vshm_region *region, struct iov_iter *iter,
				loff_t *ppos, bool to_region)
{
	struct vshm_mapping *cur = NULL;	/* bracket open, referenced */
	size_t count = iov_iter_count(iter);
	u64 pos = *ppos;
	size_t done = 0;
	int err = 0;

	while (done < count) {
		struct vshm_mapping *map;
		struct page *page;
		size_t chunk, copied;
		bool hole = false;

		if (pos >= region->size) {
			err = -ENXIO;
			break;
		}
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		cond_resched();
		down_read(&region->lock);
		map = vshm_mapping_lookup(region, pos);
		if (!map) {
			hole = vshm_region_safe_holes(region);
			err = hole ? 0 : -ENXIO;
		} else if (to_region && !map->writable) {
			err = -EACCES;
		} else {
			err = map->ops->get_page(map, (pos - map->start) >> PAGE_SHIFT,
						 &page);
			/* The mapping may go once the lock is dropped. */
			if (!err && map != cur)
				vshm_mapping_get(map);
		}
		up_read(&region->lock);
		if (err)
			break;
		if (map != cur) {
			vshm_copy_end(cur, to_region);
			cur = map;
			err = cur ? vshm_copy_begin(cur, to_region) : 0;
			if (err) {
				vshm_mapping_put(cur);
				cur = NULL;
				break;
			}
		}

		chunk = min_t(size_t, count - done, PAGE_SIZE - offset_in_page(pos));
		if (hole) {
			copied = vshm_region_copy_hole(iter, chunk, to_region);
		} else {
			if (to_region)
				copied = copy_page_from_iter(page, offset_in_page(pos),
							     chunk, iter);
			else
				copied = copy_page_to_iter(page, offset_in_page(pos),
							   chunk, iter);
			if (to_region && copied && !cur->ops->end_cpu_access)
				set_page_dirty_lock(page);
		}

		done += copied;
		pos += copied;
		if (copied < chunk) {
			err = -EFAULT;
			break;
		}
	}
	vshm_copy_end(cur, to_region);

	if (to_region) {
		atomic64_add(done, &region->copied_in);
		atomic64_add(done, &vshm_totals.copied_in);
	} else {
		atomic64_add(done, &region->copied_out);
		atomic64_add(done, &vshm_totals.copied_out);
	}
	*ppos = pos;
	/* A copy that ran into a hole or the end after some bytes is short. */
	return done ? done : err;
}

/*
 * As a block device does: a read at or past the end returns 0 (end of
 * file, as read(2)), a write there ENOSPC; one that reaches the end is short.
 */
static ssize_t vshm_region_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct vshm_region *region = iocb->ki_filp->private_data;

	if (iocb->ki_pos < 0)
		return -EINVAL;
	if (iocb->ki_pos >= region->size)
		return 0;
	return vshm_region_copy(iocb->ki_filp->private_data, to, &iocb->ki_pos,
				false);
}

static ssize_t vshm_region_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct vshm_region *region = iocb->ki_filp->private_data;

	if (iocb->ki_pos < 0)
		return -EINVAL;
	if (iocb->ki_pos >= region->size)
		return iov_iter_count(from) ? -ENOSPC : 0;
	return vshm_region_copy(iocb->ki_filp->private_data, from, &iocb->ki_pos,
				true);
}

static bool vshm_reserved_zero(const __u64 *reserved, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (reserved[i])
			return false;
	return true;
}

/* EINVAL for malformed ranges, EOVERFLOW for ranges past the region. */
static int vshm_region_check_range(struct vshm_region *region, u64 start,
				   u64 len)
{
	u64 end;

	if (!len || !PAGE_ALIGNED(start) || !PAGE_ALIGNED(len))
		return -EINVAL;
	if (check_add_overflow(start, len, &end) || end > region->size)
		return -EOVERFLOW;
	return 0;
}

/* EEXIST/EINVAL for a range the table refuses, ENOSPC at the mapping limit. */
static int vshm_region_check_table(struct vshm_region *region,
				   const struct vshm_map *arg)
{
	unsigned int covered;
	int ret;

	ret = vshm_mapping_check_range(region, arg->shm_offset, arg->len,
				       arg->flags & VSHM_MAP_REPLACE, &covered);
	if (ret)
		return ret;
	if (region->nr_mappings - covered + 1 > region->max_mappings)
		return -ENOSPC;
	return 0;
}

static int vshm_region_precheck(struct vshm_region *region,
				const struct vshm_map *arg)
{
	int ret;

	down_read(&region->lock);
	ret = vshm_region_check_table(region, arg);
	up_read(&region->lock);
	return ret;
}

static long vshm_ioctl_map(struct vshm_region *region, void __user *uarg)
{
	struct vshm_mapping *map;
	struct vshm_map arg;
	LIST_HEAD(replaced);
	u64 src_end;
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if ((arg.flags & ~VSHM_MAP_FLAGS_ALL) ||
	    !vshm_reserved_zero(arg.reserved, ARRAY_SIZE(arg.reserved)) ||
	    !PAGE_ALIGNED(arg.fd_offset))
		return -EINVAL;
	ret = vshm_region_check_range(region, arg.shm_offset, arg.len);
	if (ret)
		return ret;
	if (check_add_overflow(arg.fd_offset, arg.len, &src_end))
		return -EOVERFLOW;

	/*
	 * Taking hold of a source pins its pages, which may allocate, migrate
	 * and take the caller's mmap_lock, so it happens outside the region
	 * lock (mmap_lock -> region lock is the fault path's order).  Check the range
	 * first so that a map that is bound to fail leaves the source alone;
	 * the check is repeated under the write lock below.
	 */
	ret = vshm_region_precheck(region, &arg);
	if (ret)
		return ret;
	map = vshm_source_open(region, arg.fd, arg.fd_offset, arg.len,
			       arg.flags & VSHM_MAP_WRITE);
	if (IS_ERR(map))
		return PTR_ERR(map);
	map->start = arg.shm_offset;

	down_write(&region->lock);
	ret = vshm_region_check_table(region, &arg);
	if (ret)
		goto err_unlock;
	/*
	 * Replace: swap the table entries and zap under the write lock, so a
	 * fault sees either the old mapping or the new one, never a hole.
	 */
	if (arg.flags & VSHM_MAP_REPLACE)
		vshm_mapping_detach_range(region, arg.shm_offset, arg.len, &replaced);
	/* Safe holes may have zero or scratch pages mapped there. */
	if (!list_empty(&replaced) || vshm_region_safe_holes(region))
		vshm_region_zap(region, arg.shm_offset, arg.len);
	vshm_mapping_insert(region, map);
	atomic64_inc(&region->maps);
	up_write(&region->lock);

	vshm_mapping_free_list(&replaced);
	/* The map is made: populating is best effort and cannot fail it. */
	if (arg.flags & VSHM_MAP_POPULATE)
		vshm_region_populate(region, arg.shm_offset, arg.len);
	return 0;

err_unlock:
	up_write(&region->lock);
	vshm_source_close(map);
	return ret;
}

static long vshm_ioctl_unmap(struct vshm_region *region, void __user *uarg)
{
	struct vshm_mapping *map;
	struct vshm_unmap arg;
	LIST_HEAD(gone);
	int ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (!vshm_reserved_zero(arg.reserved, ARRAY_SIZE(arg.reserved)))
		return -EINVAL;
	ret = vshm_region_check_range(region, arg.shm_offset, arg.len);
	if (ret)
		return ret;

	down_write(&region->lock);
	map = vshm_mapping_find_exact(region, arg.shm_offset, arg.len);
	if (!map) {
		up_write(&region->lock);
		return -ENOENT;
	}
	vshm_mapping_detach(region, map, &gone);
	vshm_region_zap(region, arg.shm_offset, arg.len);
	up_write(&region->lock);

	vshm_mapping_free_list(&gone);
	return 0;
}

static void vshm_region_unmap_all(struct vshm_region *region)
{
	LIST_HEAD(gone);

	down_write(&region->lock);
	vshm_mapping_detach_all(region, &gone);
	vshm_region_zap(region, 0, region->size);
	up_write(&region->lock);

	vshm_mapping_free_list(&gone);
}

static long vshm_ioctl_region_info(struct vshm_region *region,
				   void __user *uarg)
{
	struct vshm_region_info info = {
		.size = region->size,
		.flags = region->flags,
		.max_mappings = region->max_mappings,
		.faults = atomic64_read(&region->faults),
		.pmd_faults = atomic64_read(&region->pmd_faults),
		.copied_in = atomic64_read(&region->copied_in),
		.copied_out = atomic64_read(&region->copied_out),
		.maps = atomic64_read(&region->maps),
		.unmaps = atomic64_read(&region->unmaps),
#ifdef VSHM_HAVE_PMD_PFNMAP
		.pmd_size = PMD_SIZE,
#endif
	};

	down_read(&region->lock);
	info.nr_mappings = region->nr_mappings;
	info.mapped_bytes = region->mapped_bytes;
	up_read(&region->lock);
	mutex_lock(&region->dmabuf_lock);
	info.nr_dmabufs = region->nr_dmabufs;
	info.max_dmabufs = region->max_dmabufs;
	mutex_unlock(&region->dmabuf_lock);

	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

/*
 * VSHM_IOC_LIST_MAPPINGS.  The snapshot is taken into a kernel buffer under
 * the read lock and copied out after it is dropped: the user's array may
 * lie in this region's own mmap, whose faults take the region lock.
 */
static long vshm_ioctl_list_mappings(struct vshm_region *region,
				     void __user *uarg)
{
	struct vshm_mapping_info *infos = NULL;
	struct vshm_mapping_list arg;
	void __user *uentries;
	size_t bytes;
	bool more;
	long ret = 0;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags || arg.reserved32 || arg.count || arg.next ||
	    arg.nr_mappings ||
	    !vshm_reserved_zero(arg.reserved, ARRAY_SIZE(arg.reserved)))
		return -EINVAL;
	if (arg.capacity > VSHM_LIST_MAX_ENTRIES)
		return -E2BIG;
	uentries = u64_to_user_ptr(arg.entries);
	if (check_mul_overflow((size_t)arg.capacity, sizeof(*infos), &bytes))
		return -E2BIG;
	if (arg.capacity) {
		if (!access_ok(uentries, bytes))
			return -EFAULT;
		infos = kvmalloc(bytes, GFP_KERNEL_ACCOUNT);
		if (!infos)
			return -ENOMEM;
	}

	down_read(&region->lock);
	arg.count = vshm_mapping_list(region, arg.cursor, infos, arg.capacity,
				      &more);
	arg.nr_mappings = region->nr_mappings;
	up_read(&region->lock);

	arg.flags = more ? VSHM_LIST_MORE : 0;
	arg.next = arg.count ? infos[arg.count - 1].shm_offset +
			       infos[arg.count - 1].len : arg.cursor;
	if (arg.count &&
	    copy_to_user(uentries, infos, arg.count * sizeof(*infos)))
		ret = -EFAULT;
	else if (copy_to_user(uarg, &arg, sizeof(arg)))
		ret = -EFAULT;
	kvfree(infos);
	return ret;
}

static long vshm_region_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	struct vshm_region *region = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VSHM_IOC_MAP:
		return vshm_ioctl_map(region, uarg);
	case VSHM_IOC_UNMAP:
		return vshm_ioctl_unmap(region, uarg);
	case VSHM_IOC_UNMAP_ALL:
		vshm_region_unmap_all(region);
		return 0;
	case VSHM_IOC_REGION_INFO:
		return vshm_ioctl_region_info(region, uarg);
	case VSHM_IOC_LIST_MAPPINGS:
		return vshm_ioctl_list_mappings(region, uarg);
	default:
		return -ENOTTY;
	}
}

/* The last reference is gone: no fd and no VMA can reach the region. */
static int vshm_region_release(struct inode *inode, struct file *file)
{
	struct vshm_region *region = file->private_data;
	LIST_HEAD(gone);

	down_write(&region->lock);
	vshm_mapping_detach_all(region, &gone);
	up_write(&region->lock);
	vshm_mapping_free_list(&gone);

	/* No copy is in flight on a file being released: all were last puts. */
	WARN_ON_ONCE(!list_empty(&region->dmabufs));
	mutex_destroy(&region->dmabuf_lock);
	atomic64_dec(&vshm_totals.regions);
	if (region->scratch)
		__free_page(region->scratch);
	kfree(region);
	/* This file still holds the module until fput() is done with it. */
	vshm_mount_put();
	return 0;
}

static const struct file_operations vshm_region_fops = {
	.owner = THIS_MODULE,
	.release = vshm_region_release,
	.mmap = vshm_region_mmap,
#ifdef VSHM_HAVE_PMD_PFNMAP
	/*
	 * PMD-aligned addresses for mmaps of 2 MiB and more, at the region
	 * offset's alignment, so that PMD entries can map them.
	 */
	.get_unmapped_area = thp_get_unmapped_area,
#endif
	.read_iter = vshm_region_read_iter,
	.write_iter = vshm_region_write_iter,
	.llseek = generic_file_llseek,
	.unlocked_ioctl = vshm_region_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/**
 * vshm_region_create_fd() - create a region and install an fd for it
 * @size: region size, validated by the caller.
 * @flags: creation flags, validated by the caller: VSHM_REGION_SAFE_HOLES
 *	gives the region a zeroed scratch page.
 * @max_mappings: the region's mapping limit, validated by the caller.
 *
 * The region file holds a module reference until its last fd and VMA are
 * gone, so vshm.ko cannot be unloaded while any region exists; the region
 * holds the internal mount (vshm_mount_get()) until it is released.
 *
 * Return: the new fd (O_CLOEXEC, read-write), or -errno.
 */
int vshm_region_create_fd(u64 size, u32 flags, u32 max_mappings)
{
	struct vshm_region *region;
	struct vfsmount *mnt;
	struct inode *inode;
	struct file *file;
	int fd, ret;

	region = kzalloc(sizeof(*region), GFP_KERNEL_ACCOUNT);
	if (!region)
		return -ENOMEM;
	init_rwsem(&region->lock);
	region->mappings = RB_ROOT;
	region->size = size;
	region->flags = flags;
	region->max_mappings = max_mappings;
	mutex_init(&region->dmabuf_lock);
	INIT_LIST_HEAD(&region->dmabufs);
	region->max_dmabufs = vshm_max_dmabufs();
	if (vshm_region_safe_holes(region)) {
		region->scratch = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!region->scratch) {
			ret = -ENOMEM;
			goto err_free_region;
		}
	}

	mnt = vshm_mount_get();
	if (IS_ERR(mnt)) {
		ret = PTR_ERR(mnt);
		goto err_free_scratch;
	}
	inode = alloc_anon_inode(mnt->mnt_sb);
	if (IS_ERR(inode)) {
		ret = PTR_ERR(inode);
		goto err_put_mount;
	}
	inode->i_size = size;
	inode->i_private = region;
	region->inode = inode;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_put_inode;
	}

	/* Dropped by fput() after ->release, as for any file with an owner. */
	__module_get(THIS_MODULE);
	file = alloc_file_pseudo(inode, mnt, "vshm-region", O_RDWR,
				 &vshm_region_fops);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_put_module;
	}
	file->f_mode |= FMODE_PREAD | FMODE_PWRITE | FMODE_LSEEK;
	file->private_data = region;

	atomic64_inc(&vshm_totals.regions);
	fd_install(fd, file);
	return fd;

err_put_module:
	module_put(THIS_MODULE);
	put_unused_fd(fd);
err_put_inode:
	iput(inode);
err_put_mount:
	vshm_mount_put();
err_free_scratch:
	if (region->scratch)
		__free_page(region->scratch);
err_free_region:
	mutex_destroy(&region->dmabuf_lock);
	kfree(region);
	return ret;
}
