// SPDX-License-Identifier: GPL-2.0
/*
 * Module lifecycle: /dev/vshm exists while vshm.ko is loaded and answers the
 * API version; the module unloads cleanly (the node goes away) and loads
 * again; unloading is refused while a region exists, even one that is only
 * mmap'ed with its fd closed, and while anything else holds on to the
 * module's internal mount (an O_PATH fd on a region).
 *
 * Needs root and $VSHM_KO, the path of the vshm.ko under test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/vshm.h>

#include "kselftest_harness.h"
#include "vshm_test.h"

static int unload_vshm(void)
{
	return syscall(SYS_delete_module, "vshm", O_NONBLOCK);
}

static int load_vshm(void)
{
	const char *ko = getenv("VSHM_KO");
	int fd, ret;

	if (!ko)
		return -ENOENT;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret ? -errno : 0;
}

/* Open /dev/vshm and create a one-page region; return the region fd. */
static int create_region(struct __test_metadata *_metadata)
{
	struct vshm_region_create req = { .size = 4096 };
	int dev, region;

	dev = open(VSHM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	region = ioctl(dev, VSHM_IOC_CREATE_REGION, &req);
	ASSERT_LE(0, region);
	close(dev);
	return region;
}

FIXTURE(module) {
};

FIXTURE_SETUP(module)
{
	if (!getenv("VSHM_KO"))
		SKIP(return, "VSHM_KO (the vshm.ko to reload) is not set");
	if (geteuid() != 0)
		SKIP(return, "needs root to load and unload modules");
	VT_REQUIRE_DEVICE();
}

FIXTURE_TEARDOWN(module)
{
	/* Leave the module loaded for the programs that run next. */
	if (access(VSHM_DEVICE_PATH, F_OK) != 0)
		load_vshm();
}

TEST_F(module, device_answers_api_version)
{
	struct stat st;
	int dev;

	ASSERT_EQ(0, stat(VSHM_DEVICE_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	dev = open(VSHM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, dev);
	EXPECT_EQ(VSHM_API_VERSION, ioctl(dev, VSHM_IOC_GET_API_VERSION));
	EXPECT_EQ(-1, ioctl(dev, _IO(VSHM_IOC_MAGIC, 0x7f)));
	EXPECT_EQ(ENOTTY, errno);
	close(dev);
}

TEST_F(module, unloads_and_reloads)
{
	ASSERT_EQ(0, unload_vshm()) {
		TH_LOG("delete_module: %s", strerror(errno));
	}
	EXPECT_EQ(-1, access(VSHM_DEVICE_PATH, F_OK));
	EXPECT_EQ(ENOENT, errno);
	ASSERT_EQ(0, load_vshm());
	EXPECT_EQ(0, access(VSHM_DEVICE_PATH, F_OK));
}

TEST_F(module, unload_refused_while_region_open)
{
	int region = create_region(_metadata);

	EXPECT_EQ(-1, unload_vshm());
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	close(region);
	EXPECT_EQ(0, unload_vshm()) {
		TH_LOG("delete_module after close: %s", strerror(errno));
	}
}

TEST_F(module, unload_refused_while_region_mmaped)
{
	int region = create_region(_metadata);
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, region, 0);

	ASSERT_NE(MAP_FAILED, p);
	close(region);
	EXPECT_EQ(-1, unload_vshm());
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	munmap(p, 4096);
	EXPECT_EQ(0, unload_vshm()) {
		TH_LOG("delete_module after munmap: %s", strerror(errno));
	}
}

/*
 * An O_PATH fd reopened from /proc/self/fd/N holds the region's dentry and
 * the module's internal mount, but no file with the module's fops.  It must
 * pin the module: if rmmod succeeded, closing the O_PATH fd would tear the
 * superblock down in freed module memory (an Oops, caught by the runner).
 */
TEST_F(module, unload_refused_while_o_path_fd_open)
{
	int region = create_region(_metadata);
	int opath;

	opath = vt_reopen(region, O_PATH);
	ASSERT_LE(0, opath);
	close(region);
	EXPECT_EQ(-1, unload_vshm());
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	close(opath);
	EXPECT_EQ(0, unload_vshm()) {
		TH_LOG("delete_module after closing the O_PATH fd: %s",
		       strerror(errno));
	}
}

TEST_HARNESS_MAIN
