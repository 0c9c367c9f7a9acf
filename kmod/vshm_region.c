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
 * holes read as zeros and discard writes),
 * bracketed by dma_buf_{begin,end}_cpu_access() for dma-buf sources.
 */
#include <linux/anon_inodes.h>
#include <linux/dma-buf.h>
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
 * The protection for a PTE in @vma: writable whenever the VMA and the
 * mapping are, never writable if the mapping is not.  The access bits come
 * from the VMA's flags, because write-notify keeps vm_page_prot read-only;
 * the rest comes from vm_page_prot.  This is pgprot_modify(), which x86
 * modules cannot link (it reads the unexported cc_mask), done by hand: the
 * encryption bit is part of every vm_get_page_prot() value, and the cache
 * mode is carried over as the generic pgprot_modify() does.
 */
static pgprot_t vshm_pte_prot(struct vm_area_struct *vma, bool writable)
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

/*
 * Map the pages of @map around the one just faulted in, within the same
 * aligned window, VMA and mapping, as the page cache's fault-around does:
 * guests touch memory sequentially, and a fault costs far more than a PTE.
 * Only pages the source already has are mapped: fault-around never
 * allocates.  Best effort: any failure just stops it; the next fault will
 * retry.
 */
static void vshm_fault_around(struct vm_fault *vmf, struct vshm_mapping *map,
			      pgprot_t prot)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long window = VSHM_FAULT_AROUND_PAGES * PAGE_SIZE;
	unsigned long start = max(ALIGN_DOWN(vmf->address, window), vma->vm_start);
	unsigned long end = min(start + window, vma->vm_end);
	int (*peek)(struct vshm_mapping *map, pgoff_t index, struct page **pagep) =
		map->ops->peek_page ?: map->ops->get_page;
	unsigned long addr;

	for (addr = start; addr < end; addr += PAGE_SIZE) {
		u64 off = ((u64)vma->vm_pgoff << PAGE_SHIFT) + (addr - vma->vm_start);
		struct page *page;

		if (addr == vmf->address || off < map->start)
			continue;
		if (off >= map->start + map->len)
			break;
		if (peek(map, (off - map->start) >> PAGE_SHIFT, &page))
			break;
		if (vmf_insert_pfn_prot(vma, addr, page_to_pfn(page), prot) &
		    VM_FAULT_ERROR)
			break;
	}
}

static bool vshm_region_safe_holes(const struct vshm_region *region)
{
	return region->flags & VSHM_REGION_SAFE_HOLES;
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

	return vmf_insert_pfn_prot(vmf->vma, vmf->address, page_to_pfn(page),
				   vshm_pte_prot(vmf->vma, write));
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
	if (!(ret & VM_FAULT_ERROR)) {
		atomic64_inc(&region->faults);
		atomic64_inc(&vshm_totals.faults);
		vshm_fault_around(vmf, map, prot);
	}
out:
	up_read(&region->lock);
	return ret;
}

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
		zap_vma_ptes(vmf->vma, vmf->address, PAGE_SIZE);
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
 * held for write; zap_vma_ptes() works on this VM_PFNMAP VMA.
 */
static int vshm_vm_mprotect(struct vm_area_struct *vma, unsigned long start,
			    unsigned long end, unsigned long newflags)
{
	if ((newflags & VM_WRITE) && !(vma->vm_flags & VM_WRITE))
		zap_vma_ptes(vma, start, end - start);
	return 0;
}

static const struct vm_operations_struct vshm_vm_ops = {
	.fault = vshm_vm_fault,
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

/* Zap every PTE of [start, start + len) in every VMA of the region. */
static void vshm_region_zap(struct vshm_region *region, u64 start, u64 len)
{
	unmap_mapping_range(region->inode->i_mapping, start, len, 1);
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
 * Copy between an iov_iter and whatever is mapped at *ppos, a page at a
 * time.  The region lock is held only to find the page; the copy itself
 * runs unlocked with a page reference of its own, so a user buffer inside
 * a region's mmap cannot deadlock against the region lock.  A fault in the
 * user buffer stops the copy without touching the rest of the page
 * (copy_page_from_iter() never zero-fills what it could not read).
 */
static ssize_t vshm_region_copy(struct vshm_region *region, struct iov_iter *iter,
				loff_t *ppos, bool to_region)
{
	enum dma_data_direction dir = to_region ? DMA_TO_DEVICE : DMA_FROM_DEVICE;
	size_t count = iov_iter_count(iter);
	u64 pos = *ppos;
	size_t done = 0;
	int err = 0;

	while (done < count) {
		struct dma_buf *dmabuf = NULL;
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
			if (!err) {
				get_page(page);
				/* The mapping may go once the lock is dropped. */
				dmabuf = map->dmabuf;
				if (dmabuf)
					get_dma_buf(dmabuf);
			}
		}
		up_read(&region->lock);
		if (err)
			break;
		if (hole) {
			chunk = min_t(size_t, count - done, PAGE_SIZE - offset_in_page(pos));
			copied = vshm_region_copy_hole(iter, chunk, to_region);
			done += copied;
			pos += copied;
			if (copied < chunk) {
				err = -EFAULT;
				break;
			}
			continue;
		}
		if (dmabuf) {
			err = dma_buf_begin_cpu_access(dmabuf, dir);
			if (err) {
				dma_buf_put(dmabuf);
				put_page(page);
				break;
			}
		}

		chunk = min_t(size_t, count - done, PAGE_SIZE - offset_in_page(pos));
		if (to_region)
			copied = copy_page_from_iter(page, offset_in_page(pos), chunk, iter);
		else
			copied = copy_page_to_iter(page, offset_in_page(pos), chunk, iter);

		if (dmabuf) {
			dma_buf_end_cpu_access(dmabuf, dir);
			dma_buf_put(dmabuf);
		} else if (to_region && copied) {
			set_page_dirty_lock(page);
		}
		put_page(page);

		done += copied;
		pos += copied;
		if (copied < chunk) {
			err = -EFAULT;
			break;
		}
	}

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

static ssize_t vshm_region_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	if (iocb->ki_pos < 0)
		return -EINVAL;
	return vshm_region_copy(iocb->ki_filp->private_data, to, &iocb->ki_pos,
				false);
}

static ssize_t vshm_region_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	if (iocb->ki_pos < 0)
		return -EINVAL;
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
	 * Taking hold of a source may allocate (hugetlbfs pages) and sleep on
	 * its locks, so it happens outside the region lock.  Check the range
	 * first so that a map that is bound to fail leaves the source alone;
	 * the check is repeated under the write lock below.
	 */
	ret = vshm_region_precheck(region, &arg);
	if (ret)
		return ret;
	map = vshm_source_open(arg.fd, arg.fd_offset, arg.len,
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
		.copied_in = atomic64_read(&region->copied_in),
		.copied_out = atomic64_read(&region->copied_out),
		.maps = atomic64_read(&region->maps),
		.unmaps = atomic64_read(&region->unmaps),
	};

	down_read(&region->lock);
	info.nr_mappings = region->nr_mappings;
	info.mapped_bytes = region->mapped_bytes;
	up_read(&region->lock);

	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
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

	atomic64_dec(&vshm_totals.regions);
	if (region->scratch)
		__free_page(region->scratch);
	kfree(region);
	return 0;
}

static const struct file_operations vshm_region_fops = {
	.owner = THIS_MODULE,
	.release = vshm_region_release,
	.mmap = vshm_region_mmap,
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
 * gone, so vshm.ko cannot be unloaded while any region exists.
 *
 * Return: the new fd (O_CLOEXEC, read-write), or -errno.
 */
int vshm_region_create_fd(u64 size, u32 flags, u32 max_mappings)
{
	struct vshm_region *region;
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
	if (vshm_region_safe_holes(region)) {
		region->scratch = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!region->scratch) {
			ret = -ENOMEM;
			goto err_free_region;
		}
	}

	inode = alloc_anon_inode(vshm_mount()->mnt_sb);
	if (IS_ERR(inode)) {
		ret = PTR_ERR(inode);
		goto err_free_scratch;
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
	file = alloc_file_pseudo(inode, vshm_mount(), "vshm-region", O_RDWR,
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
err_free_scratch:
	if (region->scratch)
		__free_page(region->scratch);
err_free_region:
	kfree(region);
	return ret;
}
