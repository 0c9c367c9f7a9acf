// SPDX-License-Identifier: GPL-2.0
/*
 * VSHM_MAP_POPULATE: a MAP with it enters the mapping's pages into every
 * mmap of the region that exists at the time, in this process and in
 * others, so that touching them takes no fault (the region's fault counter
 * does not move) and shows the source; without it the same touch faults.
 * Read-only mappings get read-only entries (a store still raises SIGBUS),
 * writable ones writable entries (a store takes no fault).  mmaps made
 * after the MAP fault as usual.  It works over a replaced mapping, over
 * safe holes whose zero page was mapped, over parts of the range that
 * an mmap covers, and with a dma-buf source.  A MAP that fails (a bad flag
 * beside it, an overlap) populates nothing and changes nothing.
 *
 * Runs in the VM with vshm.ko loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vgem_util.h"
#include "vshm_test.h"

#define P		VT_PAGE
#define NPAGES		64
#define LEN		(NPAGES * P)
#define SEED_A		1
#define SEED_B		2

/* The region's fault counter. */
static uint64_t faults_of(int region)
{
	struct vshm_region_info info;

	if (vt_info(region, &info))
		return UINT64_MAX;
	return info.faults;
}

/*
 * Whether a first touch of all NPAGES pages took the faults it takes
 * without populate: one per aligned 64 KiB fault-around window it meets,
 * 4 or 5 as the mmap's address falls.
 */
static bool faulted_as_usual(uint64_t before, uint64_t after)
{
	return after >= before + NPAGES / 16 && after <= before + NPAGES / 16 + 1;
}

/* Read one byte of every page of @len bytes at @p; 0 or the signal. */
static int touch_all(const uint8_t *p, size_t len)
{
	uint8_t c;
	size_t off;
	int sig;

	for (off = 0; off < len; off += P) {
		sig = vt_peek(p + off, &c);
		if (sig)
			return sig;
	}
	return 0;
}

/* A strict region of 64 pages, mmapped read-write before any MAP. */
FIXTURE(populate) {
	int region;
	int a, b;
	uint8_t *map;
};

FIXTURE_SETUP(populate)
{
	VT_REQUIRE_DEVICE();
	vt_install_fault_handler();
	self->region = -1;
	self->map = NULL;
	self->a = vt_memfd(LEN, SEED_A, 0);
	ASSERT_LE(0, self->a);
	self->b = vt_memfd(LEN, SEED_B, 0);
	ASSERT_LE(0, self->b);
	self->region = vt_create_region(LEN, 0);
	ASSERT_LE(0, self->region);
	self->map = vt_mmap(self->region, LEN, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, self->map);
}

FIXTURE_TEARDOWN(populate)
{
	vt_drop_region(&self->region, &self->map, LEN);
	close(self->a);
	close(self->b);
}

/*
 * The control: without the flag, the first touch of 64 pages faults (a
 * fault per 16 pages, with fault-around).  The tests below would
 * see the same without a working VSHM_MAP_POPULATE.
 */
TEST_F(populate, without_flag_first_touch_faults)
{
	uint64_t before;

	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, LEN));
	before = faults_of(self->region);
	ASSERT_EQ(0, touch_all(self->map, LEN));
	EXPECT_TRUE(faulted_as_usual(before, faults_of(self->region)));
}

/* After MAP|POPULATE the whole range reads the source without a fault. */
TEST_F(populate, first_touch_takes_no_fault)
{
	static uint8_t buf[LEN];
	uint64_t before;

	before = faults_of(self->region);
	ASSERT_EQ(0, vt_map(self->region, self->a,
			    VSHM_MAP_WRITE | VSHM_MAP_POPULATE, 0, 0, LEN));
	ASSERT_EQ(0, vt_copy(buf, self->map, LEN));
	EXPECT_EQ(-1, vt_check(buf, LEN, SEED_A, 0));
	EXPECT_EQ(before, faults_of(self->region));
}

/*
 * A writable mapping in a writable mmap gets writable entries: a store
 * takes no fault either, and reaches the source.
 */
TEST_F(populate, writable_entries_take_stores)
{
	uint64_t before;
	uint8_t c;

	ASSERT_EQ(0, vt_map(self->region, self->a,
			    VSHM_MAP_WRITE | VSHM_MAP_POPULATE, 0, 0, LEN));
	before = faults_of(self->region);
	ASSERT_EQ(0, vt_poke(self->map + 5 * P + 3, 0x77));
	EXPECT_EQ(before, faults_of(self->region));
	ASSERT_EQ(1, pread(self->a, &c, 1, 5 * P + 3));
	EXPECT_EQ(0x77, c);
}

/*
 * A read-only mapping gets read-only entries: reads take no fault, a
 * store raises SIGBUS and leaves the source as it was.
 */
TEST_F(populate, readonly_entries_refuse_stores)
{
	uint64_t before;
	uint8_t c;

	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_POPULATE, 0, 0, LEN));
	before = faults_of(self->region);
	ASSERT_EQ(0, touch_all(self->map, LEN));
	EXPECT_EQ(before, faults_of(self->region));
	EXPECT_EQ(SIGBUS, vt_poke(self->map + 7 * P, 0x77));
	ASSERT_EQ(1, pread(self->a, &c, 1, 7 * P));
	EXPECT_EQ(vt_byte(SEED_A, 7 * P), c);
}

/*
 * Another process's mmap is populated too, as the VMM's is when the
 * broker maps: the child mmaps the region, the parent maps with the flag,
 * and the child's first touch takes no fault.
 */
TEST_F(populate, other_process_mmap_is_populated)
{
	int ready[2], go[2], status;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		uint8_t *view = vt_mmap(self->region, LEN, PROT_READ, 0);
		static uint8_t buf[LEN];
		uint64_t before;

		if (!view || write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		before = faults_of(self->region);
		if (vt_copy(buf, view, LEN) || vt_check(buf, LEN, SEED_A, 0) != -1)
			_exit(3);
		_exit(faults_of(self->region) == before ? 0 : 4);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	/* This process's own mmap is populated as well. */
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_POPULATE, 0, 0, LEN));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("child: 2 setup, 3 wrong data or SIGBUS, 4 it faulted");
	}
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/* An mmap made after the MAP is not populated: it faults as usual. */
TEST_F(populate, later_mmap_faults)
{
	uint8_t *late;
	uint64_t before;

	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_POPULATE, 0, 0, LEN));
	late = vt_mmap(self->region, LEN, PROT_READ, 0);
	ASSERT_NE(NULL, late);
	before = faults_of(self->region);
	EXPECT_EQ(0, touch_all(late, LEN));
	EXPECT_TRUE(faulted_as_usual(before, faults_of(self->region)));
	munmap(late, LEN);
}

/*
 * mmaps that cover part of the range (one at an offset, one split in
 * two by mprotect) get exactly their part; no fault anywhere afterwards.
 */
TEST_F(populate, partial_and_split_vmas)
{
	uint8_t *part, buf[P];
	uint64_t before;

	part = vt_mmap(self->region, 8 * P, PROT_READ, 40 * P);
	ASSERT_NE(NULL, part);
	ASSERT_EQ(0, mprotect(self->map + 16 * P, 16 * P, PROT_READ));
	ASSERT_EQ(0, vt_map(self->region, self->a,
			    VSHM_MAP_WRITE | VSHM_MAP_POPULATE, 0, 0, LEN));
	before = faults_of(self->region);
	EXPECT_EQ(0, touch_all(self->map, LEN));
	EXPECT_EQ(0, touch_all(part, 8 * P));
	EXPECT_EQ(before, faults_of(self->region));
	ASSERT_EQ(0, vt_copy(buf, part + 3 * P, P));
	EXPECT_EQ(-1, vt_check(buf, P, SEED_A, 43 * P));
	/* The read-only part of the split mmap refuses stores. */
	EXPECT_EQ(0, vt_poke(self->map + 3 * P, 1));
	EXPECT_EQ(SIGSEGV, vt_poke(self->map + 20 * P, 1));
	munmap(part, 8 * P);
}

/*
 * REPLACE with POPULATE: the old pages, faulted in, give way to the new
 * mapping's, which are entered at once.
 */
TEST_F(populate, replace_populates_new_pages)
{
	static uint8_t buf[LEN];
	uint64_t before;

	ASSERT_EQ(0, vt_map(self->region, self->a, 0, 0, 0, LEN));
	ASSERT_EQ(0, touch_all(self->map, LEN));
	ASSERT_EQ(0, vt_map(self->region, self->b,
			    VSHM_MAP_REPLACE | VSHM_MAP_POPULATE, 0, 0, LEN));
	before = faults_of(self->region);
	ASSERT_EQ(0, vt_copy(buf, self->map, LEN));
	EXPECT_EQ(-1, vt_check(buf, LEN, SEED_B, 0));
	EXPECT_EQ(before, faults_of(self->region));
}

/*
 * A MAP that fails populates nothing: an unknown flag beside POPULATE is
 * EINVAL, an overlap EEXIST, and the range still faults (or is a hole).
 */
TEST_F(populate, failed_map_populates_nothing)
{
	uint64_t before;
	uint8_t c;

	EXPECT_EQ(-EINVAL, vt_map(self->region, self->a,
				  VSHM_MAP_POPULATE | (1U << 3), 0, 0, LEN));
	EXPECT_EQ(-EINVAL, vt_map(self->region, self->a, VSHM_MAP_POPULATE,
				  1, 0, LEN));
	EXPECT_EQ(SIGBUS, vt_peek(self->map, &c));
	ASSERT_EQ(0, vt_map(self->region, self->a, 0, 0, 0, 16 * P));
	EXPECT_EQ(-EEXIST, vt_map(self->region, self->b, VSHM_MAP_POPULATE,
				  0, 0, LEN));
	before = faults_of(self->region);
	EXPECT_EQ(0, vt_peek(self->map, &c));
	EXPECT_EQ(vt_byte(SEED_A, 0), c);
	EXPECT_EQ(before + 1, faults_of(self->region));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 16 * P, &c));
}

/* A region nobody has mmapped: POPULATE has nothing to do and succeeds. */
TEST_F(populate, no_mmap_is_fine)
{
	int region = vt_create_region(LEN, 0);
	uint8_t c;

	ASSERT_LE(0, region);
	EXPECT_EQ(0, vt_map(region, self->a, VSHM_MAP_POPULATE, 0, 0, LEN));
	EXPECT_EQ(1, pread(region, &c, 1, 9 * P));
	EXPECT_EQ(vt_byte(SEED_A, 9 * P), c);
	close(region);
}

/*
 * Safe holes: a hole whose zero page was mapped by a read shows the
 * source after MAP|POPULATE, without a fault; the rest stays a hole.
 */
TEST(populate_over_safe_hole)
{
	uint8_t *map, c;
	uint64_t before;
	int region, a;

	VT_REQUIRE_DEVICE();
	vt_install_fault_handler();
	a = vt_memfd(LEN, SEED_A, 0);
	ASSERT_LE(0, a);
	region = vt_create_region_flags(2 * LEN, VSHM_REGION_SAFE_HOLES);
	ASSERT_LE(0, region);
	map = vt_mmap(region, 2 * LEN, PROT_READ, 0);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, touch_all(map, 2 * LEN));
	EXPECT_EQ(0, map[LEN - 1]);
	ASSERT_EQ(0, vt_map(region, a, VSHM_MAP_POPULATE, 0, 0, LEN));
	before = faults_of(region);
	EXPECT_EQ(0, vt_peek(map + 33 * P + 5, &c));
	EXPECT_EQ(vt_byte(SEED_A, 33 * P + 5), c);
	EXPECT_EQ(0, touch_all(map, LEN));
	EXPECT_EQ(before, faults_of(region));
	EXPECT_EQ(0, map[LEN + 5]);
	munmap(map, 2 * LEN);
	close(region);
	close(a);
}

/* A dma-buf (vgem) source is populated the same way. */
TEST(populate_dmabuf)
{
	uint8_t *map, *buf;
	uint64_t before;
	int drm, dmabuf, region;

	VT_REQUIRE_DEVICE();
	vt_install_fault_handler();
	drm = vgem_open();
	if (drm < 0)
		SKIP(return, "no vgem device (the VM loads it with --with-vgem)");
	dmabuf = vgem_dmabuf(drm, LEN, true);
	ASSERT_LE(0, dmabuf);
	buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf, 0);
	ASSERT_NE(MAP_FAILED, buf);
	vt_fill(buf, LEN, SEED_B, 0);
	region = vt_create_region(LEN, 0);
	ASSERT_LE(0, region);
	map = vt_mmap(region, LEN, PROT_READ, 0);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, vt_map(region, dmabuf, VSHM_MAP_POPULATE, 0, 0, LEN));
	before = faults_of(region);
	EXPECT_EQ(0, touch_all(map, LEN));
	EXPECT_EQ(-1, vt_check(map, LEN, SEED_B, 0));
	EXPECT_EQ(before, faults_of(region));
	munmap(map, LEN);
	close(region);
	munmap(buf, LEN);
	close(dmabuf);
	close(drm);
}

TEST_HARNESS_MAIN
