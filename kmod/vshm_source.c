// SPDX-License-Identifier: GPL-2.0
/*
 * Sources: what a mapping's pages come from.
 *
 * shmem (memfd, tmpfs files) and hugetlbfs memfds: a mapping pins every
 * page of its source range when it is made, with long-term pin semantics,
 * and unpins them when it is released (after its range has been zapped):
 *
 * - FOLL_LONGTERM semantics: a page in ZONE_MOVABLE or a CMA area is
 *   migrated out before it is pinned, so vshm never blocks memory
 *   offlining, CMA allocations or compaction there;
 * - the pages belong to the mapping until UNMAP: truncating or punching
 *   the source afterwards takes them out of the file but not out of the
 *   mapping, which keeps showing (and writing) them, so no PTE, fault or
 *   copy can ever reach freed memory;
 * - faults, fault-around and copies only look pages up among the
 *   mapping's pinned units;
 * - writes through the region's PTEs are invisible to dirty tracking, so
 *   a writable mapping marks its pages dirty when it unpins them.
 *
 * Kernels with memfd_pin_folios() (6.11) pin through it, as udmabuf does.
 * Older ones have no way to pin a file's pages long-term other than GUP on
 * a user mapping of them, so vshm maps the range into the caller for the
 * duration of the pin (see vshm_pin_gup()).
 *
 * Huge pages are pinned whole; faults map their 4 KiB subpages.  They are
 * allocated first if the source lacks them (which needs the source open
 * for writing, as fallocate() does), so the pin never allocates one.
 *
 * dma-bufs: see vshm_dmabuf.c.
 */
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/dma-buf.h>
#include <linux/hugetlb.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>

#include <uapi/linux/vshm.h>

#include "vshm_compat.h"
#include "vshm_internal.h"

/* Seals that forbid writing a shmem or hugetlbfs file. */
#define VSHM_WRITE_SEALS	(F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)

/*
 * Whether pinning goes through memfd_pin_folios() (6.11), without a user
 * mapping; before it, the mapping the pin needs is the permission check.
 */
#ifdef VSHM_HAVE_MEMFD_PIN_FOLIOS
static const bool vshm_pin_unmapped = true;
#else
static const bool vshm_pin_unmapped;
#endif

/* Pages or folios pinned per call, so the pin's scratch array stays small. */
#define VSHM_PIN_BATCH		256

/*
 * Most entries in one mapping's page array (512 MiB of pointers): 256 GiB
 * of shmem, 128 TiB of 2 MiB huge pages.  A bigger MAP fails with E2BIG
 * before anything is allocated; it could not be pinned anyway.
 */
#define VSHM_MAX_PIN_UNITS	BIT(26)

static unsigned long vshm_unit_pages(const struct vshm_mapping *map)
{
	return 1UL << (map->unit_shift - PAGE_SHIFT);
}

/*
 * The pinned units' first pages: @map->pages, or @map->page for a mapping
 * of one unit, which has no array.
 */
static struct page **vshm_pinned_units(struct vshm_mapping *map)
{
	return map->nr_units == 1 ? &map->page : map->pages;
}

/* First source byte of the pinned range: @fd_offset rounded down to a unit. */
static u64 vshm_pin_start(const struct vshm_mapping *map)
{
	return map->fd_offset & ~((1ULL << map->unit_shift) - 1);
}

static int vshm_pinned_get_page(struct vshm_mapping *map, pgoff_t index,
				struct page **pagep)
{
	u64 off = map->fd_offset + ((u64)index << PAGE_SHIFT) - vshm_pin_start(map);
	u64 unit = off >> map->unit_shift;

	if (WARN_ON_ONCE(unit >= map->nr_units))
		return -EFAULT;
	*pagep = vshm_nth_page(vshm_pinned_units(map)[unit],
			       (off & ((1ULL << map->unit_shift) - 1)) >> PAGE_SHIFT);
	return 0;
}

#ifdef VSHM_HAVE_PMD_PFNMAP
/*
 * A PMD entry may map the PMD_SIZE bytes from @index if their pages are
 * one aligned run of one folio.  The units were pinned in order of source
 * offset, and a folio that left the page cache never comes back to it, so
 * when the first and the last page are the folio's, so are those between.
 */
static int vshm_pinned_get_pmd_page(struct vshm_mapping *map, pgoff_t index,
				    struct page **pagep)
{
	struct page *first, *last;
	int ret;

	ret = vshm_pinned_get_page(map, index, &first);
	if (!ret)
		ret = vshm_pinned_get_page(map, index + HPAGE_PMD_NR - 1, &last);
	if (ret)
		return ret;
	if (!IS_ALIGNED(page_to_pfn(first), HPAGE_PMD_NR) ||
	    page_folio(first) != page_folio(last) ||
	    vshm_nth_page(first, HPAGE_PMD_NR - 1) != last)
		return -ENOENT;
	*pagep = first;
	return 0;
}
#endif

/*
 * Allocate the huge pages of the pinned range that the source lacks, as
 * fallocate() would: the pin must not allocate them itself (GUP through a
 * MAP_NORESERVE mapping could not, memfd_pin_folios() would bypass the
 * pool's reservations).
 */
static int vshm_hugetlb_populate(struct vshm_mapping *map)
{
	u64 huge_size = 1ULL << map->unit_shift;
	u64 off = vshm_pin_start(map);
	unsigned long i;
	int ret;

	for (i = 0; i < map->nr_units; i++, off += huge_size) {
		struct folio *folio;

		folio = vshm_filemap_get_folio(map->file->f_mapping,
					       vshm_hugetlb_index(off, map->unit_shift));
		if (folio) {
			folio_put(folio);
			continue;
		}
		ret = vfs_fallocate(map->file, FALLOC_FL_KEEP_SIZE, off, huge_size);
		if (ret == -EBADF)	/* not open for writing */
			return -EACCES;
		if (ret == -ENOSPC)	/* the huge page pool is empty */
			return -ENOMEM;
		if (ret)
			return ret;
	}
	return 0;
}

#ifdef VSHM_HAVE_MEMFD_PIN_FOLIOS

static void vshm_folio_mark_dirty_lock(struct folio *folio)
{
	folio_lock(folio);
	folio_mark_dirty(folio);
	folio_unlock(folio);
}

/*
 * Unpin the first @nr_units units.  memfd_pin_folios() pins each folio
 * once, and one folio's pages sit next to each other among the units.
 */
static void vshm_unpin(struct vshm_mapping *map, unsigned long nr_units)
{
	struct folio *last = NULL;
	unsigned long i;

	for (i = 0; i < nr_units; i++) {
		struct folio *folio = page_folio(vshm_pinned_units(map)[i]);

		if (folio == last)
			continue;
		last = folio;
		if (map->writable)
			vshm_folio_mark_dirty_lock(folio);
		unpin_folio(folio);
	}
}

/*
 * memfd_pin_folios() pins what the page cache holds, and shmem keeps the
 * folios fallocate() added neither zeroed nor uptodate until first use.
 * Have shmem initialize those, as a fault would, before they are mapped.
 */
static int vshm_shmem_init_pinned(struct vshm_mapping *map)
{
	struct folio *last = NULL;
	unsigned long i;

	if (map->unit_shift != PAGE_SHIFT)	/* hugetlbfs zeroes at allocation */
		return 0;
	for (i = 0; i < map->nr_units; i++) {
		struct folio *folio = page_folio(vshm_pinned_units(map)[i]), *cached;

		if (folio == last || folio_test_uptodate(folio))
			continue;
		last = folio;
		cached = shmem_read_folio(map->file->f_mapping, folio->index);
		if (IS_ERR(cached))
			return PTR_ERR(cached);
		folio_put(cached);
		if (cached != folio)	/* punched out meanwhile */
			return -EAGAIN;
	}
	return 0;
}

/*
 * Fill the pinned units from folios pinned by memfd_pin_folios(), which
 * allocates what the source lacks and migrates out of ZONE_MOVABLE and CMA.
 * Sets *@filled to the units pinned, also on failure.
 */
static int vshm_pin_range(struct vshm_mapping *map, unsigned long *filled)
{
	u64 unit_size = 1ULL << map->unit_shift;
	u64 pos = vshm_pin_start(map);
	u64 end = pos + ((u64)map->nr_units << map->unit_shift);
	struct folio *last = NULL;
	struct folio **batch;
	int ret = 0;

	batch = kmalloc_array(VSHM_PIN_BATCH, sizeof(*batch), GFP_KERNEL);
	if (!batch)
		return -ENOMEM;
	*filled = 0;
	while (pos < end) {
		pgoff_t offset;
		long i, n;

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		n = memfd_pin_folios(map->file, pos, end - 1, batch,
				     VSHM_PIN_BATCH, &offset);
		if (n <= 0) {
			ret = n ? n : -EFAULT;
			break;
		}
		for (i = 0; i < n; i++) {
			struct folio *folio = batch[i];
			u64 in = i ? 0 : offset;

			/* A large folio that straddles two calls: keep one pin. */
			if (folio == last)
				unpin_folio(folio);
			last = folio;
			for (; in < folio_size(folio) && pos < end;
			     in += unit_size, pos += unit_size)
				vshm_pinned_units(map)[(*filled)++] =
					folio_page(folio, in >> PAGE_SHIFT);
		}
	}
	kfree(batch);
	return ret ? ret : vshm_shmem_init_pinned(map);
}

#else /* !VSHM_HAVE_MEMFD_PIN_FOLIOS */

/* Unpin the first @nr_units units: every base page of each was pinned. */
static void vshm_unpin(struct vshm_mapping *map, unsigned long nr_units)
{
	unsigned long i;

	if (map->unit_shift == PAGE_SHIFT) {
		unpin_user_pages_dirty_lock(vshm_pinned_units(map), nr_units,
					    map->writable);
		return;
	}
	for (i = 0; i < nr_units; i++)
		unpin_user_page_range_dirty_lock(vshm_pinned_units(map)[i],
						 vshm_unit_pages(map),
						 map->writable);
}

/*
 * The temporary VMA lives in the caller's address space, where another of
 * its threads could replace it before the pin: accept only the source's
 * own page for byte @off of the source.
 */
static bool vshm_page_is_source(struct vshm_mapping *map, u64 off,
				struct page *page)
{
	struct folio *folio = page_folio(page);
	pgoff_t index = map->unit_shift == PAGE_SHIFT ? off >> PAGE_SHIFT :
			vshm_hugetlb_index(off, map->unit_shift);

	return READ_ONCE(folio->mapping) == map->file->f_mapping &&
	       folio_contains(folio, index) &&
	       folio_file_page(folio, index) == page;
}

/*
 * Record the @n pages pinned for base pages [@done, @done + @n) of the
 * pinned range, or unpin them all if one is not the source's.
 */
static int vshm_pin_record(struct vshm_mapping *map, unsigned long done,
			   struct page **batch, long n)
{
	unsigned long per_unit = vshm_unit_pages(map);
	struct page **units = vshm_pinned_units(map);
	long i;

	for (i = 0; i < n; i++) {
		unsigned long unit = (done + i) / per_unit;
		unsigned long sub = (done + i) % per_unit;
		u64 off = vshm_pin_start(map) + ((u64)(done + i) << PAGE_SHIFT);

		if (sub ? batch[i] != vshm_nth_page(units[unit], sub) :
			  !vshm_page_is_source(map, off, batch[i])) {
			unpin_user_pages(batch, n);
			return -EAGAIN;
		}
		if (!sub)
			units[unit] = batch[i];
	}
	return 0;
}

/* Unpin the @pinned base pages pinned so far, whole units and a partial one. */
static void vshm_unpin_partial(struct vshm_mapping *map, unsigned long pinned)
{
	unsigned long whole = pinned / vshm_unit_pages(map);
	unsigned long rest = pinned % vshm_unit_pages(map);

	vshm_unpin(map, whole);
	if (rest)
		unpin_user_page_range_dirty_lock(vshm_pinned_units(map)[whole],
						 rest, false);
}

/*
 * Before memfd_pin_folios(), the only way to pin a file's pages long-term
 * is GUP with FOLL_LONGTERM, which needs a user mapping of them.  So map
 * the range into the caller for the duration of the pin, pin through it
 * and unmap it.  That mmap is the one the map stands for, MAP_SHARED with
 * the mapping's protection, so it is also the permission check: do_mmap()
 * and security_mmap_file() judge it before anything is allocated or
 * pinned (vshm_source_trial_mmap() is for kernels that pin without a
 * mapping).  MAP_NORESERVE: the VMA must reserve no huge page; those the
 * source lacks are allocated after the check and before the pin.
 *
 * The pin itself asks for no write access, also for a writable mapping:
 * the pages of a shared file mapping are the page cache's either way, and
 * a read fault maps the pages the cache already holds around it in one
 * pass (fault-around), where a write fault maps one page per fault.
 * Writability was judged by the mmap; the pages are marked dirty when
 * they are unpinned, as memfd_pin_folios() kernels do.
 * Sets *@filled to the units pinned; on failure nothing stays pinned.
 */
static int vshm_pin_range(struct vshm_mapping *map, unsigned long *filled)
{
	unsigned long total = map->nr_units * vshm_unit_pages(map);
	unsigned long len = total << PAGE_SHIFT;
	unsigned int gup = FOLL_LONGTERM;
	unsigned long prot = PROT_READ | (map->writable ? PROT_WRITE : 0);
	unsigned long flags = MAP_SHARED | MAP_NORESERVE;
	unsigned long addr, done = 0;
	struct page **batch;
	int ret = 0;

	*filled = 0;
	if (!current->mm)
		return -EFAULT;
	batch = kmalloc_array(VSHM_PIN_BATCH, sizeof(*batch), GFP_KERNEL);
	if (!batch)
		return -ENOMEM;
	addr = vm_mmap(map->file, 0, len, prot, flags, vshm_pin_start(map));
	if (IS_ERR_VALUE(addr)) {
		ret = (int)addr;
		goto err_free_batch;
	}
	if (map->unit_shift != PAGE_SHIFT)
		ret = vshm_hugetlb_populate(map);
	while (!ret && done < total) {
		int want = min_t(unsigned long, total - done, VSHM_PIN_BATCH);
		int n;

		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		n = pin_user_pages_fast(addr + (done << PAGE_SHIFT), want, gup, batch);
		if (n <= 0) {
			/* SIGBUS: the source shrank or lost a huge page meanwhile. */
			ret = n == -EFAULT || !n ? -EAGAIN : n;
			break;
		}
		ret = vshm_pin_record(map, done, batch, n);
		if (ret)
			break;
		done += n;
	}
	vm_munmap(addr, len);
	if (ret)
		vshm_unpin_partial(map, done);
	else
		*filled = map->nr_units;
err_free_batch:
	kfree(batch);
	return ret;
}

#endif /* VSHM_HAVE_MEMFD_PIN_FOLIOS */

/* Free the unit array of vshm_pin_open(), if the mapping has one. */
static void vshm_pinned_free_units(struct vshm_mapping *map)
{
	if (map->nr_units > 1)
		kvfree(map->pages);
	map->pages = NULL;
	map->nr_units = 0;
}

static void vshm_pinned_release(struct vshm_mapping *map)
{
	vshm_unpin(map, map->nr_units);
	atomic64_sub(map->nr_units * vshm_unit_pages(map), &vshm_totals.pages_held);
	vshm_pinned_free_units(map);
	if (map->writable)
		mapping_unmap_writable(map->file->f_mapping);
	fput(map->file);
}

static const struct vshm_source_ops vshm_shmem_ops = {
	.name = "shmem",
	.get_page = vshm_pinned_get_page,
	.write_back = true,
#ifdef VSHM_HAVE_PMD_PFNMAP
	.get_pmd_page = vshm_pinned_get_pmd_page,
#endif
	.release = vshm_pinned_release,
};

static const struct vshm_source_ops vshm_hugetlb_ops = {
	.name = "hugetlbfs",
	.get_page = vshm_pinned_get_page,
	.write_back = true,
#ifdef VSHM_HAVE_PMD_PFNMAP
	.get_pmd_page = vshm_pinned_get_pmd_page,
#endif
	.release = vshm_pinned_release,
};

/*
 * Pin every page of the mapping's source range into its units
 * (vshm_pinned_units()).  E2BIG if that takes more than VSHM_MAX_PIN_UNITS
 * entries.
 */
static int vshm_pin_open(struct vshm_mapping *map, bool hugetlb)
{
	unsigned long filled;
	u64 first, last;
	int ret;

	map->unit_shift = PAGE_SHIFT;
#ifdef CONFIG_HUGETLBFS
	if (hugetlb)
		map->unit_shift = huge_page_shift(hstate_file(map->file));
#endif
	first = map->fd_offset >> map->unit_shift;
	last = (map->fd_offset + map->len - 1) >> map->unit_shift;
	if (last - first >= VSHM_MAX_PIN_UNITS)
		return -E2BIG;
	map->nr_units = last - first + 1;
	if (map->nr_units > 1) {
		map->pages = kvcalloc(map->nr_units, sizeof(*map->pages),
				      GFP_KERNEL_ACCOUNT);
		if (!map->pages)
			return -ENOMEM;
	}
	/* The GUP variant of vshm_pin_range() does it after its mmap. */
	if (vshm_pin_unmapped && hugetlb) {
		ret = vshm_hugetlb_populate(map);
		if (ret)
			goto err_free_pages;
	}
	ret = vshm_pin_range(map, &filled);
	if (ret) {
		/* Truncated under the pin: the range now passes the end. */
		if (map->fd_offset + map->len > (u64)i_size_read(file_inode(map->file)))
			ret = -EOVERFLOW;
		goto err_unpin;
	}
	atomic64_add(map->nr_units * vshm_unit_pages(map), &vshm_totals.pages_held);
	return 0;

err_unpin:
	vshm_unpin(map, filled);
err_free_pages:
	vshm_pinned_free_units(map);
	return ret;
}

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
	if (vshm_source_seals(file) & VSHM_WRITE_SEALS)
		return -EACCES;
	if (mapping_map_writable(file->f_mapping))
		return -EACCES;
	return 0;
}

/*
 * The checks do_mmap() makes on a MAP_SHARED mapping of @file that do not
 * depend on the address space: the fd must be open for reading, for
 * writing too if the mapping is writable, and an append-only file (which
 * mmap() refuses to share once it is open for writing, since mprotect()
 * could add PROT_WRITE later) may only be mapped through a read-only fd.
 */
static int vshm_source_check_mode(struct file *file, bool writable)
{
	if (!(file->f_mode & FMODE_READ))
		return -EACCES;
	if (writable && !(file->f_mode & FMODE_WRITE))
		return -EACCES;
	if (IS_APPEND(file_inode(file)) && (file->f_mode & FMODE_WRITE))
		return -EACCES;
	return 0;
}

/*
 * Let the security modules and do_mmap() judge the mapping as the mmap()
 * it stands for.  security_mmap_file() is not exported to modules, so this
 * maps the source for real in the caller, MAP_SHARED with the protection
 * the mapping implies, and unmaps it at once: one page, or one huge page
 * (aligned, as hugetlbfs needs) with MAP_NORESERVE so that nothing is
 * reserved.  No page is faulted in.  Regions never allow PROT_EXEC, so a
 * noexec mount has nothing to refuse, and the trial asks for no PROT_EXEC.
 * Only kernels with memfd_pin_folios() need it: elsewhere the mmap that
 * the pin goes through is the same check (see vshm_pin_range()).
 */
static int vshm_source_trial_mmap(struct file *file,
				  const struct vshm_source_ops *ops,
				  u64 fd_offset, bool writable)
{
	unsigned long prot = PROT_READ | (writable ? PROT_WRITE : 0);
	unsigned long size = PAGE_SIZE;
	unsigned long addr;

	if (!current->mm)
		return -EPERM;
	if (ops == &vshm_hugetlb_ops)
		size = huge_page_size(hstate_file(file));
	addr = vm_mmap(file, 0, size, prot, MAP_SHARED | MAP_NORESERVE,
		       round_down(fd_offset, size));
	if (IS_ERR_VALUE(addr))
		return (int)addr;
	vm_munmap(addr, size);
	return 0;
}

static struct vshm_mapping *vshm_mapping_alloc(u64 fd_offset, u64 len,
					       bool writable)
{
	struct vshm_mapping *map = kzalloc(sizeof(*map), GFP_KERNEL_ACCOUNT);

	if (!map)
		return NULL;
	RB_CLEAR_NODE(&map->node);
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
 * A shmem or hugetlbfs source has every page of the range pinned (and
 * allocated if it had none) before this returns.  Must be called from the
 * process that owns @fd, with no vshm lock held: the pin may map the range
 * into that process for its duration.
 *
 * Return: a new mapping, not yet in any region, holding a reference on the
 * source; or ERR_PTR(-EBADF) for a bad fd, -ENODEV for a file type vshm
 * cannot map, -EOVERFLOW if the range passes the source's end, -EACCES for
 * a source not open for reading, an append-only source open for writing,
 * or a write mapping of a source not open for writing or write-sealed (or
 * a hugetlbfs source lacking huge pages not open for writing); what mmap()
 * of the source would return (a security module's refusal, usually
 * -EACCES or -EPERM); -E2BIG for a range whose page array would pass
 * VSHM_MAX_PIN_UNITS; -EAGAIN if the source changed under the pin; -EINTR
 * on a fatal signal; -ENOMEM, also when the caller has no room for a
 * temporary mapping or the huge page pool is empty; for dma-bufs, the
 * errors of vshm_dmabuf_open().
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
	ret = vshm_source_check_mode(file, writable);
	if (ret)
		goto err_put_file;
	if (writable) {
		ret = vshm_source_claim_write(file);
		if (ret)
			goto err_put_file;
	}
	if (vshm_pin_unmapped) {
		ret = vshm_source_trial_mmap(file, ops, fd_offset, writable);
		if (ret)
			goto err_release_write;
	}

	map = vshm_mapping_alloc(fd_offset, len, writable);
	if (!map) {
		ret = -ENOMEM;
		goto err_release_write;
	}
	map->file = file;
	map->ops = ops;

	ret = vshm_pin_open(map, ops == &vshm_hugetlb_ops);
	if (ret)
		goto err_free_map;
	return map;

err_free_map:
	kfree(map);
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
	kfree(map);
}

/**
 * vshm_source_describe() - fill in what VSHM_IOC_LIST_MAPPINGS says of a source
 * @map: a mapping in a region's table, region lock held.
 * @info: receives the source's kind, device and inode number, as fstat()
 *	of the source's fd would report them.
 */
void vshm_source_describe(const struct vshm_mapping *map,
			  struct vshm_mapping_info *info)
{
	struct file *file;
	struct inode *inode;

	if (map->ops == &vshm_hugetlb_ops) {
		info->source_kind = VSHM_SOURCE_HUGETLBFS;
		file = map->file;
	} else if (map->ops == &vshm_shmem_ops) {
		info->source_kind = VSHM_SOURCE_SHMEM;
		file = map->file;
	} else {
		info->source_kind = VSHM_SOURCE_DMABUF;
		file = vshm_dmabuf_file(map);
	}
	inode = file_inode(file);
	info->source_ino = inode->i_ino;
	info->source_dev_major = MAJOR(inode->i_sb->s_dev);
	info->source_dev_minor = MINOR(inode->i_sb->s_dev);
}
