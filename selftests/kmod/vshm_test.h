/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vshm.ko selftests: region and mapping ioctls that
 * return -errno, memfds filled with a recognisable pattern, a SIGBUS/SIGSEGV
 * probe for touching region mappings, the VMA count of an address range,
 * readers for the module parameters and the debugfs totals, and what the
 * running kernel lets a region's mmap have (PMD entries).
 *
 * The pattern: the 64-bit word at byte offset @off of a source filled with
 * @seed is vt_word(seed, off).  Its top byte is 0x5a, so it is never zero
 * and never the 0xaa of a poisoned (freed) page.
 */
#ifndef VSHM_TEST_H
#define VSHM_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/vshm.h>

#define VT_PAGE			4096UL
#define VT_PARAM_DIR		"/sys/module/vshm/parameters"
#define VT_STATS_PATH		"/sys/kernel/debug/vshm/stats"

/*
 * What every module test checks first, in a TEST or FIXTURE_SETUP: 4 KiB
 * pages (the tests' layouts count in them) and /dev/vshm present.
 */
#define VT_REQUIRE_DEVICE() do {					\
	ASSERT_EQ(VT_PAGE, (unsigned long)sysconf(_SC_PAGESIZE));	\
	ASSERT_EQ(0, access(VSHM_DEVICE_PATH, F_OK)) {			\
		TH_LOG("%s missing: is vshm.ko loaded?",		\
		       VSHM_DEVICE_PATH);				\
	}								\
} while (0)

/* ---- ioctls, each returning a new fd or 0 on success, -errno on failure */

static inline int vt_create_region_req(struct vshm_region_create *req)
{
	int dev, fd, err;

	dev = open(VSHM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -errno;
	fd = ioctl(dev, VSHM_IOC_CREATE_REGION, req);
	err = errno;
	close(dev);
	return fd < 0 ? -err : fd;
}

static inline int vt_create_region(uint64_t size, uint32_t max_mappings)
{
	struct vshm_region_create req = {
		.size = size,
		.max_mappings = max_mappings,
	};

	return vt_create_region_req(&req);
}

static inline int vt_create_region_flags(uint64_t size, uint32_t flags)
{
	struct vshm_region_create req = {
		.size = size,
		.flags = flags,
	};

	return vt_create_region_req(&req);
}

static inline int vt_map_req(int region, const struct vshm_map *m)
{
	return ioctl(region, VSHM_IOC_MAP, m) ? -errno : 0;
}

static inline int vt_map(int region, int fd, uint32_t flags, uint64_t fd_offset,
			 uint64_t shm_offset, uint64_t len)
{
	struct vshm_map m = {
		.fd = fd,
		.flags = flags,
		.fd_offset = fd_offset,
		.shm_offset = shm_offset,
		.len = len,
	};

	return vt_map_req(region, &m);
}

static inline int vt_unmap(int region, uint64_t shm_offset, uint64_t len)
{
	struct vshm_unmap u = { .shm_offset = shm_offset, .len = len };

	return ioctl(region, VSHM_IOC_UNMAP, &u) ? -errno : 0;
}

static inline int vt_unmap_all(int region)
{
	return ioctl(region, VSHM_IOC_UNMAP_ALL) ? -errno : 0;
}

static inline int vt_info(int region, struct vshm_region_info *info)
{
	memset(info, 0xff, sizeof(*info));
	return ioctl(region, VSHM_IOC_REGION_INFO, info) ? -errno : 0;
}

/*
 * Read @region's info into @info and expect its mapping table and
 * counters: @nr mappings of @bytes bytes in all, after @nmaps maps and
 * @nunmaps unmaps.  A macro: the checks are the calling test's.
 */
#define VT_EXPECT_TABLE(region, info, nr, bytes, nmaps, nunmaps)	\
	do {								\
		ASSERT_EQ(0, vt_info(region, &(info)));			\
		EXPECT_EQ(nr, (info).nr_mappings);			\
		EXPECT_EQ(bytes, (info).mapped_bytes);			\
		EXPECT_EQ(nmaps, (info).maps);				\
		EXPECT_EQ(nunmaps, (info).unmaps);			\
	} while (0)

/* Open the file behind @fd again with @flags, through /proc/self/fd. */
static inline int vt_reopen(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags | O_CLOEXEC);
}

/* mmap the whole region (or @len bytes at @off) shared; NULL on failure. */
static inline void *vt_mmap(int region, size_t len, int prot, off_t off)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, region, off);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Unmap *map (len bytes) and close *region, each if set, and mark both
 * gone: for teardowns, and for tests that drop the region before them.
 */
static inline void vt_drop_region(int *region, uint8_t **map, size_t len)
{
	if (*map)
		munmap(*map, len);
	*map = NULL;
	if (*region >= 0)
		close(*region);
	*region = -1;
}

/* ---- pattern */

static inline uint64_t vt_word(unsigned int seed, uint64_t off)
{
	return (0x5aULL << 56) | ((uint64_t)(seed & 0xff) << 48) |
	       (off & 0xffffffffffffULL);
}

static inline uint8_t vt_byte(unsigned int seed, uint64_t off)
{
	return vt_word(seed, off & ~7ULL) >> (8 * (off & 7));
}

/* Fill @len bytes at @buf with the pattern of @seed from source offset @off. */
static inline void vt_fill(void *buf, size_t len, unsigned int seed, uint64_t off)
{
	uint8_t *b = buf;
	size_t i = 0;

	if (!(off & 7) && !((uintptr_t)buf & 7)) {
		for (; i + 8 <= len; i += 8)
			*(uint64_t *)(b + i) = vt_word(seed, off + i);
	}
	for (; i < len; i++)
		b[i] = vt_byte(seed, off + i);
}

/*
 * Check @len bytes at @buf against the pattern of @seed from source offset
 * @off.  Return -1 if they match, else the index of the first difference.
 */
static inline long vt_check(const void *buf, size_t len, unsigned int seed,
			    uint64_t off)
{
	const uint8_t *b = buf;
	size_t i = 0;

	if (!(off & 7) && !((uintptr_t)buf & 7)) {
		for (; i + 8 <= len; i += 8)
			if (*(const uint64_t *)(b + i) != vt_word(seed, off + i))
				break;
	}
	for (; i < len; i++)
		if (b[i] != vt_byte(seed, off + i))
			return i;
	return -1;
}

/* Check that @len bytes at @buf are all @c; same return as vt_check(). */
static inline long vt_check_byte(const void *buf, size_t len, uint8_t c)
{
	const uint8_t *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != c)
			return i;
	return -1;
}

/*
 * A memfd of @size bytes (MFD_CLOEXEC | MFD_ALLOW_SEALING | @mfd_flags)
 * filled with the pattern of @seed through a temporary shared mapping (which
 * also works for hugetlbfs, where write() does not).  Returns the fd or
 * -errno.
 */
static inline int vt_memfd(size_t size, unsigned int seed, unsigned int mfd_flags)
{
	int fd, err;
	void *p;

	fd = memfd_create("vshm-test", MFD_CLOEXEC | MFD_ALLOW_SEALING | mfd_flags);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size))
		goto fail;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	vt_fill(p, size, seed, 0);
	munmap(p, size);
	return fd;
fail:
	err = errno;
	close(fd);
	return -err;
}

/* ---- touching region memory: SIGBUS / SIGSEGV probes (per thread) */

static __thread sigjmp_buf vt_jmp __attribute__((unused));
static __thread volatile sig_atomic_t vt_armed __attribute__((unused));
static __thread volatile int vt_signo __attribute__((unused));
static __thread void *volatile vt_fault_addr __attribute__((unused));

static __attribute__((unused)) void vt_fault_handler(int sig, siginfo_t *si,
						     void *uc)
{
	(void)uc;
	if (!vt_armed) {
		/* Not a probe: die of the signal as if unhandled. */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	vt_armed = 0;
	vt_signo = sig;
	vt_fault_addr = si->si_addr;
	siglongjmp(vt_jmp, 1);
}

/* Install the probe handler for SIGBUS and SIGSEGV (process-wide). */
static inline void vt_install_fault_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = vt_fault_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/*
 * The body of a probe: do @access with the handler armed, then return 0,
 * or the signal that stopped it.  A macro, because sigsetjmp() must be
 * called in the frame that the handler's siglongjmp() returns to.
 */
#define VT_PROBE(access)			\
	do {					\
		if (sigsetjmp(vt_jmp, 1))	\
			return vt_signo;	\
		vt_armed = 1;			\
		access;				\
		vt_armed = 0;			\
		return 0;			\
	} while (0)

/*
 * Copy @len bytes from @src to @dst, either of which may be region memory.
 * Return 0, or the signal (SIGBUS, SIGSEGV) that stopped the copy; the
 * faulting address is then in vt_fault_addr.  The handler must have been
 * installed with vt_install_fault_handler().
 */
static inline int vt_copy(void *dst, const void *src, size_t len)
{
	VT_PROBE(memcpy(dst, src, len));
}

/* Read one byte at @p into *@out; 0 or the signal raised. */
static inline int vt_peek(const void *p, uint8_t *out)
{
	VT_PROBE(*out = *(const volatile uint8_t *)p);
}

/* Write @v at @p; 0 or the signal raised. */
static inline int vt_poke(void *p, uint8_t v)
{
	VT_PROBE(*(volatile uint8_t *)p = v);
}

/* Read the 64-bit word at @p into *@out; 0 or the signal raised. */
static inline int vt_peek64(const void *p, uint64_t *out)
{
	VT_PROBE(*out = *(const volatile uint64_t *)p);
}

/* ---- /proc/self/maps */

/*
 * Count the VMAs of this process that intersect [@start, @start + @len).
 * *@covers (if not NULL) says whether one of them covers the whole range.
 * Returns -errno if the maps file cannot be read.
 */
static inline int vt_vmas_in(const void *start, size_t len, bool *covers)
{
	uintptr_t lo = (uintptr_t)start, hi = lo + len;
	unsigned long a, b;
	char line[512];
	int n = 0;
	FILE *f;

	if (covers)
		*covers = false;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &a, &b) != 2)
			continue;
		if (b <= lo || a >= hi)
			continue;
		n++;
		if (covers && a <= lo && b >= hi)
			*covers = true;
	}
	fclose(f);
	return n;
}

/* ---- module parameters and debugfs totals */

static inline int vt_read_u64_file(const char *path, uint64_t *val)
{
	unsigned long long v;
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%llu", &v) == 1;
	fclose(f);
	if (!ok)
		return -EINVAL;
	*val = v;
	return 0;
}

static inline int vt_write_u64_file(const char *path, uint64_t val)
{
	char buf[32];
	int fd, n, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", val);
	if (write(fd, buf, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

/* Read /sys/module/vshm/parameters/@name. */
static inline int vt_param(const char *name, uint64_t *val)
{
	char path[256];

	snprintf(path, sizeof(path), VT_PARAM_DIR "/%s", name);
	return vt_read_u64_file(path, val);
}

static inline int vt_param_set(const char *name, uint64_t val)
{
	char path[256];

	snprintf(path, sizeof(path), VT_PARAM_DIR "/%s", name);
	return vt_write_u64_file(path, val);
}

/*
 * Read the line "@name value" of the debugfs totals.  -ENOENT if the file
 * or the line is missing.
 */
static inline int vt_stat(const char *name, uint64_t *val)
{
	unsigned long long v;
	char line[256], key[128];
	int ret = -ENOENT;
	FILE *f;

	f = fopen(VT_STATS_PATH, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %llu", key, &v) == 2 && !strcmp(key, name)) {
			*val = v;
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/*
 * Read the number of the line "@key: N ..." of a /proc file such as
 * /proc/meminfo or /proc/self/status; -1 if missing.
 */
static inline long vt_proc_field(const char *path, const char *key)
{
	char line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Whether the running kernel is release @major.@minor or later. */
static inline bool vt_kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/* The PMD size of x86-64, which the tests run on. */
#define VT_PMD_SIZE		(2UL << 20)

/*
 * The pmd_size REGION_INFO must report: PMD entries in region mmaps from
 * Linux 6.12 on (kmod/probes/pmd_pfnmap.c), none before.
 */
static inline uint64_t vt_kernel_pmd_size(void)
{
	return vt_kernel_at_least(6, 12) ? VT_PMD_SIZE : 0;
}

/*
 * Whether faults on @region's mmap should get PMD entries where a mapping
 * allows them: the region reports a pmd_size, and the THP policy is
 * "always" (the tests do not madvise).  If not, *@why says why.
 */
static inline bool vt_pmds_expected(int region, const char **why)
{
	struct vshm_region_info info;
	char line[128] = "";
	FILE *f;

	if (ioctl(region, VSHM_IOC_REGION_INFO, &info) || !info.pmd_size) {
		*why = "this kernel gives region mmaps 4 KiB entries only";
		return false;
	}
	f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	if (!strstr(line, "[always]")) {
		*why = "transparent_hugepage/enabled is not \"always\"";
		return false;
	}
	*why = "";
	return true;
}

#endif /* VSHM_TEST_H */
