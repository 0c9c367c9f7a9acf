// SPDX-License-Identifier: GPL-2.0
/*
 * How vshm imports dma-bufs (Documentation/kmod.rst, "dma-bufs"): which
 * exporters it maps and which it refuses, one attachment per (region,
 * buffer) however many mappings use it, the per-region cap on attached
 * buffers, and copies racing unmap.
 *
 * Needs vgem (scripts/vm-run --with-vgem).  The refusal tests need the
 * test-only exporter module selftests/kmod-exporter, whose path
 * $VSHM_EXPORTER_KO names ('make check' sets it); they skip without it.
 * The CONFIG_DMABUF_DEBUG refusal runs only on a kernel built with that
 * option, which it reads from /boot/config-$(uname -r) or /proc/config.gz.
 */
#include "vgem_util.h"
#include <pthread.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "vshm_selftest_exporter.h"
#include "vshm_test.h"
#include "kselftest_harness.h"

#define BIG_BUF		(32 * 1024 * 1024UL)
#define NR_SMALL_MAPS	600
#define REGION_SIZE	(8 * 1024 * 1024UL)

/* The test exporter's device, loading the module if needed; -1 if absent. */
static int exporter_open(void)
{
	const char *ko = getenv("VSHM_EXPORTER_KO");
	int dev, fd;

	dev = open(VSHM_SELFTEST_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
	if (dev >= 0 || !ko)
		return dev;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST) {
		close(fd);
		return -1;
	}
	close(fd);
	return open(VSHM_SELFTEST_EXPORTER_DEV, O_RDWR | O_CLOEXEC);
}

/* A dma-buf of @size bytes from the test exporter: the fd or -errno. */
static int exporter_buffer(int dev, uint64_t size, enum vshm_selftest_kind kind)
{
	struct vshm_selftest_export req = { .size = size, .kind = kind };

	if (ioctl(dev, VSHM_SELFTEST_EXPORT, &req))
		return -errno;
	return req.fd;
}

/* /dev/kmsg positioned at its end, to read what is logged from now on. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* Whether a record logged since kmsg_open() contains both strings. */
static bool kmsg_has(int fd, const char *a, const char *b)
{
	char rec[2048];
	ssize_t n;

	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = '\0';
		if (strstr(rec, a) && strstr(rec, b))
			return true;
	}
	return false;
}

/*
 * Whether the running kernel was built with @opt ("CONFIG_X"): 1 if =y or
 * =m, 0 if not, -1 if no configuration is readable (@why says where it
 * looked).  /boot/config-<release> first, then /proc/config.gz (IKCONFIG).
 */
static int kernel_config_has(const char *opt, char *why, size_t whylen)
{
	char path[128], line[256], set[96];
	struct utsname u;
	int found = -1;
	FILE *f;
	bool piped = false;

	if (uname(&u))
		return -1;
	snprintf(path, sizeof(path), "/boot/config-%s", u.release);
	snprintf(set, sizeof(set), "%s=", opt);
	f = fopen(path, "re");
	if (!f && !access("/proc/config.gz", R_OK)) {
		f = popen("gzip -dc /proc/config.gz", "re");
		piped = true;
	}
	if (!f) {
		snprintf(why, whylen, "neither %s nor /proc/config.gz is readable", path);
		return -1;
	}
	found = 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, set, strlen(set)) &&
		    (line[strlen(set)] == 'y' || line[strlen(set)] == 'm'))
			found = 1;
	if (piped ? pclose(f) != 0 : fclose(f) != 0) {
		snprintf(why, whylen, "could not read /proc/config.gz (gzip -dc failed)");
		return -1;
	}
	snprintf(why, whylen, "%s is %s in %s", opt, found ? "set" : "not set",
		 piped ? "/proc/config.gz" : path);
	return found;
}

/* MemAvailable from /proc/meminfo, in KiB; 0 if unreadable. */
static uint64_t mem_available_kib(void)
{
	char line[128];
	uint64_t kib = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

FIXTURE(import) {
	int drm;		/* vgem */
	int exp;		/* the test exporter, or -1 */
	int region;
	uint64_t attachments;	/* debugfs total before the test */
	uint64_t max_dmabufs;	/* the module parameter before the test */
};

FIXTURE_SETUP(import)
{
	self->region = -1;
	self->exp = exporter_open();
	self->drm = vgem_open();
	ASSERT_LE(0, self->drm) {
		TH_LOG("no vgem device: load vgem (scripts/vm-run --with-vgem)");
	}
	ASSERT_EQ(0, vt_param("max_dmabufs", &self->max_dmabufs));
	ASSERT_EQ(0, vt_stat("dmabuf_attachments", &self->attachments));
	self->region = vt_create_region(REGION_SIZE, 0);
	ASSERT_LE(0, self->region);
}

FIXTURE_TEARDOWN(import)
{
	uint64_t attachments;

	if (self->region >= 0)
		close(self->region);
	/* Closing the region let every attachment go. */
	if (!vt_stat("dmabuf_attachments", &attachments))
		EXPECT_EQ(self->attachments, attachments);
	vt_param_set("max_dmabufs", self->max_dmabufs);
	if (self->exp >= 0)
		close(self->exp);
	if (self->drm >= 0)
		close(self->drm);
}

/* A refused map left the region as it was: no mapping, buffer or attachment. */
static void expect_nothing_held(struct __test_metadata *_metadata,
				FIXTURE_DATA(import) *self)
{
	struct vshm_region_info info;
	uint64_t total;

	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(0, info.nr_mappings);
	EXPECT_EQ(0, info.nr_dmabufs);
	ASSERT_EQ(0, vt_stat("dmabuf_attachments", &total));
	EXPECT_EQ(self->attachments, total);
}

#define NEED_TEST_EXPORTER()						\
	do {								\
		if (self->exp < 0)					\
			SKIP(return, "no test exporter: set VSHM_EXPORTER_KO " \
			     "to selftests/kmod-exporter's module ('make check' does)"); \
	} while (0)

/*
 * 600 one-page maps of one 32 MiB buffer share one attachment: the region
 * attaches once, not once per map, so the exporter's per-attachment memory
 * is spent once (it used to be 38 MiB for these maps).  Each map still
 * reaches its own page of the buffer.
 */
TEST_F(import, one_attachment_per_buffer)
{
	struct vshm_region_info info;
	uint64_t before, after, total, off;
	uint8_t byte;
	int buf;
	int i;

	buf = vgem_dmabuf(self->drm, BIG_BUF, true);
	ASSERT_LE(0, buf);
	/* The first map makes vgem allocate the buffer; measure the rest. */
	ASSERT_EQ(0, vt_map(self->region, buf, VSHM_MAP_WRITE, BIG_BUF - VT_PAGE,
			    0, VT_PAGE));
	before = mem_available_kib();
	for (i = 1; i < NR_SMALL_MAPS; i++) {
		off = (uint64_t)i * VT_PAGE;
		ASSERT_EQ(0, vt_map(self->region, buf, VSHM_MAP_WRITE,
				    BIG_BUF - VT_PAGE - off * 13 % (BIG_BUF / 2),
				    off, VT_PAGE));
	}
	after = mem_available_kib();
	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(NR_SMALL_MAPS, info.nr_mappings);
	EXPECT_EQ(1, info.nr_dmabufs);
	ASSERT_EQ(0, vt_stat("dmabuf_attachments", &total));
	EXPECT_EQ(self->attachments + 1, total);
	/* 600 mappings cost kilobytes, not an attachment each (38 MiB). */
	EXPECT_GT(16 * 1024, before > after ? before - after : 0) {
		TH_LOG("MemAvailable dropped by %" PRIu64 " KiB for %d maps",
		       before - after, NR_SMALL_MAPS);
	}

	/* Distinct maps see distinct pages of the one buffer. */
	for (i = 0; i < NR_SMALL_MAPS; i += 97) {
		off = (uint64_t)i * VT_PAGE;
		byte = (uint8_t)i;
		ASSERT_EQ(1, pwrite(self->region, &byte, 1, off));
	}
	for (i = 0; i < NR_SMALL_MAPS; i += 97) {
		off = (uint64_t)i * VT_PAGE;
		ASSERT_EQ(1, pread(self->region, &byte, 1, off));
		EXPECT_EQ((uint8_t)i, byte);
	}
	close(buf);

	ASSERT_EQ(0, vt_unmap(self->region, 0, VT_PAGE));
	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(1, info.nr_dmabufs);
	ASSERT_EQ(0, vt_unmap_all(self->region));
	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(0, info.nr_dmabufs);
	ASSERT_EQ(0, vt_stat("dmabuf_attachments", &total));
	EXPECT_EQ(self->attachments, total);
}

/*
 * max_dmabufs caps the distinct buffers one region uses: more maps of an
 * attached buffer are fine, the next distinct buffer fails with ENOSPC and
 * changes nothing, and it fits again once a buffer is let go.
 */
TEST_F(import, cap_refuses_next_distinct_buffer)
{
	struct vshm_region_info info;
	int a, b, c, region;

	ASSERT_EQ(0, vt_param_set("max_dmabufs", 2));
	/* The limit is taken when a region is created. */
	region = vt_create_region(REGION_SIZE, 0);
	ASSERT_LE(0, region);
	a = vgem_dmabuf(self->drm, 64 * 1024, true);
	b = vgem_dmabuf(self->drm, 64 * 1024, true);
	c = vgem_dmabuf(self->drm, 64 * 1024, true);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, c);

	ASSERT_EQ(0, vt_map(region, a, 0, 0, 0, VT_PAGE));
	ASSERT_EQ(0, vt_map(region, a, 0, VT_PAGE, VT_PAGE, VT_PAGE));
	ASSERT_EQ(0, vt_map(region, b, 0, 0, 2 * VT_PAGE, VT_PAGE));
	EXPECT_EQ(-ENOSPC, vt_map(region, c, 0, 0, 3 * VT_PAGE, VT_PAGE));
	ASSERT_EQ(0, vt_info(region, &info));
	EXPECT_EQ(2, info.nr_dmabufs);
	EXPECT_EQ(2, info.max_dmabufs);
	EXPECT_EQ(3, info.nr_mappings);
	/* A buffer already attached still maps. */
	EXPECT_EQ(0, vt_map(region, b, 0, VT_PAGE, 4 * VT_PAGE, VT_PAGE));
	/* The module limit does not reach back to regions made before it. */
	EXPECT_EQ(0, vt_map(self->region, c, 0, 0, 0, VT_PAGE));

	ASSERT_EQ(0, vt_unmap(region, 2 * VT_PAGE, VT_PAGE));
	ASSERT_EQ(0, vt_unmap(region, 4 * VT_PAGE, VT_PAGE));
	EXPECT_EQ(0, vt_map(region, c, 0, 0, 3 * VT_PAGE, VT_PAGE));
	ASSERT_EQ(0, vt_info(region, &info));
	EXPECT_EQ(2, info.nr_dmabufs);
	close(a);
	close(b);
	close(c);
	close(region);
}

/*
 * A buffer from an exporter vshm does not know is refused with ENODEV,
 * however ordinary its pages, and the kernel log names the exporter.
 */
TEST_F(import, unknown_exporter_refused)
{
	int buf, kmsg;

	NEED_TEST_EXPORTER();
	buf = exporter_buffer(self->exp, 64 * 1024, VSHM_SELFTEST_UNKNOWN_EXPORTER);
	ASSERT_LE(0, buf);
	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	EXPECT_EQ(-ENODEV, vt_map(self->region, buf, 0, 0, 0, VT_PAGE));
	EXPECT_EQ(-ENODEV, vt_map(self->region, buf, VSHM_MAP_WRITE, 0, 0, VT_PAGE));
	EXPECT_TRUE(kmsg_has(kmsg, "\"vshm_selftest_exporter\"", "refused"));
	expect_nothing_held(_metadata, self);
	close(kmsg);
	close(buf);
}

/*
 * On a kernel built with CONFIG_DMABUF_DEBUG, which scrambles the pages of
 * every importer's sg_table, every dma-buf map fails with EOPNOTSUPP
 * before attaching, read-only and writable alike, names the exporter in
 * the kernel log, and leaves the region as it was; memfds still map.
 */
TEST_F(import, dmabuf_debug_refused)
{
	char why[256];
	int buf, kmsg, memfd, has;

	has = kernel_config_has("CONFIG_DMABUF_DEBUG", why, sizeof(why));
	if (has != 1)
		SKIP(return, "the refusal runs only under CONFIG_DMABUF_DEBUG: %s", why);
	buf = vgem_dmabuf(self->drm, 64 * 1024, true);
	ASSERT_LE(0, buf);
	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	EXPECT_EQ(-EOPNOTSUPP, vt_map(self->region, buf, 0, 0, 0, VT_PAGE));
	EXPECT_EQ(-EOPNOTSUPP, vt_map(self->region, buf, VSHM_MAP_WRITE, 0, VT_PAGE,
				      4 * VT_PAGE));
	EXPECT_TRUE(kmsg_has(kmsg, "\"vgem\"", "CONFIG_DMABUF_DEBUG"));
	expect_nothing_held(_metadata, self);
	memfd = vt_memfd(VT_PAGE, 1, 0);
	ASSERT_LE(0, memfd);
	EXPECT_EQ(0, vt_map(self->region, memfd, VSHM_MAP_WRITE, 0, 0, VT_PAGE));
	close(memfd);
	close(kmsg);
	close(buf);
}

/*
 * The page checks stand on their own: a buffer under a known exporter's
 * name whose pages are TTM-style (non-compound order-1 blocks, refcount-0
 * tails) is refused with ENODEV, while the same name with ordinary pages
 * maps and copies (so it is the pages that were refused).
 */
TEST_F(import, ttm_style_pages_refused)
{
	struct vshm_region_info info;
	uint8_t in[VT_PAGE], out[VT_PAGE];
	int ok, bad, kmsg;

	NEED_TEST_EXPORTER();
	ok = exporter_buffer(self->exp, 64 * 1024, VSHM_SELFTEST_NAMED_UDMABUF);
	bad = exporter_buffer(self->exp, 64 * 1024, VSHM_SELFTEST_TTM_TAILS);
	ASSERT_LE(0, ok);
	ASSERT_LE(0, bad);

	ASSERT_EQ(0, vt_map(self->region, ok, VSHM_MAP_WRITE, 0, 0, 64 * 1024));
	vt_fill(in, sizeof(in), 5, 0);
	ASSERT_EQ((ssize_t)sizeof(in), pwrite(self->region, in, sizeof(in), VT_PAGE));
	ASSERT_EQ((ssize_t)sizeof(out), pread(self->region, out, sizeof(out), VT_PAGE));
	EXPECT_EQ(0, memcmp(in, out, sizeof(in)));

	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	EXPECT_EQ(-ENODEV, vt_map(self->region, bad, 0, 0, 64 * 1024, VT_PAGE));
	EXPECT_TRUE(kmsg_has(kmsg, "\"udmabuf\"", "not an ordinary refcounted system page"));
	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(1, info.nr_mappings);
	EXPECT_EQ(1, info.nr_dmabufs);
	close(kmsg);
	close(ok);
	close(bad);
}

/*
 * A copy through dma-buf mappings with a safe hole between them: each
 * mapping's pages come through, the hole reads as zeros and swallows
 * writes, and nothing stays attached after unmap.
 */
TEST_F(import, copy_across_safe_hole)
{
	uint8_t in[3 * VT_PAGE], out[3 * VT_PAGE], zero[VT_PAGE] = { 0 };
	struct vshm_region_info info;
	int region, buf;

	region = vt_create_region_flags(REGION_SIZE, VSHM_REGION_SAFE_HOLES);
	ASSERT_LE(0, region);
	buf = vgem_dmabuf(self->drm, 2 * VT_PAGE, true);
	ASSERT_LE(0, buf);
	ASSERT_EQ(0, vt_map(region, buf, VSHM_MAP_WRITE, 0, 0, VT_PAGE));
	ASSERT_EQ(0, vt_map(region, buf, VSHM_MAP_WRITE, VT_PAGE, 2 * VT_PAGE,
			    VT_PAGE));
	close(buf);

	vt_fill(in, sizeof(in), 8, 0);
	ASSERT_EQ((ssize_t)sizeof(in), pwrite(region, in, sizeof(in), 0));
	ASSERT_EQ((ssize_t)sizeof(out), pread(region, out, sizeof(out), 0));
	EXPECT_EQ(0, memcmp(out, in, VT_PAGE));
	EXPECT_EQ(0, memcmp(out + VT_PAGE, zero, VT_PAGE));
	EXPECT_EQ(0, memcmp(out + 2 * VT_PAGE, in + 2 * VT_PAGE, VT_PAGE));
	ASSERT_EQ(0, vt_info(region, &info));
	EXPECT_EQ(1, info.nr_dmabufs);
	ASSERT_EQ(0, vt_unmap_all(region));
	ASSERT_EQ(0, vt_info(region, &info));
	EXPECT_EQ(0, info.nr_dmabufs);
	close(region);
}

struct race {
	int region;
	int drm;
	volatile bool stop;
	unsigned long copies, hits, maps;
};

#define RACE_LEN	(16 * VT_PAGE)

/* pread/pwrite over the racing range; every result must be a legal one. */
static void *race_copier(void *arg)
{
	struct race *r = arg;
	static __thread uint8_t data[RACE_LEN];
	bool write = false;

	while (!r->stop) {
		ssize_t n = write ? pwrite(r->region, data, sizeof(data), 0) :
				    pread(r->region, data, sizeof(data), 0);

		if (n < 0 && errno != ENXIO)
			return (void *)(intptr_t)errno;
		if (n > (ssize_t)sizeof(data))
			return (void *)(intptr_t)EOVERFLOW;
		write = !write;
		__atomic_add_fetch(&r->copies, 1, __ATOMIC_RELAXED);
		if (n > 0)
			__atomic_add_fetch(&r->hits, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * pread/pwrite racing UNMAP of a dma-buf mapping: two threads copy while
 * the main thread maps fresh buffers (closing its own fds at once, so the
 * mapping holds the last reference) and unmaps them.  A copy may finish
 * on a mapping that is being unmapped, and then releases the mapping, its
 * attachment and the buffer itself; the kernel log must stay clean.
 */
TEST_F(import, copy_racing_unmap)
{
	struct race r = { .region = self->region, .drm = self->drm };
	time_t start = time(NULL);
	struct vshm_region_info info;
	pthread_t t[2];
	unsigned int i;
	void *ret;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, race_copier, &r));
	/* Bounded in time too: TCG is slow, and the harness allows 30 s. */
	for (i = 0; i < 300 && (i < 5 || time(NULL) < start + 5); i++) {
		int buf = vgem_dmabuf(self->drm, RACE_LEN, true);

		ASSERT_LE(0, buf);
		ASSERT_EQ(0, vt_map(self->region, buf, VSHM_MAP_WRITE, 0, 0, RACE_LEN));
		close(buf);
		usleep(i % 3 * 100);
		ASSERT_EQ(0, vt_unmap(self->region, 0, RACE_LEN));
		r.maps++;
	}
	r.stop = true;
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &ret));
		EXPECT_EQ(NULL, ret) {
			TH_LOG("a copy failed with %s", strerror((int)(intptr_t)ret));
		}
	}
	TH_LOG("%lu copies (%lu reached a buffer) raced %lu map/unmap cycles",
	       r.copies, r.hits, r.maps);
	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(0, info.nr_dmabufs);
}

TEST_HARNESS_MAIN
