// SPDX-License-Identifier: GPL-2.0
/*
 * Sources: what a mapping's pages come from.
 *
 * shmem (memfd, tmpfs files): pages are looked up on first fault and the
 * mapping keeps a reference on each, so truncating or closing the memfd can
 * never leave a PTE pointing at freed memory.  A page the mapping holds
 * cannot be reclaimed or migrated (the extra reference stops both); writes
 * through the region's special PTEs are invisible to dirty tracking, so
 * writable mappings mark their pages dirty when they let them go.
 *
 * dma-bufs: see vshm_dmabuf.c.
 *
 * hugetlbfs memfds: the huge pages the mapping spans are allocated if
 * needed and pinned when the mapping is made (a hugetlb page cannot be
 * allocated from the fault path without inverting mmap_lock and the
 * inode lock); faults then map their 4 KiB subpages.
 */
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/dma-buf.h>
#include <linux/hugetlb.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>

#include "vshm_compat.h"
#include "vshm_internal.h"

/* Seals that forbid writing a shmem or hugetlbfs file. */
#define VSHM_WRITE_SEALS	(F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)

/*
 * Keep @page (referenced by the caller) as page @index of @map; if a racing
 * fault stored one first, use that.  Two faults may race for the same page
 * under the shared region lock.
 */
static int vshm_shmem_hold(struct vshm_mapping *map, pgoff_t index,
			   struct page *page, struct page **pagep)
{
	struct page *old;

	old = xa_cmpxchg(&map->pages, index, NULL, page, GFP_KERNEL_ACCOUNT);
	if (xa_is_err(old)) {
		put_page(page);
		return xa_err(old);
	}
	if (old) {
		put_page(page);
		page = old;
	} else {
		atomic64_inc(&vshm_totals.pages_held);
	}
	*pagep = page;
	return 0;
}

static int vshm_shmem_get_page(struct vshm_mapping *map, pgoff_t index,
			       struct page **pagep)
{
	struct address_space *mapping = map->file->f_mapping;
	struct page *page;

	page = xa_load(&map->pages, index);
	if (page) {
		*pagep = page;
		return 0;
	}
	page = shmem_read_mapping_page_gfp(mapping,
					   (map->fd_offset >> PAGE_SHIFT) + index,
					   mapping_gfp_mask(mapping));
	if (IS_ERR(page))
		return PTR_ERR(page);
	return vshm_shmem_hold(map, index, page, pagep);
}

/*
 * Like vshm_shmem_get_page() for a page already in the page cache; never
 * allocates, reads swap or waits: fault-around must not grow the source.
 */
static int vshm_shmem_peek_page(struct vshm_mapping *map, pgoff_t index,
				struct page **pagep)
{
	pgoff_t src = (map->fd_offset >> PAGE_SHIFT) + index;
	struct folio *folio;
	struct page *page;

	page = xa_load(&map->pages, index);
	if (page) {
		*pagep = page;
		return 0;
	}
	folio = vshm_filemap_get_folio(map->file->f_mapping, src);
	if (!folio)
		return -ENOENT;
	if (!folio_test_uptodate(folio)) {
		folio_put(folio);
		return -ENOENT;
	}
	return vshm_shmem_hold(map, index, folio_file_page(folio, src), pagep);
}

static void vshm_shmem_release(struct vshm_mapping *map)
{
	struct page *page;
	unsigned long index;

	xa_for_each(&map->pages, index, page) {
		if (map->writable)
			set_page_dirty_lock(page);
		put_page(page);
		atomic64_dec(&vshm_totals.pages_held);
	}
	xa_destroy(&map->pages);
}

static const struct vshm_source_ops vshm_shmem_ops = {
	.name = "shmem",
	.get_page = vshm_shmem_get_page,
	.peek_page = vshm_shmem_peek_page,
	.release = vshm_shmem_release,
};

/* Find, or allocate, the huge page at byte @off of the source, referenced. */
static int vshm_hugetlb_pin(struct vshm_mapping *map, u64 off,
			    struct folio **foliop)
{
	struct address_space *mapping = map->file->f_mapping;
	u64 huge_size = 1ULL << map->huge_shift;
	u64 huge_off = off & ~(huge_size - 1);
	struct folio *folio;
	int ret;

	folio = vshm_filemap_get_folio(mapping, vshm_hugetlb_index(off, map->huge_shift));
	if (!folio) {
		ret = vfs_fallocate(map->file, FALLOC_FL_KEEP_SIZE, huge_off,
				    huge_size);
		if (ret == -EBADF)	/* not open for writing */
			return -EACCES;
		if (ret == -ENOSPC)	/* the huge page pool is empty */
			return -ENOMEM;
		if (ret)
			return ret;
		folio = vshm_filemap_get_folio(mapping,
					       vshm_hugetlb_index(off, map->huge_shift));
		if (!folio)	/* punched out again meanwhile */
			return -EAGAIN;
	}
	*foliop = folio;
	return 0;
}

static int vshm_hugetlb_open(struct vshm_mapping *map)
{
	struct hstate *h = hstate_file(map->file);
	u64 first, last, i;
	int ret;

	map->huge_shift = huge_page_shift(h);
	first = map->fd_offset >> map->huge_shift;
	last = (map->fd_offset + map->len - 1) >> map->huge_shift;
	map->folios = kvcalloc(last - first + 1, sizeof(*map->folios),
			       GFP_KERNEL_ACCOUNT);
	if (!map->folios)
		return -ENOMEM;

	for (i = first; i <= last; i++) {
		ret = vshm_hugetlb_pin(map, i << map->huge_shift,
				       &map->folios[map->nr_folios]);
		if (ret)
			return ret;	/* vshm_source_close() unwinds */
		map->nr_folios++;
		atomic64_inc(&vshm_totals.pages_held);
	}
	return 0;
}

static int vshm_hugetlb_get_page(struct vshm_mapping *map, pgoff_t index,
				 struct page **pagep)
{
	u64 src = map->fd_offset + ((u64)index << PAGE_SHIFT);
	u64 slot = (src >> map->huge_shift) - (map->fd_offset >> map->huge_shift);
	u64 sub = (src & ((1ULL << map->huge_shift) - 1)) >> PAGE_SHIFT;

	if (WARN_ON_ONCE(slot >= map->nr_folios))
		return -EFAULT;
	*pagep = folio_page(map->folios[slot], sub);
	return 0;
}

static void vshm_hugetlb_release(struct vshm_mapping *map)
{
	unsigned long i;

	for (i = 0; i < map->nr_folios; i++) {
		folio_put(map->folios[i]);
		atomic64_dec(&vshm_totals.pages_held);
	}
	kvfree(map->folios);
	map->folios = NULL;
	map->nr_folios = 0;
}

static const struct vshm_source_ops vshm_hugetlb_ops = {
	.name = "hugetlbfs",
	.get_page = vshm_hugetlb_get_page,
	.release = vshm_hugetlb_release,
};

/* Pick the ops for @file, or NULL if vshm cannot map it. */
static const struct vshm_source_ops *vshm_source_classify(struct file *file)
{
	struct inode *inode = file_inode(file);

	if (!S_ISREG(inode->i_mode))
		return NULL;
	if (IS_ENABLED(CONFIG_SHMEM) && inode->i_sb->s_magic == TMPFS_MAGIC)
		return &vshm_shmem_ops;
	if (IS_ENABLED(CONFIG_HUGETLBFS) && inode->i_sb->s_magic == HUGETLBFS_MAGIC)
		return &vshm_hugetlb_ops;
	return NULL;
}

static unsigned int vshm_source_seals(struct file *file)
{
	struct inode *inode = file_inode(file);

#ifdef CONFIG_HUGETLBFS
	if (inode->i_sb->s_magic == HUGETLBFS_MAGIC)
		return HUGETLBFS_I(inode)->seals;
#endif
	return SHMEM_I(inode)->seals;
}

/*
 * A writable mapping counts as a writable mmap of the source, so that
 * F_SEAL_WRITE cannot be added while the guest can still write.
 */
static int vshm_source_claim_write(struct file *file)
{
	if (!(file->f_mode & FMODE_WRITE))
		return -EACCES;
	if (vshm_source_seals(file) & VSHM_WRITE_SEALS)
		return -EACCES;
	if (mapping_map_writable(file->f_mapping))
		return -EACCES;
	return 0;
}

static struct vshm_mapping *vshm_mapping_alloc(u64 fd_offset, u64 len,
					       bool writable)
{
	struct vshm_mapping *map = kzalloc(sizeof(*map), GFP_KERNEL_ACCOUNT);

	if (!map)
		return NULL;
	RB_CLEAR_NODE(&map->node);
	INIT_LIST_HEAD(&map->link);
	xa_init(&map->pages);
	map->fd_offset = fd_offset;
	map->len = len;
	map->writable = writable;
	return map;
}

static struct vshm_mapping *vshm_source_open_dmabuf(struct vshm_region *region,
						    struct dma_buf *dmabuf,
						    u64 fd_offset, u64 len,
						    bool writable)
{
	struct vshm_mapping *map = vshm_mapping_alloc(fd_offset, len, writable);
	int ret;

	if (!map) {
		dma_buf_put(dmabuf);
		return ERR_PTR(-ENOMEM);
	}
	ret = vshm_dmabuf_open(region, map, dmabuf);
	if (ret) {
		kfree(map);
		return ERR_PTR(ret);
	}
	return map;
}

/**
 * vshm_source_open() - take hold of a source for a new mapping
 * @region: the region the mapping is for (dma-bufs share one attachment
 *	per region).
 * @fd: the source file descriptor, in the calling process.
 * @fd_offset: page-aligned offset in the source.
 * @len: page-aligned, non-zero length; @fd_offset + @len does not wrap.
 * @writable: whether the mapping will be writable.
 *
 * Return: a new mapping, not yet in any region, holding a reference on the
 * source; or ERR_PTR(-EBADF) for a bad fd, -ENODEV for a file type vshm
 * cannot map, -EOVERFLOW if the range passes the source's end, -EACCES for
 * a source not open for reading, or a write mapping of a source not open
 * for writing or write-sealed; -ENOMEM; for dma-bufs, the errors of
 * vshm_dmabuf_open().
 */
struct vshm_mapping *vshm_source_open(struct vshm_region *region, int fd,
				      u64 fd_offset, u64 len, bool writable)
{
	const struct vshm_source_ops *ops;
	struct vshm_mapping *map;
	struct dma_buf *dmabuf;
	struct file *file;
	int ret;

	/* -EINVAL: a valid fd that is not a dma-buf. */
	dmabuf = dma_buf_get(fd);
	if (!IS_ERR(dmabuf))
		return vshm_source_open_dmabuf(region, dmabuf, fd_offset, len,
					       writable);
	if (PTR_ERR(dmabuf) != -EINVAL)
		return ERR_CAST(dmabuf);

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);

	ops = vshm_source_classify(file);
	if (!ops) {
		ret = -ENODEV;
		goto err_put_file;
	}
	if (fd_offset + len > (u64)i_size_read(file_inode(file))) {
		ret = -EOVERFLOW;
		goto err_put_file;
	}
	/* Mapping gives read access, as mmap() of the source would need. */
	if (!(file->f_mode & FMODE_READ)) {
		ret = -EACCES;
		goto err_put_file;
	}
	if (writable) {
		ret = vshm_source_claim_write(file);
		if (ret)
			goto err_put_file;
	}

	map = vshm_mapping_alloc(fd_offset, len, writable);
	if (!map) {
		ret = -ENOMEM;
		goto err_release_write;
	}
	map->file = file;
	map->ops = ops;

	if (ops == &vshm_hugetlb_ops) {
		ret = vshm_hugetlb_open(map);
		if (ret) {
			vshm_source_close(map);
			return ERR_PTR(ret);
		}
	}
	return map;

err_release_write:
	if (writable)
		mapping_unmap_writable(file->f_mapping);
err_put_file:
	fput(file);
	return ERR_PTR(ret);
}

/**
 * vshm_source_close() - release a mapping and its hold on the source
 * @map: a mapping from vshm_source_open(), in no region's table, with no
 *	PTE left pointing at its pages.
 */
void vshm_source_close(struct vshm_mapping *map)
{
	map->ops->release(map);
	if (map->file) {
		if (map->writable)
			mapping_unmap_writable(map->file->f_mapping);
		fput(map->file);
	}
	kfree(map);
}
