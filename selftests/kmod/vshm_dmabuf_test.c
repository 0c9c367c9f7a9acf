// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf sources, each test run with three exporters (fixture variants):
 * vgem (libdrm dumb buffers exported with PRIME), udmabuf (a sealed memfd
 * turned into a dma-buf by /dev/udmabuf) and the system dma-heap
 * (/dev/dma_heap/system).  Coherence both ways between the region and the
 * buffer's own mmap, the copy path, SIGBUS and release after unmap, a
 * buffer closed while mapped, read-only exports, bounds, and dma-buf and
 * memfd mappings mixed in one region.
 *
 * Needs vgem (scripts/vm-run --with-vgem, as 'make check' does).  An
 * exporter the kernel lacks (Debian's 6.1 has neither udmabuf nor
 * dma-heaps) skips its variant, unless VSHM_EXPECT_UDMABUF=1 or
 * VSHM_EXPECT_DMA_HEAP=1 says it must be there ('make check-matrix' sets
 * them from 6.12 on): then its absence fails.
 */
#include "vgem_util.h"
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>

#include "vshm_test.h"
#include "kselftest_harness.h"

#define BUF_SIZE	(256 * 1024UL)
#define REGION_SIZE	(4 * 1024 * 1024UL)

enum exporter { EXP_VGEM, EXP_UDMABUF, EXP_DMA_HEAP };

/* One exported buffer and whatever else keeps it reachable from userspace. */
struct xbuf {
	int fd;			/* the dma-buf */
	uint32_t handle;	/* vgem: its GEM handle, or 0 */
	int memfd;		/* udmabuf: the memfd behind it, or -1 */
};

/* The exporter's device, or -1; @why says what is missing. */
static int open_exporter(enum exporter exp, const char **why, const char **expect)
{
	switch (exp) {
	case EXP_VGEM:
		*why = "no vgem device: load vgem (scripts/vm-run --with-vgem)";
		*expect = NULL;
		return vgem_open();
	case EXP_UDMABUF:
		*why = "no /dev/udmabuf: this kernel lacks CONFIG_UDMABUF (Debian's 6.1 does)";
		*expect = "VSHM_EXPECT_UDMABUF";
		return open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	case EXP_DMA_HEAP:
		*why = "no /dev/dma_heap/system: this kernel lacks CONFIG_DMABUF_HEAPS_SYSTEM (Debian's 6.1 does)";
		*expect = "VSHM_EXPECT_DMA_HEAP";
		return open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	}
	return -1;
}

/* Drop every userspace reference to @b (the mapping's own stays). */
static void release_buffer(int dev, struct xbuf *b)
{
	if (b->fd >= 0)
		close(b->fd);
	if (b->handle)
		vgem_close(dev, b->handle);
	if (b->memfd >= 0)
		close(b->memfd);
	b->fd = -1;
	b->handle = 0;
	b->memfd = -1;
}

/*
 * A new @size-byte buffer from @exp's device @dev, exported read-write or
 * read-only.  Returns 0 or -errno; -EOPNOTSUPP for a read-only udmabuf,
 * which udmabuf cannot make (its exports are always O_RDWR).
 */
static int export_buffer(enum exporter exp, int dev, size_t size, bool writable,
			 struct xbuf *b)
{
	b->fd = -1;
	b->handle = 0;
	b->memfd = -1;

	switch (exp) {
	case EXP_VGEM: {
		int ret = vgem_create(dev, size, &b->handle);

		if (!ret) {
			b->fd = vgem_export(dev, b->handle, writable);
			ret = b->fd < 0 ? b->fd : 0;
		}
		if (ret)
			release_buffer(dev, b);
		return ret;
	}
	case EXP_UDMABUF: {
		struct udmabuf_create req = {
			.flags = UDMABUF_FLAGS_CLOEXEC, .offset = 0, .size = size,
		};

		if (!writable)
			return -EOPNOTSUPP;
		/* udmabuf wants a shmem memfd that cannot shrink. */
		b->memfd = vt_memfd(size, 0, 0);
		if (b->memfd < 0)
			return b->memfd;
		if (fcntl(b->memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
			release_buffer(dev, b);
			return -errno;
		}
		req.memfd = b->memfd;
		b->fd = ioctl(dev, UDMABUF_CREATE, &req);
		if (b->fd < 0) {
			int err = -errno;

			release_buffer(dev, b);
			return err;
		}
		return 0;
	}
	case EXP_DMA_HEAP: {
		struct dma_heap_allocation_data req = {
			.len = size,
			.fd_flags = O_CLOEXEC | (writable ? O_RDWR : O_RDONLY),
		};

		if (ioctl(dev, DMA_HEAP_IOCTL_ALLOC, &req))
			return -errno;
		b->fd = req.fd;
		return 0;
	}
	}
	return -EINVAL;
}

FIXTURE(dmabuf) {
	int dev;		/* the exporter's device */
	struct xbuf xb;		/* the buffer, exported read-write */
	int buf_fd;		/* == xb.fd */
	uint8_t *buf;		/* the buffer's own mmap */
	int region;
	uint8_t *view;		/* the region's mmap (the VMM's view) */
	uint64_t pages_held;	/* debugfs total before the test */
};

FIXTURE_VARIANT(dmabuf) {
	enum exporter exporter;
};

FIXTURE_VARIANT_ADD(dmabuf, vgem) {
	.exporter = EXP_VGEM,
};

FIXTURE_VARIANT_ADD(dmabuf, udmabuf) {
	.exporter = EXP_UDMABUF,
};

FIXTURE_VARIANT_ADD(dmabuf, system_heap) {
	.exporter = EXP_DMA_HEAP,
};

/*
 * Every test starts with this: a SKIP() in FIXTURE_SETUP does not stop the
 * 6.1 harness from running the test body.
 */
#define NEED_EXPORTER()				\
	do {					\
		if (self->dev < 0)		\
			return;			\
	} while (0)

FIXTURE_SETUP(dmabuf)
{
	const char *why = "", *expect = NULL;

	self->xb.fd = -1;
	self->xb.handle = 0;
	self->xb.memfd = -1;
	self->buf_fd = -1;
	self->region = -1;
	self->buf = MAP_FAILED;
	self->view = MAP_FAILED;
	self->dev = open_exporter(variant->exporter, &why, &expect);
	if (self->dev < 0) {
		if (expect && getenv(expect) && !strcmp(getenv(expect), "1")) {
			TH_LOG("%s, but %s=1 says it must be there", why, expect);
			ASSERT_LE(0, self->dev);
		}
		SKIP(return, "%s", why);
	}
	ASSERT_EQ(0, vt_stat("pages_held", &self->pages_held));
	ASSERT_EQ(0, export_buffer(variant->exporter, self->dev, BUF_SIZE, true,
				   &self->xb));
	self->buf_fd = self->xb.fd;
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
	if (self->dev >= 0) {
		release_buffer(self->dev, &self->xb);
		close(self->dev);
	}
}

/* Writes through either side are seen at once by the other. */
TEST_F(dmabuf, coherent_both_ways)
{
	NEED_EXPORTER();
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

	NEED_EXPORTER();
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
 * While mapped, the buffer's pages are pinned for vshm's attachment
 * (debugfs pages_held); after unmap the range raises SIGBUS and vshm has
 * let them all go.
 */
TEST_F(dmabuf, unmap_then_sigbus_and_release)
{
	uint64_t held;
	uint8_t byte;

	NEED_EXPORTER();
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

	NEED_EXPORTER();
	ASSERT_EQ(0, vt_map(self->region, self->buf_fd, 0, 0, 0, BUF_SIZE));
	vt_fill(self->buf, BUF_SIZE, 9, 0);
	munmap(self->buf, BUF_SIZE);
	self->buf = MAP_FAILED;
	/* The dma-buf fd, and the GEM handle (vgem) or the memfd (udmabuf). */
	release_buffer(self->dev, &self->xb);
	self->buf_fd = -1;

	EXPECT_EQ(-1, vt_check(self->view, BUF_SIZE, 9, 0));
	ASSERT_EQ(0, vt_unmap(self->region, 0, BUF_SIZE));
	EXPECT_EQ(SIGBUS, vt_peek(self->view, &byte));
}

/*
 * A buffer exported without write access (no DRM_RDWR, an O_RDONLY heap
 * fd) maps read-only, never writable.  (A GEM object keeps its first
 * export, so this needs a buffer of its own.)  udmabuf cannot export
 * read-only: there, a read-only mapping of a read-write export must be just
 * as unwritable.
 */
TEST_F(dmabuf, readonly_export)
{
	uint8_t byte, *buf;
	struct xbuf ro;
	int ret;

	NEED_EXPORTER();
	ret = export_buffer(variant->exporter, self->dev, BUF_SIZE, false, &ro);
	if (ret == -EOPNOTSUPP) {
		ASSERT_EQ(0, export_buffer(variant->exporter, self->dev, BUF_SIZE,
					   true, &ro));
	} else {
		ASSERT_EQ(0, ret);
		EXPECT_EQ(-EACCES, vt_map(self->region, ro.fd, VSHM_MAP_WRITE, 0,
					  0, BUF_SIZE));
	}
	ASSERT_EQ(0, vt_map(self->region, ro.fd, 0, 0, 0, BUF_SIZE));
	buf = mmap(NULL, BUF_SIZE, PROT_READ, MAP_SHARED, ro.fd, 0);
	ASSERT_NE(MAP_FAILED, buf);
	release_buffer(self->dev, &ro);

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

	NEED_EXPORTER();
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
	struct vshm_region_info info;
	uint64_t held;
	int memfd;

	NEED_EXPORTER();
	memfd = vt_memfd(BUF_SIZE, 21, 0);
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
