// SPDX-License-Identifier: GPL-2.0
/*
 * The `make demo` scenario with assertions: a VMM registers two devices
 * with vshmd; back-end A maps a memfd and the VMM sees it (kmod: through
 * its own mmap of the region fd); back-end B reads it with MEM_READ and
 * writes back with MEM_WRITE, and A sees that; A unmaps, after which the
 * VMM reads zeros there (kmod, safe holes) and B's MEM_READ fails; the
 * stats add up; SIGTERM makes vshmd exit 0.  Runs natively with the mmap
 * back-end and in the VM with kmod.
 */
#include "kselftest_harness.h"
#include "broker_util.h"

#define A_GA	0x100000000ull
#define B_GA	0x100800000ull
#define RSIZE	(4ull << 20)
#define OFF	(1ull << 20)
#define LEN	(64ull << 10)

FIXTURE(demo) {
	struct broker b;
	struct tdev a, bdev;
};

FIXTURE_SETUP(demo)
{
	ASSERT_EQ(0, broker_start(&self->b, NULL));
	ASSERT_EQ(0, tdev_add(&self->b, &self->a, RSIZE, A_GA));
	ASSERT_EQ(0, tdev_add(&self->b, &self->bdev, RSIZE, B_GA));
}

FIXTURE_TEARDOWN(demo)
{
	tdev_close(&self->a);
	tdev_close(&self->bdev);
	broker_stop(&self->b);
}

/* Proves the whole walkthrough: map, VMM view, cross-device read/write, unmap, stats. */
TEST_F(demo, walkthrough)
{
	struct vshm_ctl_stats st;
	uint8_t *view = NULL, *abuf, buf[256];
	int mfd;

	mfd = memfd_filled(LEN, 0x5a);
	ASSERT_GE(mfd, 0);
	abuf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, abuf);
	strcpy((char *)abuf, "pattern from A");
	if (self->b.kmod) {
		ASSERT_GE(self->a.region[0], 0);
		view = mmap(NULL, RSIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			    self->a.region[0], 0);
		ASSERT_NE(MAP_FAILED, view);
	}

	/* A maps its memfd read-write at 1 MiB. */
	ASSERT_EQ(0, vshm_be_shmem_map(self->a.ch, 0, mfd, 0, OFF, LEN, true,
				       VSHM_FLAGS_FINAL, VSHM_BE_WAIT_ACK,
				       T_TIMEOUT_MS, NULL));
	if (view)
		EXPECT_EQ(0, memcmp(view + OFF, abuf, LEN));

	/* B reads A's guest address and writes back. */
	ASSERT_EQ(0, vshm_be_mem_read(self->bdev.ch, A_GA + OFF, buf, sizeof(buf),
				      T_TIMEOUT_MS, NULL));
	EXPECT_EQ(0, memcmp(buf, abuf, sizeof(buf)));
	ASSERT_EQ(0, vshm_be_mem_write(self->bdev.ch, A_GA + OFF + 100, "from B", 7,
				       T_TIMEOUT_MS, NULL));
	EXPECT_STREQ("from B", (char *)abuf + 100);
	if (view)
		EXPECT_STREQ("from B", (char *)view + OFF + 100);

	/* A unmaps: the VMM reads zeros there (safe holes), B's read fails. */
	ASSERT_EQ(0, vshm_be_shmem_unmap(self->a.ch, 0, OFF, LEN, VSHM_BE_WAIT_ACK,
					 T_TIMEOUT_MS, NULL));
	if (view)
		EXPECT_TRUE(reads_zero_in_child(view + OFF));
	EXPECT_EQ(-ENXIO, vshm_be_mem_read(self->bdev.ch, A_GA + OFF, buf, 16,
					   T_TIMEOUT_MS, NULL));

	ASSERT_EQ(0, vshm_client_stats(self->b.c, VSHM_CTL_ALL_DEVICES, &st, NULL));
	EXPECT_EQ(2, st.devices);
	EXPECT_EQ(1, st.maps);
	EXPECT_EQ(1, st.unmaps);
	EXPECT_EQ(0, st.mappings);
	EXPECT_EQ(1, st.mem_reads);
	EXPECT_EQ(sizeof(buf), st.mem_read_bytes);
	EXPECT_EQ(1, st.mem_writes);
	EXPECT_EQ(7, st.mem_write_bytes);
	ASSERT_EQ(0, vshm_client_stats(self->b.c, self->a.id, &st, NULL));
	EXPECT_EQ(1, st.devices);
	EXPECT_EQ(1, st.maps);
	EXPECT_EQ(0, st.mem_reads);

	if (view)
		munmap(view, RSIZE);
	munmap(abuf, LEN);
	close(mfd);
	EXPECT_EQ(0, broker_stop(&self->b));
}

/*
 * Proves the demo program itself passes on this back-end, its dma-buf
 * step included wherever vgem is loaded (then it must run, not skip).
 */
TEST(vmm_sim_runs)
{
	char sim[PATH_MAX], vshmd[PATH_MAX], cmd[3 * PATH_MAX];
	bool vgem = access("/sys/module/vgem", F_OK) == 0;
	int status;

	tools_path(sim, sizeof(sim), "vshm-vmm-sim");
	vshmd_path(vshmd, sizeof(vshmd));
	if (access(sim, X_OK))
		SKIP(return, "vshm-vmm-sim is not built");
	snprintf(cmd, sizeof(cmd), "VSHMD='%s' '%s' --region-mode %s%s >/dev/null 2>&1",
		 vshmd, sim, test_region_mode(), vgem ? " --require-vgem" : "");
	status = system(cmd);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * Proves the reference VMM's KVM walkthrough passes: a KVM guest reads and
 * writes what separate back-end processes map through vshmd and vshm.ko,
 * holes and unmapped ranges fail cleanly, MMIO exits are answered.  It
 * needs /dev/kvm and /dev/vshm (the VM, with kvm_amd loaded); elsewhere
 * vshm-vmm exits 4 and says why, and this test skips with that reason.
 */
TEST(vmm_kvm_runs)
{
	char vmm[PATH_MAX], vshmd[PATH_MAX], cmd[3 * PATH_MAX];
	int status;

	tools_path(vmm, sizeof(vmm), "vshm-vmm");
	vshmd_path(vshmd, sizeof(vshmd));
	if (access(vmm, X_OK))
		SKIP(return, "vshm-vmm is not built");
	if (access("/dev/kvm", R_OK | W_OK))
		SKIP(return, "no /dev/kvm here (the VM loads kvm_amd)");
	if (access("/dev/vshm", R_OK | W_OK))
		SKIP(return, "no /dev/vshm: the KVM walkthrough needs vshm.ko");
	snprintf(cmd, sizeof(cmd), "VSHMD='%s' '%s' >/dev/null 2>&1", vshmd, vmm);
	status = system(cmd);
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 4)
		SKIP(return, "vshm-vmm cannot create a KVM VM here");
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
