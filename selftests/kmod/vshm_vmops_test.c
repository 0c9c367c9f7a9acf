// SPDX-License-Identifier: GPL-2.0
/*
 * What other memory interfaces do with a region's mmap (Documentation/
 * kmod.rst, "Other access paths"): the VMA is VM_PFNMAP, so whatever goes
 * through get_user_pages (process_vm_readv/writev, /proc/PID/mem,
 * MADV_POPULATE_READ/WRITE) fails instead of reaching the pages, and
 * MADV_DONTNEED is refused; the region's data stays as it was.
 *
 * Runs in the VM with vshm.ko loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vshm_test.h"

#define P		VT_PAGE
#define SEED		7

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#define MADV_POPULATE_WRITE	23
#endif

FIXTURE(vmops) {
	int region;
	int src;
	uint8_t *map;
};

FIXTURE_SETUP(vmops)
{
	ASSERT_EQ(0, access(VSHM_DEVICE_PATH, F_OK));
	self->region = vt_create_region(2 * P, 0);
	ASSERT_LE(0, self->region);
	self->src = vt_memfd(2 * P, SEED, 0);
	ASSERT_LE(0, self->src);
	ASSERT_EQ(0, vt_map(self->region, self->src, VSHM_MAP_WRITE, 0, 0, 2 * P));
	self->map = vt_mmap(self->region, 2 * P, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	ASSERT_EQ(-1, vt_check(self->map, 2 * P, SEED, 0));
}

FIXTURE_TEARDOWN(vmops)
{
	munmap(self->map, 2 * P);
	close(self->src);
	close(self->region);
}

/* process_vm_readv/writev cannot reach region memory: EFAULT. */
TEST_F(vmops, process_vm_rw_efault)
{
	static uint8_t buf[P];
	struct iovec local = { buf, P }, remote = { self->map, P };

	EXPECT_EQ(-1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	memset(buf, 0x5a, P);
	EXPECT_EQ(-1, process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, vt_check(self->map, 2 * P, SEED, 0));
}

/* /proc/PID/mem cannot read or write region memory: EIO. */
TEST_F(vmops, proc_pid_mem_eio)
{
	static uint8_t buf[P];
	int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, mem);
	EXPECT_EQ(-1, pread(mem, buf, P, (off_t)(uintptr_t)self->map));
	EXPECT_EQ(EIO, errno);
	memset(buf, 0x5a, P);
	EXPECT_EQ(-1, pwrite(mem, buf, P, (off_t)(uintptr_t)self->map));
	EXPECT_EQ(EIO, errno);
	close(mem);
	EXPECT_EQ(-1, vt_check(self->map, 2 * P, SEED, 0));
}

/* MADV_DONTNEED is refused (EINVAL): the region's PTEs belong to vshm. */
TEST_F(vmops, madv_dontneed_einval)
{
	EXPECT_EQ(-1, madvise(self->map, 2 * P, MADV_DONTNEED));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, vt_check(self->map, 2 * P, SEED, 0));
}

/* MADV_POPULATE_READ/WRITE are refused (EINVAL); faults populate instead. */
TEST_F(vmops, madv_populate_einval)
{
	EXPECT_EQ(-1, madvise(self->map, 2 * P, MADV_POPULATE_READ));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, madvise(self->map, 2 * P, MADV_POPULATE_WRITE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, vt_check(self->map, 2 * P, SEED, 0));
}

TEST_HARNESS_MAIN
