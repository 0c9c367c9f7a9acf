// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl ABI of vshm.ko: every ioctl's success path, every error code
 * that DESIGN.md and the uapi header document, the mmap rules of a region
 * fd, the REGION_INFO counters and the debugfs totals.  Every failing call
 * must leave the region exactly as it was: its REGION_INFO, the data of its
 * mappings and its holes are compared before and after.
 *
 * Runs in the VM with vshm.ko loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vshm_test.h"

#define P		VT_PAGE
#define NPAGES		16
#define SEED_A		1
#define SEED_B		2
#define SEED_C		3
#define TMPFS_MAGIC_	0x01021994
#define DEBUGFS_MAGIC_	0x64626720

/* ---- /dev/vshm itself */

FIXTURE(dev) {
	uint64_t max_mappings;
	uint64_t max_region_size;
};

FIXTURE_SETUP(dev)
{
	VT_REQUIRE_DEVICE();
	ASSERT_EQ(0, vt_param("max_mappings", &self->max_mappings));
	ASSERT_EQ(0, vt_param("max_region_size", &self->max_region_size));
}

FIXTURE_TEARDOWN(dev)
{
}

/* GET_API_VERSION answers VSHM_API_VERSION; unknown commands are ENOTTY. */
TEST_F(dev, api_version)
{
	int dev = open(VSHM_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, dev);
	EXPECT_EQ(VSHM_API_VERSION, ioctl(dev, VSHM_IOC_GET_API_VERSION));
	EXPECT_EQ(-1, ioctl(dev, _IO(VSHM_IOC_MAGIC, 0x7e)));
	EXPECT_EQ(ENOTTY, errno);
	/* Region commands are not device commands. */
	EXPECT_EQ(-1, ioctl(dev, VSHM_IOC_UNMAP_ALL));
	EXPECT_EQ(ENOTTY, errno);
	close(dev);
}

/*
 * CREATE_REGION returns an O_RDWR | O_CLOEXEC fd whose size (lseek, fstat)
 * is the region size, and whose REGION_INFO starts empty, with the
 * requested max_mappings (0 meaning the module parameter) and zeroed
 * reserved fields; its pmd_size is the x86-64 PMD (2 MiB) from Linux 6.12
 * on and 0 before, where region mmaps have 4 KiB entries only.
 */
TEST_F(dev, create_region_success)
{
	struct vshm_region_info info;
	struct stat st;
	unsigned int i;
	int region;

	region = vt_create_region(NPAGES * P, 5);
	ASSERT_LE(0, region) {
		TH_LOG("create: %s", strerror(-region));
	}
	EXPECT_EQ(FD_CLOEXEC, fcntl(region, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(region, F_GETFL) & O_ACCMODE);
	EXPECT_EQ((off_t)(NPAGES * P), lseek(region, 0, SEEK_END));
	ASSERT_EQ(0, fstat(region, &st));
	EXPECT_EQ((off_t)(NPAGES * P), st.st_size);

	VT_EXPECT_TABLE(region, info, 0, 0, 0, 0);
	EXPECT_EQ(NPAGES * P, info.size);
	EXPECT_EQ(0, info.flags);
	EXPECT_EQ(5, info.max_mappings);
	EXPECT_EQ(0, info.faults);
	EXPECT_EQ(0, info.copied_in);
	EXPECT_EQ(0, info.copied_out);
	EXPECT_EQ(0, info.nr_dmabufs);
	EXPECT_LT(0, info.max_dmabufs);
	EXPECT_EQ(0, info.pmd_faults);
	EXPECT_EQ(vt_kernel_pmd_size(), info.pmd_size);
	for (i = 0; i < ARRAY_SIZE(info.reserved); i++)
		EXPECT_EQ(0, info.reserved[i]);
	close(region);

	region = vt_create_region(P, 0);
	ASSERT_LE(0, region);
	ASSERT_EQ(0, vt_info(region, &info));
	EXPECT_EQ(self->max_mappings, info.max_mappings);
	EXPECT_EQ(P, info.size);
	close(region);
}

/* A region size that is zero or not a page multiple is EINVAL. */
TEST_F(dev, create_region_bad_size)
{
	static const uint64_t sizes[] = { 0, 1, 512, P - 1, P + 1, 3 * P + 8 };
	unsigned int i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		EXPECT_EQ(-EINVAL, vt_create_region(sizes[i], 0)) {
			TH_LOG("size %" PRIu64, sizes[i]);
		}
	}
}

/*
 * Unknown flags or non-zero reserved fields of CREATE_REGION are EINVAL;
 * VSHM_REGION_SAFE_HOLES is accepted and REGION_INFO reports it.
 */
TEST_F(dev, create_region_flags_and_reserved)
{
	struct vshm_region_info info;
	struct vshm_region_create req;
	int i;

	memset(&req, 0, sizeof(req));
	req.size = P;
	req.flags = VSHM_REGION_SAFE_HOLES;
	i = vt_create_region_req(&req);
	ASSERT_LE(0, i);
	EXPECT_EQ(0, vt_info(i, &info));
	EXPECT_EQ(VSHM_REGION_SAFE_HOLES, info.flags);
	close(i);
	req.flags = VSHM_CREATE_FLAGS_ALL + 1;
	EXPECT_EQ(-EINVAL, vt_create_region_req(&req));
	req.flags = 1U << 31;
	EXPECT_EQ(-EINVAL, vt_create_region_req(&req));
	req.flags = 0;
	for (i = 0; i < 4; i++) {
		req.reserved[i] = 1ULL << (13 * i);
		EXPECT_EQ(-EINVAL, vt_create_region_req(&req)) {
			TH_LOG("reserved[%d]", i);
		}
		req.reserved[i] = 0;
	}
	i = vt_create_region_req(&req);
	EXPECT_LE(0, i);
	if (i >= 0)
		close(i);
}

/* max_mappings above the module's max_mappings parameter is EINVAL. */
TEST_F(dev, create_region_too_many_mappings)
{
	struct vshm_region_info info;
	int region;

	ASSERT_GT(UINT32_MAX, self->max_mappings);
	EXPECT_EQ(-EINVAL, vt_create_region(P, self->max_mappings + 1));
	EXPECT_EQ(-EINVAL, vt_create_region(P, UINT32_MAX));
	region = vt_create_region(P, self->max_mappings);
	ASSERT_LE(0, region);
	ASSERT_EQ(0, vt_info(region, &info));
	EXPECT_EQ(self->max_mappings, info.max_mappings);
	close(region);
}

/*
 * A (page-aligned) size above the max_region_size parameter is EFBIG;
 * exactly the limit is accepted.
 */
TEST_F(dev, create_region_too_big)
{
	uint64_t limit = self->max_region_size & ~(P - 1);
	struct vshm_region_info info;
	int region;

	ASSERT_LT(0, limit);
	if (limit <= UINT64_MAX - 2 * P)
		EXPECT_EQ(-EFBIG, vt_create_region(limit + P, 0));
	if (self->max_region_size < (UINT64_MAX & ~(P - 1)))
		EXPECT_EQ(-EFBIG, vt_create_region(UINT64_MAX & ~(P - 1), 0));
	region = vt_create_region(limit, 0);
	ASSERT_LE(0, region) {
		TH_LOG("size %" PRIu64 " (the limit): %s", limit, strerror(-region));
	}
	ASSERT_EQ(0, vt_info(region, &info));
	EXPECT_EQ(limit, info.size);
	EXPECT_EQ((off_t)limit, lseek(region, 0, SEEK_END));
	close(region);
}

/*
 * The module parameters max_mappings and max_region_size can be lowered at
 * run time and then bound new regions (EINVAL, EFBIG; max_mappings 0 takes
 * the new default); a region created before keeps its own limit.
 */
TEST_F(dev, module_params_bound_new_regions)
{
	struct vshm_region_info info;
	int before, region, ret;

	if (geteuid() != 0)
		SKIP(return, "needs root to write module parameters");
	before = vt_create_region(64 * P, 0);
	ASSERT_LE(0, before);
	ASSERT_EQ(0, vt_param_set("max_mappings", 3));
	ret = vt_param_set("max_region_size", 16 * P);
	if (ret) {
		vt_param_set("max_mappings", self->max_mappings);
		ASSERT_EQ(0, ret);
	}

	EXPECT_EQ(-EINVAL, vt_create_region(P, 4));
	EXPECT_EQ(-EFBIG, vt_create_region(17 * P, 0));
	region = vt_create_region(16 * P, 0);
	EXPECT_LE(0, region);
	if (region >= 0) {
		EXPECT_EQ(0, vt_info(region, &info));
		EXPECT_EQ(3, info.max_mappings);
		close(region);
	}
	EXPECT_EQ(0, vt_param_set("max_mappings", self->max_mappings));
	EXPECT_EQ(0, vt_param_set("max_region_size", self->max_region_size));

	ASSERT_EQ(0, vt_info(before, &info));
	EXPECT_EQ(self->max_mappings, info.max_mappings);
	EXPECT_EQ(64 * P, info.size);
	close(before);
}

/*
 * The debugfs totals list regions, mappings, mapped_bytes, pages_held and
 * faults; regions and mappings (and mapped_bytes) go up with a new region
 * and its mappings and back down when they go away.
 */
TEST_F(dev, debugfs_totals)
{
	static const char *const names[] = {
		"regions", "mappings", "mapped_bytes", "pages_held", "faults",
	};
	uint64_t regions0, mappings0, bytes0, v;
	struct statfs sfs;
	int region, memfd;
	unsigned int i;

	if (statfs("/sys/kernel/debug", &sfs) || sfs.f_type != DEBUGFS_MAGIC_)
		SKIP(return, "debugfs is not mounted on /sys/kernel/debug");
	ASSERT_EQ(0, access(VT_STATS_PATH, R_OK)) {
		TH_LOG("%s: %s", VT_STATS_PATH, strerror(errno));
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		EXPECT_EQ(0, vt_stat(names[i], &v)) {
			TH_LOG("no line '%s' in %s", names[i], VT_STATS_PATH);
		}
	}
	ASSERT_EQ(0, vt_stat("regions", &regions0));
	ASSERT_EQ(0, vt_stat("mappings", &mappings0));
	ASSERT_EQ(0, vt_stat("mapped_bytes", &bytes0));

	memfd = vt_memfd(4 * P, SEED_A, 0);
	ASSERT_LE(0, memfd);
	region = vt_create_region(NPAGES * P, 0);
	ASSERT_LE(0, region);
	ASSERT_EQ(0, vt_stat("regions", &v));
	EXPECT_EQ(regions0 + 1, v);

	ASSERT_EQ(0, vt_map(region, memfd, 0, 0, 0, 3 * P));
	ASSERT_EQ(0, vt_map(region, memfd, VSHM_MAP_WRITE, P, 8 * P, 2 * P));
	ASSERT_EQ(0, vt_stat("mappings", &v));
	EXPECT_EQ(mappings0 + 2, v);
	ASSERT_EQ(0, vt_stat("mapped_bytes", &v));
	EXPECT_EQ(bytes0 + 5 * P, v);

	ASSERT_EQ(0, vt_unmap(region, 0, 3 * P));
	ASSERT_EQ(0, vt_stat("mappings", &v));
	EXPECT_EQ(mappings0 + 1, v);
	ASSERT_EQ(0, vt_stat("mapped_bytes", &v));
	EXPECT_EQ(bytes0 + 2 * P, v);

	/* Closing the region drops its remaining mapping and itself. */
	close(region);
	ASSERT_EQ(0, vt_stat("regions", &v));
	EXPECT_EQ(regions0, v);
	ASSERT_EQ(0, vt_stat("mappings", &v));
	EXPECT_EQ(mappings0, v);
	ASSERT_EQ(0, vt_stat("mapped_bytes", &v));
	EXPECT_EQ(bytes0, v);
	close(memfd);
}

/* ---- a region with two mappings: A rw at pages 4-7, B ro at pages 10-11 */

FIXTURE(region) {
	int region;
	int a, b;
	uint8_t *map;
	struct vshm_region_info base;
};

FIXTURE_SETUP(region)
{
	VT_REQUIRE_DEVICE();
	vt_install_fault_handler();
	self->region = -1;
	self->a = vt_memfd(NPAGES * P, SEED_A, 0);
	ASSERT_LE(0, self->a);
	self->b = vt_memfd(NPAGES * P, SEED_B, 0);
	ASSERT_LE(0, self->b);
	self->region = vt_create_region(NPAGES * P, 8);
	ASSERT_LE(0, self->region);
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 4 * P, 4 * P));
	ASSERT_EQ(0, vt_map(self->region, self->b, 0, 2 * P, 10 * P, 2 * P));
	self->map = vt_mmap(self->region, NPAGES * P, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, self->map);
	ASSERT_EQ(0, vt_info(self->region, &self->base));
	ASSERT_EQ(2, self->base.nr_mappings);
	ASSERT_EQ(6 * P, self->base.mapped_bytes);
	ASSERT_EQ(2, self->base.maps);
	ASSERT_EQ(0, self->base.unmaps);
}

FIXTURE_TEARDOWN(region)
{
	vt_drop_region(&self->region, &self->map, NPAGES * P);
	close(self->a);
	close(self->b);
}

/*
 * The region is exactly as the fixture set it up: same REGION_INFO (but
 * the fault and copy counters), A's data at pages 4-7, B's at 10-11, and
 * every other page a hole that raises SIGBUS.
 */
static void check_unchanged(struct __test_metadata *_metadata,
			    FIXTURE_DATA(region) *self)
{
	static const int holes[] = { 0, 1, 2, 3, 8, 9, 12, 13, 14, 15 };
	struct vshm_region_info now;
	static uint8_t buf[4 * P];
	unsigned int i;
	uint8_t c;

	ASSERT_EQ(0, vt_info(self->region, &now));
	EXPECT_EQ(self->base.size, now.size);
	EXPECT_EQ(self->base.flags, now.flags);
	EXPECT_EQ(self->base.max_mappings, now.max_mappings);
	EXPECT_EQ(self->base.nr_mappings, now.nr_mappings);
	EXPECT_EQ(self->base.mapped_bytes, now.mapped_bytes);
	EXPECT_EQ(self->base.maps, now.maps);
	EXPECT_EQ(self->base.unmaps, now.unmaps);

	EXPECT_EQ(0, vt_copy(buf, self->map + 4 * P, 4 * P));
	EXPECT_EQ(-1, vt_check(buf, 4 * P, SEED_A, 0));
	EXPECT_EQ(0, vt_copy(buf, self->map + 10 * P, 2 * P));
	EXPECT_EQ(-1, vt_check(buf, 2 * P, SEED_B, 2 * P));
	for (i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
		EXPECT_EQ(SIGBUS, vt_peek(self->map + holes[i] * P + 100, &c)) {
			TH_LOG("page %d should be a hole", holes[i]);
		}
	}
	/* B is read-only and stays so. */
	EXPECT_EQ(SIGBUS, vt_poke(self->map + 10 * P, 0));
}

/* The fixture itself: its mappings read through the mmap, holes SIGBUS. */
TEST_F(region, fixture_state)
{
	check_unchanged(_metadata, self);
}

/*
 * MAP success: a writable and a read-only mapping appear at their region
 * offsets with their source's data, and nr_mappings, mapped_bytes and maps
 * count them; the mapping is writable through the mmap only with
 * VSHM_MAP_WRITE.  Mappings may be adjacent to existing ones.
 */
TEST_F(region, map_success)
{
	struct vshm_region_info info;
	static uint8_t buf[4 * P];
	int c;

	c = vt_memfd(4 * P, SEED_C, 0);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, vt_map(self->region, c, VSHM_MAP_WRITE, P, 0, 2 * P));
	/* Adjacent on both sides: pages 8-9 between A and B. */
	ASSERT_EQ(0, vt_map(self->region, self->b, 0, 0, 8 * P, 2 * P));
	VT_EXPECT_TABLE(self->region, info, 4, 10 * P, 4, 0);

	EXPECT_EQ(0, vt_copy(buf, self->map, 2 * P));
	EXPECT_EQ(-1, vt_check(buf, 2 * P, SEED_C, P));
	EXPECT_EQ(0, vt_copy(buf, self->map + 8 * P, 2 * P));
	EXPECT_EQ(-1, vt_check(buf, 2 * P, SEED_B, 0));
	EXPECT_EQ(0, vt_poke(self->map + 100, 0x11));
	EXPECT_EQ(SIGBUS, vt_poke(self->map + 8 * P + 100, 0x11));
	/* The write reached the source. */
	ASSERT_EQ(1, pread(c, buf, 1, P + 100));
	EXPECT_EQ(0x11, buf[0]);
	close(c);
}

/* Unknown MAP flags are EINVAL and change nothing. */
TEST_F(region, map_unknown_flags)
{
	static const uint32_t bad[] = {
		1U << 3, 1U << 31, ~VSHM_MAP_FLAGS_ALL, VSHM_MAP_WRITE | (1U << 7),
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, vt_map(self->region, self->a, bad[i], 0, 0, P)) {
			TH_LOG("flags %#x", bad[i]);
		}
	}
	check_unchanged(_metadata, self);
}

/* Non-zero reserved fields of MAP are EINVAL and change nothing. */
TEST_F(region, map_reserved)
{
	struct vshm_map m = { .fd = self->a, .len = P };
	int i;

	for (i = 0; i < 4; i++) {
		m.reserved[i] = 1ULL << (63 - i);
		EXPECT_EQ(-EINVAL, vt_map_req(self->region, &m)) {
			TH_LOG("reserved[%d]", i);
		}
		m.reserved[i] = 0;
	}
	check_unchanged(_metadata, self);
}

/* Misaligned fd_offset, shm_offset or len, or a zero len, is EINVAL. */
TEST_F(region, map_misaligned)
{
	int r = self->region, a = self->a;

	EXPECT_EQ(-EINVAL, vt_map(r, a, 0, 1, 0, P));
	EXPECT_EQ(-EINVAL, vt_map(r, a, 0, P / 2, 0, P));
	EXPECT_EQ(-EINVAL, vt_map(r, a, 0, 0, 1, P));
	EXPECT_EQ(-EINVAL, vt_map(r, a, 0, 0, P + 8, P));
	EXPECT_EQ(-EINVAL, vt_map(r, a, 0, 0, 0, 1));
	EXPECT_EQ(-EINVAL, vt_map(r, a, 0, 0, 0, P + 1));
	EXPECT_EQ(-EINVAL, vt_map(r, a, 0, 0, 0, P - 1));
	EXPECT_EQ(-EINVAL, vt_map(r, a, 0, 0, 0, 0));
	EXPECT_EQ(-EINVAL, vt_map(r, a, VSHM_MAP_WRITE, 0, 2 * P, 0));
	check_unchanged(_metadata, self);
}

/*
 * EOVERFLOW: shm_offset + len past the region end or wrapping, fd_offset +
 * len past the source's size or wrapping.  Nothing changes.
 */
TEST_F(region, map_overflow)
{
	const uint64_t top = UINT64_MAX & ~(P - 1);
	int r = self->region, a = self->a;

	/* Past the region. */
	EXPECT_EQ(-EOVERFLOW, vt_map(r, a, 0, 0, 14 * P, 4 * P));
	EXPECT_EQ(-EOVERFLOW, vt_map(r, a, 0, 0, NPAGES * P, P));
	EXPECT_EQ(-EOVERFLOW, vt_map(r, a, 0, 0, 0, (NPAGES + 1) * P));
	EXPECT_EQ(-EOVERFLOW, vt_map(r, a, 0, 0, 1ULL << 40, P));
	/* Wrapping the region offset. */
	EXPECT_EQ(-EOVERFLOW, vt_map(r, a, 0, 0, top, 2 * P));
	EXPECT_EQ(-EOVERFLOW, vt_map(r, a, 0, 0, 2 * P, top));
	/* Past the source's end (16 pages). */
	EXPECT_EQ(-EOVERFLOW, vt_map(r, a, 0, 14 * P, 0, 4 * P));
	EXPECT_EQ(-EOVERFLOW, vt_map(r, a, 0, NPAGES * P, 0, P));
	EXPECT_EQ(-EOVERFLOW, vt_map(r, a, VSHM_MAP_WRITE, 15 * P, 0, 2 * P));
	/* Wrapping the source offset. */
	EXPECT_EQ(-EOVERFLOW, vt_map(r, a, 0, top, 0, 2 * P));
	EXPECT_EQ(-EOVERFLOW, vt_map(r, a, 0, top - P, 0, 2 * P));
	check_unchanged(_metadata, self);

	/* The last pages of both fit exactly. */
	EXPECT_EQ(0, vt_map(r, a, 0, 14 * P, 14 * P, 2 * P));
}

/* A range that overlaps an existing mapping in any way is EEXIST. */
TEST_F(region, map_overlap)
{
	static const struct { int start, n; } ranges[] = {
		{ 4, 4 },	/* exactly A */
		{ 5, 1 },	/* inside A */
		{ 3, 2 },	/* across A's start */
		{ 7, 2 },	/* across A's end */
		{ 2, 8 },	/* around A */
		{ 6, 5 },	/* A's tail, the hole, B's head */
		{ 0, 16 },	/* everything */
		{ 11, 3 },	/* across B's end */
	};
	unsigned int i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		EXPECT_EQ(-EEXIST, vt_map(self->region, self->b, 0, 0,
					  ranges[i].start * P, ranges[i].n * P)) {
			TH_LOG("pages %d+%d", ranges[i].start, ranges[i].n);
		}
		EXPECT_EQ(-EEXIST, vt_map(self->region, self->b, VSHM_MAP_WRITE, 0,
					  ranges[i].start * P, ranges[i].n * P));
	}
	check_unchanged(_metadata, self);
}

/* A source fd that is not open is EBADF. */
TEST_F(region, map_bad_fd)
{
	int closed = dup(self->a);

	ASSERT_LE(0, closed);
	close(closed);
	EXPECT_EQ(-EBADF, vt_map(self->region, -1, 0, 0, 0, P));
	EXPECT_EQ(-EBADF, vt_map(self->region, closed, 0, 0, 0, P));
	EXPECT_EQ(-EBADF, vt_map(self->region, INT_MAX, 0, 0, 0, P));
	EXPECT_EQ(-EBADF, vt_map(self->region, INT_MIN, VSHM_MAP_WRITE, 0, 0, P));
	check_unchanged(_metadata, self);
}

/*
 * A source that is not shmem, hugetlbfs or a dma-buf is ENODEV: pipes,
 * sockets, an eventfd, a regular file on the 9p root, /dev/null, /dev/zero,
 * a directory, /dev/vshm and a region fd (this one and another).
 */
TEST_F(region, map_unsupported_source)
{
	int pipefd[2], sv[2], fds[12], n = 0, i, other;

	ASSERT_EQ(0, pipe(pipefd));
	fds[n++] = pipefd[0];
	fds[n++] = pipefd[1];
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	fds[n++] = sv[0];
	fds[n++] = sv[1];
	fds[n++] = eventfd(0, EFD_CLOEXEC);
	fds[n++] = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	fds[n++] = open("/dev/null", O_RDWR | O_CLOEXEC);
	fds[n++] = open("/dev/zero", O_RDWR | O_CLOEXEC);
	fds[n++] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fds[n++] = open(VSHM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	other = vt_create_region(NPAGES * P, 0);
	fds[n++] = other;
	fds[n++] = self->region;

	for (i = 0; i < n; i++) {
		ASSERT_LE(0, fds[i]) {
			TH_LOG("could not open source #%d", i);
		}
		EXPECT_EQ(-ENODEV, vt_map(self->region, fds[i], 0, 0, 0, P)) {
			TH_LOG("source #%d", i);
		}
	}
	/* Also into the other region, from this region's fd. */
	EXPECT_EQ(-ENODEV, vt_map(other, self->region, 0, 0, 0, P));
	for (i = 0; i < n - 1; i++)
		close(fds[i]);
	check_unchanged(_metadata, self);
}

/* A regular file on tmpfs is a shmem file, hence a valid source. */
TEST_F(region, map_tmpfs_file)
{
	char path[] = "/dev/shm/vshm-test-XXXXXX";
	static uint8_t buf[2 * P];
	struct statfs sfs;
	int fd;

	if (statfs("/dev/shm", &sfs) || sfs.f_type != TMPFS_MAGIC_)
		SKIP(return, "/dev/shm is not tmpfs");
	fd = mkostemp(path, O_CLOEXEC);
	ASSERT_LE(0, fd);
	unlink(path);
	vt_fill(buf, sizeof(buf), SEED_C, 0);
	ASSERT_EQ((ssize_t)sizeof(buf), pwrite(fd, buf, sizeof(buf), 0));
	ASSERT_EQ(0, vt_map(self->region, fd, VSHM_MAP_WRITE, 0, 0, 2 * P));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(0, vt_copy(buf, self->map, 2 * P));
	EXPECT_EQ(-1, vt_check(buf, 2 * P, SEED_C, 0));
	close(fd);
}

/*
 * VSHM_MAP_WRITE of a source opened read-only is EACCES (a read-only map
 * of it works).
 */
TEST_F(region, map_write_readonly_source)
{
	int ro;

	ro = vt_reopen(self->a, O_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EACCES, vt_map(self->region, ro, VSHM_MAP_WRITE, 0, 0, P));
	EXPECT_EQ(-EACCES, vt_map(self->region, ro,
				  VSHM_MAP_WRITE | VSHM_MAP_REPLACE, 0, 0, P));
	check_unchanged(_metadata, self);
	EXPECT_EQ(0, vt_map(self->region, ro, 0, 0, 0, P));
	close(ro);
}

/*
 * A source open only for writing cannot be mapped at all (EACCES), as
 * mmap() of it could not be: mapping gives read access.
 */
TEST_F(region, map_writeonly_source)
{
	int wo;

	wo = vt_reopen(self->a, O_WRONLY);
	ASSERT_LE(0, wo);
	EXPECT_EQ(-EACCES, vt_map(self->region, wo, 0, 0, 0, P));
	EXPECT_EQ(-EACCES, vt_map(self->region, wo, VSHM_MAP_WRITE, 0, 0, P));
	check_unchanged(_metadata, self);
	close(wo);
}

/*
 * VSHM_MAP_WRITE of a memfd sealed with F_SEAL_WRITE or F_SEAL_FUTURE_WRITE
 * is EACCES; read-only maps of them work.
 */
TEST_F(region, map_write_sealed_source)
{
	int sealed, future;

	sealed = vt_memfd(2 * P, SEED_C, 0);
	ASSERT_LE(0, sealed);
	ASSERT_EQ(0, fcntl(sealed, F_ADD_SEALS, F_SEAL_WRITE));
	future = vt_memfd(2 * P, SEED_C, 0);
	ASSERT_LE(0, future);
	ASSERT_EQ(0, fcntl(future, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));

	EXPECT_EQ(-EACCES, vt_map(self->region, sealed, VSHM_MAP_WRITE, 0, 0, P));
	EXPECT_EQ(-EACCES, vt_map(self->region, future, VSHM_MAP_WRITE, 0, 0, P));
	check_unchanged(_metadata, self);
	EXPECT_EQ(0, vt_map(self->region, sealed, 0, 0, 0, P));
	EXPECT_EQ(0, vt_map(self->region, future, 0, 0, P, P));
	close(sealed);
	close(future);
}

/*
 * Every mapping long-term pins its source's pages, and a writable one also
 * counts as a writable mapping of its source: adding F_SEAL_WRITE fails
 * with EBUSY while any mapping of the source exists, read-only included,
 * until it is unmapped (by UNMAP, REPLACE or UNMAP_ALL).  The rule is
 * "seal before MAP": a sealed memfd then maps read-only.
 */
TEST_F(region, seal_write_busy_while_mapped)
{
	int d, e, f, ro;

	d = vt_memfd(2 * P, SEED_C, 0);
	e = vt_memfd(2 * P, SEED_C, 0);
	f = vt_memfd(2 * P, SEED_C, 0);
	ro = vt_memfd(2 * P, SEED_C, 0);
	ASSERT_LE(0, d);
	ASSERT_LE(0, e);
	ASSERT_LE(0, f);
	ASSERT_LE(0, ro);

	/* Read-only, never touched: its pages are pinned all the same. */
	ASSERT_EQ(0, vt_map(self->region, ro, 0, 0, 14 * P, 2 * P));
	EXPECT_EQ(-1, fcntl(ro, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, vt_unmap(self->region, 14 * P, 2 * P));
	EXPECT_EQ(0, fcntl(ro, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(0, vt_map(self->region, ro, 0, 0, 14 * P, 2 * P));

	/* Removed by UNMAP; touched through the mmap first. */
	ASSERT_EQ(0, vt_map(self->region, d, VSHM_MAP_WRITE, 0, 0, 2 * P));
	EXPECT_EQ(0, vt_poke(self->map + 10, 0x42));
	EXPECT_EQ(-1, fcntl(d, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, vt_unmap(self->region, 0, 2 * P));
	EXPECT_EQ(0, fcntl(d, F_ADD_SEALS, F_SEAL_WRITE));

	/* Removed by REPLACE (with a read-only mapping of d, now sealed). */
	ASSERT_EQ(0, vt_map(self->region, e, VSHM_MAP_WRITE, 0, 0, 2 * P));
	EXPECT_EQ(-1, fcntl(e, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, vt_map(self->region, d, VSHM_MAP_REPLACE, 0, 0, 2 * P));
	EXPECT_EQ(0, fcntl(e, F_ADD_SEALS, F_SEAL_WRITE));

	/* Removed by UNMAP_ALL. */
	ASSERT_EQ(0, vt_map(self->region, f, VSHM_MAP_WRITE, 0, 2 * P, 2 * P));
	EXPECT_EQ(-1, fcntl(f, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, vt_unmap_all(self->region));
	EXPECT_EQ(0, fcntl(f, F_ADD_SEALS, F_SEAL_WRITE));

	close(d);
	close(e);
	close(f);
	close(ro);
}

/*
 * The region's max_mappings is enforced with ENOSPC (nothing changes);
 * unmapping frees a slot, and a REPLACE of one mapping by one still fits.
 */
TEST_F(region, map_limit)
{
	struct vshm_region_info info;
	int r;

	r = vt_create_region(NPAGES * P, 2);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, vt_map(r, self->a, 0, 0, 0, P));
	ASSERT_EQ(0, vt_map(r, self->a, 0, P, 2 * P, P));
	EXPECT_EQ(-ENOSPC, vt_map(r, self->a, 0, 0, 4 * P, P));
	EXPECT_EQ(-ENOSPC, vt_map(r, self->b, VSHM_MAP_WRITE | VSHM_MAP_REPLACE,
				  0, 4 * P, P));
	VT_EXPECT_TABLE(r, info, 2, 2 * P, 2, 0);
	EXPECT_EQ(2, info.max_mappings);

	/* One by one at the limit. */
	EXPECT_EQ(0, vt_map(r, self->b, VSHM_MAP_REPLACE, 0, 2 * P, P));
	ASSERT_EQ(0, vt_unmap(r, 0, P));
	EXPECT_EQ(0, vt_map(r, self->a, 0, 0, 4 * P, P));
	EXPECT_EQ(-ENOSPC, vt_map(r, self->a, 0, 0, 6 * P, P));
	ASSERT_EQ(0, vt_info(r, &info));
	EXPECT_EQ(2, info.nr_mappings);
	EXPECT_EQ(4, info.maps);
	EXPECT_EQ(2, info.unmaps);
	close(r);
	check_unchanged(_metadata, self);
}

/*
 * UNMAP of exactly one mapping: it disappears (SIGBUS through the mmap,
 * even where it was faulted in before) and nr_mappings, mapped_bytes and
 * unmaps follow.  Its range can be mapped again.
 */
TEST_F(region, unmap_success)
{
	struct vshm_region_info info;
	uint8_t c;
	int i;

	for (i = 4; i < 8; i++)
		ASSERT_EQ(0, vt_peek(self->map + i * P, &c));
	ASSERT_EQ(0, vt_unmap(self->region, 4 * P, 4 * P));
	VT_EXPECT_TABLE(self->region, info, 1, 2 * P, 2, 1);
	for (i = 4; i < 8; i++)
		EXPECT_EQ(SIGBUS, vt_peek(self->map + i * P + 7, &c));
	EXPECT_EQ(0, vt_peek(self->map + 10 * P, &c));

	EXPECT_EQ(0, vt_map(self->region, self->b, 0, 0, 4 * P, 4 * P));
	EXPECT_EQ(0, vt_peek(self->map + 5 * P + 8, &c));
	EXPECT_EQ(vt_byte(SEED_B, P + 8), c);
}

/*
 * UNMAP of anything but exactly one whole mapping is ENOENT: a hole, part
 * of a mapping, a mapping plus more, two mappings, or one already gone.
 */
TEST_F(region, unmap_not_one_mapping)
{
	static const struct { int start, n; } ranges[] = {
		{ 0, 1 }, { 0, 4 }, { 8, 2 },	/* holes */
		{ 4, 1 }, { 5, 3 }, { 5, 1 },	/* parts of A */
		{ 4, 5 }, { 3, 5 }, { 4, 8 },	/* A and more, A and B */
		{ 10, 1 }, { 10, 3 },		/* part of B, B and more */
	};
	unsigned int i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		EXPECT_EQ(-ENOENT, vt_unmap(self->region, ranges[i].start * P,
					    ranges[i].n * P)) {
			TH_LOG("pages %d+%d", ranges[i].start, ranges[i].n);
		}
	}
	check_unchanged(_metadata, self);

	ASSERT_EQ(0, vt_unmap(self->region, 10 * P, 2 * P));
	EXPECT_EQ(-ENOENT, vt_unmap(self->region, 10 * P, 2 * P));
}

/*
 * Malformed UNMAPs: zero or misaligned offset/len and non-zero reserved
 * are EINVAL; a range past the region end or wrapping is EOVERFLOW.
 */
TEST_F(region, unmap_malformed)
{
	const uint64_t top = UINT64_MAX & ~(P - 1);
	struct vshm_unmap u;
	int i;

	EXPECT_EQ(-EINVAL, vt_unmap(self->region, 4 * P, 0));
	EXPECT_EQ(-EINVAL, vt_unmap(self->region, 4 * P + 1, 4 * P));
	EXPECT_EQ(-EINVAL, vt_unmap(self->region, 4 * P, 4 * P - 1));
	EXPECT_EQ(-EINVAL, vt_unmap(self->region, 4 * P, 4 * P + 512));
	for (i = 0; i < 2; i++) {
		memset(&u, 0, sizeof(u));
		u.shm_offset = 4 * P;
		u.len = 4 * P;
		u.reserved[i] = 1;
		EXPECT_EQ(-1, ioctl(self->region, VSHM_IOC_UNMAP, &u));
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(-EOVERFLOW, vt_unmap(self->region, NPAGES * P, P));
	EXPECT_EQ(-EOVERFLOW, vt_unmap(self->region, 10 * P, 8 * P));
	EXPECT_EQ(-EOVERFLOW, vt_unmap(self->region, top, 2 * P));
	EXPECT_EQ(-EOVERFLOW, vt_unmap(self->region, 4 * P, top));
	check_unchanged(_metadata, self);
}

/*
 * UNMAP_ALL removes every mapping (all SIGBUS, nr_mappings and
 * mapped_bytes 0, unmaps counts each); on an empty region it succeeds and
 * changes nothing.
 */
TEST_F(region, unmap_all)
{
	struct vshm_region_info info;
	uint8_t c;
	int i;

	EXPECT_EQ(0, vt_peek(self->map + 4 * P, &c));
	EXPECT_EQ(0, vt_peek(self->map + 11 * P, &c));
	ASSERT_EQ(0, vt_unmap_all(self->region));
	VT_EXPECT_TABLE(self->region, info, 0, 0, 2, 2);
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(SIGBUS, vt_peek(self->map + i * P, &c));

	ASSERT_EQ(0, vt_unmap_all(self->region));
	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(0, info.nr_mappings);
	EXPECT_EQ(2, info.unmaps);

	/* The region is usable again. */
	EXPECT_EQ(0, vt_map(self->region, self->a, 0, 0, 0, NPAGES * P));
	EXPECT_EQ(0, vt_peek(self->map + 15 * P, &c));
	EXPECT_EQ(vt_byte(SEED_A, 15 * P), c);
}

/*
 * The fault and copy counters of REGION_INFO: touching a mapped page
 * counts at least one fault, touching it again none; pread counts
 * copied_out and pwrite copied_in, byte for byte; failed calls count
 * nothing.  The reserved fields are zeroed.
 */
TEST_F(region, info_counters)
{
	struct vshm_region_info a, b;
	static uint8_t buf[3 * P];
	uint8_t c;
	int i;

	ASSERT_EQ(0, vt_info(self->region, &a));
	for (i = 0; i < (int)ARRAY_SIZE(a.reserved); i++)
		EXPECT_EQ(0, a.reserved[i]);
	EXPECT_EQ(0, a.faults);
	EXPECT_EQ(0, a.copied_in);
	EXPECT_EQ(0, a.copied_out);

	EXPECT_EQ(0, vt_peek(self->map + 5 * P, &c));
	ASSERT_EQ(0, vt_info(self->region, &b));
	EXPECT_LE(a.faults + 1, b.faults);
	a = b;
	EXPECT_EQ(0, vt_peek(self->map + 5 * P + 64, &c));
	ASSERT_EQ(0, vt_info(self->region, &b));
	EXPECT_EQ(a.faults, b.faults);

	/* Holes raise SIGBUS; they serve nothing. */
	EXPECT_EQ(SIGBUS, vt_peek(self->map, &c));

	EXPECT_EQ(1000, pread(self->region, buf, 1000, 4 * P + 10));
	EXPECT_EQ(3 * P, pread(self->region, buf, 3 * P, 4 * P));
	ASSERT_EQ(0, vt_info(self->region, &b));
	EXPECT_EQ(a.copied_out + 1000 + 3 * P, b.copied_out);
	EXPECT_EQ(a.copied_in, b.copied_in);
	a = b;

	EXPECT_EQ(777, pwrite(self->region, buf, 777, 4 * P + 3));
	ASSERT_EQ(0, vt_info(self->region, &b));
	EXPECT_EQ(a.copied_in + 777, b.copied_in);
	EXPECT_EQ(a.copied_out, b.copied_out);
	a = b;

	/* Failures count nothing. */
	EXPECT_EQ(-1, pread(self->region, buf, 100, 0));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, pwrite(self->region, buf, 100, 10 * P));
	EXPECT_EQ(EACCES, errno);
	ASSERT_EQ(0, vt_info(self->region, &b));
	EXPECT_EQ(a.copied_in, b.copied_in);
	EXPECT_EQ(a.copied_out, b.copied_out);
	for (i = 0; i < (int)ARRAY_SIZE(b.reserved); i++)
		EXPECT_EQ(0, b.reserved[i]);
}

/*
 * mmap of a region: MAP_PRIVATE is EINVAL, PROT_EXEC is EPERM (and
 * mprotect cannot add it later), a range beyond the region is EINVAL.
 * Shared mappings of part of the region, read-only or read-write, work,
 * and each is a single VMA.
 */
TEST_F(region, mmap_rules)
{
	static uint8_t buf[4 * P];
	bool covers;
	void *p;

	p = mmap(NULL, P, PROT_READ, MAP_PRIVATE, self->region, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, P, PROT_READ | PROT_EXEC, MAP_SHARED, self->region, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
	p = mmap(NULL, (NPAGES + 1) * P, PROT_READ, MAP_SHARED, self->region, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, P, PROT_READ, MAP_SHARED, self->region, NPAGES * P);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, 4 * P, PROT_READ, MAP_SHARED, self->region, 14 * P);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	EXPECT_NE(0, mprotect(self->map, NPAGES * P, PROT_READ | PROT_EXEC));
	EXPECT_EQ(1, vt_vmas_in(self->map, NPAGES * P, &covers));
	EXPECT_TRUE(covers);

	p = vt_mmap(self->region, 4 * P, PROT_READ, 4 * P);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, vt_copy(buf, p, 4 * P));
	EXPECT_EQ(-1, vt_check(buf, 4 * P, SEED_A, 0));
	EXPECT_EQ(SIGSEGV, vt_poke(p, 1));
	EXPECT_EQ(1, vt_vmas_in(p, 4 * P, &covers));
	EXPECT_TRUE(covers);
	munmap(p, 4 * P);

	p = vt_mmap(self->region, 8 * P, PROT_READ | PROT_WRITE, 8 * P);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, vt_copy(buf, (uint8_t *)p + 2 * P, 2 * P));
	EXPECT_EQ(-1, vt_check(buf, 2 * P, SEED_B, 2 * P));
	munmap(p, 8 * P);
	check_unchanged(_metadata, self);
}

/*
 * A process that holds only the region fd (a forked broker) maps and
 * unmaps; the parent's mmap of the region follows.
 */
TEST_F(region, map_from_other_process)
{
	static uint8_t buf[2 * P];
	int status, c;
	pid_t pid;

	c = vt_memfd(2 * P, SEED_C, 0);
	ASSERT_LE(0, c);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int ok = !vt_map(self->region, c, 0, 0, 0, 2 * P) &&
			 !vt_unmap(self->region, 4 * P, 4 * P);
		_exit(ok ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, vt_copy(buf, self->map, 2 * P));
	EXPECT_EQ(-1, vt_check(buf, 2 * P, SEED_C, 0));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 4 * P, buf));
	close(c);
}

/* Unknown region ioctls are ENOTTY; device ioctls are not region ones. */
TEST_F(region, unknown_ioctl)
{
	struct vshm_region_create req = { .size = P };

	EXPECT_EQ(-1, ioctl(self->region, _IO(VSHM_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->region, VSHM_IOC_CREATE_REGION, &req));
	EXPECT_EQ(ENOTTY, errno);
	check_unchanged(_metadata, self);
}

TEST_HARNESS_MAIN
