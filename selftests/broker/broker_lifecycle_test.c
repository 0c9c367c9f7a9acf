// SPDX-License-Identifier: GPL-2.0
/*
 * Device lifecycle: RESET_DEVICE drops every mapping of one device and
 * nothing else; REMOVE_DEVICE and a back-end disconnect release exactly
 * that device's state (fds back to where they were, other devices still
 * mapped and served); LIST_DEVICES / LIST_MAPPINGS / GET_STATS describe
 * what is there, and vshmctl prints it (text and --json).  Device A asks
 * for strict holes (VSHM_CTL_DEV_STRICT_HOLES), so after a reset its VMM
 * gets SIGBUS (kmod) where the safe default would read zeros.
 */
#include "kselftest_harness.h"
#include "broker_util.h"

#define A_GA	0x100000000ull
#define B_GA	0x200000000ull
#define RSZ	(1ull << 20)

FIXTURE(life) {
	struct broker b;
	struct tdev a, bdev;
	int mfd;
	int fds0;	/* broker fds before the devices existed */
};

FIXTURE_SETUP(life)
{
	ASSERT_EQ(0, broker_start(&self->b, NULL));
	self->fds0 = broker_fds(&self->b);
	ASSERT_EQ(0, tdev_add_flags(&self->b, &self->a, (const uint64_t[]){ RSZ }, 1,
				    false, VSHM_CTL_DEV_STRICT_HOLES));
	ASSERT_EQ(0, vshm_client_set_region_addr(self->b.c, self->a.id, 0, A_GA, NULL));
	ASSERT_EQ(0, tdev_add(&self->b, &self->bdev, RSZ, B_GA));
	self->mfd = memfd_filled(16 * PG, 0x44);
	ASSERT_GE(self->mfd, 0);
	ASSERT_EQ(0, do_map(&self->a, 0, self->mfd, 0, 0, 4 * PG, 1));
	ASSERT_EQ(0, do_map(&self->a, 0, self->mfd, 0, 8 * PG, 4 * PG, 1));
	ASSERT_EQ(0, do_map(&self->bdev, 0, self->mfd, 0, 0, 4 * PG, 1));
}

FIXTURE_TEARDOWN(life)
{
	tdev_close(&self->a);
	tdev_close(&self->bdev);
	close(self->mfd);
	broker_stop(&self->b);
}

/* Proves: reset drops only that device's mappings (VMM view faults with kmod); the device stays usable. */
TEST_F(life, reset)
{
	struct vshm_ctl_stats st;
	uint8_t buf[8], *view = NULL;

	if (self->b.kmod) {
		view = mmap(NULL, RSZ, PROT_READ, MAP_SHARED, self->a.region[0], 0);
		ASSERT_NE(MAP_FAILED, view);
		EXPECT_EQ(0x44, view[0]);
	}
	ASSERT_EQ(0, vshm_client_reset_device(self->b.c, self->a.id, NULL));
	EXPECT_EQ(ENXIO, do_read(&self->bdev, A_GA, 8, buf));
	EXPECT_EQ(ENXIO, do_read(&self->bdev, A_GA + 8 * PG, 8, buf));
	EXPECT_EQ(0, do_read(&self->a, B_GA, 8, buf));
	if (view) {
		EXPECT_TRUE(sigbus_at(view));
		munmap(view, RSZ);
	}
	ASSERT_EQ(0, vshm_client_stats(self->b.c, self->a.id, &st, NULL));
	EXPECT_EQ(0, st.mappings);
	EXPECT_EQ(2, st.maps);
	EXPECT_EQ(2, st.unmaps);
	ASSERT_EQ(0, vshm_client_stats(self->b.c, self->bdev.id, &st, NULL));
	EXPECT_EQ(1, st.mappings);
	/* mapping again at the same place works */
	EXPECT_EQ(0, do_map(&self->a, 0, self->mfd, 0, 0, 4 * PG, 1));
	EXPECT_EQ(-ENOENT, vshm_client_reset_device(self->b.c, 999, NULL));
}

/* Proves: remove releases the device (channel closed, fds freed) and leaves the other one served. */
TEST_F(life, remove)
{
	struct vshm_ctl_device_entry e[4];
	uint32_t total;
	uint8_t buf[8];

	ASSERT_EQ(0, vshm_client_remove_device(self->b.c, self->a.id, NULL));
	EXPECT_TRUE(closed_by_broker(&self->a));
	EXPECT_EQ(-ENOENT, vshm_client_remove_device(self->b.c, self->a.id, NULL));
	EXPECT_EQ(-ENOENT, vshm_client_stats(self->b.c, self->a.id,
					     &(struct vshm_ctl_stats){ 0 }, NULL));
	EXPECT_EQ(1, vshm_client_list_devices(self->b.c, e, 4, &total, NULL));
	EXPECT_EQ(self->bdev.id, e[0].dev_id);
	EXPECT_EQ(EFAULT, do_read(&self->bdev, A_GA, 8, buf));
	EXPECT_EQ(0, do_read(&self->bdev, B_GA, 8, buf));
	ASSERT_EQ(0, vshm_client_remove_device(self->b.c, self->bdev.id, NULL));
	EXPECT_EQ(self->fds0, broker_fds_settle(&self->b, self->fds0));
}

/* Proves: a back-end disconnect releases only that device's state. */
TEST_F(life, disconnect)
{
	struct vshm_ctl_stats st;
	uint32_t total;
	uint8_t buf[8];

	tdev_close(&self->a);
	/* What is left: B's channel and its region fd (kmod) or source fd (mmap). */
	EXPECT_EQ(self->fds0 + 2, broker_fds_settle(&self->b, self->fds0 + 2));
	EXPECT_EQ(0, vshm_client_list_devices(self->b.c, NULL, 0, &total, NULL));
	EXPECT_EQ(1, total);
	EXPECT_EQ(0, do_read(&self->bdev, B_GA, 8, buf));
	EXPECT_EQ(EFAULT, do_read(&self->bdev, A_GA, 8, buf));
	ASSERT_EQ(0, vshm_client_stats(self->b.c, VSHM_CTL_ALL_DEVICES, &st, NULL));
	EXPECT_EQ(1, st.devices);
	EXPECT_EQ(1, st.mappings);
}

/* Proves: LIST_MAPPINGS returns the mappings in order with their attributes, from any start. */
TEST_F(life, list_mappings)
{
	struct vshm_mapping_entry m[4];
	uint32_t total = 0;

	ASSERT_EQ(0, do_map(&self->a, 0, self->mfd, 4 * PG, 4 * PG, 4 * PG, 0));
	ASSERT_EQ(3, vshm_client_list_mappings(self->b.c, self->a.id, 0, 0, m, 4,
					       &total, NULL));
	EXPECT_EQ(3, total);
	EXPECT_EQ(0, m[0].shm_offset);
	EXPECT_EQ(4 * PG, m[1].shm_offset);
	EXPECT_EQ(4 * PG, m[1].fd_offset);
	EXPECT_EQ(0, m[1].flags);
	EXPECT_EQ(VSHM_REGION_WRITE, m[2].flags);
	EXPECT_EQ(8 * PG, m[2].shm_offset);
	EXPECT_EQ(4 * PG, m[2].len);
	ASSERT_EQ(1, vshm_client_list_mappings(self->b.c, self->a.id, 0, 2, m, 4,
					       &total, NULL));
	EXPECT_EQ(8 * PG, m[0].shm_offset);
	EXPECT_EQ(-EINVAL, vshm_client_list_mappings(self->b.c, self->a.id, 1, 0, m,
						     4, &total, NULL));
}

/* Proves: vshmctl stats/devices/mappings read the running broker, as text and as JSON. */
TEST_F(life, vshmctl)
{
	char ctl[PATH_MAX], cmd[4 * PATH_MAX + 512], out[4096];
	FILE *p;
	size_t n;

	tools_path(ctl, sizeof(ctl), "vshmctl");
	if (access(ctl, X_OK))
		SKIP(return, "vshmctl is not built");
	snprintf(cmd, sizeof(cmd), "'%s' --socket %s --json stats; '%s' -s %s devices; "
		 "'%s' -s %s -j mappings %u 0; '%s' -s %s mappings %u 0",
		 ctl, self->b.sock, ctl, self->b.sock, ctl, self->b.sock,
		 self->a.id, ctl, self->b.sock, self->a.id);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	EXPECT_EQ(0, pclose(p));
	EXPECT_NE(NULL, strstr(out, "\"devices\": 2"));
	EXPECT_NE(NULL, strstr(out, "\"mappings\": 3"));
	EXPECT_NE(NULL, strstr(out, "\"shm_offset\": 32768, \"len\": 16384"));
	EXPECT_NE(NULL, strstr(out, "0x8000"));
	EXPECT_NE(NULL, strstr(out, "DEV"));
	snprintf(cmd, sizeof(cmd), "'%s' -s %s mappings 999 0 2>/dev/null", ctl,
		 self->b.sock);
	EXPECT_NE(0, system(cmd));
	snprintf(cmd, sizeof(cmd), "'%s' -s %s bogus 2>/dev/null", ctl, self->b.sock);
	EXPECT_EQ(2, WEXITSTATUS(system(cmd)));
}

TEST_HARNESS_MAIN
