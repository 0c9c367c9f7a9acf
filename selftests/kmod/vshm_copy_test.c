// SPDX-License-Identifier: GPL-2.0
/*
 * The copy path: pread()/pwrite() on a region fd copy from and to whatever
 * is mapped at a region offset, with no mapping in the caller.  A range
 * that starts in a hole is ENXIO, one that ends in a hole (or at the region
 * end) is a short count; at or after the region end pread returns 0 (end
 * of file, as read(2)) and pwrite fails with ENOSPC (as on a block device);
 * writing a read-only mapping is EACCES; bad user buffers are EFAULT.  The
 * copies are coherent with the sources and with the region's own mmap, and
 * copying into or out of the region's own mmap neither deadlocks nor
 * bypasses its rules.
 *
 * Runs in the VM with vshm.ko loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vshm_test.h"

#define P		VT_PAGE
#define NPAGES		16
#define SEED_A		1
#define SEED_B		2
#define SEED_C		3
#define SEED_W		9

/*
 * Region of 16 pages: A pages 0-3 read-write at pages 2-5, B pages 4-5
 * read-only at pages 6-7 (adjacent to A), C pages 0-3 read-write at pages
 * 10-13; holes at 0-1, 8-9 and 14-15.
 */
FIXTURE(copy) {
	int region;
	int a, b, c;
	struct vshm_region_info base;
};

FIXTURE_SETUP(copy)
{
	VT_REQUIRE_DEVICE();
	vt_install_fault_handler();
	self->region = -1;
	self->a = vt_memfd(8 * P, SEED_A, 0);
	self->b = vt_memfd(8 * P, SEED_B, 0);
	self->c = vt_memfd(4 * P, SEED_C, 0);
	ASSERT_LE(0, self->a);
	ASSERT_LE(0, self->b);
	ASSERT_LE(0, self->c);
	self->region = vt_create_region(NPAGES * P, 0);
	ASSERT_LE(0, self->region);
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 2 * P, 4 * P));
	ASSERT_EQ(0, vt_map(self->region, self->b, 0, 4 * P, 6 * P, 2 * P));
	ASSERT_EQ(0, vt_map(self->region, self->c, VSHM_MAP_WRITE, 0, 10 * P, 4 * P));
	ASSERT_EQ(0, vt_info(self->region, &self->base));
}

FIXTURE_TEARDOWN(copy)
{
	if (self->region >= 0)
		close(self->region);
	close(self->a);
	close(self->b);
	close(self->c);
}

/* Return copied_out - base, copied_in - base. */
static void copied(struct __test_metadata *_metadata, FIXTURE_DATA(copy) *self,
		   uint64_t *out, uint64_t *in)
{
	struct vshm_region_info info;

	ASSERT_EQ(0, vt_info(self->region, &info));
	*out = info.copied_out - self->base.copied_out;
	*in = info.copied_in - self->base.copied_in;
}

/*
 * pread returns the mapped sources' data at any offset and length,
 * unaligned and across page boundaries, and across adjacent mappings.
 */
TEST_F(copy, pread_mapped)
{
	static uint8_t buf[6 * P];
	uint64_t out, in;

	ASSERT_EQ((ssize_t)(4 * P), pread(self->region, buf, 4 * P, 2 * P));
	EXPECT_EQ(-1, vt_check(buf, 4 * P, SEED_A, 0));
	ASSERT_EQ(5000, pread(self->region, buf, 5000, 2 * P + 123));
	EXPECT_EQ(-1, vt_check(buf, 5000, SEED_A, 123));
	ASSERT_EQ(1, pread(self->region, buf, 1, 6 * P - 1));
	EXPECT_EQ(vt_byte(SEED_A, 4 * P - 1), buf[0]);
	ASSERT_EQ(3, pread(self->region, buf, 3, 13 * P + 17));
	EXPECT_EQ(-1, vt_check(buf, 3, SEED_C, 3 * P + 17));
	/* A then B, adjacent: no hole, the whole range. */
	ASSERT_EQ((ssize_t)(6 * P), pread(self->region, buf, 6 * P, 2 * P));
	EXPECT_EQ(-1, vt_check(buf, 4 * P, SEED_A, 0));
	EXPECT_EQ(-1, vt_check(buf + 4 * P, 2 * P, SEED_B, 4 * P));
	ASSERT_EQ(2 * P - 10, pread(self->region, buf, 2 * P - 10, 5 * P + 5));
	EXPECT_EQ(-1, vt_check(buf, P - 5, SEED_A, 3 * P + 5));
	EXPECT_EQ(-1, vt_check(buf + P - 5, P - 5, SEED_B, 4 * P));
	EXPECT_EQ(0, pread(self->region, buf, 0, 3 * P));

	copied(_metadata, self, &out, &in);
	EXPECT_EQ(4 * P + 5000 + 1 + 3 + 6 * P + 2 * P - 10, out);
	EXPECT_EQ(0, in);
}

/*
 * A pread/pwrite that starts in a hole is ENXIO, whatever follows.  Nothing
 * is counted or written.
 */
TEST_F(copy, start_in_hole_enxio)
{
	static const uint64_t offs[] = {
		0, P - 1, P + 100, 8 * P, 9 * P + 4095, 14 * P, 15 * P + 1,
	};
	static uint8_t buf[4 * P];
	uint64_t out, in;
	unsigned int i;

	memset(buf, 0x11, sizeof(buf));
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		EXPECT_EQ(-1, pread(self->region, buf, 4 * P, offs[i]));
		EXPECT_EQ(ENXIO, errno) {
			TH_LOG("pread at %" PRIu64, offs[i]);
		}
		EXPECT_EQ(-1, pwrite(self->region, buf, 4 * P, offs[i]));
		EXPECT_EQ(ENXIO, errno) {
			TH_LOG("pwrite at %" PRIu64, offs[i]);
		}
	}
	copied(_metadata, self, &out, &in);
	EXPECT_EQ(0, out);
	EXPECT_EQ(0, in);
	/* A pwrite into the hole before A did not reach A. */
	ASSERT_EQ((ssize_t)(4 * P), pread(self->a, buf, 4 * P, 0));
	EXPECT_EQ(-1, vt_check(buf, 4 * P, SEED_A, 0));
}

/*
 * At or after the region end, pread returns 0 (end of file, as read(2)
 * does) and pwrite fails with ENOSPC (no room, as on a block device); an
 * empty pwrite there returns 0.  Nothing is counted.
 */
TEST_F(copy, at_or_past_end)
{
	static const uint64_t offs[] = { NPAGES * P, NPAGES * P + 1, 1ULL << 40 };
	static uint8_t buf[4 * P];
	uint64_t out, in;
	unsigned int i;

	memset(buf, 0x11, sizeof(buf));
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		EXPECT_EQ(0, pread(self->region, buf, 4 * P, offs[i])) {
			TH_LOG("pread at %" PRIu64 ": %s", offs[i], strerror(errno));
		}
		EXPECT_EQ(-1, pwrite(self->region, buf, 4 * P, offs[i]));
		EXPECT_EQ(ENOSPC, errno) {
			TH_LOG("pwrite at %" PRIu64, offs[i]);
		}
		EXPECT_EQ(0, pwrite(self->region, buf, 0, offs[i]));
	}
	copied(_metadata, self, &out, &in);
	EXPECT_EQ(0, out);
	EXPECT_EQ(0, in);
}

/*
 * A range that ends in a hole (or past the region end) is a short count:
 * the bytes up to the hole, exactly.  pwrite writes nothing past it.
 */
TEST_F(copy, end_in_hole_short)
{
	static uint8_t buf[8 * P];
	uint64_t out, in;
	int d;

	/* B then the hole at 8. */
	ASSERT_EQ((ssize_t)(P + 8), pread(self->region, buf, 4 * P, 7 * P - 8));
	EXPECT_EQ(-1, vt_check(buf, P + 8, SEED_B, 5 * P - 8));
	/* A, B, then the hole. */
	ASSERT_EQ((ssize_t)(6 * P - 1), pread(self->region, buf, 8 * P, 2 * P + 1));
	/* C then the hole at 14. */
	ASSERT_EQ((ssize_t)P, pread(self->region, buf, 3 * P, 13 * P));
	EXPECT_EQ(-1, vt_check(buf, P, SEED_C, 3 * P));
	/* B, hole, C: stops at the hole. */
	ASSERT_EQ((ssize_t)P, pread(self->region, buf, 5 * P, 7 * P));
	copied(_metadata, self, &out, &in);
	EXPECT_EQ((P + 8) + (6 * P - 1) + P + P, out);

	/* pwrite: C then the hole. */
	vt_fill(buf, sizeof(buf), SEED_W, 0);
	ASSERT_EQ((ssize_t)(P - 100), pwrite(self->region, buf, 3 * P, 13 * P + 100));
	ASSERT_EQ((ssize_t)(P - 100), pread(self->c, buf + 4 * P, P - 100, 3 * P + 100));
	EXPECT_EQ(-1, vt_check(buf + 4 * P, P - 100, SEED_W, 0));
	copied(_metadata, self, &out, &in);
	EXPECT_EQ(P - 100, in);

	/* The region end: a mapping on the last page, a range past it. */
	d = vt_memfd(P, SEED_C, 0);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, vt_map(self->region, d, VSHM_MAP_WRITE, 0, 15 * P, P));
	ASSERT_EQ((ssize_t)(P - 10), pread(self->region, buf, 2 * P, 15 * P + 10));
	EXPECT_EQ(-1, vt_check(buf, P - 10, SEED_C, 10));
	ASSERT_EQ(5, pwrite(self->region, buf, 2 * P, NPAGES * P - 5));
	close(d);
}

/*
 * pwrite into a read-write mapping lands in the source: visible through
 * pread on the memfd, the memfd's own mmap, the region's mmap and pread
 * on the region; copied_in counts it.
 */
TEST_F(copy, pwrite_visible_everywhere)
{
	static uint8_t buf[2 * P];
	uint8_t *src, *map;
	uint64_t out, in;

	src = mmap(NULL, 8 * P, PROT_READ | PROT_WRITE, MAP_SHARED, self->a, 0);
	ASSERT_NE(MAP_FAILED, src);
	map = vt_mmap(self->region, NPAGES * P, PROT_READ, 0);
	ASSERT_NE(NULL, map);
	/* Fault both sides in before the write. */
	EXPECT_EQ(vt_byte(SEED_A, P + 6), src[P + 6]);
	ASSERT_EQ(0, vt_copy(buf, map + 3 * P, 8));

	vt_fill(buf, 6000, SEED_W, 0);
	ASSERT_EQ(6000, pwrite(self->region, buf, 6000, 3 * P + 50));
	EXPECT_EQ(-1, vt_check(src + P + 50, 6000, SEED_W, 0));
	EXPECT_EQ(-1, vt_check(src + P, 50, SEED_A, P));
	EXPECT_EQ(-1, vt_check(src + P + 6050, 100, SEED_A, P + 6050));
	ASSERT_EQ(0, vt_copy(buf, map + 3 * P + 50, 6000));
	EXPECT_EQ(-1, vt_check(buf, 6000, SEED_W, 0));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(6000, pread(self->a, buf, 6000, P + 50));
	EXPECT_EQ(-1, vt_check(buf, 6000, SEED_W, 0));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(6000, pread(self->region, buf, 6000, 3 * P + 50));
	EXPECT_EQ(-1, vt_check(buf, 6000, SEED_W, 0));

	copied(_metadata, self, &out, &in);
	EXPECT_EQ(6000, in);
	EXPECT_EQ(6000, out);
	munmap(map, NPAGES * P);
	munmap(src, 8 * P);
}

/*
 * pwrite into a read-only mapping is EACCES and writes nothing.  A write
 * that starts in a read-write mapping and runs into a read-only one
 * either stops at the boundary (short count) or fails with EACCES; the
 * read-only source is never written.
 */
TEST_F(copy, pwrite_readonly_eacces)
{
	static uint8_t buf[3 * P];
	uint64_t out, in;
	ssize_t n;

	memset(buf, 0xee, sizeof(buf));
	EXPECT_EQ(-1, pwrite(self->region, buf, 100, 6 * P));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, pwrite(self->region, buf, 2 * P, 7 * P - 1));
	EXPECT_EQ(EACCES, errno);
	copied(_metadata, self, &out, &in);
	EXPECT_EQ(0, in);

	n = pwrite(self->region, buf, 2 * P, 5 * P);
	if (n < 0) {
		EXPECT_EQ(EACCES, errno);
		ASSERT_EQ((ssize_t)P, pread(self->a, buf, P, 3 * P));
		EXPECT_EQ(-1, vt_check(buf, P, SEED_A, 3 * P));
	} else {
		EXPECT_EQ((ssize_t)P, n);
		ASSERT_EQ((ssize_t)P, pread(self->a, buf, P, 3 * P));
		EXPECT_EQ(-1, vt_check_byte(buf, P, 0xee));
	}
	ASSERT_EQ((ssize_t)(2 * P), pread(self->b, buf, 2 * P, 4 * P));
	EXPECT_EQ(-1, vt_check(buf, 2 * P, SEED_B, 4 * P));
}

/*
 * Bad user buffers are EFAULT (inaccessible, or read-only for pread) and
 * count nothing; the sources are unchanged.
 */
TEST_F(copy, bad_user_buffer_efault)
{
	static uint8_t buf[P];
	uint64_t out, in;
	void *none, *ro;

	none = mmap(NULL, P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, none);
	EXPECT_EQ(-1, pread(self->region, none, 100, 2 * P));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, pwrite(self->region, none, 100, 2 * P));
	EXPECT_EQ(EFAULT, errno);
	munmap(none, P);
	ro = mmap(NULL, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-1, pread(self->region, ro, 100, 2 * P));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, P);
	copied(_metadata, self, &out, &in);
	EXPECT_EQ(0, out);
	EXPECT_EQ(0, in);
	ASSERT_EQ((ssize_t)P, pread(self->a, buf, P, 0));
	EXPECT_EQ(-1, vt_check(buf, P, SEED_A, 0)) {
		TH_LOG("a failed pwrite changed the source");
	}
}

/*
 * A user buffer that becomes inaccessible part-way: pwrite copies the
 * accessible bytes (a short count) and leaves the source untouched after
 * them; pread likewise.
 */
TEST_F(copy, partly_bad_user_buffer_short)
{
	static uint8_t buf[P];
	uint64_t out, in;
	uint8_t *two;

	two = mmap(NULL, 2 * P, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, two);
	memset(two, 0x77, 2 * P);
	ASSERT_EQ(0, mprotect(two + P, P, PROT_NONE));

	EXPECT_EQ(100, pwrite(self->region, two + P - 100, 200, 2 * P + 1000));
	ASSERT_EQ((ssize_t)P, pread(self->a, buf, P, 0));
	EXPECT_EQ(-1, vt_check(buf, 1000, SEED_A, 0));
	EXPECT_EQ(-1, vt_check_byte(buf + 1000, 100, 0x77));
	EXPECT_EQ(-1, vt_check(buf + 1100, P - 1100, SEED_A, 1100)) {
		TH_LOG("the source changed after the short pwrite's last byte");
	}

	EXPECT_EQ(100, pread(self->region, two + P - 100, 200, 3 * P));
	EXPECT_EQ(-1, vt_check(two + P - 100, 100, SEED_A, P));
	copied(_metadata, self, &out, &in);
	EXPECT_EQ(100, out);
	EXPECT_EQ(100, in);
	munmap(two, 2 * P);
}

/* preadv/pwritev scatter and gather over several buffers. */
TEST_F(copy, vectored)
{
	static uint8_t b1[100], b2[P], b3[3000], all[P + 3100];
	struct iovec iov[3] = {
		{ b1, sizeof(b1) }, { b2, sizeof(b2) }, { b3, sizeof(b3) },
	};

	ASSERT_EQ((ssize_t)sizeof(all), preadv(self->region, iov, 3, 2 * P + 7));
	EXPECT_EQ(-1, vt_check(b1, sizeof(b1), SEED_A, 7));
	EXPECT_EQ(-1, vt_check(b2, sizeof(b2), SEED_A, 107));
	EXPECT_EQ(-1, vt_check(b3, sizeof(b3), SEED_A, P + 107));

	vt_fill(b1, sizeof(b1), SEED_W, 0);
	vt_fill(b2, sizeof(b2), SEED_W, sizeof(b1));
	vt_fill(b3, sizeof(b3), SEED_W, sizeof(b1) + sizeof(b2));
	ASSERT_EQ((ssize_t)sizeof(all), pwritev(self->region, iov, 3, 10 * P + 1));
	ASSERT_EQ((ssize_t)sizeof(all), pread(self->c, all, sizeof(all), 1));
	EXPECT_EQ(-1, vt_check(all, sizeof(all), SEED_W, 0));
}

/*
 * After UNMAP the range is a hole for the copy path (ENXIO); after a
 * REPLACE it copies from the new source.
 */
TEST_F(copy, follows_unmap_and_replace)
{
	static uint8_t buf[2 * P];

	ASSERT_EQ(0, vt_unmap(self->region, 10 * P, 4 * P));
	EXPECT_EQ(-1, pread(self->region, buf, 10, 11 * P));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, pwrite(self->region, buf, 10, 11 * P));
	EXPECT_EQ(ENXIO, errno);
	ASSERT_EQ(0, vt_map(self->region, self->b, VSHM_MAP_REPLACE, 0, 6 * P, 2 * P));
	ASSERT_EQ((ssize_t)(2 * P), pread(self->region, buf, 2 * P, 6 * P));
	EXPECT_EQ(-1, vt_check(buf, 2 * P, SEED_B, 0));
}

/* One copy of 64 pages each way, from and to a 64-page mapping. */
TEST_F(copy, large)
{
	const size_t len = 64 * P;
	uint8_t *buf;
	int r, m;

	buf = malloc(len);
	ASSERT_NE(NULL, buf);
	m = vt_memfd(len, SEED_C, 0);
	ASSERT_LE(0, m);
	r = vt_create_region(len, 0);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, vt_map(r, m, VSHM_MAP_WRITE, 0, 0, len));
	ASSERT_EQ((ssize_t)len, pread(r, buf, len, 0));
	EXPECT_EQ(-1, vt_check(buf, len, SEED_C, 0));
	vt_fill(buf, len, SEED_W, 0);
	ASSERT_EQ((ssize_t)len, pwrite(r, buf, len, 0));
	memset(buf, 0, len);
	ASSERT_EQ((ssize_t)len, pread(m, buf, len, 0));
	EXPECT_EQ(-1, vt_check(buf, len, SEED_W, 0));
	close(r);
	close(m);
	free(buf);
}

/*
 * The user buffer of a copy may be the region's own mmap (a VMM copying
 * between two parts of guest memory): pread from A into C's pages and
 * pwrite from A's pages into C work without deadlock, even when the
 * buffer pages were never faulted; a buffer in a hole or in a read-only
 * mapping of the region is EFAULT and writes nothing.
 */
TEST_F(copy, buffer_in_own_mmap)
{
	static uint8_t buf[2 * P];
	uint8_t *map;

	map = vt_mmap(self->region, NPAGES * P, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, map);
	/* A (pages 2-3) into C's pages 10-11, both unfaulted. */
	ASSERT_EQ((ssize_t)(2 * P), pread(self->region, map + 10 * P, 2 * P, 2 * P));
	ASSERT_EQ((ssize_t)(2 * P), pread(self->c, buf, 2 * P, 0));
	EXPECT_EQ(-1, vt_check(buf, 2 * P, SEED_A, 0));
	/* From A's page 5 (unfaulted) into C's page 13. */
	ASSERT_EQ((ssize_t)P, pwrite(self->region, map + 5 * P, P, 13 * P));
	ASSERT_EQ((ssize_t)P, pread(self->c, buf, P, 3 * P));
	EXPECT_EQ(-1, vt_check(buf, P, SEED_A, 3 * P));
	/* Same page as both source and buffer. */
	ASSERT_EQ((ssize_t)P, pwrite(self->region, map + 4 * P, P, 4 * P));
	ASSERT_EQ((ssize_t)P, pread(self->a, buf, P, 2 * P));
	EXPECT_EQ(-1, vt_check(buf, P, SEED_A, 2 * P));

	/* Buffers in a hole or the read-only mapping. */
	EXPECT_EQ(-1, pread(self->region, map + 8 * P, 100, 2 * P));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, pwrite(self->region, map + 9 * P, 100, 2 * P));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, pread(self->region, map + 6 * P, 100, 2 * P));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ((ssize_t)(2 * P), pread(self->b, buf, 2 * P, 4 * P));
	EXPECT_EQ(-1, vt_check(buf, 2 * P, SEED_B, 4 * P));
	munmap(map, NPAGES * P);
}

TEST_HARNESS_MAIN
