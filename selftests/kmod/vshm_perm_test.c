// SPDX-License-Identifier: GPL-2.0
/*
 * Mapping a source is no more permissive than mmap(MAP_SHARED) of it: an
 * append-only file is refused as mmap() refuses it, the security modules'
 * mmap hook (security_mmap_file) sees every VSHM_IOC_MAP with the
 * protection it implies, and a source on a noexec mount maps (regions
 * never allow PROT_EXEC).  The fd-mode and seal rules are in
 * vshm_ioctl_test.
 *
 * Runs in the VM as root with vshm.ko loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vshm_test.h"

#define P		VT_PAGE
#define SEED		5
#define TRACEFS		"/sys/kernel/tracing"

/* What mmap(MAP_SHARED, @prot) of @fd returns: 0 or -errno. */
static int try_mmap(int fd, int prot)
{
	void *p = mmap(NULL, P, prot, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	munmap(p, P);
	return 0;
}

FIXTURE(perm) {
	int region;
	int src;
};

FIXTURE_SETUP(perm)
{
	VT_REQUIRE_DEVICE();
	self->src = -1;
	self->region = vt_create_region(4 * P, 0);
	ASSERT_LE(0, self->region);
	self->src = vt_memfd(2 * P, SEED, 0);
	ASSERT_LE(0, self->src);
}

FIXTURE_TEARDOWN(perm)
{
	int flags = 0;

	/* An append-only inode outlives the test otherwise: clear the flag. */
	if (self->src >= 0)
		ioctl(self->src, FS_IOC_SETFLAGS, &flags);
	if (self->src >= 0)
		close(self->src);
	if (self->region >= 0)
		close(self->region);
}

/*
 * An append-only memfd (FS_APPEND_FL, set as root) can only be mapped as
 * mmap() can share it: not through an fd open for writing, so never
 * writable (else pwrite on the region would overwrite the file's head),
 * and read-only through a read-only fd.  Each answer matches mmap's.
 */
TEST_F(perm, append_only_source)
{
	int flags = FS_APPEND_FL;
	int ro;

	if (geteuid() != 0)
		SKIP(return, "needs root (CAP_LINUX_IMMUTABLE) to set FS_APPEND_FL");
	ASSERT_EQ(0, ioctl(self->src, FS_IOC_SETFLAGS, &flags)) {
		TH_LOG("FS_IOC_SETFLAGS on a memfd: %s", strerror(errno));
	}
	ro = vt_reopen(self->src, O_RDONLY);
	ASSERT_LE(0, ro);

	/* The O_RDWR fd: mmap refuses even PROT_READ, and so does vshm. */
	EXPECT_EQ(-EACCES, try_mmap(self->src, PROT_READ | PROT_WRITE));
	EXPECT_EQ(-EACCES, vt_map(self->region, self->src, VSHM_MAP_WRITE, 0, 0, P));
	EXPECT_EQ(-EACCES, try_mmap(self->src, PROT_READ));
	EXPECT_EQ(-EACCES, vt_map(self->region, self->src, 0, 0, 0, P));

	/* A read-only fd: a read-only share works, a writable one cannot. */
	EXPECT_EQ(0, try_mmap(ro, PROT_READ));
	EXPECT_EQ(0, vt_map(self->region, ro, 0, 0, 0, P));
	EXPECT_EQ(-EACCES, vt_map(self->region, ro, VSHM_MAP_WRITE, 0, P, P));
	close(ro);
}

struct trace {
	int on;		/* tracing_on, kept open so that enabling is one write */
	bool ready;
	bool preset;	/* set up at boot: leave the tracer as it is */
};

static int write_str(const char *file, const char *val)
{
	char path[128];
	int fd, ret = 0;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Does tracefs file @file hold exactly the one line @val? */
static bool file_is(const char *file, const char *val)
{
	char path[128], line[128];
	bool same = false;
	FILE *f;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		same = !strcmp(line, val) && !fgets(line, sizeof(line), f);
	}
	fclose(f);
	return same;
}

/*
 * The function tracer on security_mmap_file.  Returns NULL, or why the
 * kernel cannot do it.  Turning the tracer on or off patches kernel text
 * while the other CPUs run, which QEMU's multi-threaded TCG has been seen
 * to hang on (a soft lockup in this test): the in-VM runs set it up on the
 * kernel command line instead (scripts/lib.sh, vm_suite_append), and then
 * this only toggles tracing_on, which patches nothing.
 */
static const char *trace_setup(struct trace *t)
{
	char pid[32];

	t->ready = false;
	t->preset = false;
	if (access(TRACEFS "/current_tracer", F_OK) &&
	    mount("tracefs", TRACEFS, "tracefs", 0, NULL))
		return "no tracefs";
	if (file_is("current_tracer", "function") &&
	    file_is("set_ftrace_filter", "security_mmap_file")) {
		t->preset = true;
		if (write_str("tracing_on", "0") || write_str("trace", ""))
			return "the boot-time function tracer cannot be used";
	} else {
		if (write_str("current_tracer", "nop") ||
		    write_str("set_ftrace_filter", "security_mmap_file"))
			return "security_mmap_file cannot be traced (no function tracer?)";
		snprintf(pid, sizeof(pid), "%d", gettid());
		if (write_str("set_ftrace_pid", pid) ||
		    write_str("tracing_on", "0") ||
		    write_str("current_tracer", "function") ||
		    write_str("trace", ""))
			return "the function tracer cannot be set up";
	}
	t->on = open(TRACEFS "/tracing_on", O_WRONLY | O_CLOEXEC);
	if (t->on < 0)
		return "no tracing_on";
	t->ready = true;
	return NULL;
}

static void trace_teardown(struct trace *t)
{
	if (t->ready)
		close(t->on);
	if (!t->preset) {
		write_str("tracing_on", "0");
		write_str("current_tracer", "nop");
		write_str("set_ftrace_filter", "");
		write_str("set_ftrace_pid", "");
	}
	write_str("tracing_on", "1");
}

/*
 * How many calls of security_mmap_file the trace holds from this thread
 * (a line names its task as comm-tid), or -1.  A boot-time tracer traces
 * every task.
 */
static int trace_count(void)
{
	char line[512], me[32];
	FILE *f = fopen(TRACEFS "/trace", "re");
	int n = 0;

	if (!f)
		return -1;
	snprintf(me, sizeof(me), "-%d ", gettid());
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && strstr(line, "security_mmap_file") &&
		    strstr(line, me))
			n++;
	fclose(f);
	return n;
}

/* VSHM_IOC_MAP with @flags, traced: the calls of security_mmap_file. */
static int traced_map(struct trace *t, int region, int src, uint32_t flags,
		      uint64_t shm_offset, int *err)
{
	write_str("trace", "");
	if (write(t->on, "1", 1) != 1)
		return -1;
	*err = vt_map(region, src, flags, 0, shm_offset, P);
	if (write(t->on, "0", 1) != 1)
		return -1;
	return trace_count();
}

/*
 * Every VSHM_IOC_MAP of a file reaches the security modules' mmap hook,
 * read-only and writable alike, so SELinux, AppArmor and other LSMs judge
 * it as the mmap() it stands for.  The ftrace function tracer counts the
 * calls made by this thread during the ioctl alone.
 */
TEST_F(perm, map_reaches_security_mmap_file)
{
	struct trace t;
	const char *why;
	int err, calls;

	if (geteuid() != 0)
		SKIP(return, "needs root for tracefs");
	why = trace_setup(&t);
	if (why) {
		trace_teardown(&t);
		SKIP(return, "%s", why);
	}
	calls = traced_map(&t, self->region, self->src, 0, 0, &err);
	EXPECT_EQ(0, err);
	EXPECT_LE(1, calls) {
		TH_LOG("a read-only MAP made %d calls of security_mmap_file", calls);
	}
	calls = traced_map(&t, self->region, self->src, VSHM_MAP_WRITE, P, &err);
	EXPECT_EQ(0, err);
	EXPECT_LE(1, calls) {
		TH_LOG("a writable MAP made %d calls of security_mmap_file", calls);
	}
	trace_teardown(&t);
}

/*
 * A file on a noexec mount maps, read-only and writable: mmap() refuses
 * only PROT_EXEC there, and a region can never be mapped PROT_EXEC (EPERM),
 * with or without such a mapping in it.
 */
TEST_F(perm, noexec_source)
{
	char dir[] = "/tmp/vshm-noexec.XXXXXX", path[64];
	int fd;

	if (geteuid() != 0)
		SKIP(return, "needs root to mount a noexec tmpfs");
	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, mount("tmpfs", dir, "tmpfs", MS_NOEXEC, "size=1m"));
	snprintf(path, sizeof(path), "%s/src", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 2 * P));

	EXPECT_EQ(-EPERM, try_mmap(fd, PROT_READ | PROT_EXEC));
	EXPECT_EQ(0, vt_map(self->region, fd, 0, 0, 0, P));
	EXPECT_EQ(0, vt_map(self->region, fd, VSHM_MAP_WRITE, P, P, P));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * P, PROT_READ | PROT_EXEC, MAP_SHARED,
				   self->region, 0));
	EXPECT_EQ(EPERM, errno);

	close(fd);
	EXPECT_EQ(0, vt_unmap_all(self->region));
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

TEST_HARNESS_MAIN
