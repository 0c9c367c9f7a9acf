// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf sources, with vgem as the exporter (libdrm dumb buffers exported
 * with PRIME): coherence both ways between the region and the buffer's own
 * mmap, the copy path, SIGBUS and release after unmap, a buffer closed
 * while mapped, read-only exports, bounds, and dma-buf and memfd mappings
 * mixed in one region.
 *
 * Needs vgem (scripts/vm-run --with-vgem, as 'make check' does).
 */
#include <xf86drm.h>
#include <drm.h>
#include <drm_mode.h>

#include "vshm_test.h"
#include "kselftest_harness.h"

#define BUF_SIZE	(256 * 1024UL)
#define REGION_SIZE	(4 * 1024 * 1024UL)

/* Open the vgem card node, or return -1. */
static int open_vgem(void)
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

/* A dumb buffer of @size bytes on vgem; its GEM handle. */
static int create_buffer(int drm, size_t size, uint32_t *handle)
{
	struct drm_mode_create_dumb create = {
		.width = size / 4096, .height = 1024, .bpp = 32,
	};

	if (drmIoctl(drm, DRM_IOCTL_MODE_CREATE_DUMB, &create))
		return -errno;
	*handle = create.handle;
	return create.size >= size ? 0 : -ENOSPC;
}

static void close_handle(int drm, uint32_t handle)
{
	struct drm_gem_close req = { .handle = handle };

	drmIoctl(drm, DRM_IOCTL_GEM_CLOSE, &req);
}

FIXTURE(dmabuf) {
	int drm;
	uint32_t handle;
	int buf_fd;		/* PRIME export, read-write */
	uint8_t *buf;		/* the buffer's own mmap */
	int region;
	uint8_t *view;		/* the region's mmap (the VMM's view) */
	uint64_t pages_held;	/* debugfs total before the test */
};

FIXTURE_SETUP(dmabuf)
{
	self->buf_fd = -1;
	self->region = -1;
	self->buf = MAP_FAILED;
	self->view = MAP_FAILED;
	self->drm = open_vgem();
	if (self->drm < 0)
		SKIP(return, "no vgem device: load vgem (scripts/vm-run --with-vgem)");
	ASSERT_EQ(0, vt_stat("pages_held", &self->pages_held));
	ASSERT_EQ(0, create_buffer(self->drm, BUF_SIZE, &self->handle));
	ASSERT_EQ(0, drmPrimeHandleToFD(self->drm, self->handle,
					DRM_CLOEXEC | DRM_RDWR, &self->buf_fd));
	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->buf_fd, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	self->region = vt_create_region(REGION_SIZE, 0);
	ASSERT_LE(0, self->region);
	self->view = vt_mmap(self->region, REGION_SIZE, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(MAP_FAILED, self->view);
	vt_install_fault_handler();
}

FIXTURE_TEARDOWN(dmabuf)
{
	if (self->view != MAP_FAILED)
		munmap(self->view, REGION_SIZE);
	if (self->region >= 0)
		close(self->region);
	if (self->buf != MAP_FAILED)
		munmap(self->buf, BUF_SIZE);
	if (self->buf_fd >= 0)
		close(self->buf_fd);
	if (self->drm >= 0) {
		close_handle(self->drm, self->handle);
		close(self->drm);
	}
}

/* Writes through either side are seen at once by the other. */
TEST_F(dmabuf, coherent_both_ways)
{
	ASSERT_EQ(0, vt_map(self->region, self->buf_fd, VSHM_MAP_WRITE, 0,
			    VT_PAGE, BUF_SIZE));
	vt_fill(self->buf, BUF_SIZE, 7, 0);
	EXPECT_EQ(-1, vt_check(self->view + VT_PAGE, BUF_SIZE, 7, 0));
	vt_fill(self->view + VT_PAGE, BUF_SIZE, 8, 0);
	EXPECT_EQ(-1, vt_check(self->buf, BUF_SIZE, 8, 0));
}

/* pread/pwrite on the region reach the buffer, bracketed for CPU access. */
TEST_F(dmabuf, copy_path)
{
	uint8_t out[3 * VT_PAGE], in[3 * VT_PAGE];
	struct vshm_region_info info;

	ASSERT_EQ(0, vt_map(self->region, self->buf_fd, VSHM_MAP_WRITE, 0, 0,
			    BUF_SIZE));
	vt_fill(self->buf, BUF_SIZE, 3, 0);
	/* Unaligned and crossing pages. */
	ASSERT_EQ((ssize_t)sizeof(out), pread(self->region, out, sizeof(out), 100));
	EXPECT_EQ(-1, vt_check(out, sizeof(out), 3, 100));
	vt_fill(in, sizeof(in), 4, 0);
	ASSERT_EQ((ssize_t)sizeof(in), pwrite(self->region, in, sizeof(in), 5000));
	EXPECT_EQ(0, memcmp(self->buf + 5000, in, sizeof(in)));
	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(sizeof(out), info.copied_out);
	EXPECT_EQ(sizeof(in), info.copied_in);
}

/*
 * While mapped, vshm holds the buffer's pages (debugfs pages_held); after
 * unmap the range raises SIGBUS and vshm has let them all go.
 */
TEST_F(dmabuf, unmap_then_sigbus_and_release)
{
	uint64_t held;
	uint8_t byte;

	ASSERT_EQ(0, vt_map(self->region, self->buf_fd, VSHM_MAP_WRITE, 0, 0,
			    BUF_SIZE));
	ASSERT_EQ(0, vt_stat("pages_held", &held));
	EXPECT_EQ(self->pages_held + BUF_SIZE / VT_PAGE, held);
	self->buf[0] = 0x5a;
	ASSERT_EQ(0, vt_peek(self->view, &byte));
	EXPECT_EQ(0x5a, byte);
	ASSERT_EQ(0, vt_unmap(self->region, 0, BUF_SIZE));
	EXPECT_EQ(SIGBUS, vt_peek(self->view, &byte));
	EXPECT_EQ(SIGBUS, vt_peek(self->view + BUF_SIZE - 1, &byte));
	ASSERT_EQ(0, vt_stat("pages_held", &held));
	EXPECT_EQ(self->pages_held, held);
}

/*
 * Closing every userspace reference to the buffer while it is mapped: the
 * region keeps it alive and readable until unmap.
 */
TEST_F(dmabuf, closed_buffer_stays_until_unmap)
{
	uint8_t byte;

	ASSERT_EQ(0, vt_map(self->region, self->buf_fd, 0, 0, 0, BUF_SIZE));
	vt_fill(self->buf, BUF_SIZE, 9, 0);
	munmap(self->buf, BUF_SIZE);
	self->buf = MAP_FAILED;
	close(self->buf_fd);
	self->buf_fd = -1;
	close_handle(self->drm, self->handle);
	self->handle = 0;

	EXPECT_EQ(-1, vt_check(self->view, BUF_SIZE, 9, 0));
	ASSERT_EQ(0, vt_unmap(self->region, 0, BUF_SIZE));
	EXPECT_EQ(SIGBUS, vt_peek(self->view, &byte));
}

/*
 * A buffer exported without DRM_RDWR maps read-only, never writable.  (A
 * GEM object keeps its first export, so this needs a buffer of its own.)
 */
TEST_F(dmabuf, readonly_export)
{
	uint32_t handle;
	uint8_t byte, *buf;
	int ro_fd;

	ASSERT_EQ(0, create_buffer(self->drm, BUF_SIZE, &handle));
	ASSERT_EQ(0, drmPrimeHandleToFD(self->drm, handle, DRM_CLOEXEC, &ro_fd));
	EXPECT_EQ(-EACCES, vt_map(self->region, ro_fd, VSHM_MAP_WRITE, 0, 0,
				  BUF_SIZE));
	ASSERT_EQ(0, vt_map(self->region, ro_fd, 0, 0, 0, BUF_SIZE));
	buf = mmap(NULL, BUF_SIZE, PROT_READ, MAP_SHARED, ro_fd, 0);
	ASSERT_NE(MAP_FAILED, buf);
	close(ro_fd);
	close_handle(self->drm, handle);

	ASSERT_EQ(1, pread(self->region, &byte, 1, 0));
	EXPECT_EQ(buf[0], byte);
	EXPECT_EQ(SIGBUS, vt_poke(self->view, byte + 1));
	EXPECT_EQ(-1, pwrite(self->region, "x", 1, 0));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(byte, buf[0]);
	munmap(buf, BUF_SIZE);
}

/* Ranges past the buffer's end fail with EOVERFLOW and change nothing. */
TEST_F(dmabuf, bounds)
{
	struct vshm_region_info info;

	EXPECT_EQ(-EOVERFLOW, vt_map(self->region, self->buf_fd, 0, VT_PAGE, 0,
				     BUF_SIZE));
	EXPECT_EQ(-EOVERFLOW, vt_map(self->region, self->buf_fd, 0, 0, 0,
				     BUF_SIZE + VT_PAGE));
	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(0, info.nr_mappings);
	/* The tail of the buffer alone is fine. */
	EXPECT_EQ(0, vt_map(self->region, self->buf_fd, 0, BUF_SIZE - VT_PAGE,
			    0, VT_PAGE));
}

/* dma-buf and memfd mappings side by side in one region, then a reset. */
TEST_F(dmabuf, mixed_with_memfd)
{
	int memfd = vt_memfd(BUF_SIZE, 21, 0);
	struct vshm_region_info info;
	uint64_t held;

	ASSERT_LE(0, memfd);
	vt_fill(self->buf, BUF_SIZE, 20, 0);
	ASSERT_EQ(0, vt_map(self->region, self->buf_fd, 0, 0, 0, BUF_SIZE));
	ASSERT_EQ(0, vt_map(self->region, memfd, 0, 0, BUF_SIZE, BUF_SIZE));
	EXPECT_EQ(-1, vt_check(self->view, BUF_SIZE, 20, 0));
	EXPECT_EQ(-1, vt_check(self->view + BUF_SIZE, BUF_SIZE, 21, 0));
	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(2, info.nr_mappings);
	ASSERT_EQ(0, vt_unmap_all(self->region));
	ASSERT_EQ(0, vt_stat("pages_held", &held));
	EXPECT_EQ(self->pages_held, held);
	close(memfd);
}

TEST_HARNESS_MAIN
