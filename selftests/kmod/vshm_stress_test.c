// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency stress, about 20 seconds on one region: threads map, replace
 * (some maps with VSHM_MAP_POPULATE, which enters pages into every view)
 * and unmap (with ioctls), fault pages in for reading and writing through
 * the region's mmap, mmap and munmap extra views of the region, and copy
 * with pread/pwrite, all at once.  Every call returns success or one of
 * the errors its race allows (EEXIST, EINVAL for a partial REPLACE,
 * ENOENT, ENXIO, EACCES, SIGBUS on a touched hole or read-only page);
 * every page read shows a real source page, never garbage; REGION_INFO
 * stays consistent and matches the successful calls at the end; the
 * debugfs totals go back to where they were; and (checked by the runner)
 * the kernel log stays clean.
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
#define NPAGES		64
#define NSRC		4
#define SRC_PAGES	16
#define SCRATCH		2048	/* bytes of each page that may be written */
#define RUN_SECONDS	20
#define MAX_MAPPERS	2

struct stress {
	int region;
	uint8_t *map;
	int src[NSRC];
	atomic_bool stop;
	/* what happened */
	atomic_ulong maps_ok, unmaps_ok, unmap_alls, map_fail, unmap_fail;
	atomic_ulong reads, read_sigbus, writes, write_sigbus;
	atomic_ulong preads, pwrites, vma_cycles, infos;
	/* what must never happen */
	atomic_ulong unexpected, garbage, bad_info;
	atomic_int last_errno;
	_Atomic uint64_t last_garbage;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void unexpected(struct stress *st, int err)
{
	atomic_store(&st->last_errno, err);
	atomic_fetch_add(&st->unexpected, 1);
}

/* Is @w the first word of some page of some source? */
static bool real_page(struct stress *st, uint64_t w)
{
	uint64_t off = w & 0xffffffffffffULL;
	unsigned int seed = (w >> 48) & 0xff;

	if ((w >> 56) == 0x5a && seed >= 1 && seed <= NSRC && !(off % P) &&
	    off < SRC_PAGES * P)
		return true;
	atomic_store(&st->last_garbage, w);
	atomic_fetch_add(&st->garbage, 1);
	return false;
}

struct mapper {
	struct stress *st;
	uint64_t seed;
	int n;
	struct { uint64_t off, len; } mine[NPAGES];
};

static void *mapper(void *arg)
{
	struct mapper *m = arg;
	struct stress *st = m->st;
	uint64_t s = m->seed;

	while (!atomic_load(&st->stop)) {
		uint64_t r = rnd(&s);
		int op = r % 16;

		if (op < 9 || !m->n) {
			uint64_t len = 1 + (r >> 8) % 4;
			uint64_t off = (r >> 16) % (NPAGES - len + 1);
			uint64_t fo = (r >> 24) % (SRC_PAGES - len + 1);
			uint32_t flags = ((r >> 32) & 1 ? VSHM_MAP_WRITE : 0) |
					 ((r >> 33) % 4 == 0 ? VSHM_MAP_REPLACE : 0) |
					 ((r >> 35) % 4 == 0 ? VSHM_MAP_POPULATE : 0);
			int ret = vt_map(st->region, st->src[(r >> 40) % NSRC], flags,
					 fo * P, off * P, len * P);

			if (!ret) {
				atomic_fetch_add(&st->maps_ok, 1);
				if (m->n < NPAGES) {
					m->mine[m->n].off = off * P;
					m->mine[m->n].len = len * P;
					m->n++;
				}
			} else if (ret == -EEXIST ||
				   (ret == -EINVAL && (flags & VSHM_MAP_REPLACE))) {
				atomic_fetch_add(&st->map_fail, 1);
			} else {
				unexpected(st, -ret);
			}
		} else if (op < 15) {
			int i = (r >> 8) % m->n;
			int ret = vt_unmap(st->region, m->mine[i].off, m->mine[i].len);

			m->mine[i] = m->mine[--m->n];
			if (!ret)
				atomic_fetch_add(&st->unmaps_ok, 1);
			else if (ret == -ENOENT)
				atomic_fetch_add(&st->unmap_fail, 1);
			else
				unexpected(st, -ret);
		} else if ((r >> 8) % 64 == 0) {
			int ret = vt_unmap_all(st->region);

			if (ret)
				unexpected(st, -ret);
			atomic_fetch_add(&st->unmap_alls, 1);
			m->n = 0;
		}
	}
	return NULL;
}

/* Touch random pages of the region's mmap: read the first word, write scratch. */
static void *faulter(void *arg)
{
	struct stress *st = arg;
	uint64_t s = (uintptr_t)&s ^ 0x9e3779b97f4a7c15ULL;
	uint64_t w;
	int sig;

	while (!atomic_load(&st->stop)) {
		uint64_t r = rnd(&s);
		uint8_t *page = st->map + (r % NPAGES) * P;

		if ((r >> 32) & 3) {
			sig = vt_peek64(page, &w);
			atomic_fetch_add(&st->reads, 1);
			if (sig == SIGBUS)
				atomic_fetch_add(&st->read_sigbus, 1);
			else if (sig)
				unexpected(st, 1000 + sig);
			else
				real_page(st, w);
		} else {
			sig = vt_poke(page + SCRATCH + (r >> 40) % SCRATCH, r >> 16);
			atomic_fetch_add(&st->writes, 1);
			if (sig == SIGBUS)
				atomic_fetch_add(&st->write_sigbus, 1);
			else if (sig)
				unexpected(st, 1000 + sig);
		}
	}
	return NULL;
}

/* pread/pwrite at random offsets; REGION_INFO sanity now and then. */
static void *copier(void *arg)
{
	static uint8_t buf[4 * P];
	struct stress *st = arg;
	uint64_t s = 0x2545f4914f6cdd1dULL;
	struct vshm_region_info info;

	while (!atomic_load(&st->stop)) {
		uint64_t r = rnd(&s);
		uint64_t page = r % NPAGES;
		ssize_t n;

		if ((r >> 8) % 2) {
			uint64_t len = 1 + (r >> 16) % (3 * P);
			uint64_t i;

			n = pread(st->region, buf, len, page * P);
			if (n < 0 && errno != ENXIO)
				unexpected(st, errno);
			for (i = 0; n > 0 && i + 8 <= (uint64_t)n; i += P)
				real_page(st, *(uint64_t *)(buf + i));
			atomic_fetch_add(&st->preads, 1);
		} else {
			uint64_t at = page * P + SCRATCH + (r >> 16) % (SCRATCH / 2);

			n = pwrite(st->region, buf + 8, SCRATCH / 2, at);
			if (n < 0 && errno != ENXIO && errno != EACCES)
				unexpected(st, errno);
			atomic_fetch_add(&st->pwrites, 1);
		}
		if ((r >> 40) % 32 == 0) {
			if (vt_info(st->region, &info)) {
				unexpected(st, errno);
			} else if (info.nr_mappings > NPAGES ||
				   info.mapped_bytes > NPAGES * P ||
				   info.mapped_bytes < info.nr_mappings * P ||
				   info.size != NPAGES * P) {
				atomic_fetch_add(&st->bad_info, 1);
			}
			atomic_fetch_add(&st->infos, 1);
		}
	}
	return NULL;
}

/* mmap a second view of part of the region, touch it, munmap it. */
static void *vma_churner(void *arg)
{
	struct stress *st = arg;
	uint64_t s = 0x6a09e667f3bcc909ULL;
	uint64_t w;

	while (!atomic_load(&st->stop)) {
		uint64_t r = rnd(&s);
		uint64_t len = 1 + r % 8;
		uint64_t off = (r >> 8) % (NPAGES - len + 1);
		uint8_t *v = vt_mmap(st->region, len * P, PROT_READ, off * P);
		uint64_t i;

		if (!v) {
			unexpected(st, errno);
			continue;
		}
		for (i = 0; i < len; i++) {
			int sig = vt_peek64(v + i * P, &w);

			if (!sig)
				real_page(st, w);
			else if (sig != SIGBUS)
				unexpected(st, 1000 + sig);
		}
		if (munmap(v, len * P))
			unexpected(st, errno);
		atomic_fetch_add(&st->vma_cycles, 1);
	}
	return NULL;
}

FIXTURE(stress) {
	struct stress st;
	uint64_t regions0, mappings0, pages0;
};

FIXTURE_SETUP(stress)
{
	int i;

	VT_REQUIRE_DEVICE();
	vt_install_fault_handler();
	ASSERT_EQ(0, vt_stat("regions", &self->regions0));
	ASSERT_EQ(0, vt_stat("mappings", &self->mappings0));
	ASSERT_EQ(0, vt_stat("pages_held", &self->pages0));
	self->st.region = -1;
	for (i = 0; i < NSRC; i++) {
		self->st.src[i] = vt_memfd(SRC_PAGES * P, i + 1, 0);
		ASSERT_LE(0, self->st.src[i]);
	}
	self->st.region = vt_create_region(NPAGES * P, 0);
	ASSERT_LE(0, self->st.region);
	self->st.map = vt_mmap(self->st.region, NPAGES * P, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, self->st.map);
}

FIXTURE_TEARDOWN(stress)
{
	int i;

	if (self->st.map)
		munmap(self->st.map, NPAGES * P);
	if (self->st.region >= 0)
		close(self->st.region);
	for (i = 0; i < NSRC; i++)
		if (self->st.src[i] > 0)
			close(self->st.src[i]);
}

/*
 * Two mappers, two faulters, a copier and a VMA churner on one region for
 * about 20 s: no unexpected error, no garbage, consistent counters, a
 * clean teardown.
 */
TEST_F_TIMEOUT(stress, everything_at_once, 180)
{
	static struct mapper mappers[MAX_MAPPERS];
	struct stress *st = &self->st;
	struct vshm_region_info info;
	pthread_t th[MAX_MAPPERS + 4];
	uint64_t v;
	int i, n = 0;

	for (i = 0; i < MAX_MAPPERS; i++) {
		mappers[i].st = st;
		mappers[i].seed = 0x853c49e6748fea9bULL * (i + 1);
		ASSERT_EQ(0, pthread_create(&th[n++], NULL, mapper, &mappers[i]));
	}
	ASSERT_EQ(0, pthread_create(&th[n++], NULL, faulter, st));
	ASSERT_EQ(0, pthread_create(&th[n++], NULL, faulter, st));
	ASSERT_EQ(0, pthread_create(&th[n++], NULL, copier, st));
	ASSERT_EQ(0, pthread_create(&th[n++], NULL, vma_churner, st));
	sleep(RUN_SECONDS);
	atomic_store(&st->stop, true);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);

	TH_LOG("maps %lu (failed %lu), unmaps %lu (failed %lu), unmap-alls %lu",
	       atomic_load(&st->maps_ok), atomic_load(&st->map_fail),
	       atomic_load(&st->unmaps_ok), atomic_load(&st->unmap_fail),
	       atomic_load(&st->unmap_alls));
	TH_LOG("reads %lu (SIGBUS %lu), writes %lu (SIGBUS %lu)",
	       atomic_load(&st->reads), atomic_load(&st->read_sigbus),
	       atomic_load(&st->writes), atomic_load(&st->write_sigbus));
	TH_LOG("preads %lu, pwrites %lu, vma cycles %lu, infos %lu",
	       atomic_load(&st->preads), atomic_load(&st->pwrites),
	       atomic_load(&st->vma_cycles), atomic_load(&st->infos));

	EXPECT_EQ(0, atomic_load(&st->unexpected)) {
		TH_LOG("last unexpected error: %d (1000 + n: signal n)",
		       atomic_load(&st->last_errno));
	}
	EXPECT_EQ(0, atomic_load(&st->garbage)) {
		TH_LOG("last garbage word: %#" PRIx64, atomic_load(&st->last_garbage));
	}
	EXPECT_EQ(0, atomic_load(&st->bad_info));
	/* Every kind of operation ran, and raced. */
	EXPECT_LT(100, atomic_load(&st->maps_ok));
	EXPECT_LT(10, atomic_load(&st->unmaps_ok));
	EXPECT_LT(1000, atomic_load(&st->reads));
	EXPECT_LT(0, atomic_load(&st->read_sigbus));
	EXPECT_LT(100, atomic_load(&st->preads));
	EXPECT_LT(10, atomic_load(&st->vma_cycles));

	ASSERT_EQ(0, vt_info(st->region, &info));
	EXPECT_EQ(atomic_load(&st->maps_ok), info.maps);
	EXPECT_LE(atomic_load(&st->unmaps_ok), info.unmaps);
	EXPECT_EQ(info.maps - info.unmaps, info.nr_mappings);
	ASSERT_EQ(0, vt_unmap_all(st->region));
	ASSERT_EQ(0, vt_info(st->region, &info));
	EXPECT_EQ(0, info.nr_mappings);
	EXPECT_EQ(0, info.mapped_bytes);
	EXPECT_EQ(info.maps, info.unmaps);
	for (i = 0; i < NPAGES; i++)
		EXPECT_EQ(SIGBUS, vt_peek64(st->map + i * P, &v));

	munmap(st->map, NPAGES * P);
	st->map = NULL;
	close(st->region);
	st->region = -1;
	ASSERT_EQ(0, vt_stat("regions", &v));
	EXPECT_EQ(self->regions0, v);
	ASSERT_EQ(0, vt_stat("mappings", &v));
	EXPECT_EQ(self->mappings0, v);
	ASSERT_EQ(0, vt_stat("pages_held", &v));
	EXPECT_EQ(self->pages0, v);
}

TEST_HARNESS_MAIN
