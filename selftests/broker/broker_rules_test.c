// SPDX-License-Identifier: GPL-2.0
/*
 * Every validation rule the broker applies, each with its documented reply
 * code: SHMEM_MAP / SHMEM_UNMAP (shmid, alignment, bounds and overflow,
 * flags in both encodings, overlap, exact unmap, sources, limits),
 * MEM_READ / MEM_WRITE routing (RAM, regions of other devices, holes,
 * straddles, read-only mappings), and the control requests that place
 * areas in guest space.  Each failure must leave the state as it was.
 */
#include "kselftest_harness.h"
#include "broker_util.h"

#define RAM_GA	0x0ull
#define RAM_SZ	(2ull << 20)
#define A_GA	0x100000000ull
#define B_GA	0x200000000ull
#define RSZ	(4ull << 20)

FIXTURE(rules) {
	struct broker b;
	struct tdev a, bdev;
	int mfd;	/* 1 MiB source */
	int ram;
};

FIXTURE_SETUP(rules)
{
	const char *extra[] = { "--max-mappings", "8", NULL };
	uint64_t sizes[3] = { RSZ, 0, 1ull << 20 };
	struct vshm_ctl_ram_range r = { .guest_addr = RAM_GA, .size = RAM_SZ };

	ASSERT_EQ(0, broker_startv(&self->b, NULL, extra));
	ASSERT_EQ(0, tdev_add_flags(&self->b, &self->a, sizes, 3, false, 0));
	ASSERT_EQ(0, vshm_client_set_region_addr(self->b.c, self->a.id, 0, A_GA, NULL));
	ASSERT_EQ(0, tdev_add(&self->b, &self->bdev, RSZ, B_GA));
	self->mfd = memfd_filled(1 << 20, 0x11);
	ASSERT_GE(self->mfd, 0);
	self->ram = memfd_filled(RAM_SZ, 0x22);
	ASSERT_GE(self->ram, 0);
	ASSERT_EQ(0, vshm_client_set_mem_table(self->b.c, &r, &self->ram, 1, NULL));
}

FIXTURE_TEARDOWN(rules)
{
	tdev_close(&self->a);
	tdev_close(&self->bdev);
	close(self->mfd);
	close(self->ram);
	broker_stop(&self->b);
}

/* Proves: a shmid with no region, or beyond nregions, is EINVAL. */
TEST_F(rules, map_unknown_shmid)
{
	EXPECT_EQ(EINVAL, do_map(&self->a, 1, self->mfd, 0, 0, PG, 1));
	EXPECT_EQ(EINVAL, do_map(&self->a, 3, self->mfd, 0, 0, PG, 1));
	EXPECT_EQ(EINVAL, do_map(&self->a, 255, self->mfd, 0, 0, PG, 1));
	EXPECT_EQ(EINVAL, do_unmap(&self->a, 1, 0, PG));
	EXPECT_EQ(0, do_map(&self->a, 2, self->mfd, 0, 0, PG, 1));
}

/* Proves: offsets and lengths must be non-zero page multiples (EINVAL). */
TEST_F(rules, map_alignment)
{
	EXPECT_EQ(EINVAL, do_map(&self->a, 0, self->mfd, 0, 100, PG, 1));
	EXPECT_EQ(EINVAL, do_map(&self->a, 0, self->mfd, 100, 0, PG, 1));
	EXPECT_EQ(EINVAL, do_map(&self->a, 0, self->mfd, 0, 0, 100, 1));
	EXPECT_EQ(EINVAL, do_map(&self->a, 0, self->mfd, 0, 0, 0, 1));
	EXPECT_EQ(EINVAL, do_unmap(&self->a, 0, 1, PG));
	EXPECT_EQ(EINVAL, do_unmap(&self->a, 0, 0, 0));
}

/* Proves: ranges past the region, wrapping ranges and ranges past the source are EOVERFLOW. */
TEST_F(rules, map_bounds_and_overflow)
{
	EXPECT_EQ(EOVERFLOW, do_map(&self->a, 0, self->mfd, 0, RSZ, PG, 1));
	EXPECT_EQ(EOVERFLOW, do_map(&self->a, 0, self->mfd, 0, RSZ - PG, 2 * PG, 1));
	EXPECT_EQ(EOVERFLOW, do_map(&self->a, 0, self->mfd, 0, 0xfffffffffffff000ull,
				    2 * PG, 1));
	EXPECT_EQ(EOVERFLOW, do_map(&self->a, 0, self->mfd, 0xfffffffffffff000ull,
				    0, 2 * PG, 1));
	EXPECT_EQ(EOVERFLOW, do_map(&self->a, 0, self->mfd, 0, 0, 2 << 20, 1));
	EXPECT_EQ(EOVERFLOW, do_map(&self->a, 0, self->mfd, 1 << 20, 0, PG, 1));
	EXPECT_EQ(EOVERFLOW, do_unmap(&self->a, 0, RSZ, PG));
	EXPECT_EQ(EOVERFLOW, do_unmap(&self->a, 0, 0xfffffffffffff000ull, 2 * PG));
	/* The last page of the region and of the source are fine. */
	EXPECT_EQ(0, do_map(&self->a, 0, self->mfd, (1 << 20) - PG, RSZ - PG, PG, 1));
}

/* Proves: flag bits undefined in the final encoding are refused. */
TEST_F(rules, map_flags_final)
{
	EXPECT_EQ(EINVAL, do_map(&self->a, 0, self->mfd, 0, 0, PG, 2));
	EXPECT_EQ(EINVAL, do_map(&self->a, 0, self->mfd, 0, 0, PG, 3));
	EXPECT_EQ(0, do_map(&self->a, 0, self->mfd, 0, 0, PG, 0));
	EXPECT_EQ(0, do_map(&self->a, 0, self->mfd, 0, PG, PG, 1));
}

/* Proves: with DRAFT_FLAGS, 1 is read-only, 3 read-write, 0 and 2 refused. */
TEST_F(rules, map_flags_draft)
{
	struct tdev d;
	uint64_t size = RSZ;
	uint8_t v = 0x77;

	ASSERT_EQ(0, tdev_add_flags(&self->b, &d, &size, 1, false,
				    VSHM_CTL_DEV_DRAFT_FLAGS));
	ASSERT_EQ(0, vshm_client_set_region_addr(self->b.c, d.id, 0, 0x300000000ull, NULL));
	EXPECT_EQ(EINVAL, do_map(&d, 0, self->mfd, 0, 0, PG, 0));
	EXPECT_EQ(EINVAL, do_map(&d, 0, self->mfd, 0, 0, PG, 2));
	EXPECT_EQ(0, do_map(&d, 0, self->mfd, 0, 0, PG, 1));
	EXPECT_EQ(0, do_map(&d, 0, self->mfd, 0, PG, PG, 3));
	EXPECT_EQ(EACCES, do_write(&d, 0x300000000ull, &v, 1));
	EXPECT_EQ(0, do_write(&d, 0x300000000ull + PG, &v, 1));
	EXPECT_EQ(0, do_unmap(&d, 0, 0, PG));
	tdev_close(&d);
}

/* Proves: a map over any existing mapping is EEXIST; adjacent maps are fine. */
TEST_F(rules, map_overlap)
{
	ASSERT_EQ(0, do_map(&self->a, 0, self->mfd, 0, 4 * PG, 4 * PG, 1));
	EXPECT_EQ(EEXIST, do_map(&self->a, 0, self->mfd, 0, 4 * PG, 4 * PG, 1));
	EXPECT_EQ(EEXIST, do_map(&self->a, 0, self->mfd, 0, 2 * PG, 4 * PG, 1));
	EXPECT_EQ(EEXIST, do_map(&self->a, 0, self->mfd, 0, 6 * PG, 4 * PG, 1));
	EXPECT_EQ(EEXIST, do_map(&self->a, 0, self->mfd, 0, 5 * PG, PG, 1));
	EXPECT_EQ(EEXIST, do_map(&self->a, 0, self->mfd, 0, 0, 16 * PG, 1));
	EXPECT_EQ(0, do_map(&self->a, 0, self->mfd, 0, 0, 4 * PG, 1));
	EXPECT_EQ(0, do_map(&self->a, 0, self->mfd, 0, 8 * PG, 4 * PG, 1));
	/* the same range in another shmid is another region */
	EXPECT_EQ(0, do_map(&self->a, 2, self->mfd, 0, 4 * PG, 4 * PG, 1));
}

/* Proves: unmap must name exactly one whole mapping (else ENOENT, nothing changes). */
TEST_F(rules, unmap_exact)
{
	uint8_t buf[16];

	ASSERT_EQ(0, do_map(&self->a, 0, self->mfd, 0, 4 * PG, 4 * PG, 1));
	ASSERT_EQ(0, do_map(&self->a, 0, self->mfd, 0, 8 * PG, 4 * PG, 1));
	EXPECT_EQ(ENOENT, do_unmap(&self->a, 0, 4 * PG, PG));
	EXPECT_EQ(ENOENT, do_unmap(&self->a, 0, 5 * PG, 3 * PG));
	EXPECT_EQ(ENOENT, do_unmap(&self->a, 0, 4 * PG, 8 * PG));
	EXPECT_EQ(ENOENT, do_unmap(&self->a, 0, 0, 4 * PG));
	EXPECT_EQ(ENOENT, do_unmap(&self->a, 2, 4 * PG, 4 * PG));
	EXPECT_EQ(0, do_read(&self->bdev, A_GA + 4 * PG, 16, buf));
	EXPECT_EQ(0, do_unmap(&self->a, 0, 4 * PG, 4 * PG));
	EXPECT_EQ(ENOENT, do_unmap(&self->a, 0, 4 * PG, 4 * PG));
	EXPECT_EQ(ENXIO, do_read(&self->bdev, A_GA + 4 * PG, 16, buf));
	EXPECT_EQ(0, do_read(&self->bdev, A_GA + 8 * PG, 16, buf));
}

/* Proves: sources must be shmem/hugetlbfs/dma-buf (ENODEV), writable for RW (EACCES), valid (EBADF). */
TEST_F(rules, map_sources)
{
	char path[64];
	int p[2], ro, sealed;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	EXPECT_EQ(ENODEV, do_map(&self->a, 0, p[0], 0, 0, PG, 0));
	close(p[0]);
	close(p[1]);
	EXPECT_EQ(ENODEV, do_map(&self->a, 0, self->a.be, 0, 0, PG, 0));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->mfd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(ro, 0);
	EXPECT_EQ(EACCES, do_map(&self->a, 0, ro, 0, 0, PG, 1));
	EXPECT_EQ(0, do_map(&self->a, 0, ro, 0, 0, PG, 0));
	close(ro);
	sealed = memfd_filled(PG, 0);
	ASSERT_GE(sealed, 0);
	ASSERT_EQ(0, fcntl(sealed, F_ADD_SEALS, F_SEAL_WRITE));
	EXPECT_EQ(EACCES, do_map(&self->a, 0, sealed, 0, PG, PG, 1));
	EXPECT_EQ(0, do_map(&self->a, 0, sealed, 0, PG, PG, 0));
	close(sealed);
}

/* Proves: the per-device mapping limit gives ENOSPC and unmapping frees room. */
TEST_F(rules, map_limit)
{
	int i;

	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, do_map(&self->a, 0, self->mfd, 0, i * PG, PG, 0));
	EXPECT_EQ(ENOSPC, do_map(&self->a, 0, self->mfd, 0, 8 * PG, PG, 0));
	EXPECT_EQ(ENOSPC, do_map(&self->a, 2, self->mfd, 0, 0, PG, 0));
	/* the other device has its own budget */
	EXPECT_EQ(0, do_map(&self->bdev, 0, self->mfd, 0, 0, PG, 0));
	EXPECT_EQ(0, do_unmap(&self->a, 0, 0, PG));
	EXPECT_EQ(0, do_map(&self->a, 0, self->mfd, 0, 8 * PG, PG, 0));
}

/* Proves: without NEED_REPLY a map is executed and nothing is sent back. */
TEST_F(rules, map_without_reply)
{
	uint8_t p[40], buf[8];

	put_mmap(p, 0, 0, 0, PG, 1);
	ASSERT_EQ(0, send_frame(self->a.be, VSHM_VU_BACKEND_SHMEM_MAP,
				VSHM_HDR_VERSION, 40, p, 40, &self->mfd, 1));
	EXPECT_TRUE(quiet(&self->a, 200));
	EXPECT_EQ(0, do_read(&self->bdev, A_GA, 8, buf));
	EXPECT_EQ(0x11, buf[0]);
}

/* Proves: MEM_READ/WRITE reach guest RAM and regions of other devices. */
TEST_F(rules, route_ram_and_regions)
{
	uint8_t buf[64];

	EXPECT_EQ(0, do_read(&self->a, RAM_GA + 100, 64, buf));
	EXPECT_EQ(0x22, buf[10]);
	EXPECT_EQ(0, do_write(&self->a, RAM_GA + RAM_SZ - 4, "ramw", 4));
	EXPECT_EQ(4, pread(self->ram, buf, 4, RAM_SZ - 4));
	EXPECT_EQ(0, memcmp(buf, "ramw", 4));
	ASSERT_EQ(0, do_map(&self->bdev, 0, self->mfd, 0, 0, 2 * PG, 1));
	EXPECT_EQ(0, do_write(&self->a, B_GA + PG - 2, "abcd", 4));
	EXPECT_EQ(4, pread(self->mfd, buf, 4, PG - 2));
	EXPECT_EQ(0, memcmp(buf, "abcd", 4));
	EXPECT_EQ(0, do_read(&self->bdev, B_GA + PG - 2, 4, buf));
	EXPECT_EQ(0, memcmp(buf, "abcd", 4));
	/* a device reads its own region the same way */
	EXPECT_EQ(0, do_read(&self->bdev, B_GA, 4, buf));
}

/* Proves: an access straddling two mappings of one region is served whole. */
TEST_F(rules, route_across_mappings)
{
	uint8_t buf[2 * PG];
	int m2 = memfd_filled(PG, 0x33);

	ASSERT_GE(m2, 0);
	ASSERT_EQ(0, do_map(&self->bdev, 0, self->mfd, 0, 0, PG, 1));
	ASSERT_EQ(0, do_map(&self->bdev, 0, m2, 0, PG, PG, 1));
	EXPECT_EQ(0, do_read(&self->a, B_GA + PG / 2, PG, buf));
	EXPECT_EQ(0x11, buf[0]);
	EXPECT_EQ(0x33, buf[PG - 1]);
	close(m2);
}

/* Proves: holes and straddles fail cleanly: EFAULT outside areas, ENXIO on unmapped region parts. */
TEST_F(rules, route_holes_and_straddles)
{
	uint8_t buf[64];

	EXPECT_EQ(EFAULT, do_read(&self->a, 0x80000000ull, 8, buf));
	EXPECT_EQ(EFAULT, do_read(&self->a, RAM_GA + RAM_SZ - 4, 8, buf));
	EXPECT_EQ(EFAULT, do_write(&self->a, RAM_GA + RAM_SZ - 4, "12345678", 8));
	EXPECT_EQ(EFAULT, do_read(&self->a, 0xfffffffffffffff0ull, 32, buf));
	EXPECT_EQ(ENXIO, do_read(&self->a, B_GA, 8, buf));
	ASSERT_EQ(0, do_map(&self->bdev, 0, self->mfd, 0, 0, PG, 1));
	EXPECT_EQ(ENXIO, do_read(&self->a, B_GA + PG - 4, 8, buf));
	EXPECT_EQ(ENXIO, do_write(&self->a, B_GA + PG - 4, "12345678", 8));
	EXPECT_EQ(EFAULT, do_read(&self->a, B_GA + RSZ - 4, 8, buf));
	/* a region without a guest address is not reachable */
	ASSERT_EQ(0, do_map(&self->a, 2, self->mfd, 0, 0, PG, 1));
	EXPECT_EQ(EFAULT, do_read(&self->bdev, 0x400000000ull, 8, buf));
}

/* Proves: MEM_WRITE to a read-only mapping is EACCES and leaves the source alone. */
TEST_F(rules, route_read_only)
{
	uint8_t v = 0x99, got = 0;

	ASSERT_EQ(0, do_map(&self->bdev, 0, self->mfd, 0, 0, PG, 0));
	EXPECT_EQ(EACCES, do_write(&self->a, B_GA, &v, 1));
	EXPECT_EQ(1, pread(self->mfd, &got, 1, 0));
	EXPECT_EQ(0x11, got);
}

/* Proves: placing regions and RAM refuses overlap (EEXIST), misalignment, wrap and bad references. */
TEST_F(rules, control_placement)
{
	struct vshm_ctl_ram_range r[2] = {
		{ .guest_addr = A_GA + 32 * PG, .size = PG },
		{ .guest_addr = 0x10000000ull, .size = 2 * PG },
	};
	int fds[2] = { self->ram, self->ram };
	int p[2];

	EXPECT_EQ(-EEXIST, vshm_client_set_region_addr(self->b.c, self->bdev.id, 0,
						       A_GA + RSZ - PG, NULL));
	EXPECT_EQ(-EEXIST, vshm_client_set_region_addr(self->b.c, self->bdev.id, 0,
						       RAM_GA, NULL));
	EXPECT_EQ(-EINVAL, vshm_client_set_region_addr(self->b.c, self->bdev.id, 0,
						       0x500000100ull, NULL));
	EXPECT_EQ(-EOVERFLOW, vshm_client_set_region_addr(self->b.c, self->bdev.id, 0,
							  0xfffffffffff00000ull, NULL));
	EXPECT_EQ(-ENOENT, vshm_client_set_region_addr(self->b.c, 9999, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, vshm_client_set_region_addr(self->b.c, self->a.id, 1,
						       0x600000000ull, NULL));
	/* moving a region onto itself shifted is fine */
	EXPECT_EQ(0, vshm_client_set_region_addr(self->b.c, self->a.id, 0,
						 A_GA + PG * 16, NULL));
	EXPECT_EQ(-EEXIST, vshm_client_set_mem_table(self->b.c, r, fds, 1, NULL));
	r[0].guest_addr = 0x10000000ull + PG;
	EXPECT_EQ(-EEXIST, vshm_client_set_mem_table(self->b.c, r, fds, 2, NULL));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	fds[1] = p[0];
	r[0].guest_addr = 0x20000000ull;
	EXPECT_EQ(-EBADF, vshm_client_set_mem_table(self->b.c, r, fds, 2, NULL));
	close(p[0]);
	close(p[1]);
	/* the old table survived every refusal */
	{
		uint8_t buf[4];

		EXPECT_EQ(0, do_read(&self->a, RAM_GA, 4, buf));
	}
	/* an empty table clears RAM routing */
	EXPECT_EQ(0, vshm_client_set_mem_table(self->b.c, NULL, NULL, 0, NULL));
	{
		uint8_t buf[4];

		EXPECT_EQ(EFAULT, do_read(&self->a, RAM_GA, 4, buf));
	}
}

/* Proves: region fds come back only for real regions, and only with kmod. */
TEST_F(rules, control_get_region)
{
	uint64_t size = 0;
	int fd = -1;

	if (self->b.kmod) {
		EXPECT_EQ(0, vshm_client_get_region(self->b.c, self->a.id, 2, &fd,
						    &size, NULL));
		EXPECT_EQ(1ull << 20, size);
		EXPECT_GE(fd, 0);
		close(fd);
	} else {
		EXPECT_EQ(-ENODEV, vshm_client_get_region(self->b.c, self->a.id, 0,
							  &fd, &size, NULL));
	}
	EXPECT_EQ(-EINVAL, vshm_client_get_region(self->b.c, self->a.id, 1, &fd,
						  &size, NULL));
	EXPECT_EQ(-ENOENT, vshm_client_get_region(self->b.c, 4242, 0, &fd, &size, NULL));
}

/* Proves: ADD_DEVICE refuses fds that are not Unix stream sockets, and the device limit holds. */
TEST_F(rules, control_add_device)
{
	uint64_t size = RSZ;
	uint32_t id;
	int p[2], sv[2];

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	EXPECT_EQ(-ENOTSOCK, vshm_client_add_device(self->b.c, p[0], -1, &size, 1,
						    0, &id, NULL, NULL));
	close(p[0]);
	close(p[1]);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
	EXPECT_EQ(-EPROTOTYPE, vshm_client_add_device(self->b.c, sv[0], -1, &size,
						      1, 0, &id, NULL, NULL));
	close(sv[0]);
	close(sv[1]);
	size = 3;
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	EXPECT_NE(0, vshm_client_add_device(self->b.c, sv[0], -1, &size, 1, 0, &id,
					    NULL, NULL));
	close(sv[0]);
	close(sv[1]);
}

/* Proves: requests before HELLO get EPROTO; HELLO with another version EPROTONOSUPPORT. */
TEST_F(rules, control_hello_first)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vshm_ctl_hello h = { .version = 2 };
	struct vshm_ctl_dev_ref ref = { .dev_id = VSHM_CTL_ALL_DEVICES };
	struct vshm_msg *m = calloc(1, sizeof(*m));
	struct vshm_chan *ch;
	const void *body;
	uint32_t err;
	size_t len;
	int fd;

	ASSERT_NE(NULL, m);
	strcpy(sa.sun_path, self->b.sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, vshm_chan_new(fd, VSHM_PROTO_CONTROL, VSHM_CHAN_OWN_FD, &ch));
	ASSERT_EQ(0, vshm_ctl_encode_request(m, VSHM_CTL_GET_STATS, &ref, sizeof(ref),
					     NULL, 0));
	ASSERT_EQ(0, vshm_chan_send(ch, m, NULL));
	ASSERT_EQ(0, vshm_chan_recv_wait(ch, m, T_TIMEOUT_MS, NULL));
	ASSERT_EQ(0, vshm_ctl_decode_reply(m, VSHM_CTL_GET_STATS, &err, &body, &len, NULL));
	EXPECT_EQ(EPROTO, err);
	ASSERT_EQ(0, vshm_ctl_encode_request(m, VSHM_CTL_HELLO, &h, sizeof(h), NULL, 0));
	ASSERT_EQ(0, vshm_chan_send(ch, m, NULL));
	ASSERT_EQ(0, vshm_chan_recv_wait(ch, m, T_TIMEOUT_MS, NULL));
	ASSERT_EQ(0, vshm_ctl_decode_reply(m, VSHM_CTL_HELLO, &err, &body, &len, NULL));
	EXPECT_EQ(EPROTONOSUPPORT, err);
	vshm_chan_free(ch);
	free(m);
}

TEST_HARNESS_MAIN
