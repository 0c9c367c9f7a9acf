// SPDX-License-Identifier: GPL-2.0
/*
 * Object lifetimes: a memfd truncated, hole-punched or closed while it is
 * mapped in a region, and a region fd closed while its mmap lives.  The
 * region never exposes freed memory (a mapping keeps the pages it pinned
 * at MAP, whatever happens to the file), keeps working, unmaps cleanly, and
 * gives every page, mapping and region back (debugfs totals return to
 * where they started; a memfd can be write-sealed again).
 *
 * Runs in the VM with vshm.ko loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vshm_test.h"

#define P		VT_PAGE
#define NPAGES		16
#define SEED_A		1
#define SEED_W		9

struct totals {
	uint64_t regions, mappings, mapped_bytes, pages_held;
};

static int read_totals(struct totals *t)
{
	return vt_stat("regions", &t->regions) ?:
	       vt_stat("mappings", &t->mappings) ?:
	       vt_stat("mapped_bytes", &t->mapped_bytes) ?:
	       vt_stat("pages_held", &t->pages_held);
}

/* Region of 16 pages with memfd A (8 pages) read-write at pages 0-7. */
FIXTURE(life) {
	struct totals base;
	int region;
	int a;
	uint8_t *map;
};

FIXTURE_SETUP(life)
{
	VT_REQUIRE_DEVICE();
	vt_install_fault_handler();
	self->region = -1;
	self->a = -1;
	ASSERT_EQ(0, read_totals(&self->base)) {
		TH_LOG("cannot read %s", VT_STATS_PATH);
	}
	self->a = vt_memfd(8 * P, SEED_A, 0);
	ASSERT_LE(0, self->a);
	self->region = vt_create_region(NPAGES * P, 0);
	ASSERT_LE(0, self->region);
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, 8 * P));
	self->map = vt_mmap(self->region, NPAGES * P, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, self->map);
}

FIXTURE_TEARDOWN(life)
{
	vt_drop_region(&self->region, &self->map, NPAGES * P);
	if (self->a >= 0)
		close(self->a);
}

/* Everything is closed: the debugfs totals are back to the baseline. */
static void expect_released(struct __test_metadata *_metadata,
			    FIXTURE_DATA(life) *self)
{
	struct totals now;

	ASSERT_EQ(0, read_totals(&now));
	EXPECT_EQ(self->base.regions, now.regions);
	EXPECT_EQ(self->base.mappings, now.mappings);
	EXPECT_EQ(self->base.mapped_bytes, now.mapped_bytes);
	EXPECT_EQ(self->base.pages_held, now.pages_held);
}

/*
 * The truncation rule: a mapping owns the source pages it pinned at MAP
 * until UNMAP.  After ftruncate(0) of a mapped memfd (none of whose pages
 * the region had touched), every page of the mapping still shows its old
 * data through the region's mmap and pread, and takes writes through the
 * mmap and pwrite (not shmem's EINVAL of a page past the end); the memfd
 * no longer sees those pages (it reads as empty).  UNMAP is
 * clean, the truncated memfd can no longer be mapped at that offset
 * (EOVERFLOW), and once extended again it maps with its new (zero)
 * content, not the pages the old mapping held.
 */
TEST_F(life, truncate_while_mapped)
{
	static uint8_t buf[8 * P];
	struct vshm_region_info info;
	int i, sig;
	uint64_t w;

	/* Nothing touched yet: a lazy mapping would have nothing to keep. */
	ASSERT_EQ(0, ftruncate(self->a, 0));

	for (i = 0; i < 8; i++) {
		sig = vt_peek64(self->map + i * P + 64, &w);
		EXPECT_EQ(0, sig) {
			TH_LOG("page %d: signal %d after truncate", i, sig);
		}
		if (!sig) {
			EXPECT_EQ(vt_word(SEED_A, i * P + 64), w) {
				TH_LOG("page %d shows %#" PRIx64, i, w);
			}
		}
	}
	EXPECT_EQ(0, vt_poke(self->map + 2 * P + 1, 0x33));
	EXPECT_EQ(0, vt_poke(self->map + 7 * P + 1, 0x34));
	ASSERT_EQ((ssize_t)(8 * P), pread(self->region, buf, 8 * P, 0));
	EXPECT_EQ(-1, vt_check(buf, P, SEED_A, 0));
	EXPECT_EQ(0x33, buf[2 * P + 1]);
	EXPECT_EQ(0x34, buf[7 * P + 1]);
	vt_fill(buf, P, SEED_W, 0);
	ASSERT_EQ((ssize_t)P, pwrite(self->region, buf, P, 5 * P));
	ASSERT_EQ(0, vt_copy(buf, self->map + 5 * P, P));
	EXPECT_EQ(-1, vt_check(buf, P, SEED_W, 0));
	EXPECT_EQ(0, pread(self->a, buf, P, 0));

	ASSERT_EQ(0, vt_unmap(self->region, 0, 8 * P));
	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(0, info.nr_mappings);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(SIGBUS, vt_peek64(self->map + i * P, &w));
	EXPECT_EQ(-EOVERFLOW, vt_map(self->region, self->a, 0, 0, 0, P));

	ASSERT_EQ(0, ftruncate(self->a, 8 * P));
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, 8 * P));
	ASSERT_EQ(0, vt_copy(buf, self->map, 8 * P));
	EXPECT_EQ(-1, vt_check_byte(buf, 8 * P, 0));

	vt_drop_region(&self->region, &self->map, NPAGES * P);
	close(self->a);
	self->a = -1;
	expect_released(_metadata, self);
}

/*
 * The truncation rule for a hole punched into a mapped memfd: the mapping
 * keeps its pinned pages (none touched before) with their old data, and writes
 * to them do not reach the memfd, which reads zeros there.  After a fresh
 * UNMAP + MAP the region shows the source's current content: zeros.
 */
TEST_F(life, punch_hole_while_mapped)
{
	static uint8_t buf[P];
	int i, sig;
	uint64_t w;

	ASSERT_EQ(0, fallocate(self->a, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       0, 4 * P));
	for (i = 0; i < 4; i++) {
		sig = vt_peek64(self->map + i * P + 8, &w);
		EXPECT_EQ(0, sig);
		if (!sig) {
			EXPECT_EQ(vt_word(SEED_A, i * P + 8), w) {
				TH_LOG("page %d shows %#" PRIx64, i, w);
			}
		}
	}
	EXPECT_EQ(0, vt_poke(self->map + 3 * P + 5, 0x77));
	vt_fill(buf, P, SEED_W, 0);
	ASSERT_EQ((ssize_t)P, pwrite(self->region, buf, P, P));
	ASSERT_EQ((ssize_t)P, pread(self->a, buf, P, 3 * P));
	EXPECT_EQ(-1, vt_check_byte(buf, P, 0));
	ASSERT_EQ((ssize_t)P, pread(self->a, buf, P, P));
	EXPECT_EQ(-1, vt_check_byte(buf, P, 0));

	ASSERT_EQ(0, vt_unmap(self->region, 0, 8 * P));
	ASSERT_EQ(0, vt_map(self->region, self->a, 0, 0, 0, 8 * P));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, vt_copy(buf, self->map + i * P, P));
		EXPECT_EQ(-1, vt_check_byte(buf, P, 0)) {
			TH_LOG("page %d not the punched source", i);
		}
	}
	ASSERT_EQ(0, vt_copy(buf, self->map + 5 * P, P));
	EXPECT_EQ(-1, vt_check(buf, P, SEED_A, 5 * P));
}

/*
 * Closing the memfd (its only fd) while it is mapped: the mapping keeps
 * working through the mmap (faulted and unfaulted pages, reads and
 * writes) and the copy path; UNMAP then releases the source.
 */
TEST_F(life, close_memfd_while_mapped)
{
	static uint8_t buf[8 * P];
	uint64_t w;
	int i;

	ASSERT_EQ(0, vt_peek64(self->map, &w));
	close(self->a);
	self->a = -1;

	ASSERT_EQ(0, vt_copy(buf, self->map, 8 * P));
	EXPECT_EQ(-1, vt_check(buf, 8 * P, SEED_A, 0));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(0, vt_poke(self->map + i * P + 3, 0x40 + i));
	ASSERT_EQ((ssize_t)(8 * P), pread(self->region, buf, 8 * P, 0));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(0x40 + i, buf[i * P + 3]);
	vt_fill(buf, P, SEED_W, 0);
	ASSERT_EQ((ssize_t)P, pwrite(self->region, buf, P, 6 * P));
	ASSERT_EQ(0, vt_copy(buf, self->map + 6 * P, P));
	EXPECT_EQ(-1, vt_check(buf, P, SEED_W, 0));

	ASSERT_EQ(0, vt_unmap(self->region, 0, 8 * P));
	EXPECT_EQ(SIGBUS, vt_peek64(self->map, &w));
	vt_drop_region(&self->region, &self->map, NPAGES * P);
	expect_released(_metadata, self);
}

/*
 * Closing the region fd while its mmap lives: the mmap keeps working
 * (faulted and unfaulted pages, writes reach the memfd, holes SIGBUS);
 * the region and its mapping are released at munmap, and with them the
 * memfd's writable mapping (F_SEAL_WRITE can be added again).
 */
TEST_F(life, close_region_while_mmaped)
{
	static uint8_t buf[8 * P];
	struct totals mid;
	uint8_t c;
	uint64_t w;

	ASSERT_EQ(0, vt_peek64(self->map + P, &w));
	close(self->region);
	self->region = -1;

	ASSERT_EQ(0, read_totals(&mid));
	EXPECT_EQ(self->base.regions + 1, mid.regions);
	EXPECT_EQ(self->base.mappings + 1, mid.mappings);

	ASSERT_EQ(0, vt_copy(buf, self->map, 8 * P));
	EXPECT_EQ(-1, vt_check(buf, 8 * P, SEED_A, 0));
	EXPECT_EQ(0, vt_poke(self->map + 5 * P + 9, 0x5c));
	ASSERT_EQ(1, pread(self->a, &c, 1, 5 * P + 9));
	EXPECT_EQ(0x5c, c);
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 9 * P, &c));
	EXPECT_EQ(-1, fcntl(self->a, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(EBUSY, errno);

	ASSERT_EQ(0, munmap(self->map, NPAGES * P));
	self->map = NULL;
	expect_released(_metadata, self);
	EXPECT_EQ(0, fcntl(self->a, F_ADD_SEALS, F_SEAL_WRITE));
}

/*
 * Closing the region fd with no mmap releases the region and its
 * mappings at once; closing the memfd first and the region last too.
 */
TEST_F(life, close_everything)
{
	vt_drop_region(&self->region, &self->map, NPAGES * P);
	expect_released(_metadata, self);
	EXPECT_EQ(0, fcntl(self->a, F_ADD_SEALS, F_SEAL_WRITE));

	self->region = vt_create_region(NPAGES * P, 0);
	ASSERT_LE(0, self->region);
	ASSERT_EQ(0, vt_map(self->region, self->a, 0, 0, 8 * P, 8 * P));
	close(self->a);
	self->a = -1;
	close(self->region);
	self->region = -1;
	expect_released(_metadata, self);
}

/*
 * The memfd and the region fd both closed while the mmap lives: the mmap
 * still shows the data; munmap releases everything.
 */
TEST_F(life, only_the_mmap_left)
{
	static uint8_t buf[8 * P];

	close(self->a);
	self->a = -1;
	close(self->region);
	self->region = -1;
	ASSERT_EQ(0, vt_copy(buf, self->map, 8 * P));
	EXPECT_EQ(-1, vt_check(buf, 8 * P, SEED_A, 0));
	ASSERT_EQ(0, munmap(self->map, NPAGES * P));
	self->map = NULL;
	expect_released(_metadata, self);
}

TEST_HARNESS_MAIN
