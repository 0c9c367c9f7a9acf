// SPDX-License-Identifier: GPL-2.0
/*
 * The device registry: a device is a backend channel, an optional forward
 * socket and up to 256 regions (index = shmid).  Adding one creates its
 * regions on the broker's back-end; removing one drops every mapping first
 * (so that a VMM still holding a kmod region fd sees SIGBUS, not stale
 * pages) and releases everything the device held and nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vshmd.h"

/* A connected AF_UNIX stream socket, or -EBADF / -ENOTSOCK / -EPROTOTYPE. */
static int check_stream_socket(int fd)
{
	int v;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0)
		return errno == ENOTSOCK ? -ENOTSOCK : -EBADF;
	if (v != AF_UNIX)
		return -EPROTOTYPE;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0 || v != SOCK_STREAM)
		return -EPROTOTYPE;
	return 0;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

struct vd_device *vd_device_find(struct vshmd *d, uint32_t id)
{
	struct vd_device *dev;

	for (dev = d->devices; dev; dev = dev->next)
		if (dev->id == id && !dev->dead)
			return dev;
	return NULL;
}

static void regions_free(struct vd_device *dev)
{
	uint32_t i;

	for (i = 0; dev->regions && i < dev->nregions; i++) {
		struct vd_region *reg = &dev->regions[i];

		if (!reg->r)
			continue;
		/*
		 * vshm_region_destroy() only closes a kmod region fd; the
		 * VMM's fd keeps the region and its mappings alive.  Drop
		 * them first.
		 */
		vshm_region_unmap_all(reg->r);
		vshm_region_destroy(reg->r);
	}
	free(dev->regions);
	dev->regions = NULL;
}

static void device_free(struct vshmd *d, struct vd_device *dev)
{
	vd_watch_del(d, &dev->be_w);
	vd_watch_del(d, &dev->fw_w);
	vshm_chan_free(dev->be);
	vshm_chan_free(dev->fw);
	regions_free(dev);
	free(dev);
}

/*
 * A device that is not served yet: its channels checked, nregions empty
 * region slots.  Takes ownership of be_fd and fw_fd (-1: none), also on
 * failure.
 */
static int device_new(struct vshmd *d, uint32_t flags, uint32_t nregions,
		      int be_fd, int fw_fd, struct vd_device **out)
{
	VD_AUTOCLOSE int be = be_fd;
	VD_AUTOCLOSE int fw = fw_fd;
	struct vd_device *dev;
	int ret;

	if (d->ndevices >= d->opt.max_devices)
		return -ENOSPC;
	ret = check_stream_socket(be);
	if (!ret && fw >= 0)
		ret = check_stream_socket(fw);
	if (!ret)
		ret = set_nonblock(be);
	if (!ret && fw >= 0)
		ret = set_nonblock(fw);
	if (ret)
		return ret;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->be_w = (struct vd_watch){ .fn = vd_backend_event, .obj = dev, .fd = be };
	dev->fw_w = (struct vd_watch){ .fn = vd_forward_event, .obj = dev, .fd = fw };
	/* The operator's default; LIST_DEVICES then shows it as the device's. */
	dev->flags = flags | (d->opt.populate ? VSHM_CTL_DEV_POPULATE : 0);
	dev->enc = (flags & VSHM_CTL_DEV_DRAFT_FLAGS) ? VSHM_FLAGS_DRAFT :
							 VSHM_FLAGS_FINAL;
	dev->tokens = d->opt.msg_rate;
	ret = vshm_chan_new(be, VSHM_PROTO_BACKEND, VSHM_CHAN_OWN_FD, &dev->be);
	if (!ret)
		vd_take_fd(&be);
	if (!ret && fw >= 0) {
		ret = vshm_chan_new(fw, VSHM_PROTO_BACKEND, VSHM_CHAN_OWN_FD,
				    &dev->fw);
		if (!ret)
			vd_take_fd(&fw);
	}
	if (!ret && nregions) {
		dev->regions = calloc(nregions, sizeof(*dev->regions));
		ret = dev->regions ? 0 : -ENOMEM;
		if (!ret)
			dev->nregions = nregions;
	}
	if (ret) {
		device_free(d, dev);
		return ret;
	}
	*out = dev;
	return 0;
}

/* Watch its channels, give it an id and serve it. */
static int device_publish(struct vshmd *d, struct vd_device *dev)
{
	int ret;

	ret = vd_watch_set(d, &dev->be_w, EPOLLIN | EPOLLRDHUP);
	if (!ret && dev->fw)
		ret = vd_watch_set(d, &dev->fw_w, EPOLLIN | EPOLLRDHUP);
	if (ret)
		return ret;
	dev->id = ++d->next_id;
	vd_closer_attach(d, dev->be, &dev->be_close, dev->id);
	if (dev->fw)
		vd_closer_attach(d, dev->fw, &dev->fw_close, dev->id);
	dev->next = d->devices;
	d->devices = dev;
	d->ndevices++;
	return 0;
}

/* Takes ownership of be_fd and fw_fd (-1: none), also on failure. */
int vd_device_add(struct vshmd *d, uint32_t flags, const uint64_t *sizes,
		  uint32_t nregions, int be_fd, int fw_fd, struct vd_device **out)
{
	struct vd_device *dev;
	uint32_t i;
	int ret;

	ret = device_new(d, flags, nregions, be_fd, fw_fd, &dev);
	if (ret)
		return ret;
	for (i = 0; i < nregions; i++) {
		if (!sizes[i])
			continue;
		ret = vshm_region_create_flags(d->region_mode, sizes[i],
					       d->opt.max_mappings,
					       flags & VSHM_CTL_DEV_STRICT_HOLES ?
					       VSHM_REGION_STRICT_HOLES : 0,
					       &dev->regions[i].r);
		if (ret) {
			vd_log(d, VD_LOG_WARN,
			       "ADD_DEVICE: region shmid %u of %llu bytes: %s", i,
			       (unsigned long long)sizes[i], vshm_strerror(ret));
			goto err_free;
		}
		dev->regions[i].size = sizes[i];
	}
	ret = device_publish(d, dev);
	if (ret)
		goto err_free;
	*out = dev;
	return 0;

err_free:
	device_free(d, dev);
	return ret;
}

/* Does reg hold the kmod region whose inode is st? */
static bool same_region(const struct vd_region *reg, const struct stat *st)
{
	struct stat cur;

	return reg->r && fstat(vshm_region_fd(reg->r), &cur) == 0 &&
	       cur.st_dev == st->st_dev && cur.st_ino == st->st_ino;
}

/* Is the region behind fd served already, by another device or by dev? */
static bool region_served(struct vshmd *d, const struct vd_device *dev, int fd)
{
	const struct vd_device *it;
	struct stat st;
	uint32_t i;

	if (fstat(fd, &st) < 0)
		return false;	/* vshm_region_adopt() says why */
	for (it = d->devices; it; it = it->next)
		for (i = 0; !it->dead && i < it->nregions; i++)
			if (same_region(&it->regions[i], &st))
				return true;
	for (i = 0; i < dev->nregions; i++)
		if (same_region(&dev->regions[i], &st))
			return true;
	return false;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * Take one region of an adopted device over from its fd (borrowed) and
 * place it where the old broker had it.
 */
static int adopt_region(struct vshmd *d, struct vd_device *dev, uint32_t shmid,
			const struct vshm_ctl_adopt_region *e, int fd)
{
	struct vd_region *reg = &dev->regions[shmid];
	uint64_t bytes;
	uint32_t i, n;
	int ret;

	/* Two devices over one region would each keep half its story. */
	if (region_served(d, dev, fd))
		return -EEXIST;
	ret = vshm_region_adopt(fd, dev->flags & VSHM_CTL_DEV_STRICT_HOLES ?
				VSHM_REGION_STRICT_HOLES : 0, &reg->r);
	if (ret)
		return ret == -ENOTTY ? -EBADF : ret;
	reg->size = e->size;
	if (vshm_region_size(reg->r) != e->size)
		return -EINVAL;
	if (e->flags & VSHM_CTL_REGION_PLACED) {
		if (vd_route_overlaps(d, e->guest_addr, e->size, NULL))
			return -EEXIST;
		for (i = 0; i < shmid; i++)
			if (dev->regions[i].has_addr &&
			    overlap(e->guest_addr, e->size,
				    dev->regions[i].guest_addr,
				    dev->regions[i].size))
				return -EEXIST;
		reg->guest_addr = e->guest_addr;
		reg->has_addr = true;
	}
	vd_region_usage(reg, &n, &bytes);
	dev->nmappings += n;
	return 0;
}

/*
 * ADOPT_DEVICE: the device a killed broker served, whose regions live on
 * in the module.  Every mapping stays as it is; on failure the regions
 * are let go, never unmapped.  Takes ownership of be_fd and fw_fd;
 * region_fds[shmid] are borrowed (-1 where e[shmid].size is 0).
 */
int vd_device_adopt(struct vshmd *d, uint32_t flags,
		    const struct vshm_ctl_adopt_region *e, uint32_t nregions,
		    int be_fd, int fw_fd, const int *region_fds,
		    struct vd_device **out)
{
	VD_AUTOCLOSE int be = be_fd;
	VD_AUTOCLOSE int fw = fw_fd;
	struct vd_device *dev;
	uint32_t i;
	int ret;

	if (d->region_mode != VSHM_REGION_MODE_KMOD)
		return -EOPNOTSUPP;
	ret = device_new(d, flags, nregions, vd_take_fd(&be), vd_take_fd(&fw),
			 &dev);
	if (ret)
		return ret;
	for (i = 0; i < nregions; i++) {
		if (!e[i].size)
			continue;
		ret = adopt_region(d, dev, i, &e[i], region_fds[i]);
		if (ret) {
			vd_log(d, VD_LOG_WARN,
			       "ADOPT_DEVICE: region shmid %u: %s", i,
			       vshm_strerror(ret));
			goto err_forget;
		}
	}
	ret = device_publish(d, dev);
	if (ret)
		goto err_forget;
	/* The old broker's shared-object table died with it. */
	dev->adopted = true;
	vd_log(d, VD_LOG_INFO,
	       "device %u: shared objects added to the old broker are not carried over: LOOKUP misses answer ESTALE until their owner adds them again",
	       dev->id);
	*out = dev;
	return 0;

err_forget:
	for (i = 0; i < nregions; i++) {
		vshm_region_forget(dev->regions[i].r);
		dev->regions[i].r = NULL;
	}
	device_free(d, dev);
	return ret;
}

void vd_device_reset(struct vshmd *d, struct vd_device *dev)
{
	uint32_t i, dropped = 0;

	for (i = 0; i < dev->nregions; i++) {
		struct vd_region *reg = &dev->regions[i];
		uint32_t n;
		uint64_t bytes;
		int ret;

		if (!reg->r)
			continue;
		vd_region_usage(reg, &n, &bytes);
		ret = vshm_region_unmap_all(reg->r);
		if (ret)
			vd_log(d, VD_LOG_ERR, "device %u shmid %u: unmap all: %s",
			       dev->id, i, vshm_strerror(ret));
		dropped += n;
	}
	vd_count(d, dev, unmaps, dropped);
	dev->nmappings = 0;
	if (vd_vmm_mode(d))
		vd_vmm_reset(d, dev);
}

void vd_device_remove(struct vshmd *d, struct vd_device *dev, const char *why)
{
	if (dev->dead)
		return;
	/*
	 * Dead first: a reply that fails to send removes the device, which
	 * must not happen twice (found by fuzz_dispatch).  Owed forwarded
	 * replies are dropped: the back-end sees its channel close instead.
	 */
	dev->dead = true;
	d->ndevices--;
	vd_log(d, VD_LOG_INFO, "device %u removed: %s", dev->id, why);
	vd_forward_fail_pending(d, dev, -EPIPE);
	vd_device_reset(d, dev);
	vd_sobj_drop_device(d, dev);
	vd_watch_del(d, &dev->be_w);
	vd_watch_del(d, &dev->fw_w);
}

void vd_device_reap(struct vshmd *d)
{
	vd_reap_list(d, d->devices, device_free);
}

void vd_device_stats(struct vshmd *d, struct vd_device *dev,
		     struct vshm_ctl_stats *st)
{
	struct vd_device *it;
	uint32_t i;

	*st = dev ? dev->st : d->total;
	st->devices = 0;
	st->mappings = 0;
	st->mapped_bytes = 0;
	for (it = dev ? dev : d->devices; it; it = dev ? NULL : it->next) {
		if (it->dead)
			continue;
		st->devices++;
		for (i = 0; i < it->nregions; i++) {
			uint32_t n;
			uint64_t bytes;

			vd_region_usage(&it->regions[i], &n, &bytes);
			st->mappings += n;
			st->mapped_bytes += bytes;
		}
	}
	memset(st->reserved, 0, sizeof(st->reserved));
}

void vd_device_update_events(struct vshmd *d, struct vd_device *dev)
{
	uint32_t ev = EPOLLRDHUP;
	int ret;

	if (dev->dead)
		return;
	if (!dev->throttled && !vd_limits_backlogged(d, dev) && !d->stopping &&
	    !dev->vmm.active)
		ev |= EPOLLIN;
	if (vshm_chan_pending(dev->be))
		ev |= EPOLLOUT;
	ret = vd_watch_set(d, &dev->be_w, ev);
	if (!ret && dev->fw) {
		ev = EPOLLIN | EPOLLRDHUP;
		if (vshm_chan_pending(dev->fw))
			ev |= EPOLLOUT;
		ret = vd_watch_set(d, &dev->fw_w, ev);
	}
	if (ret)
		vd_device_remove(d, dev, "epoll_ctl failed");
}
