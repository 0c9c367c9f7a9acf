// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kmod region mode: a /dev/vshm region fd.  The module validates
 * and executes every call; the library only keeps a shadow of the mapping
 * table (for vshm_region_mappings()) and updates it after success.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vshm.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

_Static_assert(VSHM_REGION_WRITE == VSHM_MAP_WRITE, "flag values match the uapi");
_Static_assert(VSHM_REGION_REPLACE == VSHM_MAP_REPLACE, "flag values match the uapi");
_Static_assert(VSHM_REGION_POPULATE == VSHM_MAP_POPULATE, "flag values match the uapi");
_Static_assert(VSHM_KMOD_SOURCE_SHMEM == VSHM_SOURCE_SHMEM &&
	       VSHM_KMOD_SOURCE_HUGETLBFS == VSHM_SOURCE_HUGETLBFS &&
	       VSHM_KMOD_SOURCE_DMABUF == VSHM_SOURCE_DMABUF,
	       "source kinds match the uapi");

/* Entries one VSHM_IOC_LIST_MAPPINGS call of the library fills (4 KiB). */
#define KMOD_LIST_CHUNK	64

/*
 * VSHM_IOC_MAP.  VSHM_MAP_POPULATE is only a hint, and a module older than
 * it refuses it with EINVAL, as any unknown flag.  Such a module checks
 * the flags before anything else, so EINVAL with the flag and anything
 * else without it says the module does not know it: the map is made
 * without it, and so is every later one of the region, with no second
 * try.  Once the module took the flag, an EINVAL is the map's own.
 */
static int kmod_ioctl_map(struct vshm_region *r, struct vshm_map *arg)
{
	int ret;

	if (r->kmod_populate == VSHMI_POPULATE_REFUSED)
		arg->flags &= ~VSHM_MAP_POPULATE;
	ret = ioctl(r->fd, VSHM_IOC_MAP, arg) < 0 ? -errno : 0;
	if (!(arg->flags & VSHM_MAP_POPULATE) ||
	    r->kmod_populate == VSHMI_POPULATE_KNOWN)
		return ret;
	if (ret != -EINVAL) {
		r->kmod_populate = VSHMI_POPULATE_KNOWN;
		return ret;
	}
	arg->flags &= ~VSHM_MAP_POPULATE;
	ret = ioctl(r->fd, VSHM_IOC_MAP, arg) < 0 ? -errno : 0;
	if (ret != -EINVAL)
		r->kmod_populate = VSHMI_POPULATE_REFUSED;
	return ret;
}

static int kmod_map(struct vshm_region *r, int fd, uint64_t fd_offset,
		    uint64_t shm_offset, uint64_t len, uint32_t flags,
		    enum vshmi_src_kind kind, size_t first, size_t count)
{
	struct vshm_map arg = {
		.fd = fd, .flags = flags, .fd_offset = fd_offset,
		.shm_offset = shm_offset, .len = len,
	};
	struct vshm_mapping_entry m = {
		.shm_offset = shm_offset, .len = len, .fd_offset = fd_offset,
		.flags = flags & VSHM_REGION_WRITE,
	};
	int ret;

	(void)kind;	/* VSHMI_SRC_NONE: the module judges the source */
	ret = kmod_ioctl_map(r, &arg);
	if (ret)
		return ret;
	vshmi_maptab_replace(&r->tab, first, count, &m, NULL);
	return 0;
}

static int kmod_unmap(struct vshm_region *r, uint64_t shm_offset, uint64_t len)
{
	struct vshm_unmap arg = { .shm_offset = shm_offset, .len = len };
	ssize_t i;

	if (ioctl(r->fd, VSHM_IOC_UNMAP, &arg) < 0)
		return -errno;
	i = vshmi_maptab_exact(&r->tab, shm_offset, len);
	if (i >= 0)
		vshmi_maptab_replace(&r->tab, i, 1, NULL, NULL);
	return 0;
}

static int kmod_unmap_all(struct vshm_region *r)
{
	if (ioctl(r->fd, VSHM_IOC_UNMAP_ALL) < 0)
		return -errno;
	vshmi_maptab_clear(&r->tab);
	return 0;
}

/*
 * Bytes from @offset up to the first hole, at most @len.  The module reads
 * safe holes as zeros and swallows writes to them; the library keeps the
 * rule both region modes share: a copy stops at a hole (ENXIO if it starts
 * there).
 */
static size_t kmod_mapped_span(const struct vshm_region *r, uint64_t offset,
			       size_t len)
{
	size_t i = vshmi_maptab_find(&r->tab, offset);
	uint64_t end = offset;

	for (; i < r->tab.n && end - offset < len; i++) {
		const struct vshm_mapping_entry *m = &r->tab.v[i];

		if (m->shm_offset > end)
			break;
		end = m->shm_offset + m->len;
	}
	return end - offset < len ? end - offset : len;
}

static ssize_t kmod_copy(struct vshm_region *r, uint64_t offset, void *buf,
			 size_t len, bool write)
{
	ssize_t n;

	/* Past any region's end: end of file for a read, no room for a write. */
	if (offset > INT64_MAX || offset >= r->size)
		return write ? (len ? -ENOSPC : 0) : 0;
	/* A safe region reads holes as zeros; the library's rule is ENXIO. */
	if (len) {
		len = kmod_mapped_span(r, offset, len);
		if (!len)
			return -ENXIO;
	}
	do {
		n = write ? pwrite(r->fd, buf, len, (off_t)offset) :
			    pread(r->fd, buf, len, (off_t)offset);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int kmod_info(struct vshm_region *r, struct vshm_region_stats *st)
{
	struct vshm_region_info k = { 0 };

	if (ioctl(r->fd, VSHM_IOC_REGION_INFO, &k) < 0)
		return -errno;
	st->size = k.size;
	st->max_mappings = k.max_mappings;
	st->nr_mappings = k.nr_mappings;
	st->mapped_bytes = k.mapped_bytes;
	st->faults = k.faults;
	st->copied_in = k.copied_in;
	st->copied_out = k.copied_out;
	st->maps = k.maps;
	st->unmaps = k.unmaps;
	return 0;
}

/*
 * Drop every mapping before closing: other processes (the VMM) may hold
 * the region fd and its mapping, and must see holes, not the sources.
 */
static void kmod_destroy(struct vshm_region *r)
{
	int ret;

	do {
		ret = ioctl(r->fd, VSHM_IOC_UNMAP_ALL);
	} while (ret < 0 && errno == EINTR);
	close(r->fd);
}

static const struct vshmi_region_ops kmod_ops = {
	.map = kmod_map,
	.unmap = kmod_unmap,
	.unmap_all = kmod_unmap_all,
	.copy = kmod_copy,
	.info = kmod_info,
	.destroy = kmod_destroy,
	/*
	 * VSHM_IOC_MAP judges the source in the kernel, where nothing a peer's
	 * file does can make the caller wait, with the rules and codes of
	 * source.c (region_conformance_test holds both to them): the four
	 * syscalls of a userspace check per map would only repeat it.
	 */
	.judges_sources = true,
};

int vshmi_region_kmod_init(struct vshm_region *r)
{
	struct vshm_region_create arg = {
		.size = r->size, .max_mappings = r->max_mappings,
		/* A hole must not kill the VMM unless it asked for that. */
		.flags = r->create_flags & VSHM_REGION_STRICT_HOLES ? 0 :
			 VSHM_REGION_SAFE_HOLES,
	};
	struct vshm_region_info info = { 0 };
	int dev, fd, ver;

	dev = open(VSHM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	ver = ioctl(dev, VSHM_IOC_GET_API_VERSION);
	if (ver != VSHM_API_VERSION) {
		close(dev);
		return ver < 0 ? -ENOTTY : -EPROTONOSUPPORT;
	}
	fd = ioctl(dev, VSHM_IOC_CREATE_REGION, &arg);
	if (fd < 0) {
		fd = -errno;
		close(dev);
		return fd;
	}
	close(dev);
	r->fd = fd;
	r->type = VSHM_REGION_MODE_KMOD;
	r->ops = &kmod_ops;
	/* Learn the limit the module chose when max_mappings was 0. */
	if (ioctl(fd, VSHM_IOC_REGION_INFO, &info) == 0)
		r->max_mappings = info.max_mappings;
	return 0;
}

static void kmod_mapping_from_info(struct vshm_kmod_mapping *m,
				   const struct vshm_mapping_info *k)
{
	m->shm_offset = k->shm_offset;
	m->len = k->len;
	m->fd_offset = k->fd_offset;
	m->flags = k->flags & VSHM_REGION_WRITE;
	m->source_kind = k->source_kind;
	m->source_dev = makedev(k->source_dev_major, k->source_dev_minor);
	m->source_ino = k->source_ino;
}

/*
 * Chunk by chunk, so that the caller's array may be any size: each chunk
 * is a consistent snapshot, the whole listing only if nothing maps or
 * unmaps meanwhile.  An error after the first chunk returns what was
 * listed, with *cursor right after it; the next call reports the error.
 */
ssize_t vshm_kmod_list_mappings(int region_fd, uint64_t *cursor,
				struct vshm_kmod_mapping *out, size_t max)
{
	struct vshm_mapping_info chunk[KMOD_LIST_CHUNK];
	size_t filled = 0, i;

	if (!cursor || (max && !out))
		return -EINVAL;
	while (filled < max) {
		struct vshm_mapping_list arg = {
			.cursor = *cursor,
			.entries = (uintptr_t)chunk,
			.capacity = max - filled < KMOD_LIST_CHUNK ?
				    (uint32_t)(max - filled) : KMOD_LIST_CHUNK,
		};

		if (ioctl(region_fd, VSHM_IOC_LIST_MAPPINGS, &arg) < 0) {
			if (filled)
				break;
			return -errno;
		}
		for (i = 0; i < arg.count; i++)
			kmod_mapping_from_info(&out[filled + i], &chunk[i]);
		filled += arg.count;
		*cursor = arg.next;
		if (!(arg.flags & VSHM_LIST_MORE))
			break;
	}
	return (ssize_t)filled;
}

/* Fill the shadow table of an adopted region from the module's listing. */
static int kmod_load_table(struct vshm_region *r)
{
	struct vshm_kmod_mapping chunk[KMOD_LIST_CHUNK];
	uint64_t cursor = 0;
	ssize_t n, i;
	int ret;

	for (;;) {
		n = vshm_kmod_list_mappings(r->fd, &cursor, chunk, KMOD_LIST_CHUNK);
		if (n <= 0)
			return (int)n;
		ret = vshmi_maptab_reserve(&r->tab, n);
		if (ret)
			return ret;
		for (i = 0; i < n; i++) {
			struct vshm_mapping_entry m = {
				.shm_offset = chunk[i].shm_offset,
				.len = chunk[i].len,
				.fd_offset = chunk[i].fd_offset,
				.flags = chunk[i].flags,
			};

			vshmi_maptab_replace(&r->tab, r->tab.n, 0, &m, NULL);
		}
	}
}

int vshm_region_adopt(int region_fd, uint32_t flags, struct vshm_region **out)
{
	struct vshm_region_info info = { 0 };
	struct vshm_region *r;
	bool strict;
	int fd, ret;

	if (region_fd < 0 || !out)
		return -EBADF;
	if (flags & ~VSHM_REGION_STRICT_HOLES)
		return -EINVAL;
	if (ioctl(region_fd, VSHM_IOC_REGION_INFO, &info) < 0)
		return errno == EBADF ? -EBADF : -ENOTTY;
	strict = !(info.flags & VSHM_REGION_SAFE_HOLES);
	if (strict != !!(flags & VSHM_REGION_STRICT_HOLES))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	fd = fcntl(region_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		free(r);
		return ret;
	}
	r->fd = fd;
	r->type = VSHM_REGION_MODE_KMOD;
	r->ops = &kmod_ops;
	r->size = info.size;
	r->max_mappings = info.max_mappings;
	r->create_flags = info.flags & VSHM_REGION_SAFE_HOLES ?
			  VSHM_REGION_ZERO_HOLES : VSHM_REGION_STRICT_HOLES;
	ret = kmod_load_table(r);
	if (ret) {
		vshmi_maptab_free(&r->tab);
		close(fd);
		free(r);
		return ret;
	}
	*out = r;
	return 0;
}

void vshmi_region_kmod_forget(struct vshm_region *r)
{
	close(r->fd);
}
