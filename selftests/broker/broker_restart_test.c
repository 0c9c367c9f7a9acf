// SPDX-License-Identifier: GPL-2.0
/*
 * Restarting vshmd without the guest noticing (Documentation/protocol.rst,
 * "Restarting the broker"): the broker is killed with SIGKILL, a new one
 * is started, and the test, as the VMM, hands it the device back with
 * ADOPT_DEVICE (its backend channel, region fds and guest addresses).
 * The mappings stay, the region fds keep the same mappings (no remap),
 * the new broker serves the back-end's next requests, nothing leaks, and
 * bad input is refused without touching a mapping.  The kill also lands
 * under load: a back-end maps and unmaps in a loop meanwhile.  The
 * shared-object table is not carried over, and lookups say so (ESTALE).
 * Without /dev/vshm only the refusal (EOPNOTSUPP) can be checked.
 */
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "broker_util.h"
#include "vgem_util.h"

#define RS_GA		(1ull << 32)
#define RS_SIZE0	(1u << 20)
#define RS_SIZE1	(256u << 10)
/* The load phase's deadlines: by time, not by count (TCG is slow). */
#define RS_LOAD_BEFORE_MS	300
#define RS_LOAD_AFTER_MS	3000
#define RS_ACK_MS		2000

/* A device whose broker end of the channel the test keeps, as a VMM must. */
struct rdev {
	struct tdev t;
	int keep_be;		/* a duplicate of the broker's end of the channel */
	uint64_t sizes[2];
	uint64_t gas[2];
};

static void kill9(struct broker *b)
{
	kill(b->pid, SIGKILL);
	waitpid(b->pid, NULL, 0);
	b->pid = 0;
	vshm_client_close(b->c);
	b->c = NULL;
	unlink(b->sock);
	unlink(b->log);
	rmdir(b->dir);
}

/* Two regions: shmid 0 placed at RS_GA, shmid 1 not placed. */
static int rdev_add(struct broker *b, struct rdev *r)
{
	int sv[2], fds[2], ret, i;

	memset(r, 0, sizeof(*r));
	r->t.fw = -1;
	for (i = 0; i < 4; i++)
		r->t.region[i] = -1;
	r->sizes[0] = RS_SIZE0;
	r->sizes[1] = RS_SIZE1;
	r->gas[0] = RS_GA;
	r->gas[1] = UINT64_MAX;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	ret = vshm_client_add_device(b->c, sv[1], -1, r->sizes, 2, 0, &r->t.id,
				     fds, NULL);
	if (ret) {
		close(sv[0]);
		close(sv[1]);
		return ret;
	}
	r->keep_be = sv[1];
	r->t.be = sv[0];
	r->t.region[0] = fds[0];
	r->t.region[1] = fds[1];
	ret = vshm_client_set_region_addr(b->c, r->t.id, 0, RS_GA, NULL);
	return ret ? ret : vshm_chan_new(r->t.be, VSHM_PROTO_BACKEND, 0, &r->t.ch);
}

static void rdev_close(struct rdev *r)
{
	tdev_close(&r->t);
	if (r->keep_be >= 0)
		close(r->keep_be);
	r->keep_be = -1;
}

static int rdev_adopt(struct broker *b, struct rdev *r, uint32_t flags,
		      struct vshm_err *err)
{
	return vshm_client_adopt_device(b->c, r->keep_be, -1, r->sizes,
					r->t.region, r->gas, 2, flags,
					&r->t.id, err);
}

/* The mappings the module holds in a region fd, as the broker must list them. */
static ssize_t kmod_list(int region_fd, struct vshm_kmod_mapping *out, size_t max)
{
	uint64_t cursor = 0;

	return vshm_kmod_list_mappings(region_fd, &cursor, out, max);
}

/* Do the broker's list and the module's agree, entry by entry? */
static bool lists_agree(struct broker *b, struct rdev *r, uint32_t shmid)
{
	struct vshm_kmod_mapping k[64];
	struct vshm_mapping_entry m[64];
	uint32_t total = 0;
	ssize_t nk, nm, i;

	nk = kmod_list(r->t.region[shmid], k, 64);
	nm = vshm_client_list_mappings(b->c, r->t.id, shmid, 0, m, 64, &total,
				       NULL);
	if (nk < 0 || nm != nk || total != (uint32_t)nk)
		return false;
	for (i = 0; i < nk; i++)
		if (m[i].shm_offset != k[i].shm_offset || m[i].len != k[i].len ||
		    m[i].fd_offset != k[i].fd_offset || m[i].flags != k[i].flags)
			return false;
	return true;
}

static uint32_t device_mappings(struct broker *b, uint32_t id)
{
	struct vshm_ctl_device_entry e[16];
	ssize_t n, i;

	n = vshm_client_list_devices(b->c, e, 16, NULL, NULL);
	for (i = 0; i < n; i++)
		if (e[i].dev_id == id)
			return e[i].nmappings;
	return UINT32_MAX;
}

#define NEED_KMOD(b) \
	do { \
		if (!(b)->kmod) { \
			broker_stop(b); \
			SKIP(return, "no /dev/vshm: without the module regions die with the broker (the VM suite runs this)"); \
		} \
	} while (0)

/*
 * Proves: after kill -9 and ADOPT_DEVICE the mappings stay and the region
 * fd's mmap shows the same memory throughout (no remap, no SIGBUS); the
 * new broker lists what the module holds, serves MEM_READ / MEM_WRITE
 * (read-only still refused) and new SHMEM_MAP / SHMEM_UNMAP, also of
 * mappings the old broker made; removing the device leaves the new
 * broker's fd count and the test's as they were.
 */
TEST(kill9_then_adopt_keeps_mappings)
{
	struct broker a, b;
	struct rdev r;
	struct vshm_ctl_stats st;
	struct vshm_err err;
	uint8_t buf[64];
	int src, fds_test, fds_b;
	volatile uint8_t *win;

	fds_test = count_open_fds();
	ASSERT_EQ(0, broker_start(&a, NULL));
	NEED_KMOD(&a);
	ASSERT_EQ(0, rdev_add(&a, &r));
	src = memfd_filled(4 * PG, 0x5a);
	ASSERT_LE(0, src);
	ASSERT_EQ(0, do_map(&r.t, 0, src, 0, 0, PG, VSHM_VU_MMAP_RW));
	ASSERT_EQ(0, do_map(&r.t, 0, src, PG, 16 * PG, PG, 0));
	ASSERT_EQ(0, do_map(&r.t, 1, src, 2 * PG, 0, PG, 0));
	win = mmap(NULL, RS_SIZE0, PROT_READ | PROT_WRITE, MAP_SHARED,
		   r.t.region[0], 0);
	ASSERT_NE(MAP_FAILED, win);
	ASSERT_EQ(0x5a, win[0]);

	kill9(&a);
	/* Nobody serves the device now; the guest's view is unchanged. */
	EXPECT_EQ(0x5a, win[0]);
	EXPECT_EQ(0x5a, win[16 * PG]);
	EXPECT_EQ(3, kmod_list(r.t.region[0], (struct vshm_kmod_mapping[4]){ 0 }, 4) +
		     kmod_list(r.t.region[1], (struct vshm_kmod_mapping[4]){ 0 }, 4));

	ASSERT_EQ(0, broker_start(&b, NULL));
	fds_b = broker_fds(&b);
	ASSERT_EQ(0, rdev_adopt(&b, &r, 0, &err)) TH_LOG("adopt: %s", err.msg);
	EXPECT_TRUE(broker_log_has(&b, "adopted"));
	EXPECT_TRUE(lists_agree(&b, &r, 0));
	EXPECT_TRUE(lists_agree(&b, &r, 1));
	EXPECT_EQ(3, device_mappings(&b, r.t.id));
	ASSERT_EQ(0, vshm_client_stats(b.c, r.t.id, &st, NULL));
	EXPECT_EQ(3, st.mappings);
	EXPECT_EQ(3 * PG, st.mapped_bytes);

	/* The new broker serves the back-end, through the old mappings. */
	EXPECT_EQ(0, do_read(&r.t, RS_GA, 16, buf));
	EXPECT_EQ(0x5a, buf[0]);
	memset(buf, 0xc3, 16);
	EXPECT_EQ(0, do_write(&r.t, RS_GA + 8, buf, 16));
	EXPECT_EQ(0xc3, win[8]);	/* the same memory: nothing was remapped */
	EXPECT_EQ(EACCES, do_write(&r.t, RS_GA + 16 * PG, buf, 16));
	EXPECT_EQ(0x5a, win[16 * PG]);
	/* New mappings, and an old broker's mapping unmapped by the new one. */
	EXPECT_EQ(0, do_map(&r.t, 0, src, 3 * PG, 32 * PG, PG, 0));
	EXPECT_EQ(0x5a, win[32 * PG]);
	EXPECT_EQ(EEXIST, do_map(&r.t, 0, src, 0, 0, PG, 0));
	EXPECT_EQ(0, do_unmap(&r.t, 0, 16 * PG, PG));
	EXPECT_EQ(ENOENT, do_unmap(&r.t, 0, 16 * PG, PG));
	EXPECT_TRUE(lists_agree(&b, &r, 0));
	EXPECT_EQ(3, device_mappings(&b, r.t.id));

	/* Removing the adopted device releases everything adopting took. */
	EXPECT_EQ(0, vshm_client_remove_device(b.c, r.t.id, NULL));
	EXPECT_EQ(0, kmod_list(r.t.region[0], (struct vshm_kmod_mapping[4]){ 0 }, 4));
	EXPECT_EQ(fds_b, broker_fds_settle(&b, fds_b));
	munmap((void *)win, RS_SIZE0);
	close(src);
	rdev_close(&r);
	EXPECT_EQ(0, broker_stop(&b));
	EXPECT_EQ(fds_test, count_open_fds());
}

/*
 * Proves: ADOPT_DEVICE refuses a region fd that is no region (EBADF), a
 * size or hole policy that differs (EINVAL), a region another device
 * serves, and a guest address that overlaps (EEXIST); each refusal leaves
 * the region's mappings and the broker's fd count as they were, and the
 * same region is then adopted when asked right.
 */
TEST(adopt_validates_its_input)
{
	struct vshm_kmod_mapping k[4];
	struct vshm_region *orphan;
	struct broker b;
	struct rdev live, r;
	struct vshm_err err;
	int src, fds_b, fds_test, sv[2];

	fds_test = count_open_fds();
	ASSERT_EQ(0, broker_start(&b, NULL));
	NEED_KMOD(&b);
	ASSERT_EQ(0, rdev_add(&b, &live));
	/* A region nobody serves, with one mapping: what a killed broker leaves. */
	ASSERT_EQ(0, vshm_region_create(VSHM_REGION_MODE_KMOD, RS_SIZE0, 0, &orphan));
	src = memfd_filled(PG, 0x11);
	ASSERT_LE(0, src);
	ASSERT_EQ(0, vshm_region_map(orphan, src, 0, 0, PG, VSHM_REGION_WRITE));
	/* Its own channel: one socket is never served twice. */
	r = live;
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	r.t.be = sv[0];
	r.keep_be = sv[1];
	ASSERT_EQ(0, vshm_chan_new(r.t.be, VSHM_PROTO_BACKEND, 0, &r.t.ch));
	r.t.region[0] = vshm_region_fd(orphan);
	r.t.region[1] = -1;
	r.sizes[1] = 0;
	r.gas[0] = RS_GA + RS_SIZE0;
	fds_b = broker_fds(&b);

	r.t.region[0] = src;
	EXPECT_EQ(-EBADF, rdev_adopt(&b, &r, 0, &err));
	r.t.region[0] = vshm_region_fd(orphan);
	r.sizes[0] = 2 * RS_SIZE0;
	EXPECT_EQ(-EINVAL, rdev_adopt(&b, &r, 0, &err));
	r.sizes[0] = RS_SIZE0;
	EXPECT_EQ(-EINVAL, rdev_adopt(&b, &r, VSHM_CTL_DEV_STRICT_HOLES, &err));
	r.t.region[0] = live.t.region[0];
	EXPECT_EQ(-EEXIST, rdev_adopt(&b, &r, 0, &err));
	r.t.region[0] = vshm_region_fd(orphan);
	r.gas[0] = RS_GA + PG;
	EXPECT_EQ(-EEXIST, rdev_adopt(&b, &r, 0, &err));
	TH_LOG("last refusal: %s", err.msg);
	EXPECT_EQ(1, kmod_list(vshm_region_fd(orphan), k, 4));
	EXPECT_EQ(fds_b, broker_fds_settle(&b, fds_b));
	EXPECT_TRUE(broker_alive(&b));

	r.gas[0] = RS_GA + RS_SIZE0;
	ASSERT_EQ(0, rdev_adopt(&b, &r, 0, &err)) TH_LOG("adopt: %s", err.msg);
	EXPECT_TRUE(lists_agree(&b, &r, 0));
	EXPECT_EQ(1, device_mappings(&b, r.t.id));
	EXPECT_EQ(0, vshm_client_remove_device(b.c, r.t.id, NULL));
	EXPECT_EQ(0, vshm_client_remove_device(b.c, live.t.id, NULL));
	EXPECT_EQ(0, kmod_list(vshm_region_fd(orphan), k, 4));
	r.t.region[0] = -1;	/* the orphan's own fd */
	rdev_close(&r);
	vshm_region_destroy(orphan);
	close(src);
	rdev_close(&live);
	EXPECT_EQ(0, broker_stop(&b));
	EXPECT_EQ(fds_test, count_open_fds());
}

/*
 * Proves: the shared-object table is not carried across a restart, and
 * says so.  A dma-buf added to the killed broker is not in the new one's
 * table: while the adopted device is served, a LOOKUP of it (by the
 * adopted device or by a device added to the new broker) and of any
 * unknown UUID gets ESTALE with no fd, and the adopted owner's REMOVE
 * ESTALE, while a new device's REMOVE of a UUID it never added stays
 * ENOENT.  The owner adds the object again and it is served; once the
 * adopted device is removed (its objects with it) a miss is ENOENT again.
 */
TEST(shared_objects_not_carried_say_estale)
{
	struct broker a, b;
	struct rdev r;
	struct tdev fresh;
	struct vshm_err err;
	uint8_t u[16], other[16];
	int drm, dmabuf, got, i;

	for (i = 0; i < 16; i++) {
		u[i] = 0xa0 + i;
		other[i] = 0x50 + i;
	}
	ASSERT_EQ(0, broker_start(&a, NULL));
	NEED_KMOD(&a);
	drm = vgem_open();
	if (drm < 0) {
		broker_stop(&a);
		SKIP(return, "no vgem device: a shared object needs a dma-buf (scripts/vm-run --with-vgem)");
	}
	dmabuf = vgem_dmabuf(drm, 16 * PG, true);
	ASSERT_LE(0, dmabuf);
	ASSERT_EQ(0, rdev_add(&a, &r));
	ASSERT_EQ(0, so_ack(&r.t, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u, dmabuf));
	EXPECT_EQ(0, so_lookup(&r.t, u, &got));
	EXPECT_LE(0, got);
	close(got);

	kill9(&a);
	ASSERT_EQ(0, broker_start(&b, NULL));
	ASSERT_EQ(0, rdev_adopt(&b, &r, 0, &err)) TH_LOG("adopt: %s", err.msg);
	EXPECT_TRUE(broker_log_has(&b, "not carried over"));
	ASSERT_EQ(0, tdev_add(&b, &fresh, PG, UINT64_MAX));

	EXPECT_EQ(ESTALE, so_lookup(&r.t, u, &got));
	EXPECT_EQ(-1, got);
	EXPECT_EQ(ESTALE, so_lookup(&fresh, u, &got));
	EXPECT_EQ(-1, got);
	EXPECT_EQ(ESTALE, so_lookup(&fresh, other, &got));
	EXPECT_EQ(ESTALE, so_ack(&r.t, VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE, u, -1));
	EXPECT_EQ(ENOENT, so_ack(&fresh, VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE, u, -1));

	/* The owner adds it again: served as before. */
	ASSERT_EQ(0, so_ack(&r.t, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u, dmabuf));
	EXPECT_EQ(0, so_lookup(&fresh, u, &got));
	EXPECT_LE(0, got);
	close(got);

	/* No adopted device left: a miss means "never added" again. */
	EXPECT_EQ(0, vshm_client_remove_device(b.c, r.t.id, NULL));
	EXPECT_EQ(ENOENT, so_lookup(&fresh, u, &got));
	EXPECT_EQ(ENOENT, so_lookup(&fresh, other, &got));
	EXPECT_TRUE(broker_alive(&b));
	tdev_close(&fresh);
	rdev_close(&r);
	close(dmabuf);
	close(drm);
	EXPECT_EQ(0, broker_stop(&b));
}

/*
 * Proves: a broker without the module (--region-mode mmap or vmm)
 * refuses ADOPT_DEVICE with EOPNOTSUPP and says why in its log, and keeps
 * none of the fds it was sent.
 */
TEST(adopt_refused_without_module)
{
	static const char *const backends[] = { "mmap", "vmm" };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		uint64_t size = RS_SIZE0;
		struct vshm_err err;
		struct broker b;
		int sv[2], mfd, fds_b;
		uint32_t id;

		ASSERT_EQ(0, broker_start(&b, backends[i]));
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
		mfd = memfd_filled(PG, 0);
		ASSERT_LE(0, mfd);
		fds_b = broker_fds(&b);
		EXPECT_EQ(-EOPNOTSUPP,
			  vshm_client_adopt_device(b.c, sv[1], -1, &size, &mfd,
						   NULL, 1, 0, &id, &err));
		TH_LOG("%s: %s", backends[i], err.msg);
		EXPECT_TRUE(broker_log_has(&b, "ADOPT_DEVICE refused: without the module"));
		EXPECT_EQ(fds_b, broker_fds_settle(&b, fds_b));
		close(sv[0]);
		close(sv[1]);
		close(mfd);
		EXPECT_EQ(0, broker_stop(&b));
	}
}

/*
 * Wait for the REPLY_ACK of req at most ms: its value, -1 on a bad frame or
 * a broken channel, -2 when none came.  A late reply to the other request
 * (one given up on before the new broker served it) is skipped.
 */
static int64_t ack_within(struct tdev *t, uint32_t req, int ms)
{
	struct vshm_msg *m = malloc(sizeof(*m));
	int64_t ret = -2;
	uint64_t v;
	int rc, i;

	if (!m)
		return -1;
	for (i = 0; i < ms / 100 && ret == -2; i++) {
		rc = recv_msg(t, m, 100);
		if (rc == -ETIMEDOUT)
			continue;
		if (rc) {
			ret = -1;
			break;
		}
		if (m->hdr.request == req)
			ret = vshm_decode_reply_u64(m, req, &v, NULL) ? -1 :
			      (int64_t)v;
		vshm_msg_release(m);
	}
	free(m);
	return ret;
}

/*
 * The back-end under load: map and unmap one page until stop is readable.
 * A request the killed broker took is lost (no reply within RS_ACK_MS);
 * one it executed is retried with EEXIST / ENOENT.  Exit 0, or 1 if the
 * channel broke or a reply was malformed.
 */
static int load_loop(struct tdev *t, int src, int stop)
{
	struct pollfd p = { .fd = stop, .events = POLLIN };
	uint8_t pl[40];
	int fl = VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY;
	int64_t r;

	while (poll(&p, 1, 0) == 0) {
		put_mmap(pl, 0, 0, 64 * PG, PG, VSHM_VU_MMAP_RW);
		if (send_frame(t->be, VSHM_VU_BACKEND_SHMEM_MAP, fl, 40, pl, 40,
			       &src, 1))
			return 1;
		r = ack_within(t, VSHM_VU_BACKEND_SHMEM_MAP, RS_ACK_MS);
		if (r == -1 || (r > 0 && r != EEXIST))
			return 1;
		put_mmap(pl, 0, 0, 64 * PG, PG, 0);
		if (send_frame(t->be, VSHM_VU_BACKEND_SHMEM_UNMAP, fl, 40, pl, 40,
			       NULL, 0))
			return 1;
		r = ack_within(t, VSHM_VU_BACKEND_SHMEM_UNMAP, RS_ACK_MS);
		if (r == -1 || (r > 0 && r != ENOENT))
			return 1;
	}
	return 0;
}

/*
 * Proves: a kill -9 while a back-end maps and unmaps in a loop, then
 * ADOPT_DEVICE: the back-end's channel survives, the new broker serves the
 * load (its counters move), its table agrees with the module's entry by
 * entry, the guest's other mapping never changed, and nothing leaks.
 */
TEST(kill9_under_load)
{
	struct vshm_ctl_stats st = { 0 };
	struct broker a, b;
	struct rdev r;
	struct vshm_err err;
	int src, stop[2], status, fds_b, i;
	volatile uint8_t *win;
	pid_t pid;

	ASSERT_EQ(0, broker_start(&a, NULL));
	NEED_KMOD(&a);
	ASSERT_EQ(0, rdev_add(&a, &r));
	src = memfd_filled(PG, 0x77);
	ASSERT_LE(0, src);
	ASSERT_EQ(0, do_map(&r.t, 0, src, 0, 0, PG, 0));
	win = mmap(NULL, RS_SIZE0, PROT_READ, MAP_SHARED, r.t.region[0], 0);
	ASSERT_NE(MAP_FAILED, win);
	ASSERT_EQ(0, pipe2(stop, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(stop[1]);
		_exit(load_loop(&r.t, src, stop[0]));
	}
	close(stop[0]);
	usleep(RS_LOAD_BEFORE_MS * 1000);
	kill9(&a);
	EXPECT_EQ(0x77, win[0]);
	ASSERT_EQ(0, broker_start(&b, NULL));
	fds_b = broker_fds(&b);
	ASSERT_EQ(0, rdev_adopt(&b, &r, 0, &err)) TH_LOG("adopt: %s", err.msg);
	/* Let the load run on the new broker for a while (time, not count). */
	for (i = 0; i < RS_LOAD_AFTER_MS / 50; i++) {
		usleep(50000);
		if (vshm_client_stats(b.c, r.t.id, &st, NULL) == 0 &&
		    st.maps >= 20 && st.unmaps >= 20)
			break;
	}
	close(stop[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_EQ(0, vshm_client_stats(b.c, r.t.id, &st, NULL));
	TH_LOG("the new broker served %llu maps, %llu unmaps",
	       (unsigned long long)st.maps, (unsigned long long)st.unmaps);
	EXPECT_LT(0, st.maps);
	EXPECT_LT(0, st.unmaps);
	EXPECT_EQ(0x77, win[0]);
	EXPECT_TRUE(lists_agree(&b, &r, 0));
	EXPECT_EQ(kmod_list(r.t.region[0], (struct vshm_kmod_mapping[4]){ 0 }, 4),
		  device_mappings(&b, r.t.id));
	EXPECT_EQ(0, vshm_client_remove_device(b.c, r.t.id, NULL));
	EXPECT_EQ(fds_b, broker_fds_settle(&b, fds_b));
	munmap((void *)win, RS_SIZE0);
	close(src);
	rdev_close(&r);
	EXPECT_EQ(0, broker_stop(&b));
}

TEST_HARNESS_MAIN
