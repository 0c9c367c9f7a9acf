// SPDX-License-Identifier: GPL-2.0
/*
 * Region mode conformance: the same tests against the kmod region mode
 * (/dev/vshm; runs in the VM, skips elsewhere) and the in-process mmap
 * region mode (and, in one test, the table-only region mode of vshmd --region-mode
 * vmm).  All must follow the module's rules for map, replace, unmap,
 * unmap-all, copy-in/out and info, and leave the region unchanged on
 * every failure, with no fd leaked.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <linux/vshm.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "test_util.h"
#include "touch_probe.h"

#define PG 4096u
#define NPAGES 16u

/* Is [base, base + len) one VMA of this process with perms ("rw-p", "---p")? */
static bool one_vma(const uint8_t *base, size_t len, const char *perms)
{
	char line[512], want[64];
	bool found = false;
	FILE *f;

	snprintf(want, sizeof(want), "%lx-%lx %s", (unsigned long)base,
		 (unsigned long)(base + len), perms);
	f = fopen("/proc/self/maps", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want)))
			found = true;
	fclose(f);
	return found;
}

FIXTURE(region) {
	struct vshm_region *r;
	void *kaddr;		/* kmod: our own mmap of the region fd */
	int fds0;
	int src;		/* a 4-page memfd filled with 0x11 */
};

FIXTURE_VARIANT(region) {
	enum vshm_region_mode type;
	const char *name;
};

FIXTURE_VARIANT_ADD(region, kmod) {
	.type = VSHM_REGION_MODE_KMOD,
	.name = "kmod",
};

FIXTURE_VARIANT_ADD(region, mmap) {
	.type = VSHM_REGION_MODE_MMAP,
	.name = "mmap",
};

FIXTURE_SETUP(region)
{
	int ret;

	self->src = memfd_filled(4 * PG, 0x11);
	ASSERT_GE(self->src, 0);
	ret = vshm_region_create(variant->type, NPAGES * PG, 8, &self->r);
	if (ret && variant->type == VSHM_REGION_MODE_KMOD &&
	    (ret == -ENOENT || ret == -ENODEV || ret == -ENXIO)) {
		self->r = NULL;
		return;
	}
	ASSERT_EQ(0, ret) TH_LOG("create %s region: %s", variant->name, vshm_strerror(ret));
	self->fds0 = count_open_fds();
}

FIXTURE_TEARDOWN(region)
{
	if (self->kaddr)
		munmap(self->kaddr, NPAGES * PG);
	vshm_region_destroy(self->r);
	close(self->src);
}

#define REQUIRE_REGION() do { \
	if (!self->r) \
		SKIP(return, "%s: /dev/vshm is missing (the kmod region mode runs in the VM under make check)", \
		     variant->name); \
} while (0)

/* The region as this process sees it: the reservation, or a shared mmap of the kmod region fd. */
static uint8_t *region_ptr(FIXTURE_DATA(region) *self)
{
	void *p;

	if (vshm_region_addr(self->r))
		return vshm_region_addr(self->r);
	if (!self->kaddr) {
		p = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vshm_region_fd(self->r), 0);
		self->kaddr = p == MAP_FAILED ? NULL : p;
	}
	return self->kaddr;
}

static void expect_state(struct __test_metadata *_metadata, struct vshm_region *r,
			 uint64_t n, uint64_t bytes)
{
	struct vshm_region_stats st;

	ASSERT_EQ(0, vshm_region_info(r, &st));
	EXPECT_EQ(n, st.nr_mappings);
	EXPECT_EQ(bytes, st.mapped_bytes);
}

/* Proves a new region reports its size, back-end and no mappings. */
TEST_F(region, create_and_info)
{
	struct vshm_region_stats st;

	REQUIRE_REGION();
	ASSERT_EQ(0, vshm_region_info(self->r, &st));
	EXPECT_EQ(NPAGES * PG, st.size);
	EXPECT_EQ(variant->type, st.region_mode);
	EXPECT_EQ(variant->type, vshm_region_mode(self->r));
	EXPECT_EQ(8, st.max_mappings);
	EXPECT_EQ(0, st.nr_mappings);
	if (variant->type == VSHM_REGION_MODE_KMOD) {
		EXPECT_GE(vshm_region_fd(self->r), 0);
	} else {
		EXPECT_NE(NULL, vshm_region_addr(self->r));
	}
}

/* Proves a writable mapping shows the source's bytes through copy-out and the region's mapping, and copy-in reaches the source. */
TEST_F(region, map_copy_and_see)
{
	uint8_t buf[2 * PG], *p, *src;

	REQUIRE_REGION();
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, PG, 2 * PG, 2 * PG, VSHM_REGION_WRITE));
	expect_state(_metadata, self->r, 1, 2 * PG);
	ASSERT_EQ(sizeof(buf), vshm_region_read(self->r, 2 * PG, buf, sizeof(buf)));
	EXPECT_EQ(0x11, buf[0]);
	EXPECT_EQ(0x11, buf[sizeof(buf) - 1]);
	memset(buf, 0x22, sizeof(buf));
	ASSERT_EQ(PG, vshm_region_write(self->r, 3 * PG, buf, PG));
	src = mmap(NULL, 4 * PG, PROT_READ, MAP_SHARED, self->src, 0);
	ASSERT_NE(MAP_FAILED, src);
	EXPECT_EQ(0x11, src[PG]);
	EXPECT_EQ(0x22, src[2 * PG]);
	EXPECT_EQ(0x22, src[3 * PG - 1]);
	p = region_ptr(self);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0x11, p[2 * PG]);
	EXPECT_EQ(0x22, p[3 * PG + 7]);
	p[2 * PG + 5] = 0x33;
	EXPECT_EQ(0x33, src[PG + 5]);
	munmap(src, 4 * PG);
}

/* Proves a read-only mapping reads, refuses copy-in with EACCES, and a store through the region kills the writer. */
TEST_F(region, read_only_mapping)
{
	uint8_t buf[PG], *p;
	int sig;

	REQUIRE_REGION();
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 0, PG, 0));
	ASSERT_EQ(PG, vshm_region_read(self->r, 0, buf, PG));
	EXPECT_EQ(0x11, buf[100]);
	EXPECT_EQ(-EACCES, vshm_region_write(self->r, 0, buf, PG));
	p = region_ptr(self);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0x11, p[0]);
	sig = touch_in_child(p + 10, true, NULL);
	EXPECT_TRUE(sig == SIGBUS || sig == SIGSEGV) TH_LOG("signal %d", sig);
	if (variant->type == VSHM_REGION_MODE_MMAP) {
		EXPECT_NE(0, mprotect(p, PG, PROT_READ | PROT_WRITE));
	}
	ASSERT_EQ(PG, vshm_region_read(self->r, 0, buf, PG));
	EXPECT_EQ(0x11, buf[10]);
}

/* Proves a map over any existing mapping fails with EEXIST and changes nothing; adjacent maps are fine. */
TEST_F(region, overlap_is_eexist)
{
	REQUIRE_REGION();
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 4 * PG, 2 * PG, VSHM_REGION_WRITE));
	EXPECT_EQ(-EEXIST, vshm_region_map(self->r, self->src, 0, 4 * PG, 2 * PG, 0));
	EXPECT_EQ(-EEXIST, vshm_region_map(self->r, self->src, 0, 5 * PG, PG, 0));
	EXPECT_EQ(-EEXIST, vshm_region_map(self->r, self->src, 0, 3 * PG, 2 * PG, 0));
	EXPECT_EQ(-EEXIST, vshm_region_map(self->r, self->src, 0, 2 * PG, 4 * PG, 0));
	expect_state(_metadata, self->r, 1, 2 * PG);
	EXPECT_EQ(0, vshm_region_map(self->r, self->src, 0, 3 * PG, PG, 0));
	EXPECT_EQ(0, vshm_region_map(self->r, self->src, 0, 6 * PG, PG, 0));
	expect_state(_metadata, self->r, 3, 4 * PG);
	EXPECT_EQ(0, vshm_region_unmap_all(self->r));
	EXPECT_EQ(self->fds0, count_open_fds());
}

/* Proves replace swaps every mapping the range fully covers, maps holes too, and a partly covered mapping gives EINVAL with nothing changed. */
TEST_F(region, replace)
{
	int other = memfd_filled(4 * PG, 0x44);
	struct vshm_mapping_entry m[4];
	uint8_t b;

	REQUIRE_REGION();
	ASSERT_GE(other, 0);
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 0, PG, 0));
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 2 * PG, PG, 0));
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 8 * PG, 2 * PG, 0));
	/* partly covers [8PG, 10PG) */
	EXPECT_EQ(-EINVAL, vshm_region_replace(self->r, other, 0, 9 * PG, 2 * PG, 0));
	EXPECT_EQ(-EINVAL, vshm_region_replace(self->r, other, 0, 7 * PG, 2 * PG, 0));
	ASSERT_EQ(1, vshm_region_read(self->r, 8 * PG, &b, 1));
	EXPECT_EQ(0x11, b);
	/* covers [0, PG) and [2PG, 3PG) wholly, plus the hole between */
	ASSERT_EQ(0, vshm_region_replace(self->r, other, 0, 0, 3 * PG, VSHM_REGION_WRITE));
	ASSERT_EQ(2, vshm_region_mappings(self->r, 0, m, 4));
	EXPECT_EQ(0, m[0].shm_offset);
	EXPECT_EQ(3 * PG, m[0].len);
	EXPECT_EQ(VSHM_REGION_WRITE, m[0].flags);
	EXPECT_EQ(8 * PG, m[1].shm_offset);
	ASSERT_EQ(1, vshm_region_read(self->r, 2 * PG, &b, 1));
	EXPECT_EQ(0x44, b);
	ASSERT_EQ(1, vshm_region_read(self->r, PG, &b, 1));
	EXPECT_EQ(0x44, b);
	expect_state(_metadata, self->r, 2, 5 * PG);
	close(other);
}

/*
 * Proves unmap must name exactly one whole mapping (else ENOENT), then the
 * range reads as a hole: the copy fails with ENXIO on both region modes; the
 * VMM's view reads zeros on kmod (safe holes, the library's default) and
 * faults on mmap (a PROT_NONE reservation).
 */
TEST_F(region, unmap_exact)
{
	uint8_t b, *p;
	int sig;

	REQUIRE_REGION();
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 4 * PG, 2 * PG, VSHM_REGION_WRITE));
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 6 * PG, PG, VSHM_REGION_WRITE));
	EXPECT_EQ(-ENOENT, vshm_region_unmap(self->r, 4 * PG, PG));
	EXPECT_EQ(-ENOENT, vshm_region_unmap(self->r, 5 * PG, PG));
	EXPECT_EQ(-ENOENT, vshm_region_unmap(self->r, 4 * PG, 3 * PG));
	EXPECT_EQ(-ENOENT, vshm_region_unmap(self->r, 0, PG));
	expect_state(_metadata, self->r, 2, 3 * PG);
	ASSERT_EQ(0, vshm_region_unmap(self->r, 4 * PG, 2 * PG));
	expect_state(_metadata, self->r, 1, PG);
	EXPECT_EQ(-ENOENT, vshm_region_unmap(self->r, 4 * PG, 2 * PG));
	EXPECT_EQ(-ENXIO, vshm_region_read(self->r, 4 * PG, &b, 1));
	p = region_ptr(self);
	ASSERT_NE(NULL, p);
	sig = touch_in_child(p + 4 * PG, false, NULL);
	if (variant->type == VSHM_REGION_MODE_KMOD) {
		EXPECT_EQ(0, sig);
		EXPECT_EQ(0, p[4 * PG]);
	} else {
		EXPECT_TRUE(sig == SIGBUS || sig == SIGSEGV) TH_LOG("reading an unmapped range: signal %d", sig);
	}
	ASSERT_EQ(1, vshm_region_read(self->r, 6 * PG, &b, 1));
	EXPECT_EQ(0x11, b);
}

/* Proves unmap-all (device reset) drops every mapping. */
/*
 * Proves VSHM_REGION_STRICT_HOLES: on kmod the VMM's view of a hole raises
 * SIGBUS and a raw pread() of it fails with ENXIO; mmap accepts the flag.
 */
TEST_F(region, strict_holes)
{
	struct vshm_region *strict;
	uint8_t b, *view;
	int ret, fd;

	REQUIRE_REGION();
	EXPECT_EQ(-EINVAL, vshm_region_create_flags(variant->type, NPAGES * PG, 8,
						    ~VSHM_REGION_CREATE_FLAGS_ALL, &strict));
	ret = vshm_region_create_flags(variant->type, NPAGES * PG, 8,
				       VSHM_REGION_STRICT_HOLES, &strict);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, vshm_region_map(strict, self->src, 0, 0, PG, VSHM_REGION_WRITE));
	EXPECT_EQ(-ENXIO, vshm_region_read(strict, 2 * PG, &b, 1));
	if (variant->type == VSHM_REGION_MODE_KMOD) {
		fd = vshm_region_fd(strict);
		view = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, view);
		EXPECT_EQ(0x11, view[0]);
		EXPECT_EQ(SIGBUS, touch_in_child(view + 2 * PG, false, NULL));
		EXPECT_EQ(-1, pread(fd, &b, 1, 2 * PG));
		EXPECT_EQ(ENXIO, errno);
		munmap(view, NPAGES * PG);
	}
	vshm_region_destroy(strict);
}

/*
 * Proves VSHM_REGION_ZERO_HOLES: holes read zeros and take writes in the
 * view (mmap: private anonymous memory instead of PROT_NONE; kmod: its
 * default safe holes); a map shows the source, not what was written in the
 * hole; after the unmap the range is a zero hole again (mmap: one rw-p VMA
 * over the whole window, no gap); copies still stop at holes (ENXIO); and
 * STRICT_HOLES | ZERO_HOLES is EINVAL.
 */
TEST_F(region, zero_holes)
{
	struct vshm_region *z;
	uint8_t b, *view, *kview = NULL;

	REQUIRE_REGION();
	EXPECT_EQ(-EINVAL, vshm_region_create_flags(variant->type, NPAGES * PG, 8,
						    VSHM_REGION_STRICT_HOLES |
						    VSHM_REGION_ZERO_HOLES, &z));
	ASSERT_EQ(0, vshm_region_create_flags(variant->type, NPAGES * PG, 8,
					      VSHM_REGION_ZERO_HOLES, &z));
	view = vshm_region_addr(z);
	if (!view) {
		kview = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			     vshm_region_fd(z), 0);
		ASSERT_NE(MAP_FAILED, kview);
		view = kview;
	}
	EXPECT_EQ(0, touch_in_child(view + 2 * PG, false, NULL));
	EXPECT_EQ(0, touch_in_child(view + 2 * PG, true, NULL));
	EXPECT_EQ(0, view[2 * PG + 1]);
	view[2 * PG + 1] = 0x99;
	EXPECT_EQ(-ENXIO, vshm_region_read(z, 2 * PG, &b, 1));
	ASSERT_EQ(0, vshm_region_map(z, self->src, 0, 2 * PG, PG, VSHM_REGION_WRITE));
	EXPECT_EQ(0x11, view[2 * PG + 1]);
	ASSERT_EQ(0, vshm_region_unmap(z, 2 * PG, PG));
	EXPECT_EQ(0, touch_in_child(view + 2 * PG, true, NULL));
	if (variant->type == VSHM_REGION_MODE_MMAP) {
		EXPECT_EQ(0, view[2 * PG + 1]);
		EXPECT_TRUE(one_vma(view, NPAGES * PG, "rw-p"))
			TH_LOG("no single rw-p VMA over the region after unmap");
	}
	EXPECT_EQ(-ENXIO, vshm_region_read(z, 2 * PG, &b, 1));
	if (kview)
		munmap(kview, NPAGES * PG);
	vshm_region_destroy(z);
}

TEST_F(region, unmap_all)
{
	uint8_t b;

	REQUIRE_REGION();
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 0, PG, 0));
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, PG, 5 * PG, 3 * PG, 0));
	ASSERT_EQ(0, vshm_region_unmap_all(self->r));
	expect_state(_metadata, self->r, 0, 0);
	EXPECT_EQ(-ENXIO, vshm_region_read(self->r, 0, &b, 1));
	EXPECT_EQ(-ENXIO, vshm_region_read(self->r, 6 * PG, &b, 1));
	ASSERT_EQ(0, vshm_region_unmap_all(self->r));
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 0, PG, 0));
}

/* Proves malformed map and unmap arguments fail with EINVAL / EOVERFLOW and change nothing. */
TEST_F(region, invalid_ranges)
{
	REQUIRE_REGION();
	EXPECT_EQ(-EINVAL, vshm_region_map(self->r, self->src, 0, 100, PG, 0));
	EXPECT_EQ(-EINVAL, vshm_region_map(self->r, self->src, 0, 0, 100, 0));
	EXPECT_EQ(-EINVAL, vshm_region_map(self->r, self->src, 100, 0, PG, 0));
	EXPECT_EQ(-EINVAL, vshm_region_map(self->r, self->src, 0, 0, 0, 0));
	EXPECT_EQ(-EINVAL, vshm_region_map(self->r, self->src, 0, 0, PG, 0x80));
	EXPECT_EQ(-EOVERFLOW, vshm_region_map(self->r, self->src, 0, NPAGES * PG, PG, 0));
	EXPECT_EQ(-EOVERFLOW, vshm_region_map(self->r, self->src, 0, (NPAGES - 1) * PG, 2 * PG, 0));
	EXPECT_EQ(-EOVERFLOW, vshm_region_map(self->r, self->src, 0, PG, UINT64_MAX - PG + 1, 0));
	EXPECT_EQ(-EOVERFLOW, vshm_region_map(self->r, self->src, UINT64_MAX - PG + 1, 0, 2 * PG, 0));
	EXPECT_EQ(-EINVAL, vshm_region_unmap(self->r, 0, 0));
	EXPECT_EQ(-EINVAL, vshm_region_unmap(self->r, 7, PG));
	EXPECT_EQ(-EOVERFLOW, vshm_region_unmap(self->r, NPAGES * PG, PG));
	expect_state(_metadata, self->r, 0, 0);
	EXPECT_EQ(self->fds0, count_open_fds());
}

/* Proves bad sources fail cleanly: EBADF, ENODEV (pipe), EOVERFLOW past the source end, EACCES for writable maps of read-only or write-sealed fds. */
TEST_F(region, bad_sources)
{
	int pipefd[2], ro, sealed;
	char path[64];

	REQUIRE_REGION();
	EXPECT_EQ(-EBADF, vshm_region_map(self->r, -1, 0, 0, PG, 0));
	EXPECT_EQ(-EBADF, vshm_region_map(self->r, 1000, 0, 0, PG, 0));
	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
	EXPECT_EQ(-ENODEV, vshm_region_map(self->r, pipefd[0], 0, 0, PG, 0));
	close(pipefd[0]);
	close(pipefd[1]);
	EXPECT_EQ(-EOVERFLOW, vshm_region_map(self->r, self->src, 2 * PG, 0, 3 * PG, 0));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->src);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(ro, 0);
	EXPECT_EQ(-EACCES, vshm_region_map(self->r, ro, 0, 0, PG, VSHM_REGION_WRITE));
	EXPECT_EQ(0, vshm_region_map(self->r, ro, 0, 0, PG, 0));
	close(ro);
	sealed = memfd_filled(PG, 0);
	ASSERT_GE(sealed, 0);
	ASSERT_EQ(0, fcntl(sealed, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(-EACCES, vshm_region_map(self->r, sealed, 0, PG, PG, VSHM_REGION_WRITE));
	EXPECT_EQ(0, vshm_region_map(self->r, sealed, 0, PG, PG, 0));
	close(sealed);
	expect_state(_metadata, self->r, 2, 2 * PG);
	EXPECT_EQ(0, vshm_region_unmap_all(self->r));
	EXPECT_EQ(self->fds0, count_open_fds());
}

/* Proves the mapping limit gives ENOSPC, and a replace that frees room still succeeds. */
TEST_F(region, mapping_limit)
{
	unsigned int i;

	REQUIRE_REGION();
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 2 * i * PG, PG, 0));
	EXPECT_EQ(-ENOSPC, vshm_region_map(self->r, self->src, 0, PG, PG, 0));
	expect_state(_metadata, self->r, 8, 8 * PG);
	EXPECT_EQ(0, vshm_region_replace(self->r, self->src, 0, 0, 3 * PG, 0));
	expect_state(_metadata, self->r, 7, 3 * PG + 6 * PG);
	EXPECT_EQ(0, vshm_region_map(self->r, self->src, 0, 15 * PG, PG, 0));
	EXPECT_EQ(-ENOSPC, vshm_region_map(self->r, self->src, 0, 13 * PG, PG, 0));
}

/* Proves copies span adjacent mappings, stop short at a hole, fail with ENXIO when they start in one, and at or past the end read 0 bytes and fail to write with ENOSPC. */
TEST_F(region, copy_bounds)
{
	int other = memfd_filled(PG, 0x44);
	uint8_t buf[4 * PG];

	REQUIRE_REGION();
	ASSERT_GE(other, 0);
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 0, PG, VSHM_REGION_WRITE));
	ASSERT_EQ(0, vshm_region_map(self->r, other, 0, PG, PG, VSHM_REGION_WRITE));
	ASSERT_EQ(2 * PG, vshm_region_read(self->r, 0, buf, 2 * PG));
	EXPECT_EQ(0x11, buf[PG - 1]);
	EXPECT_EQ(0x44, buf[PG]);
	EXPECT_EQ(PG + 100, vshm_region_read(self->r, PG - 100, buf, 4 * PG));
	EXPECT_EQ(-ENXIO, vshm_region_read(self->r, 2 * PG, buf, 10));
	EXPECT_EQ(0, vshm_region_read(self->r, NPAGES * PG, buf, 10));
	EXPECT_EQ(0, vshm_region_read(self->r, UINT64_MAX - PG, buf, 10));
	EXPECT_EQ(-ENOSPC, vshm_region_write(self->r, NPAGES * PG, buf, 10));
	EXPECT_EQ(-ENOSPC, vshm_region_write(self->r, UINT64_MAX - PG, buf, 10));
	EXPECT_EQ(-ENXIO, vshm_region_write(self->r, 3 * PG, buf, 10));
	/* a write reaching a read-only mapping stops short there */
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 2 * PG, PG, 0));
	memset(buf, 0x66, sizeof(buf));
	EXPECT_EQ(PG, vshm_region_write(self->r, PG, buf, 2 * PG));
	close(other);
}

/* Proves the region keeps a mapped source alive after the caller closes its fd. */
TEST_F(region, source_outlives_fd)
{
	int fd = memfd_filled(PG, 0x77);
	uint8_t b;

	REQUIRE_REGION();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vshm_region_map(self->r, fd, 0, 0, PG, VSHM_REGION_WRITE));
	close(fd);
	ASSERT_EQ(1, vshm_region_read(self->r, 0, &b, 1));
	EXPECT_EQ(0x77, b);
	EXPECT_EQ(0, vshm_region_unmap_all(self->r));
	EXPECT_EQ(self->fds0, count_open_fds());
}

/*
 * Proves vshm_region_destroy() drops every mapping before it lets go: on
 * kmod another holder of the region fd (the VMM) then sees holes (safe by
 * default: zeros on access and on pread, no mappings in REGION_INFO), never
 * the old sources; on mmap every source fd the region held is closed.
 */
TEST_F(region, destroy_drops_mappings)
{
	struct vshm_region_info info = { 0 };
	uint8_t b, *view;
	int vmm, sig;

	REQUIRE_REGION();
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 0, 2 * PG, VSHM_REGION_WRITE));
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 4 * PG, PG, 0));
	if (variant->type == VSHM_REGION_MODE_MMAP) {
		vshm_region_destroy(self->r);
		self->r = NULL;
		EXPECT_EQ(self->fds0, count_open_fds());
		return;
	}
	vmm = fcntl(vshm_region_fd(self->r), F_DUPFD_CLOEXEC, 0);
	ASSERT_GE(vmm, 0);
	view = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, vmm, 0);
	ASSERT_NE(MAP_FAILED, view);
	EXPECT_EQ(0x11, view[PG]);
	vshm_region_destroy(self->r);
	self->r = NULL;
	sig = touch_in_child(view + PG, false, NULL);
	EXPECT_EQ(0, sig);
	sig = touch_in_child(view + 4 * PG, true, NULL);
	EXPECT_EQ(0, sig);
	EXPECT_EQ(0, view[PG]);
	EXPECT_EQ(0, view[4 * PG]);
	b = 0xff;
	EXPECT_EQ(1, pread(vmm, &b, 1, 0));
	EXPECT_EQ(0, b);
	ASSERT_EQ(0, ioctl(vmm, VSHM_IOC_REGION_INFO, &info));
	EXPECT_EQ(0, info.nr_mappings);
	EXPECT_EQ(0, info.mapped_bytes);
	munmap(view, NPAGES * PG);
	close(vmm);
}

/*
 * Proves a memfd truncated under live mappings never raises SIGBUS in the
 * copying process: kmod copies the old pages (or fails cleanly); mmap
 * copies stop short where the source ends, fail with EIO when nothing is
 * left, and a copy-in never grows the source back.
 */
TEST_F(region, truncated_source_copies_safely)
{
	int fd = memfd_filled(4 * PG, 0x55);
	uint8_t buf[2 * PG];
	struct stat st;
	ssize_t n;

	REQUIRE_REGION();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vshm_region_map(self->r, fd, 0, 0, 2 * PG, VSHM_REGION_WRITE));
	ASSERT_EQ(0, vshm_region_map(self->r, fd, 2 * PG, 4 * PG, 2 * PG, 0));
	ASSERT_EQ(0, ftruncate(fd, PG));
	n = vshm_region_read(self->r, 0, buf, 2 * PG);
	TH_LOG("%s: read across the new end: %zd", variant->name, n);
	if (variant->type == VSHM_REGION_MODE_MMAP) {
		EXPECT_EQ(PG, n);
		EXPECT_EQ(0x55, buf[PG - 1]);
		EXPECT_EQ(-EIO, vshm_region_read(self->r, 4 * PG, buf, 10));
		EXPECT_EQ(-EIO, vshm_region_write(self->r, PG + 8, "zz", 2));
		ASSERT_EQ(0, fstat(fd, &st));
		EXPECT_EQ(PG, st.st_size);
	} else {
		EXPECT_TRUE(n == 2 * PG || n == PG || n < 0);
		n = vshm_region_read(self->r, 4 * PG, buf, 10);
		EXPECT_TRUE(n == 10 || n < 0);
		n = vshm_region_write(self->r, PG + 8, "zz", 2);
		EXPECT_TRUE(n == 2 || n < 0);
	}
	/* the part still inside the source works both ways */
	ASSERT_EQ(2, vshm_region_write(self->r, 8, "ab", 2));
	ASSERT_EQ(2, pread(fd, buf, 2, 8));
	EXPECT_EQ(0, memcmp(buf, "ab", 2));
	ASSERT_EQ(2, vshm_region_read(self->r, 8, buf, 2));
	EXPECT_EQ(0, memcmp(buf, "ab", 2));
	close(fd);
}

/*
 * Proves (mmap) each mapping holds exactly one source fd, released by
 * unmap, replace and unmap-all; and that copy-in uses the region's own
 * open file description, so the peer setting O_APPEND on its fd cannot
 * redirect a write.
 */
TEST_F(region, mmap_source_handles)
{
	int fd = memfd_filled(4 * PG, 0x22);
	uint8_t b;
	struct stat st;

	REQUIRE_REGION();
	if (variant->type != VSHM_REGION_MODE_MMAP)
		SKIP(return, "the module holds file references, not fds");
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vshm_region_map(self->r, fd, 0, 0, PG, VSHM_REGION_WRITE));
	ASSERT_EQ(0, vshm_region_map(self->r, fd, PG, PG, PG, 0));
	EXPECT_EQ(self->fds0 + 1 + 2, count_open_fds());
	ASSERT_EQ(0, vshm_region_replace(self->r, fd, 0, 0, 2 * PG, VSHM_REGION_WRITE));
	EXPECT_EQ(self->fds0 + 1 + 1, count_open_fds());
	ASSERT_EQ(0, fcntl(fd, F_SETFL, O_APPEND));
	ASSERT_EQ(1, vshm_region_write(self->r, PG + 3, "q", 1));
	ASSERT_EQ(1, pread(fd, &b, 1, PG + 3));
	EXPECT_EQ('q', b);
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(4 * PG, st.st_size);
	ASSERT_EQ(0, vshm_region_unmap(self->r, 0, 2 * PG));
	EXPECT_EQ(self->fds0 + 1, count_open_fds());
	close(fd);
}

/* Proves the counters: maps, unmaps, copied bytes; and the mapping list is sorted. */
TEST_F(region, counters_and_listing)
{
	struct vshm_region_stats st;
	struct vshm_mapping_entry m[8], one;
	uint8_t buf[100];

	REQUIRE_REGION();
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 10 * PG, PG, 0));
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, PG, 2 * PG, 2 * PG, VSHM_REGION_WRITE));
	ASSERT_EQ(100, vshm_region_read(self->r, 2 * PG, buf, 100));
	ASSERT_EQ(100, vshm_region_write(self->r, 2 * PG, buf, 100));
	ASSERT_EQ(0, vshm_region_unmap(self->r, 10 * PG, PG));
	ASSERT_EQ(0, vshm_region_info(self->r, &st));
	EXPECT_EQ(2, st.maps);
	EXPECT_EQ(1, st.unmaps);
	EXPECT_EQ(100, st.copied_in);
	EXPECT_EQ(100, st.copied_out);
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 0, PG, 0));
	ASSERT_EQ(2, vshm_region_mappings(self->r, 0, m, 8));
	EXPECT_EQ(0, m[0].shm_offset);
	EXPECT_EQ(2 * PG, m[1].shm_offset);
	EXPECT_EQ(PG, m[1].fd_offset);
	ASSERT_EQ(0, vshm_region_lookup(self->r, 3 * PG + 5, &one));
	EXPECT_EQ(2 * PG, one.shm_offset);
	EXPECT_EQ(-ENOENT, vshm_region_lookup(self->r, 5 * PG, &one));
}

/* Proves (mmap) an unmapped range is a PROT_NONE reservation again, never a hole where mmap(NULL) could land. */
TEST_F(region, mmap_reserves_prot_none)
{
	uint8_t *base;

	REQUIRE_REGION();
	if (variant->type != VSHM_REGION_MODE_MMAP)
		SKIP(return, "kmod regions are one VMA that the module manages");
	base = vshm_region_addr(self->r);
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 4 * PG, PG, 0));
	ASSERT_EQ(0, vshm_region_unmap(self->r, 4 * PG, PG));
	EXPECT_TRUE(one_vma(base, NPAGES * PG, "---p"))
		TH_LOG("no single PROT_NONE VMA over the region after unmap");
}

static int write_max_map_count(unsigned long value)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "w");
	int ret;

	if (!f)
		return -errno;
	ret = fprintf(f, "%lu\n", value) < 0 ? -EIO : 0;
	if (fclose(f))
		ret = -errno;
	return ret;
}

/* Proves (mmap) running out of vm.max_map_count (or of fds) fails with ENOMEM, ENOSPC or EMFILE, never a crash, and the region stays usable. */
TEST_F(region, mmap_max_map_count)
{
	struct vshm_region *big;
	struct rlimit nofile;
	unsigned long max = 65530, lowered = 0;
	uint64_t n, i, ok = 0;
	int ret = 0;
	FILE *f;

	REQUIRE_REGION();
	if (variant->type != VSHM_REGION_MODE_MMAP)
		SKIP(return, "kmod regions use one VMA whatever the number of mappings");
	f = fopen("/proc/sys/vm/max_map_count", "r");
	if (f) {
		if (fscanf(f, "%lu", &max) != 1)
			max = 65530;
		fclose(f);
	}
	if (max > 1000000)
		SKIP(return, "vm.max_map_count is %lu, too large to exhaust here", max);
	/*
	 * Under TCG every mmap() costs ~1 ms: in the test VM (never on the
	 * host, where other programs share the limit) lower the limit so the
	 * test exhausts it in seconds, and put it back afterwards.
	 */
	if (getenv("VSHM_IN_VM") && max > 4096 && write_max_map_count(4096) == 0) {
		lowered = max;
		max = 4096;
	}
	n = max / 2 + 64;
	/* each mapping also holds a source fd: make room for them */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < n + 256 &&
	    nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max < n + 256 ? nofile.rlim_max : n + 256;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	ASSERT_EQ(0, vshm_region_create(VSHM_REGION_MODE_MMAP, 2 * n * PG, n, &big));
	for (i = 0; i < n; i++) {
		ret = vshm_region_map(big, self->src, 0, 2 * i * PG, PG, 0);
		if (ret)
			break;
		ok++;
	}
	/* give the VMAs back before anything else needs one */
	EXPECT_EQ(0, vshm_region_unmap_all(big));
	if (lowered)
		EXPECT_EQ(0, write_max_map_count(lowered));
	/* EMFILE only if RLIMIT_NOFILE could not be raised far enough */
	EXPECT_TRUE(ret == -ENOMEM || ret == -ENOSPC || ret == -EMFILE)
		TH_LOG("mapping %lu failed with %d", (unsigned long)ok, ret);
	EXPECT_GT(ok, 1000);
	TH_LOG("%lu mappings before %s", (unsigned long)ok, vshm_strerror(ret));
	expect_state(_metadata, big, 0, 0);
	EXPECT_EQ(0, vshm_region_map(big, self->src, 0, 0, PG, 0));
	vshm_region_destroy(big);
}

/*
 * Proves the table region mode (vshmd --region-mode vmm) keeps the module's rules
 * without mapping anything: no window, overlaps refused, copies reach the
 * source through its own duplicate (also after the caller closed its fd),
 * a read-only mapping refuses copy-in, unmap makes the range a hole
 * (ENXIO), and every duplicate is closed again.
 */
TEST(table_mode_copies_without_window)
{
	struct vshm_region *r;
	uint8_t buf[8], *src_view;
	int src = memfd_filled(4 * PG, 0x11), dup_src, fds0;

	ASSERT_GE(src, 0);
	fds0 = count_open_fds();
	ASSERT_EQ(0, vshm_region_create(VSHM_REGION_MODE_TABLE, NPAGES * PG, 8, &r));
	EXPECT_EQ(NULL, vshm_region_addr(r));
	EXPECT_GT(0, vshm_region_fd(r));
	EXPECT_EQ(VSHM_REGION_MODE_TABLE, vshm_region_mode(r));
	dup_src = dup(src);
	ASSERT_EQ(0, vshm_region_map(r, dup_src, PG, 2 * PG, 2 * PG,
				     VSHM_REGION_WRITE));
	close(dup_src);
	EXPECT_EQ(-EEXIST, vshm_region_map(r, src, 0, 3 * PG, PG, 0));
	ASSERT_EQ(0, vshm_region_map(r, src, 0, 8 * PG, PG, 0));
	ASSERT_EQ(8, vshm_region_read(r, 2 * PG + 4, buf, 8));
	EXPECT_EQ(0x11, buf[0]);
	memset(buf, 0x22, sizeof(buf));
	ASSERT_EQ(8, vshm_region_write(r, 3 * PG, buf, 8));
	src_view = mmap(NULL, 4 * PG, PROT_READ, MAP_SHARED, src, 0);
	ASSERT_NE(MAP_FAILED, src_view);
	EXPECT_EQ(0x22, src_view[2 * PG]);
	EXPECT_EQ(0x11, src_view[2 * PG + 8]);
	munmap(src_view, 4 * PG);
	EXPECT_EQ(-EACCES, vshm_region_write(r, 8 * PG, buf, 8));
	EXPECT_EQ(-ENXIO, vshm_region_read(r, 0, buf, 8));
	ASSERT_EQ(0, vshm_region_unmap(r, 2 * PG, 2 * PG));
	EXPECT_EQ(-ENXIO, vshm_region_read(r, 2 * PG, buf, 8));
	ASSERT_EQ(0, vshm_region_unmap_all(r));
	vshm_region_destroy(r);
	EXPECT_EQ(fds0, count_open_fds());
	close(src);
}

/*
 * vshm_kmod_list_mappings() reports what the module holds: the library's
 * own table, plus each source's kind, st_dev and st_ino; the cursor pages
 * through; a listing longer than the library's 64-entry batches is whole.
 */
TEST_F(region, kmod_list_mappings)
{
	struct vshm_kmod_mapping km[8];
	struct vshm_mapping_entry tab[8];
	struct vshm_region *big;
	struct vshm_kmod_mapping *all;
	uint64_t cursor = 0;
	struct stat st;
	ssize_t n, i;

	REQUIRE_REGION();
	if (variant->type != VSHM_REGION_MODE_KMOD)
		SKIP(return, "only kmod regions have a module to ask");
	ASSERT_EQ(0, fstat(self->src, &st));
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 0, 0, PG, VSHM_REGION_WRITE));
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, 2 * PG, 4 * PG, 2 * PG, 0));
	ASSERT_EQ(0, vshm_region_map(self->r, self->src, PG, 9 * PG, PG, 0));
	ASSERT_EQ(3, vshm_region_mappings(self->r, 0, tab, 8));

	ASSERT_EQ(2, vshm_kmod_list_mappings(vshm_region_fd(self->r), &cursor, km, 2));
	EXPECT_EQ(6 * PG, cursor);
	ASSERT_EQ(1, vshm_kmod_list_mappings(vshm_region_fd(self->r), &cursor, km + 2, 6));
	EXPECT_EQ(10 * PG, cursor);
	EXPECT_EQ(0, vshm_kmod_list_mappings(vshm_region_fd(self->r), &cursor, km + 3, 5));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(tab[i].shm_offset, km[i].shm_offset);
		EXPECT_EQ(tab[i].len, km[i].len);
		EXPECT_EQ(tab[i].fd_offset, km[i].fd_offset);
		EXPECT_EQ(tab[i].flags, km[i].flags);
		EXPECT_EQ(VSHM_KMOD_SOURCE_SHMEM, km[i].source_kind);
		EXPECT_EQ((uint64_t)st.st_dev, km[i].source_dev);
		EXPECT_EQ((uint64_t)st.st_ino, km[i].source_ino);
	}

	cursor = 0;
	EXPECT_EQ(-EINVAL, vshm_kmod_list_mappings(vshm_region_fd(self->r), NULL, km, 1));
	EXPECT_EQ(-EINVAL, vshm_kmod_list_mappings(vshm_region_fd(self->r), &cursor, NULL, 1));
	EXPECT_EQ(0, vshm_kmod_list_mappings(vshm_region_fd(self->r), &cursor, NULL, 0));
	EXPECT_EQ(-ENOTTY, vshm_kmod_list_mappings(self->src, &cursor, km, 1));
	EXPECT_EQ(-EBADF, vshm_kmod_list_mappings(-1, &cursor, km, 1));
	EXPECT_EQ(0, cursor);

	/* 100 mappings in one call: two of the library's batches. */
	ASSERT_EQ(0, vshm_region_create(VSHM_REGION_MODE_KMOD, 200 * PG, 100, &big));
	for (i = 0; i < 100; i++)
		ASSERT_EQ(0, vshm_region_map(big, self->src, (i % 4) * PG, 2 * i * PG, PG, 0));
	all = calloc(1000, sizeof(*all));
	ASSERT_NE(NULL, all);
	cursor = 0;
	n = vshm_kmod_list_mappings(vshm_region_fd(big), &cursor, all, 1000);
	EXPECT_EQ(100, n);
	EXPECT_EQ(199 * PG, cursor);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(2 * i * PG, all[i].shm_offset);
		EXPECT_EQ((i % 4) * PG, all[i].fd_offset);
	}
	free(all);
	vshm_region_destroy(big);
}

TEST_HARNESS_MAIN
