// SPDX-License-Identifier: GPL-2.0
/*
 * Populated maps through vshmd: a device added with VSHM_CTL_DEV_POPULATE
 * (or any device of a broker started with --populate) lists with the flag
 * and has every SHMEM_MAP made with the populate hint.  With the kmod
 * region mode (in the VM) an mmap of the region made before the SHMEM_MAP
 * then takes no fault on its first touch (the region's "faults" counter
 * does not move), while the same touch on a device without the flag
 * faults.  In forwarding mode --populate is said at start to have no
 * effect (the VMM maps).  An ADD_DEVICE with a flag no broker knows is still refused
 * (EBADMSG on the wire, the connection kept; EINVAL from libvshm before
 * sending), and against a broker before 1.4, which would refuse the new
 * flag with a bare EBADMSG, libvshm says EOPNOTSUPP and sends nothing.
 */
#include <sys/ioctl.h>
#include <linux/vshm.h>

#include "kselftest_harness.h"
#include "broker_util.h"

#define REGION	(64 * PG)
#define MAPLEN	(16 * PG)
/* A flag no broker knows (the next bit after VSHM_CTL_DEV_POPULATE). */
#define UNKNOWN_DEV_FLAG	(VSHM_CTL_DEV_POPULATE << 1)

_Static_assert(!(UNKNOWN_DEV_FLAG & VSHM_CTL_DEV_FLAGS_ALL), "an unknown flag");

/* The flags LIST_DEVICES reports for device id, or UINT32_MAX. */
static uint32_t listed_flags(struct broker *b, uint32_t id)
{
	struct vshm_ctl_device_entry e[8];
	uint32_t total;
	ssize_t n, i;

	n = vshm_client_list_devices(b->c, e, 8, &total, NULL);
	for (i = 0; i < n; i++)
		if (e[i].dev_id == id)
			return e[i].flags;
	return UINT32_MAX;
}

static uint64_t faults_of(int region_fd)
{
	struct vshm_region_info info = { 0 };

	if (ioctl(region_fd, VSHM_IOC_REGION_INFO, &info) < 0)
		return UINT64_MAX;
	return info.faults;
}

/*
 * kmod: mmap the device's region (as a VMM does, before any map), have
 * its back-end map a 16-page memfd there, then read every page: the
 * faults that first touch took in vshm.ko, or -1 on a failure.
 */
static int64_t first_touch_faults(struct tdev *t)
{
	int src = memfd_filled(MAPLEN, 0x5a);
	const volatile uint8_t *view;
	uint64_t before, after;
	bool same = true;
	unsigned int i;
	void *p;

	if (src < 0)
		return -1;
	p = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED,
		 t->region[0], 0);
	if (p == MAP_FAILED || do_map(t, 0, src, 0, 0, MAPLEN, VSHM_VU_MMAP_RW)) {
		close(src);
		return -1;
	}
	close(src);
	view = p;
	before = faults_of(t->region[0]);
	for (i = 0; i < MAPLEN / PG; i++)
		same &= view[i * PG] == 0x5a;
	after = faults_of(t->region[0]);
	munmap(p, REGION);
	if (!same || before == UINT64_MAX || after == UINT64_MAX)
		return -1;
	return (int64_t)(after - before);
}

static int add(struct broker *b, struct tdev *t, uint32_t flags)
{
	uint64_t size = REGION;

	return tdev_add_flags(b, t, &size, 1, false, flags);
}

/*
 * Proves: VSHM_CTL_DEV_POPULATE is accepted in every region mode, listed
 * for its device only, and its maps work, read-write and read-only.
 */
TEST(device_flag_listed_and_maps_work)
{
	int src = memfd_filled(MAPLEN, 0x5a);
	struct tdev pop, plain;
	struct vshm_ctl_stats st;
	struct broker b;

	ASSERT_GE(src, 0);
	ASSERT_EQ(0, broker_start(&b, NULL));
	ASSERT_EQ(0, add(&b, &pop, VSHM_CTL_DEV_POPULATE));
	ASSERT_EQ(0, add(&b, &plain, 0));
	EXPECT_EQ(VSHM_CTL_DEV_POPULATE, listed_flags(&b, pop.id));
	EXPECT_EQ(0, listed_flags(&b, plain.id));
	EXPECT_TRUE(broker_log_has(&b, "populated maps"));
	EXPECT_EQ(0, do_map(&pop, 0, src, 0, 0, MAPLEN, VSHM_VU_MMAP_RW));
	EXPECT_EQ(0, do_map(&pop, 0, src, 0, MAPLEN, MAPLEN, 0));
	EXPECT_EQ(EEXIST, do_map(&pop, 0, src, 0, 0, PG, 0));
	EXPECT_EQ(0, do_map(&plain, 0, src, 0, 0, MAPLEN, 0));
	ASSERT_EQ(0, vshm_client_stats(b.c, pop.id, &st, NULL));
	EXPECT_EQ(2, st.mappings);
	close(src);
	tdev_close(&pop);
	tdev_close(&plain);
	EXPECT_EQ(0, broker_stop(&b));
}

/*
 * Proves (kmod): the VMM's mmap of a populated device's region, made
 * before the SHMEM_MAP, takes no fault on its first touch; the same touch
 * on a device without the flag faults.
 */
TEST(kmod_device_flag_first_touch_takes_no_fault)
{
	struct tdev pop, plain;
	struct broker b;
	int64_t n;

	if (strcmp(test_region_mode(), "kmod"))
		SKIP(return, "region mode %s: populating the VMM's view needs /dev/vshm (runs in the VM)",
		     test_region_mode());
	ASSERT_EQ(0, broker_start(&b, NULL));
	ASSERT_TRUE(b.kmod);
	ASSERT_EQ(0, add(&b, &pop, VSHM_CTL_DEV_POPULATE));
	ASSERT_EQ(0, add(&b, &plain, 0));
	n = first_touch_faults(&pop);
	EXPECT_EQ(0, n) TH_LOG("populated device: %lld faults on first touch", (long long)n);
	n = first_touch_faults(&plain);
	EXPECT_LT(0, n) TH_LOG("plain device: %lld faults on first touch", (long long)n);
	tdev_close(&pop);
	tdev_close(&plain);
	EXPECT_EQ(0, broker_stop(&b));
}

/*
 * Proves: vshmd --populate gives every device the flag (listed, logged),
 * and in kmod a first touch without faults.
 */
TEST(broker_option_populates_every_device)
{
	struct broker b;
	struct tdev t;
	int64_t n;

	ASSERT_EQ(0, broker_startv(&b, NULL, (const char *[]){ "--populate", NULL }));
	ASSERT_EQ(0, add(&b, &t, 0));
	EXPECT_EQ(VSHM_CTL_DEV_POPULATE, listed_flags(&b, t.id));
	EXPECT_TRUE(broker_log_has(&b, "every device's maps populated"));
	if (b.kmod) {
		n = first_touch_faults(&t);
		EXPECT_EQ(0, n) TH_LOG("%lld faults on first touch", (long long)n);
	}
	tdev_close(&t);
	EXPECT_EQ(0, broker_stop(&b));
}

/*
 * Proves: in forwarding mode, where the VMM makes the mappings and the
 * vhost-user SHMEM_MAP has no populate flag to pass on, vshmd --populate
 * says at start that it has no effect instead of claiming populated maps.
 */
TEST(broker_option_in_forwarding_mode_says_no_effect)
{
	struct broker b;

	ASSERT_EQ(0, broker_startv(&b, "vmm", (const char *[]){ "--populate", NULL }));
	EXPECT_TRUE(broker_log_has(&b, "--populate has no effect in forwarding mode"));
	EXPECT_FALSE(broker_log_has(&b, "every device's maps populated"));
	EXPECT_EQ(0, broker_stop(&b));
}

/* Send one control request on ch and wait for its reply's status word. */
static int64_t raw_call(struct vshm_chan *ch, struct vshm_msg *m, uint32_t req,
			const void *payload, size_t len, const int *fds,
			unsigned int nfds)
{
	uint32_t status;

	if (vshm_ctl_encode_request(m, req, payload, len, fds, nfds) ||
	    vshm_chan_send(ch, m, NULL) ||
	    vshm_chan_recv_wait(ch, m, T_TIMEOUT_MS, NULL) ||
	    m->hdr.request != req || m->hdr.size < 8)
		return -1;
	memcpy(&status, m->payload, sizeof(status));
	vshm_msg_release(m);
	return status;
}

/*
 * Proves: a flag no broker knows is still refused: libvshm says EINVAL
 * without sending it; on the wire the broker answers EBADMSG, adds no
 * device and keeps the connection, on which the known flags then work.
 */
TEST(unknown_device_flags_refused)
{
	struct {
		struct vshm_ctl_add_device h;
		uint64_t size;
	} req = { { .flags = UNKNOWN_DEV_FLAG, .nregions = 1 }, REGION };
	struct vshm_ctl_hello hello = { .version = VSHM_CTL_VERSION };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vshm_msg *m = calloc(1, sizeof(*m));
	struct vshm_ctl_stats st;
	struct vshm_chan *ch;
	struct vshm_err err;
	struct broker b;
	struct tdev t;
	int fd, sv[2];

	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, broker_start(&b, NULL));
	EXPECT_EQ(-EINVAL, add(&b, &t, UNKNOWN_DEV_FLAG));
	EXPECT_EQ(-EINVAL, add(&b, &t, VSHM_CTL_DEV_POPULATE | UNKNOWN_DEV_FLAG));

	strcpy(sa.sun_path, b.sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, vshm_chan_new(fd, VSHM_PROTO_CONTROL, VSHM_CHAN_OWN_FD, &ch));
	ASSERT_EQ(0, raw_call(ch, m, VSHM_CTL_HELLO, &hello, sizeof(hello), NULL, 0));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	EXPECT_EQ(EBADMSG, raw_call(ch, m, VSHM_CTL_ADD_DEVICE, &req, sizeof(req), &sv[1], 1));
	ASSERT_EQ(0, vshm_client_stats(b.c, VSHM_CTL_ALL_DEVICES, &st, &err));
	EXPECT_EQ(0, st.devices);
	req.h.flags = VSHM_CTL_DEV_POPULATE | VSHM_CTL_DEV_STRICT_HOLES;
	EXPECT_EQ(0, raw_call(ch, m, VSHM_CTL_ADD_DEVICE, &req, sizeof(req), &sv[1], 1));
	ASSERT_EQ(0, vshm_client_stats(b.c, VSHM_CTL_ALL_DEVICES, &st, &err));
	EXPECT_EQ(1, st.devices);
	vshm_chan_free(ch);
	close(sv[0]);
	close(sv[1]);
	free(m);
	EXPECT_EQ(0, broker_stop(&b));
}

/*
 * A broker as vshm 1.3 answers: HELLO grants BROKER_INFO with version
 * 1.3.0, GET_STATS works.  It exits with the number of the first request
 * after HELLO, so the test learns what the client sent.
 */
static void broker_1_3(int lfd)
{
	struct vshm_msg *m = calloc(1, sizeof(*m));
	struct {
		struct vshm_ctl_hello h;
		struct vshm_ctl_broker_info info;
	} hello = {
		{ .version = VSHM_CTL_VERSION, .features = VSHM_CTL_FEAT_BROKER_INFO },
		{ .major = 1, .minor = 3, .patch = 0, .version = "1.3.0" },
	};
	struct vshm_ctl_stats st = { 0 };
	uint32_t first = 0;
	struct vshm_chan *ch;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (!m || fd < 0 || vshm_chan_new(fd, VSHM_PROTO_CONTROL, VSHM_CHAN_OWN_FD, &ch))
		_exit(255);
	while (vshm_chan_recv_wait(ch, m, T_TIMEOUT_MS, NULL) == 0) {
		uint32_t req = m->hdr.request;
		const void *body = &st;
		size_t len = sizeof(st);

		if (req == VSHM_CTL_HELLO) {
			body = &hello;
			len = sizeof(hello);
		} else if (!first) {
			first = req;
		}
		vshm_msg_release(m);
		if (req != VSHM_CTL_HELLO && req != VSHM_CTL_GET_STATS)
			break;
		if (vshm_ctl_encode_reply(m, req, 0, body, len, NULL, 0) ||
		    vshm_chan_send(ch, m, NULL))
			break;
	}
	_exit(first);
}

/* Proves: against a broker before 1.4, POPULATE fails clearly and is never sent. */
TEST(broker_before_1_4_gets_clear_error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t size = REGION;
	struct vshm_ctl_stats st;
	struct vshm_client *c;
	struct vshm_err err;
	char dir[] = "/tmp/vshm-populate.XXXXXX";
	int lfd, status, sv[2];
	uint32_t id;
	pid_t pid;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/old.sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, listen(lfd, 1));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		broker_1_3(lfd);
	close(lfd);

	ASSERT_EQ(0, vshm_client_connect(sa.sun_path, T_TIMEOUT_MS, &c, &err));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	EXPECT_EQ(-EOPNOTSUPP, vshm_client_add_device(c, sv[1], -1, &size, 1,
						      VSHM_CTL_DEV_POPULATE, &id,
						      NULL, &err));
	EXPECT_NE(NULL, strstr(err.msg, "predates vshm 1.4")) TH_LOG("%s", err.msg);
	EXPECT_EQ(0, vshm_client_stats(c, VSHM_CTL_ALL_DEVICES, &st, &err));
	vshm_client_close(c);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(VSHM_CTL_GET_STATS, WEXITSTATUS(status))
		TH_LOG("the first request after HELLO was %d", WEXITSTATUS(status));
	close(sv[0]);
	close(sv[1]);
	unlink(sa.sun_path);
	rmdir(dir);
}

TEST_HARNESS_MAIN
