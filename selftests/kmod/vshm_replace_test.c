// SPDX-License-Identifier: GPL-2.0
/*
 * VSHM_MAP_REPLACE: it replaces the mappings that its range fully covers
 * in one step, over holes too; a range that covers a mapping only partly
 * is EINVAL and changes nothing; any other failure changes nothing either.
 * Atomicity: while one thread keeps replacing a mapping, threads reading
 * it through the mmap and with pread never see a hole (SIGBUS, ENXIO,
 * short count) nor data older than the last completed replace.
 *
 * Runs in the VM with vshm.ko loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vshm_test.h"

#define P		VT_PAGE
#define NPAGES		16
#define SEED_A		1
#define SEED_B		2
#define SEED_C		3

FIXTURE(replace) {
	int region;
	int a, b, c;
	uint8_t *map;
};

FIXTURE_SETUP(replace)
{
	VT_REQUIRE_DEVICE();
	vt_install_fault_handler();
	self->region = -1;
	self->a = vt_memfd(8 * P, SEED_A, 0);
	self->b = vt_memfd(8 * P, SEED_B, 0);
	self->c = vt_memfd(8 * P, SEED_C, 0);
	ASSERT_LE(0, self->a);
	ASSERT_LE(0, self->b);
	ASSERT_LE(0, self->c);
	self->region = vt_create_region(NPAGES * P, 0);
	ASSERT_LE(0, self->region);
	self->map = vt_mmap(self->region, NPAGES * P, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, self->map);
}

FIXTURE_TEARDOWN(replace)
{
	vt_drop_region(&self->region, &self->map, NPAGES * P);
	close(self->a);
	close(self->b);
	close(self->c);
}

/*
 * REPLACE of one read-write mapping (faulted in) by a read-only one: the
 * new data shows at once, stores now raise SIGBUS, the counters show one
 * map and one unmap, and the old source is no longer mapped writable.
 */
TEST_F(replace, one_mapping)
{
	struct vshm_region_info info;
	static uint8_t buf[4 * P];
	uint8_t c;

	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 2 * P, 4 * P));
	ASSERT_EQ(0, vt_copy(buf, self->map + 2 * P, 4 * P));
	ASSERT_EQ(0, vt_poke(self->map + 3 * P, buf[P]));

	ASSERT_EQ(0, vt_map(self->region, self->b, VSHM_MAP_REPLACE, 4 * P, 2 * P, 4 * P));
	ASSERT_EQ(0, vt_copy(buf, self->map + 2 * P, 4 * P));
	EXPECT_EQ(-1, vt_check(buf, 4 * P, SEED_B, 4 * P));
	EXPECT_EQ(SIGBUS, vt_poke(self->map + 3 * P, 1));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 6 * P, &c));
	VT_EXPECT_TABLE(self->region, info, 1, 4 * P, 2, 1);
	EXPECT_EQ(0, fcntl(self->a, F_ADD_SEALS, F_SEAL_WRITE));
	/* It is one mapping now: UNMAP of its exact range works. */
	EXPECT_EQ(0, vt_unmap(self->region, 2 * P, 4 * P));
}

/*
 * REPLACE over several mappings and the holes between them: one mapping
 * remains, covering the whole range; unmaps counts each replaced mapping.
 */
TEST_F(replace, several_mappings_and_holes)
{
	struct vshm_region_info info;
	static uint8_t buf[8 * P];

	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 2 * P, 2 * P));
	ASSERT_EQ(0, vt_map(self->region, self->b, 0, 0, 5 * P, P));
	ASSERT_EQ(0, vt_map(self->region, self->b, 0, 0, 7 * P, P));
	ASSERT_EQ(0, vt_map(self->region, self->b, 0, 0, 10 * P, P));
	ASSERT_EQ(0, vt_copy(buf, self->map + 2 * P, 2 * P));

	ASSERT_EQ(0, vt_map(self->region, self->c, VSHM_MAP_WRITE | VSHM_MAP_REPLACE,
			    0, 0, 8 * P));
	VT_EXPECT_TABLE(self->region, info, 2, 9 * P, 5, 3);
	ASSERT_EQ(0, vt_copy(buf, self->map, 8 * P));
	EXPECT_EQ(-1, vt_check(buf, 8 * P, SEED_C, 0));
	EXPECT_EQ(0, vt_poke(self->map + 7 * P, 0x12));
	EXPECT_EQ(-ENOENT, vt_unmap(self->region, 2 * P, 2 * P));
	EXPECT_EQ(0, vt_unmap(self->region, 0, 8 * P));
	EXPECT_EQ(0, vt_unmap(self->region, 10 * P, P));
}

/* REPLACE over a hole is a plain map: nothing is counted as unmapped. */
TEST_F(replace, over_hole_is_map)
{
	struct vshm_region_info info;
	static uint8_t buf[3 * P];

	ASSERT_EQ(0, vt_map(self->region, self->a, 0, 0, 0, P));
	ASSERT_EQ(0, vt_map(self->region, self->b, VSHM_MAP_REPLACE, 0, 4 * P, 3 * P));
	VT_EXPECT_TABLE(self->region, info, 2, 4 * P, 2, 0);
	ASSERT_EQ(0, vt_copy(buf, self->map + 4 * P, 3 * P));
	EXPECT_EQ(-1, vt_check(buf, 3 * P, SEED_B, 0));
	ASSERT_EQ(0, vt_copy(buf, self->map, P));
	EXPECT_EQ(-1, vt_check(buf, P, SEED_A, 0));
}

/* The state for the failure tests: A rw at 2-5, B ro at 6-9. */
static void setup_two(struct __test_metadata *_metadata,
		      FIXTURE_DATA(replace) *self, struct vshm_region_info *info)
{
	static uint8_t buf[8 * P];

	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 2 * P, 4 * P));
	ASSERT_EQ(0, vt_map(self->region, self->b, 0, 0, 6 * P, 4 * P));
	ASSERT_EQ(0, vt_copy(buf, self->map + 2 * P, 8 * P));	/* fault in */
	ASSERT_EQ(0, vt_info(self->region, info));
}

static void check_two(struct __test_metadata *_metadata,
		      FIXTURE_DATA(replace) *self,
		      const struct vshm_region_info *before)
{
	struct vshm_region_info info;
	static uint8_t buf[8 * P];
	uint8_t c;

	VT_EXPECT_TABLE(self->region, info, before->nr_mappings,
			before->mapped_bytes, before->maps, before->unmaps);
	ASSERT_EQ(0, vt_copy(buf, self->map + 2 * P, 8 * P));
	EXPECT_EQ(-1, vt_check(buf, 4 * P, SEED_A, 0));
	EXPECT_EQ(-1, vt_check(buf + 4 * P, 4 * P, SEED_B, 0));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + P, &c));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 10 * P, &c));
	EXPECT_EQ(0, vt_poke(self->map + 2 * P, buf[0]));
	EXPECT_EQ(SIGBUS, vt_poke(self->map + 6 * P, 0));
	/* Both are still exactly what they were. */
	EXPECT_EQ(-ENOENT, vt_unmap(self->region, 2 * P, 8 * P));
}

/*
 * A REPLACE range that covers a mapping only partly is EINVAL and changes
 * nothing, even when it fully covers another mapping too.
 */
TEST_F(replace, partial_cover_einval)
{
	static const struct { int start, n; } ranges[] = {
		{ 4, 4 },	/* A's tail, B's head */
		{ 0, 3 },	/* A's head */
		{ 3, 2 },	/* inside A */
		{ 0, 8 },	/* all of A, B's head */
		{ 2, 6 },	/* all of A exactly, B's head */
		{ 8, 4 },	/* B's tail and a hole */
		{ 5, 5 },	/* A's last page, all of B */
	};
	struct vshm_region_info before;
	unsigned int i;

	setup_two(_metadata, self, &before);
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		EXPECT_EQ(-EINVAL, vt_map(self->region, self->c, VSHM_MAP_REPLACE, 0,
					  ranges[i].start * P, ranges[i].n * P)) {
			TH_LOG("pages %d+%d", ranges[i].start, ranges[i].n);
		}
		EXPECT_EQ(-EINVAL, vt_map(self->region, self->c,
					  VSHM_MAP_REPLACE | VSHM_MAP_WRITE, 0,
					  ranges[i].start * P, ranges[i].n * P));
	}
	check_two(_metadata, self, &before);
	/* Covering both fully works. */
	EXPECT_EQ(0, vt_map(self->region, self->c, VSHM_MAP_REPLACE, 0, 2 * P, 8 * P));
}

/*
 * A REPLACE that fails for any other reason (bad fd, unsupported or
 * write-refused source, past the source's end, malformed) leaves the
 * mappings it would have replaced in place.
 */
TEST_F(replace, failure_changes_nothing)
{
	struct vshm_region_info before;
	const uint32_t r = VSHM_MAP_REPLACE;
	int ro, pfd[2];

	setup_two(_metadata, self, &before);
	ro = vt_reopen(self->c, O_RDONLY);
	ASSERT_LE(0, ro);
	ASSERT_EQ(0, pipe(pfd));

	EXPECT_EQ(-EBADF, vt_map(self->region, -1, r, 0, 2 * P, 4 * P));
	EXPECT_EQ(-ENODEV, vt_map(self->region, pfd[0], r, 0, 2 * P, 4 * P));
	EXPECT_EQ(-EACCES, vt_map(self->region, ro, r | VSHM_MAP_WRITE, 0, 2 * P, 4 * P));
	EXPECT_EQ(-EOVERFLOW, vt_map(self->region, self->c, r, 6 * P, 2 * P, 4 * P));
	EXPECT_EQ(-EOVERFLOW, vt_map(self->region, self->c, r, 0, 2 * P, 16 * P));
	EXPECT_EQ(-EINVAL, vt_map(self->region, self->c, r | 8, 0, 2 * P, 4 * P));
	EXPECT_EQ(-EINVAL, vt_map(self->region, self->c, r, 1, 2 * P, 4 * P));
	check_two(_metadata, self, &before);
	close(ro);
	close(pfd[0]);
	close(pfd[1]);
}

/* REPLACE of a mapping by another part of the same source. */
TEST_F(replace, same_source)
{
	static uint8_t buf[4 * P];

	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, 4 * P));
	ASSERT_EQ(0, vt_copy(buf, self->map, 4 * P));
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE | VSHM_MAP_REPLACE,
			    4 * P, 0, 4 * P));
	ASSERT_EQ(0, vt_copy(buf, self->map, 4 * P));
	EXPECT_EQ(-1, vt_check(buf, 4 * P, SEED_A, 4 * P));
}

/* ---- atomicity under concurrent readers */

#define SEQ_MAGIC	0x5e9a0000ULL
#define SPAN		4		/* pages replaced each time */
#define AT		4		/* at this region page */
#define RUN_SECONDS	4

struct race {
	int region;
	uint8_t *map;
	_Atomic uint64_t published;	/* last completed replace */
	atomic_bool stop;
	atomic_ulong reads, preads, sigbus, stale, bad_pread;
	_Atomic uint64_t last_bad;
};

static uint64_t seq_word(uint64_t k)
{
	return (SEQ_MAGIC << 32) | k;
}

/* Is @w a sequence word at least as new as @s?  Records it otherwise. */
static bool fresh(struct race *r, uint64_t w, uint64_t s)
{
	if ((w >> 32) == SEQ_MAGIC && (w & 0xffffffffULL) >= s)
		return true;
	atomic_store(&r->last_bad, w);
	return false;
}

static void *mmap_reader(void *arg)
{
	struct race *r = arg;
	unsigned int i = 0;
	uint64_t s, w;

	while (!atomic_load(&r->stop)) {
		uint8_t *p = r->map + (AT + i % SPAN) * P + (i & 1 ? P - 8 : 0);

		s = atomic_load(&r->published);
		if (vt_peek64(p, &w))
			atomic_fetch_add(&r->sigbus, 1);
		else if (!fresh(r, w, s))
			atomic_fetch_add(&r->stale, 1);
		atomic_fetch_add(&r->reads, 1);
		i++;
	}
	return NULL;
}

static void *pread_reader(void *arg)
{
	static uint64_t buf[SPAN * P / 8];
	struct race *r = arg;
	uint64_t s;
	ssize_t n;
	int i;

	while (!atomic_load(&r->stop)) {
		s = atomic_load(&r->published);
		n = pread(r->region, buf, sizeof(buf), AT * P);
		if (n != (ssize_t)sizeof(buf)) {
			atomic_fetch_add(&r->bad_pread, 1);
		} else {
			for (i = 0; i < SPAN; i++)
				if (!fresh(r, buf[i * P / 8], s))
					atomic_fetch_add(&r->stale, 1);
		}
		atomic_fetch_add(&r->preads, 1);
	}
	return NULL;
}

/* Write sequence number @k at both ends of every page of @src. */
static void stamp(uint8_t *src, uint64_t k)
{
	int i;

	for (i = 0; i < SPAN; i++) {
		*(volatile uint64_t *)(src + i * P) = seq_word(k);
		*(volatile uint64_t *)(src + i * P + P - 8) = seq_word(k);
	}
}

/*
 * One thread replaces the mapping at pages 4-7 again and again,
 * alternating two sources (each stamped with the next sequence number
 * before its REPLACE, and alternately read-write and read-only), for a few
 * seconds.  Two threads read the range through the mmap, one with pread.
 * No read ever raises SIGBUS, fails, comes up short, or shows data older
 * than the last REPLACE that completed before it started.
 */
TEST_F_TIMEOUT(replace, atomic_under_readers, 120)
{
	struct vshm_region_info info;
	pthread_t th[3];
	struct race r;
	uint8_t *src[2];
	int fds[2], i;
	time_t end;
	uint64_t k;

	memset(&r, 0, sizeof(r));
	r.region = self->region;
	r.map = self->map;
	for (i = 0; i < 2; i++) {
		fds[i] = vt_memfd(SPAN * P, SEED_A, 0);
		ASSERT_LE(0, fds[i]);
		src[i] = mmap(NULL, SPAN * P, PROT_READ | PROT_WRITE, MAP_SHARED,
			      fds[i], 0);
		ASSERT_NE(MAP_FAILED, src[i]);
	}
	stamp(src[0], 0);
	ASSERT_EQ(0, vt_map(self->region, fds[0], VSHM_MAP_WRITE, 0, AT * P, SPAN * P));

	ASSERT_EQ(0, pthread_create(&th[0], NULL, mmap_reader, &r));
	ASSERT_EQ(0, pthread_create(&th[1], NULL, mmap_reader, &r));
	ASSERT_EQ(0, pthread_create(&th[2], NULL, pread_reader, &r));

	end = time(NULL) + RUN_SECONDS;
	for (k = 1; time(NULL) < end; k++) {
		int ret;

		stamp(src[k & 1], k);
		ret = vt_map(self->region, fds[k & 1],
			     VSHM_MAP_REPLACE | (k & 2 ? 0 : VSHM_MAP_WRITE),
			     0, AT * P, SPAN * P);
		if (ret) {
			TH_LOG("replace %" PRIu64 ": %s", k, strerror(-ret));
			break;
		}
		atomic_store(&r.published, k);
	}
	atomic_store(&r.stop, true);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);

	TH_LOG("%" PRIu64 " replaces, %lu mmap reads, %lu preads", k - 1,
	       atomic_load(&r.reads), atomic_load(&r.preads));
	EXPECT_EQ(0, atomic_load(&r.sigbus));
	EXPECT_EQ(0, atomic_load(&r.stale)) {
		TH_LOG("a stale read saw %#" PRIx64 " (last published %" PRIu64 ")",
		       atomic_load(&r.last_bad), atomic_load(&r.published));
	}
	EXPECT_EQ(0, atomic_load(&r.bad_pread));
	EXPECT_LT(20, k);
	EXPECT_LT(100, atomic_load(&r.reads));
	EXPECT_LT(10, atomic_load(&r.preads));

	VT_EXPECT_TABLE(self->region, info, 1, SPAN * P, k, k - 1);
	for (i = 0; i < 2; i++) {
		munmap(src[i], SPAN * P);
		close(fds[i]);
	}
}

TEST_HARNESS_MAIN
