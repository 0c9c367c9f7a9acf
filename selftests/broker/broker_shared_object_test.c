// SPDX-License-Identifier: GPL-2.0
/*
 * The broker's shared-object table (SHARED_OBJECT_ADD / _REMOVE / _LOOKUP):
 * one device shares a vgem dma-buf under a UUID, another looks it up, maps
 * it into its own region and the VMM reads the first device's bytes there;
 * duplicate UUIDs, unknown UUIDs, removal by a non-owner, the per-device
 * limit, objects dropped with their device but kept across a reset, and fd
 * accounting in the broker throughout.
 *
 * The rules that need a real dma-buf run where vgem is loaded (the VM:
 * scripts/vm-run --with-vgem, as 'make check' does) and skip elsewhere;
 * the refusals (not a dma-buf, no fd, unknown UUID) run everywhere.
 */
#include "vgem_util.h"

#include "kselftest_harness.h"
#include "broker_util.h"

#define A_GA	0x100000000ull
#define B_GA	0x100800000ull
#define RSIZE	(1ull << 20)
#define BUFSZ	(64u << 10)
#define LIMIT	4

static void make_uuid(uint8_t u[16], uint8_t tag)
{
	int i;

	for (i = 0; i < 16; i++)
		u[i] = tag ^ (uint8_t)(i * 17);
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	       sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

FIXTURE(sobj) {
	struct broker b;
	struct tdev a, bdev;
	int drm;		/* vgem, or -1 */
	int base_fds;		/* the broker's fds with A and B, no objects */
};

FIXTURE_SETUP(sobj)
{
	const char *extra[] = { "--max-shared-objects", "4", NULL };

	ASSERT_EQ(0, broker_startv(&self->b, NULL, extra));
	ASSERT_EQ(0, tdev_add(&self->b, &self->a, RSIZE, A_GA));
	ASSERT_EQ(0, tdev_add(&self->b, &self->bdev, RSIZE, B_GA));
	self->drm = vgem_open();
	self->base_fds = broker_fds(&self->b);
	ASSERT_GT(self->base_fds, 0);
}

FIXTURE_TEARDOWN(sobj)
{
	tdev_close(&self->a);
	tdev_close(&self->bdev);
	if (self->drm >= 0)
		close(self->drm);
	broker_stop(&self->b);
}

#define NEED_VGEM() do { if (self->drm < 0) \
	SKIP(return, "no vgem device: load vgem (scripts/vm-run --with-vgem)"); } while (0)

/* Proves: ADD of an fd that is not a dma-buf (memfd, pipe, socket, O_PATH) is refused and the fd is not kept. */
TEST_F(sobj, add_needs_dmabuf)
{
	uint8_t u[16];
	int mfd = memfd_filled(PG, 1), p[2], path, fd;

	make_uuid(u, 1);
	ASSERT_GE(mfd, 0);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	path = open("/tmp", O_PATH | O_CLOEXEC);
	ASSERT_GE(path, 0);
	EXPECT_EQ(ENODEV, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u, mfd));
	EXPECT_EQ(ENODEV, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u, p[0]));
	EXPECT_EQ(ENODEV, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u, self->a.be));
	EXPECT_EQ(EBADF, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u, path));
	EXPECT_EQ(ENOENT, so_lookup(&self->bdev, u, &fd));
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(self->base_fds, broker_fds_settle(&self->b, self->base_fds));
	close(mfd);
	close(p[0]);
	close(p[1]);
	close(path);
}

/* Proves: ADD without an fd (upstream's back-end-as-exporter form) gets EOPNOTSUPP. */
TEST_F(sobj, add_without_fd)
{
	uint8_t u[16];
	int fd;

	make_uuid(u, 2);
	EXPECT_EQ(EOPNOTSUPP, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u, -1));
	EXPECT_EQ(ENOENT, so_lookup(&self->a, u, &fd));
	EXPECT_TRUE(broker_alive(&self->b));
}

/* Proves: LOOKUP and REMOVE of a UUID nobody added fail with ENOENT, LOOKUP without an fd. */
TEST_F(sobj, unknown_uuid)
{
	uint8_t u[16];
	int fd;

	make_uuid(u, 3);
	EXPECT_EQ(ENOENT, so_lookup(&self->bdev, u, &fd));
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(ENOENT, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE, u, -1));
}

/* Proves: without NEED_REPLY, refused ADD and REMOVE get no reply and leave no fd behind. */
TEST_F(sobj, no_ack_without_need_reply)
{
	uint8_t u[16];
	int mfd = memfd_filled(PG, 1);

	make_uuid(u, 4);
	ASSERT_EQ(0, send_frame(self->a.be, VSHM_VU_BACKEND_SHARED_OBJECT_ADD,
				VSHM_HDR_VERSION, 16, u, 16, &mfd, 1));
	ASSERT_EQ(0, send_frame(self->a.be, VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE,
				VSHM_HDR_VERSION, 16, u, 16, NULL, 0));
	EXPECT_TRUE(quiet(&self->a, 200));
	EXPECT_EQ(self->base_fds, broker_fds_settle(&self->b, self->base_fds));
	EXPECT_TRUE(broker_log_has(&self->b, "SHARED_OBJECT_ADD"));
	close(mfd);
}

/*
 * Proves the cross-device flow: A adds a vgem dma-buf, B looks it up and
 * gets the same file, maps it into its own region, and the VMM reads A's
 * bytes through B's region (its mmap with kmod, MEM_READ always), live as
 * A writes; after A removes the object, B's mapping still works, new
 * lookups fail, and the broker holds no fd for it any more.
 */
TEST_F(sobj, share_and_map)
{
	uint8_t u[16], buf[64], *abuf, *view = NULL;
	int dmabuf, got;

	NEED_VGEM();
	make_uuid(u, 5);
	dmabuf = vgem_dmabuf(self->drm, BUFSZ, true);
	ASSERT_GE(dmabuf, 0);
	abuf = mmap(NULL, BUFSZ, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf, 0);
	ASSERT_NE(MAP_FAILED, abuf);
	memset(abuf, 0x3c, BUFSZ);
	strcpy((char *)abuf, "vgem bytes from A");

	ASSERT_EQ(0, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u, dmabuf));
	EXPECT_EQ(self->base_fds + 1, broker_fds_settle(&self->b, self->base_fds + 1));
	ASSERT_EQ(0, so_lookup(&self->bdev, u, &got));
	ASSERT_GE(got, 0);
	EXPECT_TRUE(same_file(dmabuf, got));

	ASSERT_EQ(0, do_map(&self->bdev, 0, got, 0, 0, BUFSZ, 0));
	close(got);
	if (self->b.kmod) {
		ASSERT_GE(self->bdev.region[0], 0);
		view = mmap(NULL, RSIZE, PROT_READ, MAP_SHARED, self->bdev.region[0], 0);
		ASSERT_NE(MAP_FAILED, view);
		EXPECT_STREQ("vgem bytes from A", (char *)view);
		EXPECT_EQ(0, memcmp(view, abuf, BUFSZ));
	}
	ASSERT_EQ(0, do_read(&self->a, B_GA, sizeof(buf), buf));
	EXPECT_STREQ("vgem bytes from A", (char *)buf);

	/* A keeps writing into its buffer: the VMM sees it at once. */
	strcpy((char *)abuf + 4096, "second write");
	if (view)
		EXPECT_STREQ("second write", (char *)view + 4096);
	ASSERT_EQ(0, do_read(&self->a, B_GA + 4096, 13, buf));
	EXPECT_STREQ("second write", (char *)buf);

	/* A withdraws the object and drops every reference of its own. */
	EXPECT_EQ(0, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE, u, -1));
	munmap(abuf, BUFSZ);
	close(dmabuf);
	EXPECT_EQ(ENOENT, so_lookup(&self->bdev, u, &got));
	if (view)
		EXPECT_STREQ("second write", (char *)view + 4096);
	ASSERT_EQ(0, do_read(&self->a, B_GA, 18, buf));
	EXPECT_STREQ("vgem bytes from A", (char *)buf);
	EXPECT_EQ(0, do_unmap(&self->bdev, 0, 0, BUFSZ));
	if (view) {
		EXPECT_TRUE(reads_zero_in_child(view));
		munmap(view, RSIZE);
	}
	EXPECT_EQ(self->base_fds, broker_fds_settle(&self->b, self->base_fds));
}

/* Proves: a read-only export stays read-only through the table (write map EACCES, read map works). */
TEST_F(sobj, read_only_export)
{
	uint8_t u[16];
	int dmabuf, got;

	NEED_VGEM();
	make_uuid(u, 6);
	dmabuf = vgem_dmabuf(self->drm, BUFSZ, false);
	ASSERT_GE(dmabuf, 0);
	ASSERT_EQ(0, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u, dmabuf));
	close(dmabuf);
	ASSERT_EQ(0, so_lookup(&self->bdev, u, &got));
	EXPECT_EQ(O_RDONLY, fcntl(got, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(EACCES, do_map(&self->bdev, 0, got, 0, 0, BUFSZ, 1));
	EXPECT_EQ(0, do_map(&self->bdev, 0, got, 0, 0, BUFSZ, 0));
	close(got);
	EXPECT_EQ(0, do_unmap(&self->bdev, 0, 0, BUFSZ));
	EXPECT_EQ(0, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE, u, -1));
}

/* Proves: a UUID already in the table is refused with EEXIST, from any device; the first object stays. */
TEST_F(sobj, duplicate_uuid)
{
	uint8_t u[16];
	int x, y, got;

	NEED_VGEM();
	make_uuid(u, 7);
	x = vgem_dmabuf(self->drm, BUFSZ, true);
	y = vgem_dmabuf(self->drm, BUFSZ, true);
	ASSERT_GE(x, 0);
	ASSERT_GE(y, 0);
	ASSERT_EQ(0, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u, x));
	EXPECT_EQ(EEXIST, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u, y));
	EXPECT_EQ(EEXIST, so_ack(&self->bdev, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u, y));
	EXPECT_EQ(EEXIST, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u, x));
	ASSERT_EQ(0, so_lookup(&self->bdev, u, &got));
	EXPECT_TRUE(same_file(x, got));
	close(got);
	EXPECT_EQ(self->base_fds + 1, broker_fds_settle(&self->b, self->base_fds + 1));
	close(x);
	close(y);
}

/* Proves: only the device that added an object may remove it (EPERM otherwise, object intact). */
TEST_F(sobj, remove_by_owner_only)
{
	uint8_t u[16];
	int x, got;

	NEED_VGEM();
	make_uuid(u, 8);
	x = vgem_dmabuf(self->drm, BUFSZ, true);
	ASSERT_GE(x, 0);
	ASSERT_EQ(0, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u, x));
	EXPECT_EQ(EPERM, so_ack(&self->bdev, VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE, u, -1));
	ASSERT_EQ(0, so_lookup(&self->bdev, u, &got));
	close(got);
	EXPECT_EQ(0, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE, u, -1));
	EXPECT_EQ(ENOENT, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE, u, -1));
	EXPECT_EQ(ENOENT, so_lookup(&self->a, u, &got));
	EXPECT_EQ(self->base_fds, broker_fds_settle(&self->b, self->base_fds));
	close(x);
}

/* Proves: --max-shared-objects bounds each device's entries (ENOSPC), not the others'. */
TEST_F(sobj, per_device_limit)
{
	uint8_t u[LIMIT + 2][16];
	int x, i;

	NEED_VGEM();
	x = vgem_dmabuf(self->drm, BUFSZ, true);
	ASSERT_GE(x, 0);
	for (i = 0; i < LIMIT + 2; i++)
		make_uuid(u[i], 0x40 + i);
	for (i = 0; i < LIMIT; i++)
		ASSERT_EQ(0, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u[i], x));
	EXPECT_EQ(ENOSPC, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u[LIMIT], x));
	EXPECT_EQ(0, so_ack(&self->bdev, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u[LIMIT + 1], x));
	EXPECT_EQ(0, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE, u[0], -1));
	EXPECT_EQ(0, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u[LIMIT], x));
	EXPECT_EQ(self->base_fds + LIMIT + 1,
		  broker_fds_settle(&self->b, self->base_fds + LIMIT + 1));
	close(x);
}

/* Proves: RESET_DEVICE drops mappings but not the device's shared objects. */
TEST_F(sobj, reset_keeps_objects)
{
	uint8_t u[16];
	int x, got;

	NEED_VGEM();
	make_uuid(u, 9);
	x = vgem_dmabuf(self->drm, BUFSZ, true);
	ASSERT_GE(x, 0);
	ASSERT_EQ(0, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u, x));
	ASSERT_EQ(0, vshm_client_reset_device(self->b.c, self->a.id, NULL));
	ASSERT_EQ(0, so_lookup(&self->bdev, u, &got));
	EXPECT_TRUE(same_file(x, got));
	close(got);
	EXPECT_EQ(0, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE, u, -1));
	close(x);
}

/* Does a third device's objects go with it (how: REMOVE_DEVICE or closing its channel)? */
static void objects_go_with_device(struct __test_metadata *_metadata,
				   FIXTURE_DATA(sobj) *self, bool disconnect)
{
	struct tdev x;
	uint8_t u1[16], u2[16];
	int buf, got;

	make_uuid(u1, 10);
	make_uuid(u2, 11);
	buf = vgem_dmabuf(self->drm, BUFSZ, true);
	ASSERT_GE(buf, 0);
	ASSERT_EQ(0, tdev_add(&self->b, &x, RSIZE, UINT64_MAX));
	ASSERT_EQ(0, so_ack(&x, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u1, buf));
	ASSERT_EQ(0, so_ack(&x, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u2, buf));
	ASSERT_EQ(0, so_lookup(&self->bdev, u1, &got));
	close(got);
	if (disconnect)
		tdev_close(&x);
	else
		ASSERT_EQ(0, vshm_client_remove_device(self->b.c, x.id, NULL));
	/* Every fd of the device, its objects' included, is closed. */
	EXPECT_EQ(self->base_fds, broker_fds_settle(&self->b, self->base_fds));
	EXPECT_EQ(ENOENT, so_lookup(&self->bdev, u1, &got));
	EXPECT_EQ(ENOENT, so_lookup(&self->bdev, u2, &got));
	/* The UUIDs are free again. */
	EXPECT_EQ(0, so_ack(&self->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, u1, buf));
	if (!disconnect)
		tdev_close(&x);
	close(buf);
}

/* Proves: REMOVE_DEVICE drops the device's shared objects and closes their fds. */
TEST_F(sobj, remove_device_drops_objects)
{
	NEED_VGEM();
	objects_go_with_device(_metadata, self, false);
}

/* Proves: a back-end closing its channel drops its shared objects and closes their fds. */
TEST_F(sobj, disconnect_drops_objects)
{
	NEED_VGEM();
	objects_go_with_device(_metadata, self, true);
}

TEST_HARNESS_MAIN
