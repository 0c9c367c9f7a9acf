/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vgem helpers for the selftests that need a real dma-buf exporter: find
 * the vgem card, make a dumb buffer, export it with PRIME.  vgem is loaded
 * in the test VM (scripts/vm-run --with-vgem); there is none on the host.
 * Link with `pkg-config --libs libdrm`.
 */
#ifndef VSHM_VGEM_UTIL_H
#define VSHM_VGEM_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <xf86drm.h>
#include <drm.h>
#include <drm_mode.h>

/* Open the vgem card node; -1 if there is none. */
static inline int vgem_open(void)
{
	char path[32];
	int i;

	for (i = 0; i < 16; i++) {
		drmVersionPtr ver;
		bool is_vgem;
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		ver = drmGetVersion(fd);
		is_vgem = ver && !strcmp(ver->name, "vgem");
		drmFreeVersion(ver);
		if (is_vgem)
			return fd;
		close(fd);
	}
	return -1;
}

/* A dumb buffer of at least @size bytes (a multiple of 4 KiB): 0 or -errno. */
static inline int vgem_create(int drm, size_t size, uint32_t *handle)
{
	struct drm_mode_create_dumb create = {
		.width = 1024, .height = size / 4096, .bpp = 32,
	};

	if (drmIoctl(drm, DRM_IOCTL_MODE_CREATE_DUMB, &create))
		return -errno;
	*handle = create.handle;
	return create.size >= size ? 0 : -ENOSPC;
}

static inline void vgem_close(int drm, uint32_t handle)
{
	struct drm_gem_close req = { .handle = handle };

	drmIoctl(drm, DRM_IOCTL_GEM_CLOSE, &req);
}

/* Export @handle as a dma-buf, read-write or read-only: the fd or -errno. */
static inline int vgem_export(int drm, uint32_t handle, bool writable)
{
	int fd;

	if (drmPrimeHandleToFD(drm, handle, DRM_CLOEXEC | (writable ? DRM_RDWR : 0), &fd))
		return -errno;
	return fd;
}

/*
 * A new buffer of @size bytes as a dma-buf fd, or -errno; the dma-buf
 * holds the buffer, so the GEM handle is closed at once.
 */
static inline int vgem_dmabuf(int drm, size_t size, bool writable)
{
	uint32_t handle = 0;
	int ret = vgem_create(drm, size, &handle);

	if (ret)
		return ret;
	ret = vgem_export(drm, handle, writable);
	vgem_close(drm, handle);
	return ret;
}

#endif /* VSHM_VGEM_UTIL_H */
