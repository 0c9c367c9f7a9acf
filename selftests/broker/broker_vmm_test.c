// SPDX-License-Identifier: GPL-2.0
/*
 * One VMM, two modes: the same test VMM code (a thread driving an
 * event-loop client) serves regions from region fds when vshmd has
 * /dev/vshm (kmod variant, in the VM) and from its own PROT_NONE
 * reservations when vshmd runs without the module and forwards every
 * approved SHMEM_MAP / SHMEM_UNMAP to it (vmm variant, natively).  The
 * bytes seen through the VMM's view of a region are checked to be the same
 * in both, and so are holes, with either policy (the reservation gets the
 * device's: PROT_NONE if strict, VSHM_REGION_ZERO_HOLES if safe), and
 * for devices added with VSHM_CTL_DEV_POPULATE.  The vmm variant also covers its hostile cases: a map the VMM
 * fails, a VMM that stops answering, an answer to nothing, an UNMAP sent
 * while the MAP it names is still at the VMM, a source that shrinks
 * before the VMM maps it, and a device reset.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/vshm.h>

#include "kselftest_harness.h"
#include "broker_util.h"

#define NDEV	2
#define RSZ	(1ull << 20)
#define A_GA	0x100000000ull
#define B_GA	0x200000000ull

/* The test VMM: a client, its devices and its view of each region. */
struct vmm {
	struct vshm_client *c;
	uint32_t mode;			/* VSHM_CTL_REGIONS_* */
	uint32_t dev_id[NDEV];
	struct vshm_region *res[NDEV];	/* forwarding mode: reservations */
	int region_fd[NDEV];		/* kmod: region fds */
	uint8_t *view[NDEV];		/* what the guest would see */
	uint32_t max_maps;		/* reservation mapping limit */
	bool safe_holes;		/* devices with the default safe holes */
	bool populate;			/* devices with VSHM_CTL_DEV_POPULATE */
	pthread_t th;
	int stop_efd;
	atomic_bool paused;
	atomic_uint nseen;
	uint32_t seen[64];		/* VSHM_CTL_VMM_* requests, in order */
};

static struct vshm_region *lookup(uint32_t dev_id, uint32_t shmid, void *opaque)
{
	struct vmm *v = opaque;
	int i;

	for (i = 0; i < NDEV; i++)
		if (v->dev_id[i] == dev_id && shmid == 0)
			return v->res[i];
	return NULL;
}

static void on_broker_request(struct vshm_client *c, struct vshm_msg *msg,
			      void *opaque)
{
	struct vmm *v = opaque;
	unsigned int n = atomic_load(&v->nseen);

	if (n < 64)
		v->seen[n] = msg->hdr.request;
	atomic_store(&v->nseen, n + 1);
	if (vshm_vmm_serve(c, msg, lookup, v, NULL) == -EOPNOTSUPP)
		vshm_client_answer(c, msg->hdr.request, ENOSYS, NULL, 0, NULL, 0,
				   NULL);
}

/*
 * What a VMM does after ADD_DEVICE, whatever the broker's mode: find its
 * view of the region, then tell the broker where the guest sees it.
 */
static int vmm_attach(struct vmm *v, int i, uint64_t ga)
{
	if (v->mode == VSHM_CTL_REGIONS_KMOD) {
		v->view[i] = mmap(NULL, RSZ, PROT_READ | PROT_WRITE, MAP_SHARED,
				  v->region_fd[i], 0);
		if (v->view[i] == MAP_FAILED)
			return -errno;
	} else if (v->mode == VSHM_CTL_REGIONS_VMM) {
		/* The reservation gets the device's hole policy. */
		int ret = vshm_region_create_flags(VSHM_REGION_MODE_MMAP, RSZ, v->max_maps,
						   v->safe_holes ? VSHM_REGION_ZERO_HOLES : 0,
						   &v->res[i]);

		if (ret)
			return ret;
		v->view[i] = vshm_region_addr(v->res[i]);
	} else {
		return -ENOTSUP;	/* regions inside vshmd: nothing to view */
	}
	return vshm_client_set_region_addr(v->c, v->dev_id[i], 0, ga, NULL);
}

static void *vmm_loop(void *opaque)
{
	struct vmm *v = opaque;
	struct pollfd p[2] = {
		{ .fd = vshm_client_fd(v->c) }, { .fd = v->stop_efd, .events = POLLIN },
	};

	for (;;) {
		p[0].events = atomic_load(&v->paused) ? 0 : vshm_client_events(v->c);
		if (poll(p, 2, 20) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!atomic_load(&v->paused) &&
		    vshm_client_dispatch(v->c, NULL) < 0)
			break;
	}
	return NULL;
}

/* Does touching p fault (SIGBUS on a kmod hole, SIGSEGV on PROT_NONE)? */
static bool faults_at(const volatile uint8_t *p)
{
	int sig = read_fault_signal(p);

	return sig == SIGBUS || sig == SIGSEGV;
}

FIXTURE(vmm) {
	struct broker b;
	struct vmm v;
	struct tdev t[NDEV];
	int mfd;
	int fds_before_vmm;	/* broker fds before the VMM connected */
	bool started;
};

FIXTURE_VARIANT(vmm) {
	const char *region_mode;
	uint32_t mode;
};

FIXTURE_VARIANT_ADD(vmm, kmod) {
	.region_mode = "kmod", .mode = VSHM_CTL_REGIONS_KMOD,
};

FIXTURE_VARIANT_ADD(vmm, forwarding) {
	.region_mode = "vmm", .mode = VSHM_CTL_REGIONS_VMM,
};

/* Register NDEV devices through the test VMM's own connection. */
static int add_devices(struct broker *b, struct vmm *v, struct tdev *t)
{
	uint64_t size = RSZ, ga[NDEV] = { A_GA, B_GA };
	int i, ret, sv[2];

	for (i = 0; i < NDEV; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].fw = -1;
		for (ret = 0; ret < 4; ret++)
			t[i].region[ret] = -1;
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return -errno;
		v->region_fd[i] = -1;
		/*
		 * Strict holes unless the test asks for safe ones: a hole
		 * faults in both modes (a PROT_NONE reservation in forwarding
		 * mode), or reads zeros in both (a VSHM_REGION_ZERO_HOLES one).
		 */
		ret = vshm_client_add_device(v->c, sv[1], -1, &size, 1,
					     (v->safe_holes ? 0 : VSHM_CTL_DEV_STRICT_HOLES) |
					     (v->populate ? VSHM_CTL_DEV_POPULATE : 0),
					     &v->dev_id[i], &v->region_fd[i], NULL);
		close(sv[1]);
		if (ret) {
			close(sv[0]);
			return ret;
		}
		t[i].id = v->dev_id[i];
		t[i].be = sv[0];
		ret = vshm_chan_new(t[i].be, VSHM_PROTO_BACKEND, 0, &t[i].ch);
		if (!ret)
			ret = vmm_attach(v, i, ga[i]);
		if (ret)
			return ret;
	}
	(void)b;
	return 0;
}

static int start(struct _test_data_vmm *self, const char *region_mode,
		 const char *timeout, uint32_t max_maps)
{
	/* self->v.safe_holes is set by the test before it starts. */
	const char *extra[] = { "--vmm-timeout", timeout, NULL };
	int ret;

	ret = broker_startv(&self->b, region_mode, extra);
	if (ret)
		return ret;
	self->fds_before_vmm = broker_fds(&self->b);
	self->v.max_maps = max_maps;
	ret = vshm_client_connect(self->b.sock, T_TIMEOUT_MS, &self->v.c, NULL);
	if (ret)
		return ret;
	self->v.mode = vshm_client_region_mode(self->v.c);
	vshm_client_set_handler(self->v.c, on_broker_request, &self->v);
	ret = add_devices(&self->b, &self->v, self->t);
	if (ret)
		return ret;
	self->v.stop_efd = eventfd(0, EFD_CLOEXEC);
	if (self->v.stop_efd < 0)
		return -errno;
	if (pthread_create(&self->v.th, NULL, vmm_loop, &self->v))
		return -EAGAIN;
	self->started = true;
	return 0;
}

FIXTURE_SETUP(vmm)
{
	int i;

	memset(&self->v, 0, sizeof(self->v));	/* strict holes unless a test says so */
	self->v.stop_efd = -1;
	for (i = 0; i < NDEV; i++)
		self->t[i].be = self->t[i].fw = -1;
	self->mfd = memfd_filled(16 * PG, 0x5a);
	ASSERT_GE(self->mfd, 0);
}

static void stop_vmm(struct vmm *v)
{
	uint64_t one = 1;
	int i;

	if (v->stop_efd >= 0) {
		if (write(v->stop_efd, &one, 8) != 8)
			return;
		pthread_join(v->th, NULL);
		close(v->stop_efd);
		v->stop_efd = -1;
	}
	for (i = 0; i < NDEV; i++) {
		if (v->region_fd[i] >= 0 && v->view[i] && v->view[i] != MAP_FAILED)
			munmap(v->view[i], RSZ);
		if (v->region_fd[i] > 0)
			close(v->region_fd[i]);
		vshm_region_destroy(v->res[i]);
		v->res[i] = NULL;
		v->region_fd[i] = -1;
	}
	vshm_client_close(v->c);
	v->c = NULL;
}

FIXTURE_TEARDOWN(vmm)
{
	int i;

	stop_vmm(&self->v);
	for (i = 0; i < NDEV; i++)
		if (self->t[i].be >= 0)
			tdev_close(&self->t[i]);
	if (self->mfd > 0)
		close(self->mfd);
	broker_stop(&self->b);
}

/*
 * Proves (both modes, same bytes): a back-end's map shows its memfd in the
 * VMM's view; a write through the view reaches the memfd; another device
 * reads and writes it with MEM_READ / MEM_WRITE (forwarding mode: through
 * the broker's duplicate of the source); after the unmap the view faults
 * again and MEM_READ says ENXIO.
 */
TEST_F(vmm, same_bytes_both_modes)
{
	uint8_t buf[16], want[16], *mem;
	volatile uint8_t *view;

	if (variant->mode == VSHM_CTL_REGIONS_KMOD && access("/dev/vshm", F_OK))
		SKIP(return, "no /dev/vshm: the kmod variant runs in the VM");
	ASSERT_EQ(0, start(self, variant->region_mode, "5000", 0));
	ASSERT_EQ(variant->mode, self->v.mode);
	view = self->v.view[0];
	EXPECT_TRUE(faults_at(view + 4 * PG));
	ASSERT_EQ(0, do_map(&self->t[0], 0, self->mfd, PG, 4 * PG, 2 * PG, 1));
	EXPECT_EQ(0x5a, view[4 * PG]);
	EXPECT_EQ(0x5a, view[6 * PG - 1]);
	view[4 * PG + 3] = 0xc3;
	mem = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, self->mfd, 0);
	ASSERT_NE(MAP_FAILED, mem);
	EXPECT_EQ(0xc3, mem[PG + 3]);
	ASSERT_EQ(0, do_read(&self->t[1], A_GA + 4 * PG, 16, buf));
	memset(want, 0x5a, sizeof(want));
	want[3] = 0xc3;
	EXPECT_EQ(0, memcmp(buf, want, sizeof(want)));
	memset(buf, 0x77, sizeof(buf));
	ASSERT_EQ(0, do_write(&self->t[1], A_GA + 5 * PG, buf, sizeof(buf)));
	EXPECT_EQ(0x77, view[5 * PG + 15]);
	EXPECT_EQ(0x77, mem[2 * PG]);
	ASSERT_EQ(0, do_unmap(&self->t[0], 0, 4 * PG, 2 * PG));
	EXPECT_TRUE(faults_at(view + 4 * PG));
	EXPECT_EQ(ENXIO, do_read(&self->t[1], A_GA + 4 * PG, 16, buf));
	munmap(mem, 16 * PG);
}

/*
 * Proves (both modes, same bytes): with the default safe holes a hole in
 * the VMM's view reads zeros and takes a write in both modes (kmod: the
 * module's zero and scratch pages; forwarding: a VSHM_REGION_ZERO_HOLES
 * reservation), a map shows the source and not what was written in the
 * hole, the range is a zero hole again after the unmap and after a device
 * reset, and the other device's mapping stays.
 */
TEST_F(vmm, safe_holes_both_modes)
{
	volatile uint8_t *view;
	int i;

	if (variant->mode == VSHM_CTL_REGIONS_KMOD && access("/dev/vshm", F_OK))
		SKIP(return, "no /dev/vshm: the kmod variant runs in the VM");
	self->v.safe_holes = true;
	ASSERT_EQ(0, start(self, variant->region_mode, "5000", 0));
	view = self->v.view[0];
	EXPECT_FALSE(faults_at(view + 4 * PG));
	EXPECT_EQ(0, view[4 * PG]);
	view[4 * PG + 1] = 0xee;
	ASSERT_EQ(0, do_map(&self->t[0], 0, self->mfd, 0, 4 * PG, PG, 1));
	EXPECT_EQ(0x5a, view[4 * PG + 1]);
	ASSERT_EQ(0, do_unmap(&self->t[0], 0, 4 * PG, PG));
	EXPECT_FALSE(faults_at(view + 4 * PG));
	if (variant->mode == VSHM_CTL_REGIONS_VMM)
		EXPECT_EQ(0, view[4 * PG + 1]);	/* a fresh zero page */
	ASSERT_EQ(0, do_map(&self->t[0], 0, self->mfd, 0, 0, PG, 1));
	ASSERT_EQ(0, do_map(&self->t[1], 0, self->mfd, 0, 0, PG, 1));
	EXPECT_EQ(0x5a, view[0]);
	ASSERT_EQ(0, vshm_client_reset_device(self->b.c, self->t[0].id, NULL));
	for (i = 0; i < 200 && view[0] == 0x5a; i++)
		usleep(10000);
	EXPECT_EQ(0, view[0]);
	EXPECT_FALSE(faults_at(view));
	EXPECT_EQ(0x5a, self->v.view[1][0]);
}

/*
 * Proves (both modes): devices added with VSHM_CTL_DEV_POPULATE map and
 * unmap as any other, and the VMM's view shows the source; with the module
 * its first touch takes no fault (the region's counter), in forwarding
 * mode the flag changes nothing (the VMM places the mapping as always).
 */
TEST_F(vmm, populated_device_both_modes)
{
	struct vshm_region_info info = { 0 };
	volatile uint8_t *view;
	uint64_t faults = 0;

	if (variant->mode == VSHM_CTL_REGIONS_KMOD && access("/dev/vshm", F_OK))
		SKIP(return, "no /dev/vshm: the kmod variant runs in the VM");
	self->v.populate = true;
	ASSERT_EQ(0, start(self, variant->region_mode, "5000", 0));
	view = self->v.view[0];
	ASSERT_EQ(0, do_map(&self->t[0], 0, self->mfd, 0, 4 * PG, 8 * PG, 1));
	if (variant->mode == VSHM_CTL_REGIONS_KMOD) {
		ASSERT_EQ(0, ioctl(self->v.region_fd[0], VSHM_IOC_REGION_INFO, &info));
		faults = info.faults;
	}
	EXPECT_EQ(0x5a, view[4 * PG]);
	EXPECT_EQ(0x5a, view[12 * PG - 1]);
	if (variant->mode == VSHM_CTL_REGIONS_KMOD) {
		ASSERT_EQ(0, ioctl(self->v.region_fd[0], VSHM_IOC_REGION_INFO, &info));
		EXPECT_EQ(faults, info.faults);
	}
	ASSERT_EQ(0, do_unmap(&self->t[0], 0, 4 * PG, 8 * PG));
	EXPECT_TRUE(faults_at(view + 4 * PG));
}

/*
 * Proves: a map that the VMM fails (its reservation allows 2 mappings, the
 * broker 4096) fails for the back-end with the VMM's error, and the
 * broker's table is rolled back (the range is free again for the broker,
 * MEM_READ there says ENXIO); the device keeps working.
 */
TEST_F(vmm, vmm_fails_map)
{
	struct vshm_mapping_entry m[4];
	uint8_t buf[8];
	uint32_t total = 0;

	if (variant->mode != VSHM_CTL_REGIONS_VMM)
		SKIP(return, "forwarding mode only");
	ASSERT_EQ(0, start(self, variant->region_mode, "5000", 2));
	ASSERT_EQ(0, do_map(&self->t[0], 0, self->mfd, 0, 0, PG, 1));
	ASSERT_EQ(0, do_map(&self->t[0], 0, self->mfd, 0, 2 * PG, PG, 1));
	EXPECT_EQ(ENOSPC, do_map(&self->t[0], 0, self->mfd, 0, 4 * PG, PG, 1));
	EXPECT_EQ(2, vshm_client_list_mappings(self->b.c, self->t[0].id, 0, 0,
					       m, 4, &total, NULL));
	EXPECT_EQ(2, total);
	EXPECT_EQ(ENXIO, do_read(&self->t[1], A_GA + 4 * PG, 8, buf));
	EXPECT_TRUE(faults_at(self->v.view[0] + 4 * PG));
	ASSERT_EQ(0, do_unmap(&self->t[0], 0, 0, PG));
	EXPECT_EQ(0, do_map(&self->t[0], 0, self->mfd, 0, 4 * PG, PG, 1));
	EXPECT_EQ(0x5a, self->v.view[0][4 * PG]);
}

/*
 * Proves: a VMM that stops answering is closed after --vmm-timeout and its
 * devices go with it (the back-end's channel closes without a reply); the
 * broker keeps serving and holds no fd of them afterwards.
 */
TEST_F(vmm, vmm_stops_answering)
{
	uint8_t p[40];

	if (variant->mode != VSHM_CTL_REGIONS_VMM)
		SKIP(return, "forwarding mode only");
	ASSERT_EQ(0, start(self, variant->region_mode, "300", 0));
	atomic_store(&self->v.paused, true);
	put_mmap(p, 0, 0, 0, PG, 1);
	ASSERT_EQ(0, send_frame(self->t[0].be, VSHM_VU_BACKEND_SHMEM_MAP,
				VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, 40, p, 40,
				&self->mfd, 1));
	EXPECT_TRUE(closed_by_broker(&self->t[0]));
	EXPECT_TRUE(closed_by_broker(&self->t[1]));
	EXPECT_TRUE(broker_alive(&self->b));
	EXPECT_TRUE(broker_log_has(&self->b, "did not answer VMM_MAP"));
	EXPECT_EQ(self->fds_before_vmm,
		  broker_fds_settle(&self->b, self->fds_before_vmm));
}

/*
 * Proves: an UNMAP sent while the MAP it names is still at the VMM waits
 * its turn: the VMM sees MAP then UNMAP, the back-end gets both replies in
 * order (0, 0), and the range ends unmapped in the VMM and the table.
 */
TEST_F(vmm, unmap_while_map_pending)
{
	uint8_t p[40];
	struct vshm_ctl_stats st;

	if (variant->mode != VSHM_CTL_REGIONS_VMM)
		SKIP(return, "forwarding mode only");
	ASSERT_EQ(0, start(self, variant->region_mode, "5000", 0));
	atomic_store(&self->v.paused, true);
	put_mmap(p, 0, 0, 8 * PG, 2 * PG, 1);
	ASSERT_EQ(0, send_frame(self->t[0].be, VSHM_VU_BACKEND_SHMEM_MAP,
				VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, 40, p, 40,
				&self->mfd, 1));
	put_mmap(p, 0, 0, 8 * PG, 2 * PG, 0);
	ASSERT_EQ(0, send_frame(self->t[0].be, VSHM_VU_BACKEND_SHMEM_UNMAP,
				VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, 40, p, 40,
				NULL, 0));
	EXPECT_TRUE(quiet(&self->t[0], 200));
	atomic_store(&self->v.paused, false);
	EXPECT_EQ(0, recv_u64(&self->t[0], VSHM_VU_BACKEND_SHMEM_MAP));
	EXPECT_EQ(0, recv_u64(&self->t[0], VSHM_VU_BACKEND_SHMEM_UNMAP));
	ASSERT_EQ(2, atomic_load(&self->v.nseen));
	EXPECT_EQ(VSHM_CTL_VMM_MAP, self->v.seen[0]);
	EXPECT_EQ(VSHM_CTL_VMM_UNMAP, self->v.seen[1]);
	EXPECT_TRUE(faults_at(self->v.view[0] + 8 * PG));
	ASSERT_EQ(0, vshm_client_stats(self->b.c, self->t[0].id, &st, NULL));
	EXPECT_EQ(0, st.mappings);
	EXPECT_EQ(1, st.maps);
	EXPECT_EQ(1, st.unmaps);
}

/*
 * Proves: RESET_DEVICE (from any control connection) reaches the device's
 * VMM as VMM_RESET: every mapping of the device is gone from its view, the
 * other device's stay.
 */
TEST_F(vmm, reset_reaches_vmm)
{
	int i;

	if (variant->mode != VSHM_CTL_REGIONS_VMM)
		SKIP(return, "forwarding mode only");
	ASSERT_EQ(0, start(self, variant->region_mode, "5000", 0));
	ASSERT_EQ(0, do_map(&self->t[0], 0, self->mfd, 0, 0, PG, 1));
	ASSERT_EQ(0, do_map(&self->t[1], 0, self->mfd, 0, 0, PG, 1));
	ASSERT_EQ(0, vshm_client_reset_device(self->b.c, self->t[0].id, NULL));
	for (i = 0; i < 200 && atomic_load(&self->v.nseen) < 3; i++)
		usleep(10000);
	ASSERT_EQ(3, atomic_load(&self->v.nseen));
	EXPECT_EQ(VSHM_CTL_VMM_RESET, self->v.seen[2]);
	EXPECT_TRUE(faults_at(self->v.view[0]));
	EXPECT_EQ(0x5a, self->v.view[1][0]);
}

/*
 * Proves: a VMM that answers a request it was never sent is closed (the
 * answers are matched in order, so the stream cannot be trusted), its
 * devices go with it, and the broker keeps serving.
 */
TEST_F(vmm, unowed_answer_closes_vmm)
{
	if (variant->mode != VSHM_CTL_REGIONS_VMM)
		SKIP(return, "forwarding mode only");
	ASSERT_EQ(0, start(self, variant->region_mode, "5000", 0));
	atomic_store(&self->v.paused, true);
	usleep(50000);	/* the loop thread is past its last dispatch */
	ASSERT_EQ(0, vshm_client_answer(self->v.c, VSHM_CTL_VMM_MAP, 0, NULL, 0,
					NULL, 0, NULL));
	EXPECT_TRUE(closed_by_broker(&self->t[0]));
	EXPECT_TRUE(closed_by_broker(&self->t[1]));
	EXPECT_TRUE(broker_alive(&self->b));
	EXPECT_TRUE(broker_log_has(&self->b, "not owed or malformed"));
}

/*
 * Proves: a back-end that shrinks its source after the broker approved the
 * map, but before the VMM places it, gets the VMM's refusal (EOVERFLOW:
 * the VMM's reservation checks the source again) and the broker's table
 * is rolled back; the VMM's view keeps the hole.
 */
TEST_F(vmm, source_shrinks_before_vmm_maps)
{
	struct vshm_ctl_stats st;
	uint8_t p[40];

	if (variant->mode != VSHM_CTL_REGIONS_VMM)
		SKIP(return, "forwarding mode only");
	ASSERT_EQ(0, start(self, variant->region_mode, "5000", 0));
	atomic_store(&self->v.paused, true);
	put_mmap(p, 0, 8 * PG, 0, 8 * PG, 1);
	ASSERT_EQ(0, send_frame(self->t[0].be, VSHM_VU_BACKEND_SHMEM_MAP,
				VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, 40, p, 40,
				&self->mfd, 1));
	EXPECT_TRUE(quiet(&self->t[0], 100));
	ASSERT_EQ(0, ftruncate(self->mfd, 4 * PG));
	atomic_store(&self->v.paused, false);
	EXPECT_EQ(EOVERFLOW, recv_u64(&self->t[0], VSHM_VU_BACKEND_SHMEM_MAP));
	EXPECT_TRUE(faults_at(self->v.view[0]));
	ASSERT_EQ(0, vshm_client_stats(self->b.c, self->t[0].id, &st, NULL));
	EXPECT_EQ(0, st.mappings);
	EXPECT_EQ(1, st.map_errors);
}

TEST_HARNESS_MAIN
