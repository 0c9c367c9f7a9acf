// SPDX-License-Identifier: GPL-2.0
/*
 * VSHM_IOC_LIST_MAPPINGS: what a restarted broker rebuilds its table from.
 * Every mapping is listed once, in order, with its offsets, its write flag
 * and its source's kind, device and inode as fstat() of the source fd
 * reports them; paging with the cursor neither repeats nor loses one; a
 * listing racing maps and unmaps is still a consistent table; bad
 * arguments fail with the documented errno and change nothing; the array
 * may lie in the region's own mmap.
 *
 * Runs in the VM with vshm.ko loaded (vgem for the dma-buf case).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vgem_util.h"
#include "vshm_test.h"

#define P		VT_PAGE
/* More than VSHM_LIST_MAX_ENTRIES, so one full call cannot list them all. */
#define NMAP		1500
#define SRC_PAGES	8
#define NR_HUGE		"/proc/sys/vm/nr_hugepages"

/* One VSHM_IOC_LIST_MAPPINGS call: 0 or -errno; *l holds the result. */
static int list_call(int region, struct vshm_mapping_list *l, uint64_t cursor,
		     struct vshm_mapping_info *out, uint32_t capacity)
{
	memset(l, 0, sizeof(*l));
	l->cursor = cursor;
	l->entries = (uintptr_t)out;
	l->capacity = capacity;
	return ioctl(region, VSHM_IOC_LIST_MAPPINGS, l) ? -errno : 0;
}

/* The source that mapping @i of the many-mappings layout uses. */
static int src_of(unsigned int i)
{
	return i % 2;
}

/*
 * Mapping @i: page 2i of the region (a hole between each), one page, page
 * i % SRC_PAGES of source src_of(i), writable when i % 3 == 0.
 */
static int map_nth(int region, const int *src, unsigned int i)
{
	return vt_map(region, src[src_of(i)], i % 3 ? 0 : VSHM_MAP_WRITE,
		      (uint64_t)(i % SRC_PAGES) * P, 2ULL * i * P, P);
}

/* 0 if @e describes mapping @i of the layout with sources @st, else 1. */
static int check_nth(const struct vshm_mapping_info *e, unsigned int i,
		     const struct stat *st)
{
	const struct stat *s = &st[src_of(i)];
	int bad = 0;

	bad |= e->shm_offset != 2ULL * i * P;
	bad |= e->len != P;
	bad |= e->fd_offset != (uint64_t)(i % SRC_PAGES) * P;
	bad |= e->flags != (i % 3 ? 0 : VSHM_MAP_WRITE);
	bad |= e->source_kind != VSHM_SOURCE_SHMEM;
	bad |= e->source_ino != s->st_ino;
	bad |= e->source_dev_major != major(s->st_dev);
	bad |= e->source_dev_minor != minor(s->st_dev);
	bad |= e->reserved[0] || e->reserved[1];
	return bad;
}

FIXTURE(list) {
	int region;
	int src[2];
	struct stat st[2];
};

FIXTURE_SETUP(list)
{
	int i;

	ASSERT_EQ(P, (unsigned long)sysconf(_SC_PAGESIZE));
	ASSERT_EQ(0, access(VSHM_DEVICE_PATH, F_OK)) {
		TH_LOG("%s missing: is vshm.ko loaded?", VSHM_DEVICE_PATH);
	}
	self->region = -1;
	for (i = 0; i < 2; i++) {
		self->src[i] = vt_memfd(SRC_PAGES * P, i + 1, 0);
		ASSERT_LE(0, self->src[i]);
		ASSERT_EQ(0, fstat(self->src[i], &self->st[i]));
	}
	self->region = vt_create_region(2ULL * NMAP * P, NMAP);
	ASSERT_LE(0, self->region);
}

FIXTURE_TEARDOWN(list)
{
	if (self->region >= 0)
		close(self->region);
	close(self->src[0]);
	close(self->src[1]);
}

TEST_F(list, empty_region)
{
	struct vshm_mapping_info e[4];
	struct vshm_mapping_list l;

	memset(e, 0xa5, sizeof(e));
	ASSERT_EQ(0, list_call(self->region, &l, 0, e, 4));
	EXPECT_EQ(0, l.count);
	EXPECT_EQ(0, l.flags);
	EXPECT_EQ(0, l.nr_mappings);
	EXPECT_EQ(0, l.next);
	/* Nothing filled, nothing written. */
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, e[0].shm_offset);
}

/* Page through NMAP mappings with several capacities: each once, in order. */
TEST_F(list, many_mappings_cursor_paging)
{
	static const uint32_t caps[] = { 1, 7, 64, VSHM_LIST_MAX_ENTRIES };
	struct vshm_mapping_info *e;
	struct vshm_mapping_list l;
	unsigned int i, c;

	for (i = 0; i < NMAP; i++) {
		ASSERT_EQ(0, map_nth(self->region, self->src, i)) {
			TH_LOG("map %u", i);
		}
	}
	e = calloc(VSHM_LIST_MAX_ENTRIES, sizeof(*e));
	ASSERT_NE(NULL, e);

	for (c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		uint64_t cursor = 0;
		unsigned int seen = 0, calls = 0;

		do {
			ASSERT_EQ(0, list_call(self->region, &l, cursor, e, caps[c]));
			ASSERT_EQ(NMAP, l.nr_mappings);
			ASSERT_LE(l.count, caps[c]);
			for (i = 0; i < l.count; i++) {
				ASSERT_EQ(0, check_nth(&e[i], seen + i, self->st)) {
					TH_LOG("capacity %u: entry %u of call %u is wrong",
					       caps[c], i, calls);
				}
			}
			seen += l.count;
			/* MORE exactly when mappings are left. */
			ASSERT_EQ(seen < NMAP ? VSHM_LIST_MORE : 0, l.flags);
			if (l.count) {
				ASSERT_EQ(2ULL * (seen - 1) * P + P, l.next);
			} else {
				ASSERT_EQ(cursor, l.next);
			}
			ASSERT_GE(l.next, cursor);
			cursor = l.next;
			calls++;
		} while (l.flags & VSHM_LIST_MORE);
		EXPECT_EQ(NMAP, seen);
		EXPECT_EQ((NMAP + caps[c] - 1) / caps[c], calls);
	}

	/* Capacity 0 counts and reports MORE without touching the array. */
	ASSERT_EQ(0, list_call(self->region, &l, 0, NULL, 0));
	EXPECT_EQ(0, l.count);
	EXPECT_EQ(NMAP, l.nr_mappings);
	EXPECT_EQ(VSHM_LIST_MORE, l.flags);
	EXPECT_EQ(0, l.next);
	free(e);
}

/* A cursor inside a mapping lists it; one past the end lists nothing. */
TEST_F(list, cursor_positions)
{
	struct vshm_mapping_info e[4];
	struct vshm_mapping_list l;
	unsigned int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, map_nth(self->region, self->src, i));
	ASSERT_EQ(0, list_call(self->region, &l, 2 * P + 1, e, 4));
	ASSERT_EQ(2, l.count);
	EXPECT_EQ(0, check_nth(&e[0], 1, self->st));
	EXPECT_EQ(0, check_nth(&e[1], 2, self->st));
	EXPECT_EQ(0, l.flags);
	EXPECT_EQ(5 * P, l.next);
	/* In the hole after mapping 1: mapping 2 is next. */
	ASSERT_EQ(0, list_call(self->region, &l, 3 * P, e, 1));
	ASSERT_EQ(1, l.count);
	EXPECT_EQ(0, check_nth(&e[0], 2, self->st));
	ASSERT_EQ(0, list_call(self->region, &l, 5 * P, e, 4));
	EXPECT_EQ(0, l.count);
	EXPECT_EQ(0, l.flags);
	EXPECT_EQ(5 * P, l.next);
	ASSERT_EQ(0, list_call(self->region, &l, UINT64_MAX, e, 4));
	EXPECT_EQ(0, l.count);
	EXPECT_EQ(UINT64_MAX, l.next);
	/* A replace and an unmap show up in the next listing. */
	ASSERT_EQ(0, vt_unmap(self->region, 0, P));
	ASSERT_EQ(0, vt_map(self->region, self->src[1], VSHM_MAP_WRITE | VSHM_MAP_REPLACE,
			    3 * P, 2 * P, P));
	ASSERT_EQ(0, list_call(self->region, &l, 0, e, 4));
	ASSERT_EQ(2, l.count);
	EXPECT_EQ(2 * P, e[0].shm_offset);
	EXPECT_EQ(3 * P, e[0].fd_offset);
	EXPECT_EQ(VSHM_MAP_WRITE, e[0].flags);
	EXPECT_EQ(self->st[1].st_ino, e[0].source_ino);
	EXPECT_EQ(4 * P, e[1].shm_offset);
}

/* @l with only @field set to @value is refused with EINVAL. */
#define EXPECT_LIST_EINVAL(region, l, field, value)			\
	do {								\
		struct vshm_mapping_list bad = (l);			\
									\
		bad.field = (value);					\
		EXPECT_EQ(-1, ioctl(region, VSHM_IOC_LIST_MAPPINGS, &bad)); \
		EXPECT_EQ(EINVAL, errno);				\
	} while (0)

TEST_F(list, bad_arguments)
{
	struct vshm_mapping_info e[2], *ro;
	struct vshm_mapping_list l, before;

	ASSERT_EQ(0, map_nth(self->region, self->src, 0));
	ASSERT_EQ(0, map_nth(self->region, self->src, 1));

	memset(&l, 0, sizeof(l));
	l.entries = (uintptr_t)e;
	l.capacity = 2;
	EXPECT_LIST_EINVAL(self->region, l, flags, VSHM_LIST_MORE);
	EXPECT_LIST_EINVAL(self->region, l, reserved32, 1);
	EXPECT_LIST_EINVAL(self->region, l, reserved[1], 1);
	/* Output fields must come in zeroed, so they can become inputs later. */
	EXPECT_LIST_EINVAL(self->region, l, count, 1);
	EXPECT_LIST_EINVAL(self->region, l, nr_mappings, 1);

	EXPECT_EQ(-E2BIG, list_call(self->region, &l, 0, e, VSHM_LIST_MAX_ENTRIES + 1));
	EXPECT_EQ(-E2BIG, list_call(self->region, &l, 0, e, UINT32_MAX));
	EXPECT_EQ(-EFAULT, list_call(self->region, &l, 0, NULL, 2));
	EXPECT_EQ(-EFAULT, list_call(self->region, &l, 0,
				     (void *)(uintptr_t)-4096, 2));
	EXPECT_EQ(-EFAULT, ioctl(self->region, VSHM_IOC_LIST_MAPPINGS, NULL) ? -errno : 0);

	/* An array the caller cannot write: EFAULT, and the argument is unchanged. */
	ro = mmap(NULL, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	memset(&l, 0, sizeof(l));
	l.entries = (uintptr_t)ro;
	l.capacity = 2;
	before = l;
	EXPECT_EQ(-1, ioctl(self->region, VSHM_IOC_LIST_MAPPINGS, &l));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, memcmp(&before, &l, sizeof(l)));
	munmap(ro, P);

	/* Not a list ioctl on /dev/vshm. */
	{
		int dev = open(VSHM_DEVICE_PATH, O_RDWR | O_CLOEXEC);

		ASSERT_LE(0, dev);
		EXPECT_EQ(-1, ioctl(dev, VSHM_IOC_LIST_MAPPINGS, &l));
		EXPECT_EQ(ENOTTY, errno);
		close(dev);
	}

	/* The table is as it was. */
	ASSERT_EQ(0, list_call(self->region, &l, 0, e, 2));
	ASSERT_EQ(2, l.count);
	EXPECT_EQ(0, check_nth(&e[0], 0, self->st));
	EXPECT_EQ(0, check_nth(&e[1], 1, self->st));
}

/*
 * The array may lie in the region's own mmap, over a writable mapping:
 * the module copies out without the region lock that the fault takes.
 */
TEST_F(list, array_in_own_region)
{
	struct vshm_mapping_info *e;
	struct vshm_mapping_list l;
	uint8_t *map;

	ASSERT_EQ(0, map_nth(self->region, self->src, 0));	/* writable */
	ASSERT_EQ(0, map_nth(self->region, self->src, 1));
	map = vt_mmap(self->region, 4 * P, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, map);
	e = (struct vshm_mapping_info *)map;
	ASSERT_EQ(0, list_call(self->region, &l, 0, e, 2));
	ASSERT_EQ(2, l.count);
	EXPECT_EQ(0, check_nth(&e[0], 0, self->st));
	EXPECT_EQ(0, check_nth(&e[1], 1, self->st));
	munmap(map, 4 * P);
}

struct churn {
	int region;
	const int *src;
	atomic_bool stop;
	atomic_uint rounds;
	int err;
};

/* Map and unmap the odd mappings of the layout, over and over. */
static void *churner(void *arg)
{
	struct churn *c = arg;
	unsigned int i;
	int ret;

	while (!atomic_load(&c->stop)) {
		for (i = 1; i < 64; i += 2) {
			ret = map_nth(c->region, c->src, i);
			if (!ret)
				ret = i % 4 == 1 ? 0 : vt_unmap(c->region, 2ULL * i * P, P);
			if (ret) {
				c->err = ret;
				return NULL;
			}
		}
		for (i = 1; i < 64; i += 4) {
			ret = vt_unmap(c->region, 2ULL * i * P, P);
			if (ret) {
				c->err = ret;
				return NULL;
			}
		}
		atomic_fetch_add(&c->rounds, 1);
	}
	return NULL;
}

/* Seconds on the monotonic clock since @t0. */
static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * While another thread maps and unmaps the odd mappings, every listing is
 * still a table: sorted, not overlapping, each entry one the layout
 * defines, the even ones (never touched) always there, nr_mappings within
 * the bounds the churn allows.
 */
TEST_F(list, concurrent_map_unmap)
{
	struct churn c = { .region = self->region, .src = self->src };
	struct vshm_mapping_info e[64];
	struct vshm_mapping_list l;
	unsigned int i, iter, even;
	struct timespec t0;
	pthread_t th;

	for (i = 0; i < 64; i += 2)
		ASSERT_EQ(0, map_nth(self->region, self->src, i));
	ASSERT_EQ(0, pthread_create(&th, NULL, churner, &c));
	/*
	 * 20000 listings, or 10 s: a debug kernel (KASAN, lockdep) under TCG
	 * is many times slower, and the harness stops a test at 30 s.
	 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (iter = 0; iter < 20000 && !c.err && seconds_since(&t0) < 10; iter++) {
		uint32_t cap = iter % 2 ? 64 : 5;
		uint64_t cursor = 0, prev_end = 0;

		even = 0;
		do {
			ASSERT_EQ(0, list_call(self->region, &l, cursor, e, cap));
			ASSERT_GE(l.nr_mappings, 32);
			ASSERT_LE(l.nr_mappings, 64);
			for (i = 0; i < l.count; i++) {
				unsigned int n = e[i].shm_offset / (2 * P);

				ASSERT_GE(e[i].shm_offset, prev_end);
				ASSERT_EQ(0, check_nth(&e[i], n, self->st)) {
					TH_LOG("iteration %u: bad entry at %#" PRIx64,
					       iter, (uint64_t)e[i].shm_offset);
				}
				prev_end = e[i].shm_offset + e[i].len;
				even += n % 2 == 0;
			}
			cursor = l.next;
		} while (l.flags & VSHM_LIST_MORE);
		ASSERT_EQ(32, even);
	}
	atomic_store(&c.stop, true);
	pthread_join(th, NULL);
	EXPECT_EQ(0, c.err) {
		TH_LOG("churn: %s", strerror(-c.err));
	}
	EXPECT_LT(0, atomic_load(&c.rounds)) {
		TH_LOG("the churn never completed a round: the race was not exercised");
	}
	TH_LOG("%u listings against %u churn rounds", iter, atomic_load(&c.rounds));
}

/* A dma-buf source: kind, and the device and inode fstat() of its fd gives. */
TEST_F(list, dmabuf_source)
{
	struct vshm_mapping_info e[2];
	struct vshm_mapping_list l;
	struct stat st;
	int drm, buf;

	drm = vgem_open();
	if (drm < 0)
		SKIP(return, "no vgem device: load vgem (scripts/vm-run --with-vgem)");
	buf = vgem_dmabuf(drm, 4 * P, true);
	ASSERT_LE(0, buf) {
		TH_LOG("vgem buffer: %s", strerror(-buf));
	}
	ASSERT_EQ(0, fstat(buf, &st));
	ASSERT_EQ(0, vt_map(self->region, buf, VSHM_MAP_WRITE, P, 0, 2 * P));
	ASSERT_EQ(0, map_nth(self->region, self->src, 1));
	ASSERT_EQ(0, list_call(self->region, &l, 0, e, 2));
	ASSERT_EQ(2, l.count);
	EXPECT_EQ(0, e[0].shm_offset);
	EXPECT_EQ(2 * P, e[0].len);
	EXPECT_EQ(P, e[0].fd_offset);
	EXPECT_EQ(VSHM_MAP_WRITE, e[0].flags);
	EXPECT_EQ(VSHM_SOURCE_DMABUF, e[0].source_kind);
	EXPECT_EQ(st.st_ino, e[0].source_ino);
	EXPECT_EQ(major(st.st_dev), e[0].source_dev_major);
	EXPECT_EQ(minor(st.st_dev), e[0].source_dev_minor);
	EXPECT_EQ(0, check_nth(&e[1], 1, self->st));
	close(buf);
	close(drm);
}

/* A hugetlbfs source: kind, device and inode. */
TEST_F(list, hugetlb_source)
{
	struct vshm_mapping_info e[1];
	struct vshm_mapping_list l;
	uint64_t old_nr = 0;
	struct stat st;
	long hps;
	int fd, region, ret;

	if (vt_read_u64_file(NR_HUGE, &old_nr) ||
	    vt_write_u64_file(NR_HUGE, old_nr + 1))
		SKIP(return, "cannot raise %s: no hugetlbfs support here", NR_HUGE);
	fd = memfd_create("vshm-list-huge", MFD_CLOEXEC | MFD_HUGETLB);
	if (fd < 0) {
		vt_write_u64_file(NR_HUGE, old_nr);
		SKIP(return, "memfd_create(MFD_HUGETLB): %s", strerror(errno));
	}
	ASSERT_EQ(0, fstat(fd, &st));
	hps = st.st_blksize;
	ASSERT_EQ(0, ftruncate(fd, hps));
	region = vt_create_region(hps, 0);
	ASSERT_LE(0, region);
	ret = vt_map(region, fd, VSHM_MAP_WRITE, 0, 0, hps);
	if (ret == -ENOMEM) {
		close(region);
		close(fd);
		vt_write_u64_file(NR_HUGE, old_nr);
		SKIP(return, "the huge page pool did not grow to %" PRIu64, old_nr + 1);
	}
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, list_call(region, &l, 0, e, 1));
	ASSERT_EQ(1, l.count);
	EXPECT_EQ((uint64_t)hps, e[0].len);
	EXPECT_EQ(VSHM_SOURCE_HUGETLBFS, e[0].source_kind);
	EXPECT_EQ(st.st_ino, e[0].source_ino);
	EXPECT_EQ(major(st.st_dev), e[0].source_dev_major);
	EXPECT_EQ(minor(st.st_dev), e[0].source_dev_minor);
	close(region);
	close(fd);
	vt_write_u64_file(NR_HUGE, old_nr);
}

TEST_HARNESS_MAIN
