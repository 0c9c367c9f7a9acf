// SPDX-License-Identifier: GPL-2.0
/*
 * SHMEM_MAP and SHMEM_UNMAP: the device's own rules (its shmids, its flag
 * encoding, its mapping limit) are checked here, and libvshm's region
 * checks and executes the rest: alignment, bounds, overlap and the source
 * (the same rules and codes in every region mode: libvshm's source.c, or
 * the module's for kmod).  The broker keeps no table of its own: libvshm's is
 * the one it asks (vshm_region_lookup(), vshm_region_mappings(),
 * vshm_region_info(); for kmod regions the module's, loaded by
 * vshm_region_adopt() after a restart) and it counts mappings per device
 * only.  A device added with VSHM_CTL_DEV_POPULATE (or every device, with
 * vshmd --populate) maps with VSHM_REGION_POPULATE, a hint that never
 * fails a map.  (Copies are safe against truncated sources on both region modes:
 * libvshm's mmap region mode copies memfds with pread/pwrite on its own
 * handle of each source.)
 *
 * Reply codes (positive errno, REPLY_ACK semantics):
 *   EINVAL     shmid has no region; offsets or length not page multiples;
 *              length 0; flags undefined in the device's encoding
 *   EOVERFLOW  shm_offset + len wraps or passes the region; fd_offset + len
 *              wraps or passes the source's end
 *   EEXIST     the range overlaps an existing mapping
 *   ENOENT     unmap does not name exactly one whole mapping
 *   EBADF      the source fd is unusable; ENODEV: not a memfd/shmem file,
 *              hugetlbfs memfd or dma-buf; EACCES: read-write mapping of a
 *              source not open for writing, or write-sealed
 *   ENOSPC     the device's mapping limit is reached
 */
#include <errno.h>

#include "vshmd.h"

static struct vd_region *region_of(struct vd_device *dev, uint8_t shmid)
{
	if (shmid >= dev->nregions || !dev->regions[shmid].r)
		return NULL;
	return &dev->regions[shmid];
}

/* Alignment and bounds, checked before the device's limit. */
static int check_range(const struct vd_region *reg, uint64_t off, uint64_t len)
{
	uint64_t end;

	if (!len || off % VSHM_PAGE_SIZE || len % VSHM_PAGE_SIZE)
		return -EINVAL;
	if (__builtin_add_overflow(off, len, &end) || end > reg->size)
		return -EOVERFLOW;
	return 0;
}

void vd_region_usage(struct vd_region *reg, uint32_t *nmappings,
		     uint64_t *bytes)
{
	struct vshm_region_stats st;

	*nmappings = 0;
	*bytes = 0;
	if (!reg->r || vshm_region_info(reg->r, &st))
		return;
	*nmappings = st.nr_mappings;
	*bytes = st.mapped_bytes;
}

int vd_shmem_map(struct vshmd *d, struct vd_device *dev,
		 const struct vshm_vu_mmap *m, int fd)
{
	struct vd_region *reg = region_of(dev, m->shmid);
	struct vshm_err err;
	bool writable;
	uint64_t end;
	int ret;

	if (!reg)
		return -EINVAL;
	if (vshm_mmap_flags_writable(m->flags, dev->enc, &writable, &err))
		return -EINVAL;
	if (m->fd_offset % VSHM_PAGE_SIZE)
		return -EINVAL;
	ret = check_range(reg, m->shm_offset, m->len);
	if (ret)
		return ret;
	if (__builtin_add_overflow(m->fd_offset, m->len, &end))
		return -EOVERFLOW;
	if (dev->nmappings >= d->opt.max_mappings)
		return -ENOSPC;
	ret = vshm_region_map(reg->r, fd, m->fd_offset, m->shm_offset, m->len,
			      (writable ? VSHM_REGION_WRITE : 0) |
			      (dev->flags & VSHM_CTL_DEV_POPULATE ?
			       VSHM_REGION_POPULATE : 0));
	/* mmap region mode: out of fds for the source handle */
	if (ret == -EMFILE || ret == -ENFILE)
		return -ENOSPC;
	if (ret)
		return ret;
	dev->nmappings++;
	return 0;
}

/* Every check of an unmap, nothing executed: its region, or NULL and *err. */
static struct vd_region *unmap_target(struct vd_device *dev,
				      const struct vshm_vu_mmap *m, int *err)
{
	struct vd_region *reg = region_of(dev, m->shmid);
	uint64_t known = dev->enc == VSHM_FLAGS_DRAFT ?
			 VSHM_VU_MMAP_DRAFT_R | VSHM_VU_MMAP_DRAFT_W :
			 VSHM_VU_MMAP_RW;
	struct vshm_mapping_entry cur;

	*err = -EINVAL;
	if (!reg)
		return NULL;
	/* fd_offset and flags are not used; undefined flag bits still fail. */
	if (m->flags & ~known)
		return NULL;
	*err = check_range(reg, m->shm_offset, m->len);
	if (*err)
		return NULL;
	*err = -ENOENT;
	if (vshm_region_lookup(reg->r, m->shm_offset, &cur) ||
	    cur.shm_offset != m->shm_offset || cur.len != m->len)
		return NULL;
	*err = 0;
	return reg;
}

int vd_shmem_unmap_check(struct vd_device *dev, const struct vshm_vu_mmap *m)
{
	int ret;

	unmap_target(dev, m, &ret);
	return ret;
}

int vd_shmem_unmap(struct vshmd *d, struct vd_device *dev,
		   const struct vshm_vu_mmap *m)
{
	struct vd_region *reg;
	int ret;

	(void)d;
	reg = unmap_target(dev, m, &ret);
	if (!reg)
		return ret;
	ret = vshm_region_unmap(reg->r, m->shm_offset, m->len);
	if (ret)
		return ret;
	dev->nmappings--;
	return 0;
}
