// SPDX-License-Identifier: GPL-2.0
/*
 * Multi-process chaos: several processes share one region and each has
 * regions of its own; they map, replace, unmap, fault, pread and pwrite at
 * random, close and recreate regions, and some exit abruptly in the middle
 * of it all.  Afterwards the module's debugfs totals are back where they
 * started (no leaked region, mapping, byte or page reference), and the
 * module unloads and reloads cleanly several times.  The runner checks the
 * kernel log.
 *
 * Runs for $VSHM_CHAOS_SECONDS (default 15; `make soak` runs it longer).
 * Needs root and $VSHM_KO for the reload cycles.
 */
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "vshm_test.h"
#include "kselftest_harness.h"

#define WORKERS		4
#define SLOTS		64		/* page-sized slots per region */
#define SRC_PAGES	16
#define OWN_REGIONS	2

/* Worker exit codes: 0 fine, 1 an unexpected errno, 2 setup failed. */
#define WORKER_BAD_ERRNO	1
#define WORKER_SETUP		2

static const char *const totals[] = {
	"regions", "mappings", "mapped_bytes", "pages_held",
};

static unsigned int chaos_seconds(void)
{
	const char *s = getenv("VSHM_CHAOS_SECONDS");
	unsigned int v = s ? (unsigned int)strtoul(s, NULL, 10) : 0;

	return v ? v : 15;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Errors that racing, random operations legitimately get. */
static bool expected_errno(int err)
{
	return err == 0 || err == -EEXIST || err == -ENOENT ||
	       err == -EINVAL || err == -ENOSPC || err == -ENXIO ||
	       err == -EACCES;
}

/* One random operation on @region (mapped at @view); false if it went wrong. */
static bool chaos_step(int region, uint8_t *view, int src, unsigned int *seed)
{
	unsigned int slot = rand_r(seed) % SLOTS;
	unsigned int pages = 1 + rand_r(seed) % 4;
	uint64_t off = slot * VT_PAGE;
	uint8_t buf[2 * VT_PAGE] = { 0 }, byte = 0;
	ssize_t n;
	int err = 0;

	if (slot + pages > SLOTS)
		pages = SLOTS - slot;
	switch (rand_r(seed) % 8) {
	case 0:
	case 1:
		err = vt_map(region, src, rand_r(seed) % 2 ? VSHM_MAP_WRITE : 0,
			     (rand_r(seed) % (SRC_PAGES - 4)) * VT_PAGE, off,
			     pages * VT_PAGE);
		break;
	case 2:
		err = vt_map(region, src, VSHM_MAP_REPLACE | VSHM_MAP_WRITE, 0,
			     off, pages * VT_PAGE);
		break;
	case 3:
		err = vt_unmap(region, off, pages * VT_PAGE);
		break;
	case 4:
		/* SIGBUS in a hole or on a read-only page is the point. */
		vt_peek(view + off + rand_r(seed) % VT_PAGE, &byte);
		vt_poke(view + off, byte + 1);
		break;
	case 5:
		n = pread(region, buf, sizeof(buf), off + rand_r(seed) % VT_PAGE);
		err = n < 0 ? -errno : 0;
		break;
	case 6:
		n = pwrite(region, buf, sizeof(buf) / 2, off);
		err = n < 0 ? -errno : 0;
		break;
	default:
		if (rand_r(seed) % 16 == 0)
			err = vt_unmap_all(region);
		break;
	}
	if (!expected_errno(err)) {
		fprintf(stderr, "# worker %d: unexpected %s\n", getpid(), strerror(-err));
		return false;
	}
	return true;
}

/*
 * A worker: works on the shared region and on regions of its own, which it
 * closes and recreates; some workers _exit() in the middle of it all.
 */
static int worker(int shared, uint8_t *shared_view, double deadline,
		  unsigned int seed)
{
	uint8_t *views[OWN_REGIONS];
	int own[OWN_REGIONS], src, i;
	bool die_early = seed % 3 == 0;

	vt_install_fault_handler();
	src = vt_memfd(SRC_PAGES * VT_PAGE, seed, 0);
	if (src < 0)
		return WORKER_SETUP;
	for (i = 0; i < OWN_REGIONS; i++) {
		own[i] = vt_create_region(SLOTS * VT_PAGE, 0);
		views[i] = own[i] < 0 ? MAP_FAILED :
			vt_mmap(own[i], SLOTS * VT_PAGE, PROT_READ | PROT_WRITE, 0);
		if (views[i] == MAP_FAILED)
			return WORKER_SETUP;
	}

	while (now_s() < deadline) {
		int pick = rand_r(&seed) % (OWN_REGIONS + 1);

		if (pick == OWN_REGIONS) {
			if (!chaos_step(shared, shared_view, src, &seed))
				return WORKER_BAD_ERRNO;
		} else if (rand_r(&seed) % 64 == 0) {
			/* Close the fd while mapped and mmap'ed, then start anew. */
			close(own[pick]);
			munmap(views[pick], SLOTS * VT_PAGE);
			own[pick] = vt_create_region(SLOTS * VT_PAGE, 0);
			views[pick] = own[pick] < 0 ? MAP_FAILED :
				vt_mmap(own[pick], SLOTS * VT_PAGE, PROT_READ | PROT_WRITE, 0);
			if (views[pick] == MAP_FAILED)
				return WORKER_SETUP;
		} else if (!chaos_step(own[pick], views[pick], src, &seed)) {
			return WORKER_BAD_ERRNO;
		}
		if (die_early && rand_r(&seed) % 2048 == 0)
			_exit(0);	/* abruptly, holding everything */
	}
	return 0;
}

static int read_totals(uint64_t *vals)
{
	size_t i;

	for (i = 0; i < sizeof(totals) / sizeof(totals[0]); i++)
		if (vt_stat(totals[i], &vals[i]))
			return -1;
	return 0;
}

static int reload_module(void)
{
	const char *ko = getenv("VSHM_KO");
	int fd, ret;

	if (syscall(SYS_delete_module, "vshm", O_NONBLOCK))
		return -errno;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

FIXTURE(chaos) {
};

FIXTURE_SETUP(chaos)
{
	ASSERT_EQ(0, access(VSHM_DEVICE_PATH, F_OK));
}

FIXTURE_TEARDOWN(chaos)
{
}

/*
 * Chaos for a bounded time, then: every worker ended normally or by its
 * own abrupt exit with no unexpected errno, and every debugfs total is
 * back at its starting value.  (The harness timeout only catches a hang;
 * the run itself lasts $VSHM_CHAOS_SECONDS.)
 */
TEST_F_TIMEOUT(chaos, chaos_then_totals_return, 4 * 3600)
{
	uint64_t before[4], after[4];
	double deadline;
	unsigned int spawned = 0, seed = 1;
	uint8_t *view;
	int shared, status, running = 0, bad = 0;
	size_t i;

	ASSERT_EQ(0, read_totals(before));
	shared = vt_create_region(SLOTS * VT_PAGE, 0);
	ASSERT_LE(0, shared);
	view = vt_mmap(shared, SLOTS * VT_PAGE, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(MAP_FAILED, view);

	deadline = now_s() + chaos_seconds();
	while (now_s() < deadline || running) {
		/* Keep WORKERS running until the deadline; replace the dead. */
		while (running < WORKERS && now_s() < deadline) {
			pid_t pid = fork();

			ASSERT_LE(0, pid);
			if (pid == 0)
				_exit(worker(shared, view, deadline, seed));
			seed++;
			spawned++;
			running++;
		}
		if (wait(&status) < 0)
			break;
		running--;
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			bad++;
			TH_LOG("a worker ended with status 0x%x", status);
		}
	}
	EXPECT_EQ(0, bad);
	TH_LOG("%u workers over %u s", spawned, chaos_seconds());

	munmap(view, SLOTS * VT_PAGE);
	close(shared);
	ASSERT_EQ(0, read_totals(after));
	for (i = 0; i < sizeof(totals) / sizeof(totals[0]); i++)
		EXPECT_EQ(before[i], after[i]) {
			TH_LOG("debugfs %s: %" PRIu64 " before, %" PRIu64 " after",
			       totals[i], before[i], after[i]);
		}
}

/* After the chaos the module unloads and loads again, three times. */
TEST_F(chaos, reload_cycles)
{
	int i;

	if (!getenv("VSHM_KO") || geteuid())
		SKIP(return, "needs root and VSHM_KO (run through 'make check')");
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, reload_module()) {
			TH_LOG("cycle %d: %s", i, strerror(errno));
		}
		ASSERT_EQ(0, access(VSHM_DEVICE_PATH, F_OK));
	}
}

TEST_HARNESS_MAIN
