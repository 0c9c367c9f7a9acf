// SPDX-License-Identifier: GPL-2.0
/*
 * SHMEM_MAP and SHMEM_UNMAP: every rule is checked here before anything is
 * executed, then the region mode (which checks again) does the work.
 * The broker keeps its own table of each region's mappings: for overlap
 * and exact-unmap checks and for LIST_MAPPINGS.  (Copies are safe against
 * truncated sources on both region modes: libvshm's mmap region mode copies
 * memfds with pread/pwrite on its own handle of each source.)
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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "vshmd.h"

#define VD_TMPFS_MAGIC		0x01021994
#define VD_HUGETLBFS_MAGIC	0x958458f6
#define VD_DMA_BUF_MAGIC	0x444d4142

/* Index of the first mapping that ends after off. */
static uint32_t find(const struct vd_region *reg, uint64_t off)
{
	uint32_t lo = 0, hi = reg->nmaps;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct vd_map *m = &reg->maps[mid];

		if (m->shm_offset + m->len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void vd_region_clear(struct vd_region *reg)
{
	reg->nmaps = 0;
	reg->mapped_bytes = 0;
}

/*
 * Is fd a dma-buf?  Its fdinfo has an exp_name line; reading it never
 * reaches the file's own code.  Without /proc: anonymous inodes only (no
 * file type bits), whose statfs is the kernel's own.
 */
static bool looks_like_dma_buf(int fd, mode_t mode)
{
	char path[64], buf[512];
	ssize_t n;
	int info;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	info = open(path, O_RDONLY | O_CLOEXEC);
	if (info < 0)
		return !(mode & S_IFMT);
	n = read(info, buf, sizeof(buf) - 1);
	close(info);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, "\nexp_name:") != NULL;
}

/*
 * The source's type and size, as the module would judge it, without any
 * call that a peer's file could make wait: F_GET_SEALS (answered only by
 * shmem and hugetlbfs) and statx(AT_STATX_DONT_SYNC) sort the fd before
 * fstatfs(), which a FUSE file would send to its server.  Sockets, FIFOs,
 * devices and other file systems are refused with ENODEV before anything
 * else touches them.
 */
static int check_source(int fd, uint64_t fd_offset, uint64_t len,
			bool writable)
{
	struct statfs sfs;
	struct statx stx;
	uint64_t end;
	int fl, seals;

	if (fd < 0)
		return -EBADF;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_PATH))
		return -EBADF;
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC,
		  STATX_TYPE | STATX_SIZE, &stx) < 0)
		return -EBADF;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals >= 0 ? !S_ISREG(stx.stx_mode) :
			 !looks_like_dma_buf(fd, stx.stx_mode))
		return -ENODEV;
	if (fstatfs(fd, &sfs) < 0)
		return -EBADF;
	switch ((unsigned long)sfs.f_type) {
	case VD_TMPFS_MAGIC:
	case VD_HUGETLBFS_MAGIC:
		if (seals < 0)
			return -ENODEV;
		break;
	case VD_DMA_BUF_MAGIC:
		if (seals >= 0)
			return -ENODEV;
		break;
	default:
		return -ENODEV;
	}
	if (__builtin_add_overflow(fd_offset, len, &end) ||
	    end > stx.stx_size)
		return -EOVERFLOW;
	if (!writable)
		return 0;
	if ((fl & O_ACCMODE) == O_RDONLY)
		return -EACCES;
	if (seals > 0 && (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return -EACCES;
	return 0;
}

static struct vd_region *region_of(struct vd_device *dev, uint8_t shmid)
{
	if (shmid >= dev->nregions || !dev->regions[shmid].r)
		return NULL;
	return &dev->regions[shmid];
}

/* Alignment and bounds shared by map and unmap. */
static int check_range(const struct vd_region *reg, uint64_t off, uint64_t len)
{
	uint64_t end;

	if (!len || off % VSHM_PAGE_SIZE || len % VSHM_PAGE_SIZE)
		return -EINVAL;
	if (__builtin_add_overflow(off, len, &end) || end > reg->size)
		return -EOVERFLOW;
	return 0;
}

int vd_shmem_map(struct vshmd *d, struct vd_device *dev,
		 const struct vshm_vu_mmap *m, int fd)
{
	struct vd_region *reg = region_of(dev, m->shmid);
	struct vshm_err err;
	struct vd_map *slot;
	bool writable;
	uint64_t end;
	uint32_t i;
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
	i = find(reg, m->shm_offset);
	if (i < reg->nmaps && reg->maps[i].shm_offset < m->shm_offset + m->len)
		return -EEXIST;
	ret = check_source(fd, m->fd_offset, m->len, writable);
	if (ret)
		return ret;
	if (dev->nmappings >= d->opt.max_mappings)
		return -ENOSPC;
	if (reg->nmaps == reg->cap) {
		uint32_t cap = reg->cap ? reg->cap * 2 : 16;
		struct vd_map *v = realloc(reg->maps, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		reg->maps = v;
		reg->cap = cap;
	}
	ret = vshm_region_map(reg->r, fd, m->fd_offset, m->shm_offset, m->len,
			      writable ? VSHM_REGION_WRITE : 0);
	/* mmap region mode: out of fds for the source handle */
	if (ret == -EMFILE || ret == -ENFILE)
		return -ENOSPC;
	if (ret)
		return ret;
	slot = &reg->maps[i];
	memmove(slot + 1, slot, (reg->nmaps - i) * sizeof(*slot));
	*slot = (struct vd_map){
		.shm_offset = m->shm_offset, .len = m->len,
		.fd_offset = m->fd_offset, .writable = writable,
	};
	reg->nmaps++;
	reg->mapped_bytes += m->len;
	dev->nmappings++;
	return 0;
}

/* The index of the mapping an unmap names, or a negative errno. */
static int64_t unmap_target(struct vd_device *dev, const struct vshm_vu_mmap *m)
{
	struct vd_region *reg = region_of(dev, m->shmid);
	uint64_t known = dev->enc == VSHM_FLAGS_DRAFT ?
			 VSHM_VU_MMAP_DRAFT_R | VSHM_VU_MMAP_DRAFT_W :
			 VSHM_VU_MMAP_RW;
	uint32_t i;
	int ret;

	if (!reg)
		return -EINVAL;
	/* fd_offset and flags are not used; undefined flag bits still fail. */
	if (m->flags & ~known)
		return -EINVAL;
	ret = check_range(reg, m->shm_offset, m->len);
	if (ret)
		return ret;
	i = find(reg, m->shm_offset);
	if (i >= reg->nmaps || reg->maps[i].shm_offset != m->shm_offset ||
	    reg->maps[i].len != m->len)
		return -ENOENT;
	return i;
}

int vd_shmem_unmap_check(struct vd_device *dev, const struct vshm_vu_mmap *m)
{
	int64_t i = unmap_target(dev, m);

	return i < 0 ? (int)i : 0;
}

int vd_shmem_unmap(struct vshmd *d, struct vd_device *dev,
		   const struct vshm_vu_mmap *m)
{
	struct vd_region *reg;
	int64_t i;
	int ret;

	(void)d;
	i = unmap_target(dev, m);
	if (i < 0)
		return (int)i;
	reg = region_of(dev, m->shmid);
	ret = vshm_region_unmap(reg->r, m->shm_offset, m->len);
	if (ret)
		return ret;
	reg->mapped_bytes -= m->len;
	memmove(&reg->maps[i], &reg->maps[i + 1],
		(reg->nmaps - i - 1) * sizeof(reg->maps[0]));
	reg->nmaps--;
	dev->nmappings--;
	return 0;
}
