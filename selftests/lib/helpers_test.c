// SPDX-License-Identifier: GPL-2.0
/*
 * Back-end helper API and VMM client API, each against a small fake peer
 * running in a thread: a front-end that executes SHMEM_MAP/UNMAP on an mmap
 * region and serves MEM_READ/MEM_WRITE from a fake guest RAM, and a broker
 * that answers every control request.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define PG 4096u
#define GUEST_BASE 0x100000u
#define GUEST_SIZE (1u << 20)

struct frontend {
	struct vshm_chan *ch;
	struct vshm_region *region;	/* shmid 0 */
	uint8_t *guest;			/* GUEST_SIZE bytes at GUEST_BASE */
	int mem_reads, mem_writes;
};

static uint64_t fe_map(struct frontend *fe, struct vshm_msg *m, bool map)
{
	struct vshm_vu_mmap mm;
	bool writable;
	int fd, ret;

	if (vshm_decode_mmap(m, &mm, NULL))
		return EINVAL;
	if (mm.shmid != 0)
		return EINVAL;
	if (!map)
		return -vshm_region_unmap(fe->region, mm.shm_offset, mm.len);
	if (vshm_mmap_flags_writable(mm.flags, VSHM_FLAGS_FINAL, &writable, NULL))
		return EINVAL;
	fd = vshm_msg_take_fd(m, 0);
	ret = vshm_region_map(fe->region, fd, mm.fd_offset, mm.shm_offset, mm.len,
			      writable ? VSHM_REGION_WRITE : 0);
	close(fd);
	return -ret;
}

/* The fake guest RAM @a reads or writes, or NULL if it is not all there. */
static uint8_t *guest_mem(struct frontend *fe, const struct vshm_vu_mem_access *a)
{
	if (a->guest_address < GUEST_BASE ||
	    a->guest_address + a->size > GUEST_BASE + GUEST_SIZE)
		return NULL;
	return fe->guest + a->guest_address - GUEST_BASE;
}

static void *frontend_main(void *arg)
{
	struct frontend *fe = arg;
	struct vshm_msg *m = new_msg(), *r = new_msg();
	struct vshm_vu_mem_access a;
	uint8_t *mem;

	for (;;) {
		uint64_t status = 0;
		bool reply;

		if (vshm_chan_recv_wait(fe->ch, m, -1, NULL))
			break;
		reply = m->hdr.flags & VSHM_HDR_NEED_REPLY;
		switch (m->hdr.request) {
		case VSHM_VU_BACKEND_SHMEM_MAP:
		case VSHM_VU_BACKEND_SHMEM_UNMAP:
			status = fe_map(fe, m, m->hdr.request == VSHM_VU_BACKEND_SHMEM_MAP);
			break;
		case VSHM_VU_BACKEND_MEM_READ:
			fe->mem_reads++;
			vshm_decode_mem_access(m, &a, NULL);
			mem = guest_mem(fe, &a);
			if (mem)
				vshm_encode_mem_read_reply(r, 0, mem, a.size);
			else
				vshm_encode_mem_read_reply(r, EFAULT, NULL, 0);
			vshm_chan_send(fe->ch, r, NULL);
			vshm_chan_flush_wait(fe->ch, -1);
			reply = false;
			break;
		case VSHM_VU_BACKEND_MEM_WRITE:
			fe->mem_writes++;
			vshm_decode_mem_access(m, &a, NULL);
			mem = guest_mem(fe, &a);
			if (mem)
				memcpy(mem, a.data, a.size);
			else
				status = EFAULT;
			break;
		default:
			status = ENOSYS;
		}
		if (reply) {
			vshm_encode_reply_u64(r, m->hdr.request, status);
			vshm_chan_send(fe->ch, r, NULL);
			vshm_chan_flush_wait(fe->ch, -1);
		}
		vshm_msg_release(m);
	}
	free(m);
	free(r);
	return NULL;
}

FIXTURE(be) {
	int sv[2];
	struct vshm_chan *ch;
	struct frontend fe;
	pthread_t thread;
	struct vshm_err err;
	int fds0;
};

FIXTURE_SETUP(be)
{
	self->fds0 = count_open_fds();
	ASSERT_EQ(0, chan_pair(VSHM_PROTO_BACKEND, 0, VSHM_CHAN_OWN_FD, self->sv,
			       &self->ch, &self->fe.ch));
	ASSERT_EQ(0, vshm_region_create(VSHM_REGION_MODE_MMAP, 64 * PG, 0, &self->fe.region));
	self->fe.guest = calloc(1, GUEST_SIZE);
	ASSERT_NE(NULL, self->fe.guest);
	ASSERT_EQ(0, pthread_create(&self->thread, NULL, frontend_main, &self->fe));
}

FIXTURE_TEARDOWN(be)
{
	vshm_chan_free(self->ch);
	pthread_join(self->thread, NULL);
	vshm_chan_free(self->fe.ch);
	vshm_region_destroy(self->fe.region);
	free(self->fe.guest);
}

/* Proves SHMEM_MAP / SHMEM_UNMAP with WAIT_ACK reach the front-end and its refusal comes back as -errno. */
TEST_F(be, shmem_map_unmap_ack)
{
	int fd = memfd_filled(4 * PG, 0x31);
	uint8_t b;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vshm_be_shmem_map(self->ch, 0, fd, 0, 8 * PG, 2 * PG, true,
				       VSHM_FLAGS_FINAL, VSHM_BE_WAIT_ACK, 5000, &self->err))
		TH_LOG("%s", self->err.msg);
	ASSERT_EQ(1, vshm_region_read(self->fe.region, 9 * PG, &b, 1));
	EXPECT_EQ(0x31, b);
	EXPECT_EQ(-EEXIST, vshm_be_shmem_map(self->ch, 0, fd, 0, 8 * PG, PG, false,
					     VSHM_FLAGS_FINAL, VSHM_BE_WAIT_ACK, 5000, &self->err));
	TH_LOG("%s", self->err.msg);
	EXPECT_EQ(-ENOENT, vshm_be_shmem_unmap(self->ch, 0, 8 * PG, PG, VSHM_BE_WAIT_ACK, 5000, &self->err));
	EXPECT_EQ(0, vshm_be_shmem_unmap(self->ch, 0, 8 * PG, 2 * PG, VSHM_BE_WAIT_ACK, 5000, &self->err));
	EXPECT_EQ(-ENXIO, vshm_region_read(self->fe.region, 9 * PG, &b, 1));
	/* without waiting: a later synchronous request orders after it */
	EXPECT_EQ(0, vshm_be_shmem_map(self->ch, 0, fd, 0, 0, PG, false,
				       VSHM_FLAGS_FINAL, 0, 5000, &self->err));
	EXPECT_EQ(0, vshm_be_mem_read(self->ch, GUEST_BASE, &b, 1, 5000, &self->err));
	EXPECT_EQ(1, vshm_region_read(self->fe.region, 0, &b, 1));
	close(fd);
	/* the two sockets, and the source fd the front-end's live mapping holds */
	EXPECT_EQ(self->fds0 + 3, count_open_fds());
}

/* Proves MEM_READ / MEM_WRITE move blocks larger than the cap intact and a front-end failure is -errno. */
TEST_F(be, mem_read_write)
{
	size_t len = 3 * VSHM_MEM_DATA_MAX + 123, i;
	uint8_t *in = malloc(len), *out = malloc(len);

	ASSERT_NE(NULL, in);
	ASSERT_NE(NULL, out);
	for (i = 0; i < len; i++)
		in[i] = i * 13;
	ASSERT_EQ(0, vshm_be_mem_write(self->ch, GUEST_BASE + 10, in, len, 5000, &self->err))
		TH_LOG("%s", self->err.msg);
	EXPECT_EQ(4, self->fe.mem_writes);
	EXPECT_EQ(0, memcmp(self->fe.guest + 10, in, len));
	ASSERT_EQ(0, vshm_be_mem_read(self->ch, GUEST_BASE + 10, out, len, 5000, &self->err));
	EXPECT_EQ(0, memcmp(in, out, len));
	EXPECT_EQ(-EFAULT, vshm_be_mem_read(self->ch, 0, out, 16, 5000, &self->err));
	TH_LOG("%s", self->err.msg);
	EXPECT_EQ(-EFAULT, vshm_be_mem_write(self->ch, 0, in, 16, 5000, &self->err));
	free(in);
	free(out);
}

/* Proves translation: whole ranges inside one table entry translate, others do not, and guest_read/write fall back to MEM_READ/MEM_WRITE only for untranslated pieces. */
TEST_F(be, translate_with_fallback)
{
	uint8_t host[2 * PG], buf[4 * PG], back[4 * PG];
	struct vshm_mem_region table[] = {
		{ .guest_addr = GUEST_BASE + PG, .size = 2 * PG, .host = host },
	};
	size_t i;

	memset(host, 0xaa, sizeof(host));
	memset(self->fe.guest, 0xbb, GUEST_SIZE);
	EXPECT_EQ(host + 5, vshm_translate(table, 1, GUEST_BASE + PG + 5, 100));
	EXPECT_EQ(NULL, vshm_translate(table, 1, GUEST_BASE + 2 * PG, 2 * PG));
	EXPECT_EQ(NULL, vshm_translate(table, 1, GUEST_BASE, 1));
	/* [base, base+4PG): PG via MEM_READ, 2 PG from the table, PG via MEM_READ */
	ASSERT_EQ(0, vshm_guest_read(table, 1, self->ch, GUEST_BASE, buf, sizeof(buf), 5000, &self->err));
	for (i = 0; i < sizeof(buf); i++)
		if (buf[i] != ((i >= PG && i < 3 * PG) ? 0xaa : 0xbb))
			break;
	EXPECT_EQ(sizeof(buf), i);
	EXPECT_EQ(2, self->fe.mem_reads);
	memset(buf, 0x5c, sizeof(buf));
	ASSERT_EQ(0, vshm_guest_write(table, 1, self->ch, GUEST_BASE, buf, sizeof(buf), 5000, &self->err));
	EXPECT_EQ(2, self->fe.mem_writes);
	EXPECT_EQ(0x5c, host[0]);
	EXPECT_EQ(0x5c, self->fe.guest[0]);
	EXPECT_EQ(0x5c, self->fe.guest[3 * PG]);
	EXPECT_EQ(0xbb, self->fe.guest[PG]);
	ASSERT_EQ(0, vshm_guest_read(table, 1, self->ch, GUEST_BASE, back, sizeof(back), 5000, &self->err));
	EXPECT_EQ(0, memcmp(buf, back, sizeof(buf)));
	/* without a channel the untranslated piece is -EFAULT */
	EXPECT_EQ(-EFAULT, vshm_guest_read(table, 1, NULL, GUEST_BASE, buf, 10, 0, &self->err));
}

/* A fake broker: answers every control request, owning every fd it gets. */
struct broker {
	struct vshm_chan *ch;
	bool no_kmod;		/* an mmap broker: no FEAT_KMOD, GET_REGION is ENODEV */
	int get_regions;	/* GET_REGION requests seen */
	int got_backend, got_forward, got_ram_fds;
	uint32_t last_shmid;
	uint64_t last_addr;
};

static void *broker_main(void *arg)
{
	struct broker *b = arg;
	struct vshm_msg *m = new_msg(), *r = new_msg();
	const void *p;
	size_t len;

	for (;;) {
		uint32_t error = 0, req;
		uint8_t body[256] = { 0 };
		size_t blen = 0;
		int rfd = -1;

		if (vshm_chan_recv_wait(b->ch, m, -1, NULL))
			break;
		req = m->hdr.request;
		if (vshm_ctl_decode_request(m, req, &p, &len, NULL)) {
			vshm_msg_release(m);
			break;
		}
		switch (req) {
		case VSHM_CTL_HELLO: {
			struct vshm_ctl_hello h = {
				.version = VSHM_CTL_VERSION,
				.features = b->no_kmod ? 0 : VSHM_CTL_FEAT_KMOD,
			};

			memcpy(body, &h, sizeof(h));
			blen = sizeof(h);
			break;
		}
		case VSHM_CTL_ADD_DEVICE: {
			struct vshm_ctl_add_device a;
			struct vshm_ctl_device d = {
				.dev_id = 7, .region_mode = b->no_kmod ?
					VSHM_CTL_REGIONS_BROKER : VSHM_CTL_REGIONS_KMOD,
			};

			memcpy(&a, p, sizeof(a));
			d.nregions = a.nregions;
			b->got_backend = m->nfds >= 1;
			b->got_forward = m->nfds == 2;
			memcpy(body, &d, sizeof(d));
			blen = sizeof(d);
			break;
		}
		case VSHM_CTL_GET_REGION: {
			struct vshm_ctl_region_ref ref;
			struct vshm_ctl_region reg = { .size = PG };

			memcpy(&ref, p, sizeof(ref));
			b->get_regions++;
			if (b->no_kmod) {
				error = ENODEV;
				break;
			}
			if (ref.dev_id != 7) {
				error = ENOENT;
				break;
			}
			reg.shmid = ref.shmid;
			rfd = memfd_filled(PG, 0);
			memcpy(body, &reg, sizeof(reg));
			blen = sizeof(reg);
			break;
		}
		case VSHM_CTL_SET_REGION_ADDR: {
			struct vshm_ctl_region_addr ra;

			memcpy(&ra, p, sizeof(ra));
			b->last_shmid = ra.shmid;
			b->last_addr = ra.guest_addr;
			break;
		}
		case VSHM_CTL_SET_MEM_TABLE:
			b->got_ram_fds = m->nfds;
			break;
		case VSHM_CTL_RESET_DEVICE:
		case VSHM_CTL_REMOVE_DEVICE: {
			struct vshm_ctl_dev_ref d;

			memcpy(&d, p, sizeof(d));
			error = d.dev_id == 7 ? 0 : ENOENT;
			break;
		}
		case VSHM_CTL_GET_STATS: {
			struct vshm_ctl_stats st = { .devices = 1, .maps = 3 };

			memcpy(body, &st, sizeof(st));
			blen = sizeof(st);
			break;
		}
		case VSHM_CTL_LIST_DEVICES: {
			struct vshm_ctl_list l = { 1, 1 };
			struct vshm_ctl_device_entry e = { 7, 0, 2, 1 };

			memcpy(body, &l, sizeof(l));
			memcpy(body + sizeof(l), &e, sizeof(e));
			blen = sizeof(l) + sizeof(e);
			break;
		}
		case VSHM_CTL_LIST_MAPPINGS: {
			struct vshm_ctl_list l = { 3, 1 };
			struct vshm_mapping_entry e = { PG, PG, 0, 1, 0 };

			memcpy(body, &l, sizeof(l));
			memcpy(body + sizeof(l), &e, sizeof(e));
			blen = sizeof(l) + sizeof(e);
			break;
		}
		}
		vshm_msg_release(m);
		vshm_ctl_encode_reply(r, req, error, body, blen, &rfd, rfd >= 0);
		vshm_chan_send(b->ch, r, NULL);
		vshm_chan_flush_wait(b->ch, -1);
		if (rfd >= 0)
			close(rfd);
	}
	free(m);
	free(r);
	return NULL;
}

FIXTURE(client) {
	struct broker b;
	pthread_t thread;
	struct vshm_client *c;
	struct vshm_err err;
	int fds0;
};

FIXTURE_SETUP(client)
{
	int sv[2];

	self->fds0 = count_open_fds();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(0, vshm_chan_new(sv[1], VSHM_PROTO_CONTROL, VSHM_CHAN_OWN_FD, &self->b.ch));
	ASSERT_EQ(0, pthread_create(&self->thread, NULL, broker_main, &self->b));
	ASSERT_EQ(0, vshm_client_from_fd(sv[0], 5000, &self->c, &self->err)) TH_LOG("%s", self->err.msg);
}

FIXTURE_TEARDOWN(client)
{
	vshm_client_close(self->c);
	pthread_join(self->thread, NULL);
	vshm_chan_free(self->b.ch);
}

/* Proves every client call reaches the broker and returns its answer, region fds included, with no fd leaked. */
TEST_F(client, every_call)
{
	uint64_t sizes[3] = { PG, 0, 2 * PG };
	int rfds[3], be = memfd_filled(PG, 0), fwd = memfd_filled(PG, 0), ram = memfd_filled(PG, 0);
	struct vshm_ctl_ram_range range = { .guest_addr = 0, .size = PG };
	struct vshm_ctl_device_entry devs[4];
	struct vshm_mapping_entry maps[4];
	struct vshm_ctl_stats st;
	uint32_t dev = 0, total = 0;

	EXPECT_EQ(VSHM_CTL_FEAT_KMOD, vshm_client_features(self->c));
	ASSERT_EQ(0, vshm_client_add_device(self->c, be, fwd, sizes, 3, 0, &dev, rfds, &self->err))
		TH_LOG("%s", self->err.msg);
	EXPECT_EQ(7, dev);
	EXPECT_TRUE(self->b.got_backend);
	EXPECT_TRUE(self->b.got_forward);
	EXPECT_GE(rfds[0], 0);
	EXPECT_EQ(-1, rfds[1]);
	EXPECT_GE(rfds[2], 0);
	close(rfds[0]);
	close(rfds[2]);
	EXPECT_EQ(0, vshm_client_set_region_addr(self->c, 7, 2, 1ULL << 36, &self->err));
	EXPECT_EQ(2, self->b.last_shmid);
	EXPECT_EQ(1ULL << 36, self->b.last_addr);
	EXPECT_EQ(0, vshm_client_set_mem_table(self->c, &range, &ram, 1, &self->err));
	EXPECT_EQ(1, self->b.got_ram_fds);
	EXPECT_EQ(0, vshm_client_stats(self->c, VSHM_CTL_ALL_DEVICES, &st, &self->err));
	EXPECT_EQ(3, st.maps);
	EXPECT_EQ(1, vshm_client_list_devices(self->c, devs, 4, &total, &self->err));
	EXPECT_EQ(7, devs[0].dev_id);
	EXPECT_EQ(1, vshm_client_list_mappings(self->c, 7, 0, 0, maps, 4, &total, &self->err));
	EXPECT_EQ(3, total);
	EXPECT_EQ(PG, maps[0].shm_offset);
	EXPECT_EQ(0, vshm_client_reset_device(self->c, 7, &self->err));
	EXPECT_EQ(-ENOENT, vshm_client_reset_device(self->c, 8, &self->err));
	TH_LOG("%s", self->err.msg);
	EXPECT_EQ(0, vshm_client_remove_device(self->c, 7, &self->err));
	close(be);
	close(fwd);
	close(ram);
	/* the client's socket and the broker's end are the only fds left */
	EXPECT_EQ(self->fds0 + 2, count_open_fds());
}

/* Proves a broker refusal comes back as its -errno, with no fd received or leaked. */
TEST_F(client, refusal_is_errno)
{
	int be = memfd_filled(PG, 0), fd;
	uint64_t size;

	EXPECT_EQ(-ENOENT, vshm_client_get_region(self->c, 9, 0, &fd, &size, &self->err));
	close(be);
	EXPECT_EQ(self->fds0 + 2, count_open_fds());
}

/*
 * Proves add_device against an mmap broker (no VSHM_CTL_FEAT_KMOD) succeeds
 * without asking for region fds, fills region_fds with -1 and keeps the
 * device; an explicit GET_REGION still reports the broker's ENODEV.
 */
TEST(client_mmap_broker)
{
	struct broker b = { .no_kmod = true };
	uint64_t sizes[2] = { PG, 2 * PG };
	int sv[2], rfds[2] = { 5, 5 }, be, fd = -1, fds0;
	struct vshm_client *c;
	struct vshm_err err;
	pthread_t thread;
	uint32_t dev = 0;

	fds0 = count_open_fds();
	be = memfd_filled(PG, 0);
	ASSERT_GE(be, 0);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	ASSERT_EQ(0, vshm_chan_new(sv[1], VSHM_PROTO_CONTROL, VSHM_CHAN_OWN_FD, &b.ch));
	ASSERT_EQ(0, pthread_create(&thread, NULL, broker_main, &b));
	ASSERT_EQ(0, vshm_client_from_fd(sv[0], 5000, &c, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(0, vshm_client_features(c));
	ASSERT_EQ(0, vshm_client_add_device(c, be, -1, sizes, 2, 0, &dev, rfds, &err))
		TH_LOG("%s", err.msg);
	EXPECT_EQ(7, dev);
	EXPECT_EQ(-1, rfds[0]);
	EXPECT_EQ(-1, rfds[1]);
	EXPECT_EQ(0, b.get_regions);
	EXPECT_EQ(-ENODEV, vshm_client_get_region(c, 7, 0, &fd, NULL, &err));
	EXPECT_EQ(-1, fd);
	vshm_client_close(c);
	pthread_join(thread, NULL);
	vshm_chan_free(b.ch);
	close(be);
	EXPECT_EQ(fds0, count_open_fds());
}

TEST_HARNESS_MAIN
