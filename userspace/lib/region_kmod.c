// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kmod region back-end: a /dev/vshm region fd.  The module validates
 * and executes every call; the library only keeps a shadow of the mapping
 * table (for vshm_region_mappings()) and updates it after success.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vshm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"

_Static_assert(VSHM_REGION_WRITE == VSHM_MAP_WRITE, "flag values match the uapi");
_Static_assert(VSHM_REGION_REPLACE == VSHM_MAP_REPLACE, "flag values match the uapi");

static int kmod_map(struct vshm_region *r, int fd, uint64_t fd_offset,
		    uint64_t shm_offset, uint64_t len, uint32_t flags)
{
	struct vshm_map arg = {
		.fd = fd, .flags = flags, .fd_offset = fd_offset,
		.shm_offset = shm_offset, .len = len,
	};
	struct vshm_mapping m = {
		.shm_offset = shm_offset, .len = len, .fd_offset = fd_offset,
		.flags = flags & VSHM_REGION_WRITE,
	};
	size_t first, count;

	if (ioctl(r->fd, VSHM_IOC_MAP, &arg) < 0)
		return -errno;
	/* The module accepted it, so the range covers whole mappings only. */
	if (vshmi_maptab_covered(&r->tab, shm_offset, len, &first, &count) == 0)
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

static ssize_t kmod_copy(struct vshm_region *r, uint64_t offset, void *buf,
			 size_t len, bool write)
{
	ssize_t n;

	if (offset > INT64_MAX)
		return -ENXIO;
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
};

int vshmi_region_kmod_init(struct vshm_region *r)
{
	struct vshm_region_create arg = {
		.size = r->size, .max_mappings = r->max_mappings,
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
	r->type = VSHM_BACKEND_KMOD;
	r->ops = &kmod_ops;
	/* Learn the limit the module chose when max_mappings was 0. */
	if (ioctl(fd, VSHM_IOC_REGION_INFO, &info) == 0)
		r->max_mappings = info.max_mappings;
	return 0;
}
