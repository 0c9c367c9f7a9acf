// SPDX-License-Identifier: GPL-2.0
/*
 * VSHM_REGION_POPULATE, the library's populate hint, in every region mode:
 *  - kmod (in the VM; skips without /dev/vshm): an mmap of the region made
 *    before the map takes no fault on its first touch (the region's
 *    "faults" counter does not move), also through a replace, while a map
 *    without the hint faults as usual.  A module that refuses the flag with
 *    EINVAL, as one older than VSHM_MAP_POPULATE does (this program's own
 *    ioctl() plays that module), still maps, and the region asks the module
 *    once: later maps go without the flag;
 *  - mmap: the mapping placed in this process is in its page tables at
 *    once (/proc/self/pagemap), and without the hint it is not;
 *  - table: accepted and without effect;
 * and in every mode a flag the library does not know beside it is EINVAL,
 * and the table records no more than VSHM_REGION_WRITE.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/vshm.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define PG 4096u
#define NPAGES 16u

/*
 * The module as this program presents it to libvshm: with old_module,
 * VSHM_IOC_MAP refuses VSHM_MAP_POPULATE with EINVAL, as a module before
 * that flag does.  populate_asks counts the MAPs that carried the flag.
 * Each test runs in its own process, so each starts from zero.
 */
static struct {
	bool old_module;
	unsigned int populate_asks;
} fake;

/* Every ioctl() of this program, libvshm.a's included, comes here. */
int ioctl(int fd, unsigned long request, ...)
{
	struct vshm_map *map;
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	map = arg;
	if (request == VSHM_IOC_MAP && (map->flags & VSHM_MAP_POPULATE)) {
		fake.populate_asks++;
		if (fake.old_module) {
			errno = EINVAL;
			return -1;
		}
	}
	return (int)syscall(SYS_ioctl, fd, request, arg);
}

/* A kmod region of NPAGES pages, or NULL when /dev/vshm is missing. */
static struct vshm_region *kmod_region(struct __test_metadata *_metadata)
{
	struct vshm_region *r = NULL;
	int ret;

	ret = vshm_region_create(VSHM_REGION_MODE_KMOD, NPAGES * PG, 8, &r);
	if (ret == -ENOENT || ret == -ENODEV || ret == -ENXIO)
		return NULL;
	EXPECT_EQ(0, ret) TH_LOG("kmod region: %s", vshm_strerror(ret));
	return ret ? NULL : r;
}

#define REQUIRE_KMOD(r) do { \
	if (!(r)) \
		SKIP(return, "/dev/vshm is missing (the kmod region mode runs in the VM under make check)"); \
} while (0)

static uint64_t faults_of(struct vshm_region *r)
{
	struct vshm_region_stats st;

	return vshm_region_info(r, &st) ? UINT64_MAX : st.faults;
}

/* Read one byte of each of n pages at p; true if all are want. */
static bool pages_read(const volatile uint8_t *p, unsigned int n, uint8_t want)
{
	unsigned int i;
	bool ok = true;

	for (i = 0; i < n; i++)
		ok &= p[i * PG] == want;
	return ok;
}

/* Is the page at p present in this process's page tables?  -1: unknown. */
static int page_present(const void *p)
{
	uint64_t entry;
	ssize_t n;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = pread(fd, &entry, sizeof(entry),
		  (off_t)((uintptr_t)p / PG * sizeof(entry)));
	close(fd);
	if (n != sizeof(entry))
		return -1;
	return (int)(entry >> 63);
}

/* Every mode refuses an unknown flag beside the hint, and records only WRITE. */
static void check_flags(struct __test_metadata *_metadata,
			struct vshm_region *r, int src)
{
	struct vshm_mapping_entry m;

	EXPECT_NE(0, VSHM_REGION_FLAGS_ALL & VSHM_REGION_POPULATE);
	EXPECT_EQ(VSHM_MAP_POPULATE, VSHM_REGION_POPULATE);
	EXPECT_EQ(-EINVAL, vshm_region_map(r, src, 0, 12 * PG, PG,
					   VSHM_REGION_POPULATE |
					   (VSHM_REGION_FLAGS_ALL + 1)));
	EXPECT_EQ(-ENOENT, vshm_region_lookup(r, 12 * PG, &m));
	ASSERT_EQ(0, vshm_region_map(r, src, 0, 12 * PG, PG,
				     VSHM_REGION_POPULATE | VSHM_REGION_WRITE));
	ASSERT_EQ(0, vshm_region_lookup(r, 12 * PG, &m));
	EXPECT_EQ(VSHM_REGION_WRITE, m.flags);
}

/*
 * kmod: a view mmapped before the map takes no fault on its first touch
 * with the hint (through a replace too); the same touch without it faults.
 */
TEST(kmod_populated_first_touch_takes_no_fault)
{
	struct vshm_region *r = kmod_region(_metadata);
	int src = memfd_filled(4 * PG, 0x11), other = memfd_filled(4 * PG, 0x44);
	uint64_t before;
	uint8_t *view;

	REQUIRE_KMOD(r);
	ASSERT_GE(src, 0);
	ASSERT_GE(other, 0);
	view = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
		    vshm_region_fd(r), 0);
	ASSERT_NE(MAP_FAILED, view);

	before = faults_of(r);
	ASSERT_EQ(0, vshm_region_map(r, src, 0, 0, 4 * PG,
				     VSHM_REGION_WRITE | VSHM_REGION_POPULATE));
	EXPECT_TRUE(pages_read(view, 4, 0x11));
	EXPECT_EQ(before, faults_of(r));
	EXPECT_EQ(1, fake.populate_asks);

	ASSERT_EQ(0, vshm_region_replace(r, other, 0, 0, 4 * PG,
					 VSHM_REGION_POPULATE));
	EXPECT_TRUE(pages_read(view, 4, 0x44));
	EXPECT_EQ(before, faults_of(r));
	/* A module that took the flag is asked every time. */
	EXPECT_EQ(2, fake.populate_asks);

	/* The same touch without the hint: the counter can tell. */
	ASSERT_EQ(0, vshm_region_map(r, src, 0, 8 * PG, 4 * PG, VSHM_REGION_WRITE));
	EXPECT_TRUE(pages_read(view + 8 * PG, 4, 0x11));
	EXPECT_LT(before, faults_of(r));

	check_flags(_metadata, r, src);
	munmap(view, NPAGES * PG);
	vshm_region_destroy(r);
	close(src);
	close(other);
}

/*
 * kmod with a module that refuses the flag (EINVAL, as before it): maps
 * still succeed, without populating, and each region asks the module once.
 */
TEST(kmod_old_module_maps_without_the_hint)
{
	struct vshm_region *r = kmod_region(_metadata), *r2 = NULL;
	int src = memfd_filled(4 * PG, 0x11);
	uint64_t before;
	uint8_t *view;

	REQUIRE_KMOD(r);
	ASSERT_GE(src, 0);
	view = mmap(NULL, NPAGES * PG, PROT_READ, MAP_SHARED,
		    vshm_region_fd(r), 0);
	ASSERT_NE(MAP_FAILED, view);
	fake.old_module = true;

	before = faults_of(r);
	ASSERT_EQ(0, vshm_region_map(r, src, 0, 0, 4 * PG,
				     VSHM_REGION_WRITE | VSHM_REGION_POPULATE));
	EXPECT_EQ(1, fake.populate_asks);
	ASSERT_EQ(0, vshm_region_map(r, src, 0, 4 * PG, 4 * PG,
				     VSHM_REGION_POPULATE));
	ASSERT_EQ(0, vshm_region_replace(r, src, 0, 4 * PG, 4 * PG,
					 VSHM_REGION_POPULATE));
	EXPECT_EQ(1, fake.populate_asks);
	/* Nothing was populated: the first touch faults. */
	EXPECT_TRUE(pages_read(view, 8, 0x11));
	EXPECT_LT(before, faults_of(r));
	/* A failed map stays a failure, and does not ask again. */
	EXPECT_EQ(-EEXIST, vshm_region_map(r, src, 0, 0, PG, VSHM_REGION_POPULATE));
	EXPECT_EQ(1, fake.populate_asks);

	/* Another region asks once for itself. */
	r2 = kmod_region(_metadata);
	ASSERT_NE(NULL, r2);
	ASSERT_EQ(0, vshm_region_map(r2, src, 0, 0, PG, VSHM_REGION_POPULATE));
	ASSERT_EQ(0, vshm_region_map(r2, src, 0, PG, PG, VSHM_REGION_POPULATE));
	EXPECT_EQ(2, fake.populate_asks);

	munmap(view, NPAGES * PG);
	vshm_region_destroy(r2);
	vshm_region_destroy(r);
	close(src);
}

/*
 * mmap: with the hint the mapping is in this process's page tables before
 * anything touches it (MAP_POPULATE); without it, it is not.
 */
TEST(mmap_populated_mapping_is_present)
{
	int src = memfd_filled(4 * PG, 0x11), present;
	struct vshm_region *r;
	uint8_t *base;

	ASSERT_GE(src, 0);
	ASSERT_EQ(0, vshm_region_create(VSHM_REGION_MODE_MMAP, NPAGES * PG, 8, &r));
	base = vshm_region_addr(r);
	ASSERT_NE(NULL, base);
	ASSERT_EQ(0, vshm_region_map(r, src, 0, 0, 4 * PG, VSHM_REGION_WRITE));
	present = page_present(base + 3 * PG);
	if (present < 0)
		SKIP(goto out, "/proc/self/pagemap cannot be read here");
	EXPECT_EQ(0, present);
	ASSERT_EQ(0, vshm_region_map(r, src, 0, 4 * PG, 4 * PG,
				     VSHM_REGION_POPULATE));
	EXPECT_EQ(1, page_present(base + 4 * PG));
	EXPECT_EQ(1, page_present(base + 7 * PG));
	ASSERT_EQ(0, vshm_region_replace(r, src, 0, 0, 4 * PG,
					 VSHM_REGION_WRITE | VSHM_REGION_POPULATE));
	EXPECT_EQ(1, page_present(base + 3 * PG));
	EXPECT_TRUE(pages_read(base, 8, 0x11));
	check_flags(_metadata, r, src);
out:
	vshm_region_destroy(r);
	close(src);
}

/* table: the hint is accepted and changes nothing: no window, copies as before. */
TEST(table_accepts_the_hint)
{
	int src = memfd_filled(4 * PG, 0x11);
	struct vshm_region_stats st;
	struct vshm_region *r;
	uint8_t b;

	ASSERT_GE(src, 0);
	ASSERT_EQ(0, vshm_region_create(VSHM_REGION_MODE_TABLE, NPAGES * PG, 8, &r));
	ASSERT_EQ(0, vshm_region_map(r, src, 0, 0, 4 * PG, VSHM_REGION_POPULATE));
	EXPECT_EQ(NULL, vshm_region_addr(r));
	ASSERT_EQ(1, vshm_region_read(r, 3 * PG, &b, 1));
	EXPECT_EQ(0x11, b);
	EXPECT_EQ(-EACCES, vshm_region_write(r, 0, &b, 1));
	check_flags(_metadata, r, src);
	ASSERT_EQ(0, vshm_region_info(r, &st));
	EXPECT_EQ(2, st.nr_mappings);
	EXPECT_EQ(0, st.faults);
	vshm_region_destroy(r);
	close(src);
}

TEST_HARNESS_MAIN
