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
 *   region->lock -> i_mmap_rwsem          (zap on unmap/replace)
 *   region->lock -> source locks          (shmem page lookup, seals)
 * dma-buf reservation locks (attach, CPU access brackets) are taken only
 * without region->lock.
 * region->lock is never held across copy_{to,from}_user, so a copy whose
 * user buffer lies in a region's own mmap cannot deadlock on it.
 */
#ifndef _VSHM_INTERNAL_H
#define _VSHM_INTERNAL_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/mm_types.h>
#include <linux/rbtree.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/xarray.h>

struct vshm_mapping;

/**
 * struct vshm_totals - module-wide counters, shown in debugfs
 * @regions: regions alive.
 * @mappings: mappings alive, in all regions.
 * @mapped_bytes: bytes those mappings cover.
 * @pages_held: source page references held for faulted or pinned pages.
 * @faults: page faults served.
 * @copied_in: bytes written with pwrite().
 * @copied_out: bytes read with pread().
 */
struct vshm_totals {
	atomic64_t regions;
	atomic64_t mappings;
	atomic64_t mapped_bytes;
	atomic64_t pages_held;
	atomic64_t faults;
	atomic64_t copied_in;
	atomic64_t copied_out;
};

extern struct vshm_totals vshm_totals;

/**
 * struct vshm_source_ops - how a mapping gets at its source's pages
 * @name: shown in debugfs and logs.
 * @get_page: return the page backing page @index of the mapping (relative
 *	to the mapping's start).  The page stays referenced by the mapping
 *	until @release; callers that use it after dropping the region lock
 *	take their own reference.  Called with the region lock held (read or
 *	write), may sleep.  Returns 0 or -errno.
 * @peek_page: optional; like @get_page, but only for a page the source
 *	already has: it never allocates, reads or waits, and returns -ENOENT
 *	instead.  Fault-around uses it, so that mapping a page's neighbours
 *	never grows the source.  Without it, @get_page must not allocate.
 * @release: drop everything the mapping holds on its source; called after
 *	every PTE that could point at its pages has been zapped.
 */
struct vshm_source_ops {
	const char *name;
	int (*get_page)(struct vshm_mapping *map, pgoff_t index,
			struct page **pagep);
	int (*peek_page)(struct vshm_mapping *map, pgoff_t index,
			 struct page **pagep);
	void (*release)(struct vshm_mapping *map);
};

/**
 * struct vshm_mapping - one mapping of a source into a region
 * @node: in the region's table, ordered by @start.
 * @link: on a list of detached mappings waiting to be released.
 * @start: offset in the region, page aligned.
 * @len: length in bytes, page aligned, non-zero.
 * @fd_offset: offset in the source, page aligned.
 * @writable: mapped with VSHM_MAP_WRITE.
 * @file: the source file (shmem, hugetlbfs), or NULL.
 * @ops: the source's operations.
 * @pages: pages faulted so far, by index relative to @start, each with a
 *	reference (shmem).
 * @folios: every huge page the mapping spans, each with a reference,
 *	pinned when the mapping is made (hugetlbfs).
 * @nr_folios: entries in @folios.
 * @huge_shift: log2 of the huge page size (hugetlbfs).
 * @dmabuf: the source buffer (dma-buf), with a reference.
 * @attach: vshm's attachment to @dmabuf.
 * @sgt: the attachment's mapping; keeps the exporter's pages pinned.
 * @dma_pages: the pages of the mapped range, in order (dma-buf).
 */
struct vshm_mapping {
	struct rb_node node;
	struct list_head link;
	u64 start;
	u64 len;
	u64 fd_offset;
	bool writable;
	struct file *file;
	const struct vshm_source_ops *ops;
	struct xarray pages;
	struct folio **folios;
	unsigned long nr_folios;
	unsigned int huge_shift;
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
	struct page **dma_pages;
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
 * @copied_in: bytes written with pwrite().
 * @copied_out: bytes read with pread().
 * @maps: successful maps.
 * @unmaps: mappings removed.
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
	atomic64_t copied_in;
	atomic64_t copied_out;
	atomic64_t maps;
	atomic64_t unmaps;
};

/* vshm_main.c */
struct vfsmount *vshm_mount(void);
struct device *vshm_dma_device(void);

/* vshm_region.c */
int vshm_region_create_fd(u64 size, u32 flags, u32 max_mappings);

/* vshm_mapping.c */
struct vshm_mapping *vshm_mapping_lookup(struct vshm_region *region, u64 off);
int vshm_mapping_check_range(struct vshm_region *region, u64 start, u64 len,
			     bool replace, unsigned int *covered);
void vshm_mapping_insert(struct vshm_region *region, struct vshm_mapping *map);
void vshm_mapping_detach_range(struct vshm_region *region, u64 start, u64 len,
			       struct list_head *out);
struct vshm_mapping *vshm_mapping_find_exact(struct vshm_region *region,
					     u64 start, u64 len);
void vshm_mapping_detach(struct vshm_region *region, struct vshm_mapping *map,
			 struct list_head *out);
void vshm_mapping_detach_all(struct vshm_region *region, struct list_head *out);
void vshm_mapping_free_list(struct list_head *list);

/* vshm_dmabuf.c */
struct dma_buf;
int vshm_dmabuf_open(struct vshm_mapping *map, struct dma_buf *dmabuf);

/* vshm_source.c */
struct vshm_mapping *vshm_source_open(int fd, u64 fd_offset, u64 len,
				      bool writable);
void vshm_source_close(struct vshm_mapping *map);

#endif /* _VSHM_INTERNAL_H */
