/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vshm internals shared by the module's files.
 *
 * Objects:
 *   region  - one per region fd: a pseudo-fs inode with its own
 *             address_space (so zapping one region never touches another),
 *             a table of mappings and counters.
 *   mapping - a [start, start + len) range of a region backed by a source.
 *   source  - what a mapping reads its pages from (shmem, hugetlbfs,
 *             dma-buf), behind struct vshm_source_ops.
 *
 * Lock order (lockdep-clean by construction):
 *   mmap_lock -> region->lock            (page fault, pfn_mkwrite)
 *   region->lock -> i_mmap_rwsem          (zap on map/unmap/replace, and
 *                                          pfn_mkwrite zapping a safe
 *                                          hole's zero page)
 *   mmap_lock -> i_mmap_rwsem             (zap in vm_ops->mprotect)
 *   region->dmabuf_lock -> dma-buf reservation locks (attach and map)
 * dma-buf reservation locks (attach, CPU access brackets) and
 * region->dmabuf_lock are taken only without region->lock.  So are the
 * locks that pinning a source at MAP takes (the caller's mmap_lock for the
 * temporary VMA and GUP, the source's inode and page locks): a mapping's
 * pages are all pinned before region->lock is taken, and looking one up
 * takes no lock.
 * region->lock is never held across copy_{to,from}_user, so a copy whose
 * user buffer lies in a region's own mmap cannot deadlock on it: the copy
 * holds a reference on the mapping instead (struct vshm_mapping, @users).
 * VSHM_IOC_MAP takes the caller's mmap_lock (the mmap of the source that
 * checks permissions and, before 6.11, pins; vshm_source.c) before the
 * region lock, never under it.  With VSHM_MAP_POPULATE it then takes, after
 * dropping the region lock, i_mmap_rwsem alone (to list the region's
 * VMAs), and then, for each VMA, its process's mmap_lock -> region->lock,
 * as a fault would (vshm_pte.c).
 * VSHM_IOC_LIST_MAPPINGS takes only the region lock (read) and copies its
 * snapshot to user space after dropping it, for the same reason.
 * vshm_mnt_lock (vshm_main.c) is a leaf, taken with no other vshm lock held;
 * the unmount itself runs after dropping it.
 */
#ifndef _VSHM_INTERNAL_H
#define _VSHM_INTERNAL_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/types.h>

struct vshm_mapping;
struct vshm_mapping_info;
struct vshm_dmabuf_import;

/**
 * struct vshm_totals - module-wide counters, shown in debugfs
 * @regions: regions alive.
 * @mappings: mappings alive, in all regions.
 * @mapped_bytes: bytes those mappings cover.
 * @pages_held: source pages (in base pages) held by mappings: pinned
 *	shmem and hugetlbfs pages, and the pages of mapped dma-bufs.
 * @dmabuf_attachments: dma-bufs attached, counted once per region.
 * @faults: page faults served.
 * @pmd_faults: those of @faults served with a PMD entry.
 * @copied_in: bytes written with pwrite().
 * @copied_out: bytes read with pread().
 */
struct vshm_totals {
	atomic64_t regions;
	atomic64_t mappings;
	atomic64_t mapped_bytes;
	atomic64_t pages_held;
	atomic64_t dmabuf_attachments;
	atomic64_t faults;
	atomic64_t pmd_faults;
	atomic64_t copied_in;
	atomic64_t copied_out;
};

extern struct vshm_totals vshm_totals;

/**
 * struct vshm_source_ops - how a mapping gets at its source's pages
 * @name: shown in debugfs and logs.
 * @get_page: return the page backing page @index of the mapping (relative
 *	to the mapping's start).  Every source holds all the pages of the
 *	mapping from the moment it is made, so this is a lookup: it never
 *	allocates, sleeps or fails for an index inside the mapping.  The page
 *	stays valid until @release; callers that use it after dropping the
 *	region lock hold a reference on the mapping (vshm_mapping_get()),
 *	never on the page, whose refcount may belong to a dma-buf exporter.
 *	Called with the region lock held (read or write).  Returns 0 or -errno.
 * @get_pmd_page: optional; like @get_page, for the PMD_SIZE bytes of the
 *	mapping from page @index on: their first page if they are one
 *	physically contiguous, PMD-aligned run of one folio that the mapping
 *	holds (a hugetlbfs huge page, a PMD-sized shmem folio), so that one
 *	PMD entry may map them; else -ENOENT.
 * @write_back: the pages are ordinary write-back memory, as the source's
 *	own mmaps map them (page cache pages that the mapping pinned), so
 *	their entries may be written in runs without looking each page's
 *	memory type up (vshm_pte_insert_run()).  Not for dma-bufs: an
 *	exporter may have changed its pages' type (drm_gem_shmem's
 *	write-combined objects, vgem's among them, are set_pages_array_wc()),
 *	which vmf_insert_pfn_prot() then carries into each entry.
 * @begin_cpu_access: optional; called before pread()/pwrite() touch
 *	pages of the mapping, without the region lock.  Returns 0 or -errno.
 * @end_cpu_access: optional; called after them.  Sources without it are
 *	page-cache pages, which pwrite() marks dirty itself.
 * @release: drop everything the mapping holds on its source; called after
 *	every PTE that could point at its pages has been zapped, and after
 *	the last copy in flight let the mapping go.
 */
struct vshm_source_ops {
	const char *name;
	int (*get_page)(struct vshm_mapping *map, pgoff_t index,
			struct page **pagep);
	int (*get_pmd_page)(struct vshm_mapping *map, pgoff_t index,
			    struct page **pagep);
	bool write_back;
	int (*begin_cpu_access)(struct vshm_mapping *map, bool write);
	void (*end_cpu_access)(struct vshm_mapping *map, bool write);
	void (*release)(struct vshm_mapping *map);
};

/**
 * struct vshm_mapping - one mapping of a source into a region
 * @node: in the region's table, ordered by @start.
 * @link: on a list of detached mappings waiting to be released; shares
 *	the space of @node, which a detached mapping no longer uses.
 * @ops: the source's operations.
 * @start: offset in the region, page aligned.
 * @len: length in bytes, page aligned, non-zero.
 * @fd_offset: offset in the source, page aligned.
 * @users: the table's reference, set on insertion, plus one per copy in
 *	flight; the mapping is released when the last goes.
 * @writable: mapped with VSHM_MAP_WRITE.
 * @unit_shift: pinned sources: log2 of the bytes one pinned unit covers:
 *	PAGE_SHIFT for shmem, the huge page shift for hugetlbfs (whose huge
 *	pages are pinned whole).
 * @file: pinned sources (shmem, hugetlbfs): the source file.
 * @nr_units: pinned sources: units pinned, from the unit that holds
 *	@fd_offset to the one that holds its last byte.
 * @pages: pinned sources with more than one unit: one entry per unit, the
 *	unit's first page; the unit's pages follow it in the memmap.  Every
 *	base page of every unit is pinned.
 * @page: pinned sources of one unit: that unit's first page, held here
 *	rather than in an array of one (most mappings are one page or one
 *	huge page).
 * @import: dma-buf sources: the region's attachment to the buffer, shared
 *	with the region's other mappings of it.
 *
 * 88 bytes on 64-bit: what one mapping costs in kernel memory, with
 * kmalloc's rounding to 96, when it spans one page or one huge page.
 */
struct vshm_mapping {
	union {
		struct rb_node node;
		struct list_head link;
	};
	const struct vshm_source_ops *ops;
	u64 start;
	u64 len;
	u64 fd_offset;
	refcount_t users;
	bool writable;
	u8 unit_shift;
	union {
		struct {
			struct file *file;
			unsigned long nr_units;
			union {
				struct page **pages;
				struct page *page;
			};
		};
		struct vshm_dmabuf_import *import;
	};
};

/**
 * struct vshm_region - a VIRTIO Shared Memory Region
 * @lock: protects @mappings, @nr_mappings and @mapped_bytes; read for
 *	faults and copies, write for map/unmap.
 * @mappings: the mapping table, non-overlapping, ordered by start.
 * @inode: the region's pseudo-fs inode; its i_mapping is the
 *	address_space every mmap of this region hangs off.
 * @size: region size in bytes.
 * @flags: creation flags (VSHM_REGION_SAFE_HOLES).
 * @scratch: the page that write faults in holes map under
 *	VSHM_REGION_SAFE_HOLES, or NULL; seen by nothing but this region's
 *	holes.
 * @max_mappings: the mapping limit.
 * @nr_mappings: mappings in @mappings.
 * @mapped_bytes: bytes they cover.
 * @faults: faults served.
 * @pmd_faults: those of @faults served with a PMD entry.
 * @copied_in: bytes written with pwrite().
 * @copied_out: bytes read with pread().
 * @maps: successful maps.
 * @unmaps: mappings removed.
 * @dmabuf_lock: protects @dmabufs and @nr_dmabufs; held while attaching.
 * @dmabufs: the dma-bufs the region's mappings use, one attachment each.
 * @nr_dmabufs: entries in @dmabufs.
 * @max_dmabufs: the most entries @dmabufs may hold.
 */
struct vshm_region {
	struct rw_semaphore lock;
	struct rb_root mappings;
	struct inode *inode;
	u64 size;
	u32 flags;
	struct page *scratch;
	u32 max_mappings;
	u64 nr_mappings;
	u64 mapped_bytes;
	atomic64_t faults;
	atomic64_t pmd_faults;
	atomic64_t copied_in;
	atomic64_t copied_out;
	atomic64_t maps;
	atomic64_t unmaps;
	struct mutex dmabuf_lock;	/* protects dmabufs, nr_dmabufs */
	struct list_head dmabufs;
	unsigned int nr_dmabufs;
	unsigned int max_dmabufs;
};

/* vshm_pte.c */
pgprot_t vshm_pte_prot(struct vm_area_struct *vma, bool writable);
unsigned long vshm_pte_insert_run(struct vm_area_struct *vma,
				  struct vshm_mapping *map, unsigned long start,
				  unsigned long end, pgprot_t prot);
void vshm_region_populate(struct vshm_region *region, u64 start, u64 len);

/* vshm_main.c */
struct vfsmount *vshm_mount_get(void);
void vshm_mount_put(void);
struct device *vshm_dma_device(void);
unsigned int vshm_max_dmabufs(void);

/* vshm_region.c */
int vshm_region_create_fd(u64 size, u32 flags, u32 max_mappings);

/* vshm_mapping.c */
struct vshm_mapping *vshm_mapping_lookup(struct vshm_region *region, u64 off);
int vshm_mapping_check_range(struct vshm_region *region, u64 start, u64 len,
			     bool replace, unsigned int *covered);
unsigned int vshm_mapping_list(struct vshm_region *region, u64 cursor,
			       struct vshm_mapping_info *out, unsigned int max,
			       bool *more);
void vshm_mapping_insert(struct vshm_region *region, struct vshm_mapping *map);
void vshm_mapping_detach_range(struct vshm_region *region, u64 start, u64 len,
			       struct list_head *out);
struct vshm_mapping *vshm_mapping_find_exact(struct vshm_region *region,
					     u64 start, u64 len);
void vshm_mapping_detach(struct vshm_region *region, struct vshm_mapping *map,
			 struct list_head *out);
void vshm_mapping_detach_all(struct vshm_region *region, struct list_head *out);
void vshm_mapping_free_list(struct list_head *list);
void vshm_mapping_get(struct vshm_mapping *map);
void vshm_mapping_put(struct vshm_mapping *map);

/* vshm_dmabuf.c */
struct dma_buf;
int vshm_dmabuf_open(struct vshm_region *region, struct vshm_mapping *map,
		     struct dma_buf *dmabuf);
struct file *vshm_dmabuf_file(const struct vshm_mapping *map);

/* vshm_source.c */
struct vshm_mapping *vshm_source_open(struct vshm_region *region, int fd,
				      u64 fd_offset, u64 len, bool writable);
void vshm_source_close(struct vshm_mapping *map);
void vshm_source_describe(const struct vshm_mapping *map,
			  struct vshm_mapping_info *info);

#endif /* _VSHM_INTERNAL_H */
