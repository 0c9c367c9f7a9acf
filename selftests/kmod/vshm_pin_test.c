// SPDX-License-Identifier: GPL-2.0
/*
 * Long-term pinning of shmem and hugetlbfs sources at MAP: pinned pages
 * never stay in ZONE_MOVABLE (MAP migrates them out first), a MAP whose
 * page array would pass the documented bound fails with E2BIG before it
 * allocates anything, and on kernels without memfd_pin_folios() (before
 * 6.11), where the pin goes through a temporary mapping in the caller, a
 * caller with no room for it gets ENOMEM and keeps no trace of it.
 *
 * Runs in the VM with vshm.ko loaded, as root (memory hotplug, pagemap
 * PFNs, module parameters).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vshm_test.h"

#define P		VT_PAGE
#define SEED_A		3
#define MEM_DIR		"/sys/devices/system/memory"
/* Entries a mapping's page array may hold (kmod/vshm_source.c). */
#define MAX_PIN_UNITS	(1ULL << 26)

/* Whether the running kernel has memfd_pin_folios() (6.11 and later). */
static bool kernel_has_memfd_pin_folios(void)
{
	struct utsname u;
	int major, minor;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 11);
}

/* Physical frame of the page at @addr in this process, or 0 if unknown. */
static uint64_t pfn_of(const void *addr)
{
	uint64_t entry = 0;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry),
		  (uintptr_t)addr / P * sizeof(entry)) != sizeof(entry))
		entry = 0;
	close(fd);
	if (!(entry & (1ULL << 63)))
		return 0;
	return entry & ((1ULL << 55) - 1);
}

static int write_str(const char *path, const char *s)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = -errno;
	close(fd);
	return ret;
}

static bool block_online(long block)
{
	char path[128], state[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), MEM_DIR "/memory%ld/state", block);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(state, sizeof(state), f))
		state[0] = 0;
	fclose(f);
	return !strncmp(state, "online", 6);
}

static int block_set(long block, const char *state)
{
	char path[128];

	snprintf(path, sizeof(path), MEM_DIR "/memory%ld/state", block);
	return write_str(path, state);
}

/*
 * Re-online the highest memory block that can be offlined as ZONE_MOVABLE;
 * return its number, or -1.
 */
static long make_movable_block(void)
{
	long block;

	for (block = 4096; block > 0; block--) {
		if (!block_online(block))
			continue;
		if (block_set(block, "offline"))
			continue;
		if (!block_set(block, "online_movable"))
			return block;
		block_set(block, "online");
	}
	return -1;
}

/*
 * A shmem page that sits in ZONE_MOVABLE when the memfd is mapped has been
 * migrated out of it by MAP: the memfd's own mapping then shows a frame
 * outside the movable block, which is the page the region shows.
 * Memory hotplug makes the highest offlinable block ZONE_MOVABLE, where
 * fresh user pages land first; skips if none can be, or if no page landed
 * there.
 */
TEST(pinned_pages_leave_zone_movable)
{
	const size_t npages = 256, len = npages * P;
	uint64_t block_pages, first, last, pfn;
	unsigned long long block_size = 0;
	size_t i, in_block = 0, still = 0;
	uint8_t *src, *view, c;
	int fd, region;
	long block;
	FILE *f;

	vt_install_fault_handler();
	f = fopen(MEM_DIR "/block_size_bytes", "re");
	if (!f)
		SKIP(return, "no memory hotplug (%s)", MEM_DIR);
	ASSERT_EQ(1, fscanf(f, "%llx", &block_size));
	fclose(f);
	block = make_movable_block();
	if (block < 0)
		SKIP(return, "no memory block could be onlined as ZONE_MOVABLE");
	block_pages = block_size / P;
	first = block * block_pages;
	last = first + block_pages;

	fd = memfd_create("vshm-movable", MFD_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, len));
	src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, src);
	vt_fill(src, len, SEED_A, 0);
	for (i = 0; i < npages; i++) {
		pfn = pfn_of(src + i * P);
		ASSERT_NE(0, pfn) {
			TH_LOG("no PFN in /proc/self/pagemap: not root?");
		}
		in_block += pfn >= first && pfn < last;
	}
	if (!in_block) {
		munmap(src, len);
		close(fd);
		block_set(block, "offline");
		block_set(block, "online");
		SKIP(return, "no shmem page landed in the movable block");
	}

	region = vt_create_region(len, 0);
	ASSERT_LE(0, region);
	ASSERT_EQ(0, vt_map(region, fd, 0, 0, 0, len));
	view = vt_mmap(region, len, PROT_READ, 0);
	ASSERT_NE(NULL, view);
	for (i = 0; i < npages; i++) {
		uint64_t w;

		ASSERT_EQ(0, vt_peek64(view + i * P + 8, &w));
		EXPECT_EQ(vt_word(SEED_A, i * P + 8), w);
		/* pagemap shows no PFN of a VM_PFNMAP VMA: ask the memfd's. */
		pfn = pfn_of(src + i * P);
		still += pfn >= first && pfn < last;
		EXPECT_TRUE(pfn < first || pfn >= last) {
			TH_LOG("page %zu pinned in ZONE_MOVABLE (pfn %#" PRIx64 ")",
			       i, pfn);
		}
		/* And it is the page the region shows. */
		src[i * P + 9] = 0xe1;
		ASSERT_EQ(0, vt_peek(view + i * P + 9, &c));
		EXPECT_EQ(0xe1, c);
	}
	TH_LOG("%zu of %zu pages were in ZONE_MOVABLE before MAP, %zu after",
	       in_block, npages, still);

	munmap(view, len);
	close(region);
	munmap(src, len);
	close(fd);
	block_set(block, "offline");
	block_set(block, "online");
}

/* Raises max_region_size for a test and puts it back. */
FIXTURE(bound) {
	uint64_t old_max;
	int region;
	int src;
};

FIXTURE_SETUP(bound)
{
	self->region = -1;
	self->src = -1;
	ASSERT_EQ(0, vt_param("max_region_size", &self->old_max));
	ASSERT_EQ(0, vt_param_set("max_region_size", 1ULL << 50));
}

FIXTURE_TEARDOWN(bound)
{
	if (self->region >= 0)
		close(self->region);
	if (self->src >= 0)
		close(self->src);
	vt_param_set("max_region_size", self->old_max);
}

/*
 * A shmem MAP one page past the page array bound (256 GiB + 4 KiB) fails
 * with E2BIG, and allocates nothing in the source.
 */
TEST_F(bound, shmem_array_bound)
{
	const uint64_t len = (MAX_PIN_UNITS + 1) * P;
	struct vshm_region_info info;
	struct stat st;

	self->src = memfd_create("vshm-bound", MFD_CLOEXEC);
	ASSERT_LE(0, self->src);
	ASSERT_EQ(0, ftruncate(self->src, len));
	self->region = vt_create_region(len, 0);
	ASSERT_LE(0, self->region);
	EXPECT_EQ(-E2BIG, vt_map(self->region, self->src, 0, 0, 0, len));
	ASSERT_EQ(0, fstat(self->src, &st));
	EXPECT_EQ(0, st.st_blocks);
	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(0, info.maps);
}

/*
 * A hugetlbfs MAP whose huge-page array passes the bound fails with E2BIG
 * before anything is allocated, also at a size whose array kvmalloc()
 * would refuse with a "crazy size" warning (2^28 entries and more).
 */
TEST_F(bound, hugetlb_array_bound)
{
	long kb = vt_proc_field("/proc/meminfo", "Hugepagesize");
	uint64_t huge, len;

	if (kb <= 0)
		SKIP(return, "no huge page support");
	huge = kb * 1024ULL;
	self->src = memfd_create("vshm-bound", MFD_CLOEXEC | MFD_HUGETLB);
	if (self->src < 0)
		SKIP(return, "no hugetlbfs memfd: %s", strerror(errno));
	len = (1ULL << 28) * huge + huge;
	if (len > (1ULL << 50))
		len = (MAX_PIN_UNITS + 1) * huge;
	ASSERT_EQ(0, ftruncate(self->src, len));
	self->region = vt_create_region(len, 0);
	ASSERT_LE(0, self->region);
	EXPECT_EQ(-E2BIG, vt_map(self->region, self->src, 0, 0, 0,
				 (MAX_PIN_UNITS + 1) * huge));
	EXPECT_EQ(-E2BIG, vt_map(self->region, self->src, 0, 0, 0, len));
	EXPECT_EQ(vt_proc_field("/proc/meminfo", "HugePages_Total"),
		  vt_proc_field("/proc/meminfo", "HugePages_Free"));
}

/*
 * Before 6.11 the pin maps the source range into the caller for its
 * duration: a caller whose address space limit leaves no room for it
 * gets ENOMEM, and neither a mapping nor an allocated page is left behind.
 * From 6.11 memfd_pin_folios() needs no mapping, and the MAP succeeds.
 */
TEST(no_room_for_the_pin)
{
	const size_t len = 64 << 20;
	struct vshm_region_info info;
	struct rlimit old, tight;
	char line[512];
	bool left = false;
	struct stat st;
	int fd, region, ret;
	long vm_kb;
	FILE *maps;

	fd = memfd_create("vshm-no-room", MFD_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, len));
	region = vt_create_region(len, 0);
	ASSERT_LE(0, region);

	vm_kb = vt_proc_field("/proc/self/status", "VmSize");
	ASSERT_LT(0, vm_kb);
	ASSERT_EQ(0, getrlimit(RLIMIT_AS, &old));
	tight = old;
	tight.rlim_cur = vm_kb * 1024UL + len / 4;
	ASSERT_EQ(0, setrlimit(RLIMIT_AS, &tight));
	ret = vt_map(region, fd, VSHM_MAP_WRITE, 0, 0, len);
	ASSERT_EQ(0, setrlimit(RLIMIT_AS, &old));

	ASSERT_EQ(0, vt_info(region, &info));
	ASSERT_EQ(0, fstat(fd, &st));
	if (kernel_has_memfd_pin_folios()) {
		EXPECT_EQ(0, ret);
		EXPECT_EQ(1, info.nr_mappings);
	} else {
		EXPECT_EQ(-ENOMEM, ret);
		EXPECT_EQ(0, info.maps);
		EXPECT_EQ(0, st.st_blocks);
	}
	maps = fopen("/proc/self/maps", "re");
	ASSERT_NE(NULL, maps);
	while (fgets(line, sizeof(line), maps))
		left |= strstr(line, "vshm-no-room") != NULL;
	fclose(maps);
	EXPECT_FALSE(left);
	close(region);
	close(fd);
}

TEST_HARNESS_MAIN
