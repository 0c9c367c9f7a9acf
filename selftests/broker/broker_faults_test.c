// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection around vshmd: a back-end that dies mid-frame (half a
 * header, half a payload, with fds in flight, holding mappings), a VMM
 * whose control connection dies mid-frame, and a VMM process killed while
 * it holds region fds with pages faulted in.  After each, the broker keeps
 * serving the other device and its fd count is back where it was; with the
 * kmod region mode (in the VM), once every holder has closed the regions, the
 * module's debugfs totals (regions, mappings, pages_held) are back to their
 * starting values.
 */
#include "kselftest_harness.h"
#include "broker_util.h"

#define SURVIVOR_GA	0x10000000ull
#define STATS		"/sys/kernel/debug/vshm/stats"

struct totals {
	long long regions, mappings, pages_held;
};

static bool read_totals(struct totals *t)
{
	char line[128];
	FILE *f = fopen(STATS, "r");

	if (!f)
		return false;
	memset(t, 0, sizeof(*t));
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "regions %lld", &t->regions);
		sscanf(line, "mappings %lld", &t->mappings);
		sscanf(line, "pages_held %lld", &t->pages_held);
	}
	fclose(f);
	return true;
}

/* Wait (up to 5 s) for the totals to equal want. */
static bool totals_settle(const struct totals *want, struct totals *now)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (read_totals(now) && now->regions == want->regions &&
		    now->mappings == want->mappings &&
		    now->pages_held == want->pages_held)
			return true;
		usleep(10000);
	}
	return false;
}

FIXTURE(faults) {
	struct broker b;
	struct tdev survivor;
	int memfd;
	int fds0;		/* broker fds with only the survivor */
	struct totals base;	/* module totals before the broker started */
	bool stats;		/* base is valid (kmod in the VM) */
};

FIXTURE_SETUP(faults)
{
	self->stats = read_totals(&self->base);
	ASSERT_EQ(0, broker_start(&self->b, NULL));
	ASSERT_EQ(0, tdev_add(&self->b, &self->survivor, 1 << 20, SURVIVOR_GA));
	self->memfd = memfd_filled(1 << 20, 0x5a);
	ASSERT_LE(0, self->memfd);
	ASSERT_EQ(0, do_map(&self->survivor, 0, self->memfd, 0, 0, 1 << 16,
			    VSHM_VU_MMAP_RW));
	self->fds0 = broker_fds(&self->b);
	ASSERT_LT(0, self->fds0);
}

FIXTURE_TEARDOWN(faults)
{
	tdev_close(&self->survivor);
	close(self->memfd);
	broker_stop(&self->b);
}

/* The survivor still maps, unmaps, reads and writes. */
static bool survivor_ok(struct tdev *t)
{
	uint8_t buf[64], want[64];

	memset(want, 0x33, sizeof(want));
	return do_write(t, SURVIVOR_GA + 128, want, sizeof(want)) == 0 &&
	       do_read(t, SURVIVOR_GA + 128, sizeof(buf), buf) == 0 &&
	       !memcmp(buf, want, sizeof(buf));
}

/* A back-end that sends part of a frame, then closes its channel. */
static void die_mid_frame(struct __test_metadata *_metadata,
			  FIXTURE_DATA(faults) *self, size_t hdr_bytes,
			  uint32_t req, uint32_t size, size_t payload_bytes,
			  unsigned int nfds)
{
	uint8_t frame[12 + 4096] = { 0 };
	struct vshm_hdr h = { .request = req, .flags = VSHM_HDR_VERSION |
					  VSHM_HDR_NEED_REPLY, .size = size };
	int fds[4], i, before;
	struct tdev t;

	ASSERT_EQ(0, tdev_add(&self->b, &t, 1 << 20, UINT64_MAX));
	before = broker_fds(&self->b);
	memcpy(frame, &h, sizeof(h));
	memset(frame + 12, 0x11, sizeof(frame) - 12);
	for (i = 0; i < (int)nfds; i++)
		fds[i] = memfd_filled(PG, 0);
	{
		struct iovec iov = { frame, hdr_bytes + payload_bytes };

		ASSERT_EQ(0, send_with_fds(t.be, &iov, 1, fds, nfds));
	}
	for (i = 0; i < (int)nfds; i++)
		close(fds[i]);
	/* Give the broker a turn with the partial frame (it may hold its fds), then die. */
	usleep(50000);
	EXPECT_TRUE(broker_alive(&self->b));
	EXPECT_LE(before, broker_fds(&self->b));
	tdev_close(&t);
	/* The device's channel and every fd in flight are gone. */
	EXPECT_EQ(self->fds0, broker_fds_settle(&self->b, self->fds0));
	EXPECT_TRUE(broker_alive(&self->b));
	EXPECT_TRUE(survivor_ok(&self->survivor));
}

/* Proves: half a header then death: the device goes, nothing else does. */
TEST_F(faults, backend_dies_mid_header)
{
	die_mid_frame(_metadata, self, 6, VSHM_VU_BACKEND_SHMEM_MAP, 40, 0, 0);
}

/* Proves: a SHMEM_MAP cut inside its payload, its fd in flight, leaks no fd. */
TEST_F(faults, backend_dies_mid_payload_with_fd)
{
	die_mid_frame(_metadata, self, 12, VSHM_VU_BACKEND_SHMEM_MAP, 40, 17, 1);
}

/* Proves: a big MEM_WRITE cut after 4 KiB, with fds attached, leaks nothing. */
TEST_F(faults, backend_dies_mid_mem_write_with_fds)
{
	die_mid_frame(_metadata, self, 12, VSHM_VU_BACKEND_MEM_WRITE,
		      12 + 60000, 4096, 3);
}

/* Proves: a forwarded-kind frame cut mid-payload with fds leaks nothing. */
TEST_F(faults, backend_dies_mid_opaque_frame_with_fds)
{
	die_mid_frame(_metadata, self, 12, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, 16,
		      5, 1);
}

/* Proves: a back-end that dies holding mappings loses them; regions stay clean. */
TEST_F(faults, backend_dies_holding_mappings)
{
	struct totals start, now;
	bool kmod = read_totals(&start);
	struct tdev t;
	int i;

	ASSERT_EQ(0, tdev_add(&self->b, &t, 1 << 20, UINT64_MAX));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, do_map(&t, 0, self->memfd, 0, i * 2 * PG, PG,
				    VSHM_VU_MMAP_RW));
	if (kmod) {
		ASSERT_TRUE(read_totals(&now));
		EXPECT_EQ(start.mappings + 8, now.mappings);
	}
	/* Dies after half of another SHMEM_MAP header. */
	ASSERT_EQ(6, send(t.be, "\x09\0\0\0\x01\0", 6, MSG_NOSIGNAL));
	tdev_close(&t);
	EXPECT_EQ(self->fds0, broker_fds_settle(&self->b, self->fds0));
	if (kmod) {
		/* Its region and mappings are gone with it. */
		EXPECT_TRUE(totals_settle(&start, &now))
			TH_LOG("regions %lld mappings %lld pages_held %lld",
			       now.regions, now.mappings, now.pages_held);
	}
	EXPECT_TRUE(survivor_ok(&self->survivor));
}

/* Proves: a control connection that dies mid-frame costs the broker nothing. */
TEST_F(faults, vmm_control_dies_mid_frame)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t half[20] = { 0 };
	struct vshm_hdr h = { .request = VSHM_CTL_ADD_DEVICE,
			      .flags = VSHM_HDR_VERSION, .size = 64 };
	int fd, sv[2];

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	strcpy(sa.sun_path, self->b.sock);
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	memcpy(half, &h, sizeof(h));
	/* ADD_DEVICE's header and part of its payload, a socket in flight. */
	ASSERT_EQ(0, send_frame(fd, h.request, h.flags, h.size, half + 12, 8,
				&sv[1], 1));
	close(sv[0]);
	close(sv[1]);
	usleep(50000);
	close(fd);
	EXPECT_EQ(self->fds0, broker_fds_settle(&self->b, self->fds0));
	EXPECT_TRUE(broker_alive(&self->b));
	EXPECT_TRUE(survivor_ok(&self->survivor));
}

/*
 * The VMM: a child that registers a device through its own control
 * connection, mmaps the region fd and faults the back-end's pages in, then
 * waits to be killed.  Returns its pid; *be is the device's back-end end.
 */
static pid_t spawn_vmm(struct broker *b, struct tdev *t, int memfd)
{
	int sync[2], go[2], sv[2];
	uint64_t size = 1 << 20;
	char c = 0;
	pid_t pid;

	if (pipe2(sync, O_CLOEXEC) || pipe2(go, O_CLOEXEC) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct vshm_client *c2;
		uint32_t id = 0;
		int fds[1] = { -1 };
		volatile uint8_t *p;
		int i;

		/* Nothing of the test's: only this VMM's own fds. */
		for (i = 3; i < 1024; i++)
			if (i != sv[1] && i != sync[1] && i != go[0])
				close(i);
		if (vshm_client_connect(b->sock, T_TIMEOUT_MS, &c2, NULL) ||
		    vshm_client_add_device(c2, sv[1], -1, &size, 1, 0, &id, fds, NULL))
			_exit(1);
		close(sv[1]);
		if (write(sync[1], &id, sizeof(id)) != sizeof(id))
			_exit(1);
		/* Wait for the back-end's mapping, then fault it in. */
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
		if (p == MAP_FAILED)
			_exit(1);
		for (i = 0; i < 16; i++)
			(void)p[i * PG];
		if (write(sync[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(sv[1]);
	memset(t, 0, sizeof(*t));
	t->fw = -1;
	t->region[0] = t->region[1] = t->region[2] = t->region[3] = -1;
	t->be = sv[0];
	if (pid < 0 || read(sync[0], &t->id, sizeof(t->id)) != sizeof(t->id) ||
	    vshm_chan_new(t->be, VSHM_PROTO_BACKEND, 0, &t->ch) ||
	    do_map(t, 0, memfd, 0, 0, 16 * PG, VSHM_VU_MMAP_RW) ||
	    write(go[1], &c, 1) != 1 || read(sync[0], &c, 1) != 1) {
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		pid = -1;
	}
	close(sync[0]);
	close(sync[1]);
	close(go[0]);
	close(go[1]);
	return pid;
}

/*
 * Proves: a VMM killed while it holds region fds with pages faulted in:
 * the broker keeps serving; once the back-end has gone and the broker has
 * stopped, every region, mapping and page is released (module totals).
 */
TEST_F(faults, vmm_killed_holding_regions)
{
	struct totals start, now;
	struct tdev t;
	pid_t vmm;

	/* The survivor's copies hold a page: take it first, then the baseline. */
	ASSERT_TRUE(survivor_ok(&self->survivor));
	if (!self->b.kmod || !self->stats || !read_totals(&start))
		SKIP(return, "needs the kmod region mode and debugfs (in the VM)");
	vmm = spawn_vmm(&self->b, &t, self->memfd);
	ASSERT_LT(0, vmm);
	ASSERT_TRUE(read_totals(&now));
	EXPECT_EQ(start.regions + 1, now.regions);
	EXPECT_EQ(start.mappings + 1, now.mappings);
	EXPECT_LE(start.pages_held + 16, now.pages_held);
	kill(vmm, SIGKILL);
	waitpid(vmm, NULL, 0);
	EXPECT_TRUE(broker_alive(&self->b));
	EXPECT_TRUE(survivor_ok(&self->survivor));
	/*
	 * The broker still holds the dead VMM's device (devices belong to the
	 * broker); its back-end leaves: the device, region and pages go.
	 */
	tdev_close(&t);
	EXPECT_TRUE(totals_settle(&start, &now))
		TH_LOG("regions %lld mappings %lld pages_held %lld",
		       now.regions, now.mappings, now.pages_held);
	/* Then the broker stops: everything of its own goes too. */
	tdev_close(&self->survivor);
	broker_stop(&self->b);
	EXPECT_TRUE(totals_settle(&self->base, &now))
		TH_LOG("after the broker: regions %lld mappings %lld pages_held %lld",
		       now.regions, now.mappings, now.pages_held);
}

/*
 * Proves: the broker stops first (the VMM still holds its region fd and
 * mmap): the region survives, empty, until the VMM dies too; then the
 * totals are back to their starting values.
 */
TEST_F(faults, vmm_outlives_broker_then_dies)
{
	struct totals now;
	struct tdev t;
	pid_t vmm;
	int i;

	if (!self->b.kmod || !self->stats)
		SKIP(return, "needs the kmod region mode and debugfs (in the VM)");
	vmm = spawn_vmm(&self->b, &t, self->memfd);
	ASSERT_LT(0, vmm);
	/* Broker killed outright (no clean-up of its own), back-ends gone. */
	kill(self->b.pid, SIGKILL);
	tdev_close(&t);
	tdev_close(&self->survivor);
	broker_stop(&self->b);
	/*
	 * Only the VMM's region fd is left: its region lives on, with the
	 * mapping the dead broker never removed.
	 */
	for (i = 0; i < 500; i++) {
		ASSERT_TRUE(read_totals(&now));
		if (now.regions == self->base.regions + 1)
			break;
		usleep(10000);
	}
	EXPECT_EQ(self->base.regions + 1, now.regions);
	kill(vmm, SIGKILL);
	waitpid(vmm, NULL, 0);
	EXPECT_TRUE(totals_settle(&self->base, &now))
		TH_LOG("regions %lld mappings %lld pages_held %lld",
		       now.regions, now.mappings, now.pages_held);
}

TEST_HARNESS_MAIN
