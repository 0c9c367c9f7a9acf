// SPDX-License-Identifier: GPL-2.0
/*
 * hugetlbfs memfds (MFD_HUGETLB) as sources: whole huge pages and 4 KiB
 * pieces of them (any page-aligned fd_offset) map, read and write through
 * the region's mmap and the copy path, coherently with the memfd's own
 * mmap; read-only pieces refuse stores; unmapped ranges raise SIGBUS; a
 * source never touched before maps zeros; truncation or a punched hole
 * while mapped leaves the mapping its pinned huge pages (never freed
 * memory); every huge page goes back to the pool once everything is
 * closed; and from Linux 6.12 on, a huge page mapped whole is mapped with
 * one PMD entry, also while 4 KiB faults race with the PMD one.
 *
 * Reserves 8 huge pages through /proc/sys/vm/nr_hugepages and restores
 * the old value afterwards; skips if the pool cannot grow.
 *
 * Runs in the VM with vshm.ko loaded, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vshm_test.h"

#define P		VT_PAGE
#define NR_HUGE		"/proc/sys/vm/nr_hugepages"
#define RESERVE		8
#define SEED_A		1
#define SEED_B		2
#define SEED_W		9

/* Read "@key: N" from /proc/meminfo; -1 if missing. */
static long meminfo(const char *key)
{
	return vt_proc_field("/proc/meminfo", key);
}

FIXTURE(huge) {
	bool ready;
	char why[128];
	uint64_t old_nr;
	long free_before;
	size_t hps;		/* huge page size */
	int region;
	int a;			/* 2 huge pages, pattern SEED_A */
	uint8_t *map;		/* region mmap: 4 huge pages long */
};

#define NEED_HUGE() do { \
	if (!self->ready) \
		SKIP(return, "%s", self->why); \
} while (0)

FIXTURE_SETUP(huge)
{
	uint64_t nr = 0;
	long kb;

	VT_REQUIRE_DEVICE();
	vt_install_fault_handler();
	self->region = -1;
	self->a = -1;
	kb = meminfo("Hugepagesize");
	if (kb <= 0) {
		snprintf(self->why, sizeof(self->why), "no huge page support");
		SKIP(return, "%s", self->why);
	}
	self->hps = kb * 1024UL;
	if (vt_read_u64_file(NR_HUGE, &self->old_nr) ||
	    vt_write_u64_file(NR_HUGE, self->old_nr + RESERVE)) {
		snprintf(self->why, sizeof(self->why), "cannot write %s", NR_HUGE);
		SKIP(return, "%s", self->why);
	}
	if (vt_read_u64_file(NR_HUGE, &nr) || nr < self->old_nr + RESERVE ||
	    meminfo("HugePages_Free") < RESERVE) {
		vt_write_u64_file(NR_HUGE, self->old_nr);
		snprintf(self->why, sizeof(self->why),
			 "could reserve only %" PRIu64 " of %d huge pages",
			 nr - self->old_nr, RESERVE);
		SKIP(return, "%s", self->why);
	}
	self->ready = true;
	self->free_before = meminfo("HugePages_Free");

	self->a = vt_memfd(2 * self->hps, SEED_A, MFD_HUGETLB);
	ASSERT_LE(0, self->a) {
		TH_LOG("hugetlb memfd: %s", strerror(-self->a));
	}
	self->region = vt_create_region(4 * self->hps, 0);
	ASSERT_LE(0, self->region);
	self->map = vt_mmap(self->region, 4 * self->hps, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, self->map);
}

FIXTURE_TEARDOWN(huge)
{
	if (!self->ready)
		return;
	vt_drop_region(&self->region, &self->map, 4 * self->hps);
	if (self->a >= 0)
		close(self->a);
	vt_write_u64_file(NR_HUGE, self->old_nr);
}

/*
 * Whole huge pages: two huge pages mapped read-write at region offset 0
 * read back the pattern through the mmap (every 4 KiB subpage) and pread;
 * REGION_INFO counts the mapping.
 */
TEST_F(huge, whole_huge_pages)
{
	struct vshm_region_info info;
	size_t len;
	uint8_t *buf;
	int ret;

	NEED_HUGE();
	len = 2 * self->hps;
	buf = malloc(len);
	ASSERT_NE(NULL, buf);
	ret = vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, len);
	ASSERT_EQ(0, ret) {
		TH_LOG("map: %s", strerror(-ret));
	}
	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(1, info.nr_mappings);
	EXPECT_EQ(len, info.mapped_bytes);
	ASSERT_EQ(0, vt_copy(buf, self->map, len));
	EXPECT_EQ(-1, vt_check(buf, len, SEED_A, 0));
	memset(buf, 0, len);
	ASSERT_EQ((ssize_t)len, pread(self->region, buf, len, 0));
	EXPECT_EQ(-1, vt_check(buf, len, SEED_A, 0));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + len, buf));
	free(buf);
}

/*
 * 4 KiB pieces at any page-aligned offset inside huge pages, including
 * one that straddles the boundary between two huge pages, map at any
 * region offset; a read-only piece refuses stores with SIGBUS.
 */
TEST_F(huge, small_pieces)
{
	const size_t h = self->hps;
	static uint8_t buf[4 * P];
	int ret;

	NEED_HUGE();
	ret = vt_map(self->region, self->a, 0, h + 3 * P, 5 * P, 2 * P);
	ASSERT_EQ(0, ret) {
		TH_LOG("map: %s", strerror(-ret));
	}
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, h - 2 * P,
			    h + 7 * P, 4 * P));
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, P, 3 * h, P));

	ASSERT_EQ(0, vt_copy(buf, self->map + 5 * P, 2 * P));
	EXPECT_EQ(-1, vt_check(buf, 2 * P, SEED_A, h + 3 * P));
	ASSERT_EQ(0, vt_copy(buf, self->map + h + 7 * P, 4 * P));
	EXPECT_EQ(-1, vt_check(buf, 4 * P, SEED_A, h - 2 * P));
	ASSERT_EQ(0, vt_copy(buf, self->map + 3 * h, P));
	EXPECT_EQ(-1, vt_check(buf, P, SEED_A, P));

	EXPECT_EQ(SIGBUS, vt_poke(self->map + 5 * P, 1));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 7 * P, buf));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 4 * P, buf));
	EXPECT_EQ(0, vt_poke(self->map + h + 7 * P, buf[0]));
	EXPECT_EQ(-1, pwrite(self->region, buf, 10, 6 * P));
	EXPECT_EQ(EACCES, errno);
}

/*
 * Coherence both ways with the memfd's own mmap, through the region's
 * mmap and pwrite, across the boundary between two huge pages.
 */
TEST_F(huge, coherence)
{
	const size_t h = self->hps;
	static uint8_t buf[2 * P];
	uint8_t *src;
	uint8_t c;

	NEED_HUGE();
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, 2 * h));
	src = mmap(NULL, 2 * h, PROT_READ | PROT_WRITE, MAP_SHARED, self->a, 0);
	ASSERT_NE(MAP_FAILED, src);

	ASSERT_EQ(0, vt_poke(self->map + h + 12345, 0x4d));
	EXPECT_EQ(0x4d, src[h + 12345]);
	src[77 * P + 5] = 0x6e;
	ASSERT_EQ(0, vt_peek(self->map + 77 * P + 5, &c));
	EXPECT_EQ(0x6e, c);

	vt_fill(buf, 2 * P, SEED_W, 0);
	ASSERT_EQ((ssize_t)(2 * P), pwrite(self->region, buf, 2 * P, h - P));
	EXPECT_EQ(-1, vt_check(src + h - P, 2 * P, SEED_W, 0));
	ASSERT_EQ(0, vt_copy(buf, self->map + h - P, 2 * P));
	EXPECT_EQ(-1, vt_check(buf, 2 * P, SEED_W, 0));
	munmap(src, 2 * h);
}

/* Unmapping a huge-page mapping zaps it: SIGBUS, no stale subpage. */
TEST_F(huge, unmap_sigbus)
{
	const size_t h = self->hps;
	uint8_t c;

	NEED_HUGE();
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, h, 2 * h));
	ASSERT_EQ(0, vt_map(self->region, self->a, 0, 8 * P, 0, 4 * P));
	ASSERT_EQ(0, vt_peek(self->map + h, &c));
	ASSERT_EQ(0, vt_peek(self->map + 2 * h + 5 * P, &c));
	ASSERT_EQ(0, vt_peek(self->map + P, &c));
	ASSERT_EQ(0, vt_unmap(self->region, h, 2 * h));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + h, &c));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 2 * h + 5 * P, &c));
	EXPECT_EQ(0, vt_peek(self->map + P, &c));
	EXPECT_EQ(vt_byte(SEED_A, 9 * P), c);
	ASSERT_EQ(0, vt_unmap_all(self->region));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + P, &c));
}

/*
 * PMD entries: where the kernel allows them (6.12 on), the region's mmap
 * is 2 MiB aligned and one fault maps a whole huge page mapped whole
 * (pmd_faults), writable at once for a writable mapping (a write after a
 * read takes no fault); a read-only one still refuses stores.  A mapping
 * that starts inside a huge page gets 4 KiB entries.  Before 6.12 every
 * fault maps 4 KiB and pmd_faults stays 0.  The bytes are the source's
 * either way.
 */
TEST_F(huge, pmd_entries)
{
	const size_t h = self->hps;
	struct vshm_region_info info;
	static uint8_t buf[2 * P];
	uint64_t faults;
	const char *why;
	bool pmds;
	uint8_t c;

	NEED_HUGE();
	if (h != VT_PMD_SIZE)
		SKIP(return, "huge pages of %zu bytes, not the PMD size", h);
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, h));
	ASSERT_EQ(0, vt_map(self->region, self->a, 0, h, h, h));
	ASSERT_EQ(0, vt_map(self->region, self->a, 0, P, 2 * h, h - P));
	pmds = vt_pmds_expected(self->region, &why);
	if (pmds)
		EXPECT_EQ(0, (uintptr_t)self->map % h);

	ASSERT_EQ(0, vt_peek(self->map + 100 * P + 3, &c));
	EXPECT_EQ(vt_byte(SEED_A, 100 * P + 3), c);
	ASSERT_EQ(0, vt_info(self->region, &info));
	faults = info.faults;
	ASSERT_EQ(0, vt_poke(self->map + 511 * P, 0x5e));
	ASSERT_EQ(0, vt_copy(buf, self->map + 511 * P, P));
	EXPECT_EQ(0x5e, buf[0]);
	ASSERT_EQ(1, pread(self->a, &c, 1, 511 * P));
	EXPECT_EQ(0x5e, c);

	ASSERT_EQ(0, vt_peek(self->map + h + 7 * P, &c));
	EXPECT_EQ(vt_byte(SEED_A, h + 7 * P), c);
	EXPECT_EQ(SIGBUS, vt_poke(self->map + h + 7 * P, 1));
	ASSERT_EQ(0, vt_copy(buf, self->map + 2 * h, 2 * P));
	EXPECT_EQ(-1, vt_check(buf, 2 * P, SEED_A, P));

	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(pmds ? 2 : 0, info.pmd_faults) {
		TH_LOG("PMD entries %sexpected%s%s", pmds ? "" : "not ",
		       pmds ? "" : ": ", why);
	}
	if (pmds)
		EXPECT_EQ(faults + 2, info.faults);
}

/* Errors: past the source's end is EOVERFLOW, misaligned is EINVAL. */
TEST_F(huge, errors)
{
	const size_t h = self->hps;
	struct vshm_region_info info;

	NEED_HUGE();
	EXPECT_EQ(-EOVERFLOW, vt_map(self->region, self->a, 0, h, 0, 2 * h));
	EXPECT_EQ(-EOVERFLOW, vt_map(self->region, self->a, 0, 2 * h, 0, P));
	EXPECT_EQ(-EOVERFLOW, vt_map(self->region, self->a, 0, 2 * h - P, 0, 2 * P));
	EXPECT_EQ(-EINVAL, vt_map(self->region, self->a, 0, 100, 0, P));
	EXPECT_EQ(-EINVAL, vt_map(self->region, self->a, 0, 0, 0, P + 100));
	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(0, info.nr_mappings);
	EXPECT_EQ(0, info.maps);
}

/*
 * A hugetlb memfd whose pages were never touched maps (the module
 * allocates them) and reads zeros; stores through the region reach the
 * memfd's own mmap.
 */
TEST_F(huge, untouched_source)
{
	const size_t h = self->hps;
	uint8_t *buf, *src;
	int fd, ret;

	NEED_HUGE();
	fd = memfd_create("vshm-huge", MFD_CLOEXEC | MFD_HUGETLB);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, h));
	ret = vt_map(self->region, fd, VSHM_MAP_WRITE, 0, 2 * h, h);
	ASSERT_EQ(0, ret) {
		TH_LOG("map: %s", strerror(-ret));
	}
	buf = malloc(h);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, vt_copy(buf, self->map + 2 * h, h));
	EXPECT_EQ(-1, vt_check_byte(buf, h, 0));
	ASSERT_EQ(0, vt_poke(self->map + 2 * h + 4 * P + 1, 0x31));
	src = mmap(NULL, h, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, src);
	EXPECT_EQ(0x31, src[4 * P + 1]);
	munmap(src, h);
	free(buf);
	close(fd);
}

/*
 * A map that the region refuses (overlap, mapping limit) fails before it
 * touches the source: no huge page of an untouched memfd is allocated.
 */
TEST_F(huge, refused_map_allocates_nothing)
{
	const size_t h = self->hps;
	long free_before;
	int fd;

	NEED_HUGE();
	ASSERT_EQ(0, vt_map(self->region, self->a, 0, 0, 0, h));
	fd = memfd_create("vshm-huge", MFD_CLOEXEC | MFD_HUGETLB);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, h));
	free_before = meminfo("HugePages_Free");
	EXPECT_EQ(-EEXIST, vt_map(self->region, fd, 0, 0, 0, h));
	EXPECT_EQ(-EINVAL, vt_map(self->region, fd, VSHM_MAP_REPLACE, 0, P, h));
	EXPECT_EQ(free_before, meminfo("HugePages_Free"));
	close(fd);
}

/*
 * The truncation rule for hugetlbfs: the mapping owns the huge pages it
 * pinned at MAP until UNMAP.  After ftruncate(0) every subpage, touched or
 * not, shows its old data and takes writes (mmap and pwrite); the memfd is
 * empty; UNMAP is clean and gives the huge pages back to the pool.
 */
TEST_F(huge, truncate_while_mapped)
{
	const size_t h = self->hps;
	long free_mapped;
	uint8_t c;
	int sig, i;
	uint64_t w;

	NEED_HUGE();
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, 2 * h));
	ASSERT_EQ(0, vt_peek64(self->map + 8, &w));
	free_mapped = meminfo("HugePages_Free");
	ASSERT_EQ(0, ftruncate(self->a, 0));
	for (i = 0; i < 4; i++) {
		size_t off = i * (h / 2) + 8;

		sig = vt_peek64(self->map + off, &w);
		EXPECT_EQ(0, sig);
		if (!sig) {
			EXPECT_EQ(vt_word(SEED_A, off), w) {
				TH_LOG("offset %zu shows %#" PRIx64, off, w);
			}
		}
	}
	EXPECT_EQ(0, vt_poke(self->map + h + 3, 0x5a));
	c = 0x5b;
	ASSERT_EQ(1, pwrite(self->region, &c, 1, h + 4));
	ASSERT_EQ(1, pread(self->region, &c, 1, h + 3));
	EXPECT_EQ(0x5a, c);
	ASSERT_EQ(1, pread(self->region, &c, 1, h + 4));
	EXPECT_EQ(0x5b, c);
	EXPECT_EQ(0, pread(self->a, &c, 1, 0));
	/* The file let go of them, the mapping still holds them. */
	EXPECT_EQ(free_mapped, meminfo("HugePages_Free"));

	ASSERT_EQ(0, vt_unmap(self->region, 0, 2 * h));
	EXPECT_EQ(SIGBUS, vt_peek64(self->map + 8, &w));
	EXPECT_EQ(free_mapped + 2, meminfo("HugePages_Free"));
}

/*
 * The truncation rule for a hole punched into a mapped hugetlb memfd: the
 * mapping keeps the huge page with its data and takes writes to it, while
 * the memfd reads zeros there; a fresh MAP shows the file's new content.
 */
TEST_F(huge, punch_hole_while_mapped)
{
	const size_t h = self->hps;
	uint64_t w;
	uint8_t c;

	NEED_HUGE();
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, 2 * h));
	ASSERT_EQ(0, fallocate(self->a, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       0, h));
	ASSERT_EQ(0, vt_peek64(self->map + 3 * P + 16, &w));
	EXPECT_EQ(vt_word(SEED_A, 3 * P + 16), w);
	EXPECT_EQ(0, vt_poke(self->map + 7, 0x6c));
	ASSERT_EQ(1, pread(self->a, &c, 1, 7));
	EXPECT_EQ(0, c);
	ASSERT_EQ(1, pread(self->region, &c, 1, 7));
	EXPECT_EQ(0x6c, c);
	ASSERT_EQ(1, pread(self->region, &c, 1, h + 9));
	EXPECT_EQ(vt_byte(SEED_A, h + 9), c);

	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_REPLACE, 0, 0, 2 * h));
	ASSERT_EQ(0, vt_peek64(self->map + 3 * P + 16, &w));
	EXPECT_EQ(0, w);
}

/*
 * Every huge page goes back to the pool once the mappings, the region and
 * the memfds are gone.
 */
TEST_F(huge, pages_return_to_pool)
{
	const size_t h = self->hps;
	uint8_t c;
	int fd;

	NEED_HUGE();
	fd = vt_memfd(2 * h, SEED_B, MFD_HUGETLB);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, 2 * h));
	ASSERT_EQ(0, vt_map(self->region, fd, 0, P, 2 * h, h));
	ASSERT_EQ(0, vt_poke(self->map + 5, 1));
	ASSERT_EQ(0, vt_peek(self->map + 2 * h + 9, &c));
	EXPECT_GE(self->free_before - 4, meminfo("HugePages_Free"));
	ASSERT_EQ(0, vt_map(self->region, fd, VSHM_MAP_REPLACE, 0, 2 * h, h));

	close(fd);
	close(self->a);
	self->a = -1;
	munmap(self->map, 4 * self->hps);
	self->map = NULL;
	close(self->region);
	self->region = -1;
	EXPECT_EQ(self->free_before, meminfo("HugePages_Free"));
}

/*
 * The race between a 2 MiB fault and 4 KiB faults on one PMD.  Threads
 * touch pages of a 2 MiB range that is a hole (SIGBUS, which leaves the
 * PMD empty, so every fault asks huge_fault first and falls back) until
 * the main thread maps a huge page there.  A thread whose huge_fault fell
 * back just before the MAP then takes the 4 KiB path on the new mapping,
 * while another thread's huge_fault maps the PMD entry: the 4 KiB insert
 * finds a PMD entry where it wants a page table (the kernel's
 * get_locked_pte() cannot map one), or the PMD insert finds the page table
 * the 4 KiB one just made.  Neither may fail the access: no SIGBUS once
 * the MAP is done, no VM_FAULT_OOM ("VM_FAULT_OOM leaked out" in the
 * kernel log, and an EFAULT for a copy by the kernel), no WARNING, and
 * every word reads the source's bytes.  Each round maps the region afresh
 * (a new VMA, so its PMD is empty) and unmaps it after.
 */
#define RACE_THREADS	3
#define RACE_ROUNDS	1500
#define RACE_SECONDS	60

struct pmd_race {
	int region;
	int source;
	size_t h;
	uint8_t *volatile map;		/* this round's mmap of the region */
	atomic_uint round;		/* bumped to start a round */
	atomic_bool mapped;		/* the round's MAP has returned */
	atomic_uint finished;		/* threads done with the round */
	atomic_bool stop;
	atomic_uint sigbus_after_map;
	atomic_uint wrong_data;
	atomic_uint copy_failed;
};

struct pmd_race_thread {
	struct pmd_race *r;
	pthread_t th;
	unsigned int id;
};

static int poke64(void *p, uint64_t v)
{
	VT_PROBE(*(volatile uint64_t *)p = v);
}

/*
 * One thread's access in a round: a read, a write (of the word already
 * there, so the source keeps its pattern), or once the MAP is done a
 * pread() of the source into the region mmap, whose fault the kernel
 * takes (a VM_FAULT_OOM there fails the copy with EFAULT instead of
 * being retried).  Repeat while it raises SIGBUS before the MAP is known
 * done.
 */
static void pmd_race_touch(struct pmd_race *r, unsigned int id,
			   unsigned int round)
{
	size_t off = ((id * 211 + round * 37) % (r->h / P)) * P + id * 8;
	uint64_t want = vt_word(SEED_A, off), got = 0;
	uint8_t *p = r->map + off;

	for (;;) {
		bool mapped = atomic_load(&r->mapped);
		int sig;

		switch ((id + round) % 3) {
		case 0:
			sig = vt_peek64(p, &got);
			break;
		case 1:
			sig = poke64(p, want);
			got = want;
			if (!sig)
				sig = vt_peek64(p, &got);
			break;
		default:
			if (!mapped) {
				sig = vt_peek64(p, &got);
				break;
			}
			sig = 0;
			if (pread(r->source, p, 8, off) != 8) {
				atomic_fetch_add(&r->copy_failed, 1);
				return;
			}
			got = *(volatile uint64_t *)p;
			break;
		}
		if (!sig)
			break;
		if (sig != SIGBUS || mapped) {
			atomic_fetch_add(&r->sigbus_after_map, 1);
			return;
		}
		if (atomic_load(&r->stop))
			return;
	}
	if (got != want)
		atomic_fetch_add(&r->wrong_data, 1);
}

static void *pmd_race_thread(void *arg)
{
	struct pmd_race_thread *t = arg;
	struct pmd_race *r = t->r;
	unsigned int seen = 0;

	while (!atomic_load(&r->stop)) {
		unsigned int round = atomic_load(&r->round);

		if (round == seen) {
			sched_yield();
			continue;
		}
		seen = round;
		pmd_race_touch(r, t->id, round);
		atomic_fetch_add(&r->finished, 1);
	}
	return NULL;
}

/* Skip to the end of the kernel log; -1 if it cannot be read. */
static int kmsg_open_at_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Count the kernel log records since @fd was opened that contain @what. */
static unsigned int kmsg_count(int fd, const char *const *what, size_t n)
{
	unsigned int found = 0;
	char rec[2048];
	ssize_t len;
	size_t i;

	for (;;) {
		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (len <= 0)
			break;
		rec[len] = '\0';
		for (i = 0; i < n; i++) {
			if (strstr(rec, what[i])) {
				fprintf(stderr, "# kernel: %s", strchr(rec, ';') ?
					strchr(rec, ';') + 1 : rec);
				found++;
			}
		}
	}
	return found;
}

TEST_F_TIMEOUT(huge, pmd_race_with_4k_faults, 2 * RACE_SECONDS + 60)
{
	static const char *const bad[] = {
		"VM_FAULT_OOM", "WARNING:", "Out of memory", "BUG:",
	};
	struct pmd_race_thread t[RACE_THREADS];
	struct vshm_region_info info;
	int kmsg, err = 0, started;
	unsigned int round;
	struct pmd_race r;
	const char *why;
	time_t end;

	NEED_HUGE();
	if (self->hps != VT_PMD_SIZE)
		SKIP(return, "huge pages of %zu bytes, not the PMD size", self->hps);
	if (!vt_pmds_expected(self->region, &why))
		SKIP(return, "%s: no PMD entries, so no race with them", why);
	kmsg = kmsg_open_at_end();
	ASSERT_LE(0, kmsg) {
		TH_LOG("/dev/kmsg: %s", strerror(errno));
	}
	memset(&r, 0, sizeof(r));
	r.region = self->region;
	r.source = self->a;
	r.h = self->hps;
	for (started = 0; started < RACE_THREADS; started++) {
		t[started] = (struct pmd_race_thread){ .r = &r, .id = started };
		if (pthread_create(&t[started].th, NULL, pmd_race_thread,
				   &t[started]))
			break;
	}
	EXPECT_EQ(RACE_THREADS, started);

	/* No ASSERT until the threads are joined: they use r and the map. */
	end = time(NULL) + RACE_SECONDS;
	for (round = 1; started == RACE_THREADS && round <= RACE_ROUNDS &&
	     time(NULL) < end; round++) {
		uint8_t *map = vt_mmap(self->region, r.h, PROT_READ | PROT_WRITE, 0);
		int spin;

		if (!map || (uintptr_t)map % r.h) {
			TH_LOG("round %u: mmap at %p, not on the 2 MiB grid",
			       round, map);
			err = -EINVAL;
			break;
		}
		r.map = map;
		atomic_store(&r.mapped, false);
		atomic_store(&r.finished, 0);
		atomic_store(&r.round, round);
		/* Vary where the MAP lands in the threads' fault loops. */
		for (spin = 0; spin < (int)(round % 64) * 50; spin++)
			__asm__ volatile("" ::: "memory");
		err = vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, r.h);
		atomic_store(&r.mapped, true);
		if (err)
			atomic_store(&r.stop, true);
		while (atomic_load(&r.finished) < RACE_THREADS)
			sched_yield();
		if (!err)
			err = vt_unmap(self->region, 0, r.h);
		munmap(map, r.h);
		if (err) {
			TH_LOG("round %u: MAP or UNMAP: %s", round, strerror(-err));
			break;
		}
	}
	atomic_store(&r.stop, true);
	while (started > 0)
		pthread_join(t[--started].th, NULL);
	EXPECT_EQ(0, err);

	ASSERT_EQ(0, vt_info(self->region, &info));
	TH_LOG("%u rounds: %" PRIu64 " faults, %" PRIu64 " of them PMD entries",
	       round - 1, info.faults, info.pmd_faults);
	EXPECT_EQ(0, atomic_load(&r.sigbus_after_map));
	EXPECT_EQ(0, atomic_load(&r.wrong_data));
	EXPECT_EQ(0, atomic_load(&r.copy_failed));
	EXPECT_EQ(0, kmsg_count(kmsg, bad, sizeof(bad) / sizeof(bad[0])));
	EXPECT_LT(0, info.pmd_faults);
	close(kmsg);
}

TEST_HARNESS_MAIN
