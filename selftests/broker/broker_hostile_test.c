// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile back-end: malformed frames, wrong fds, lies about sizes,
 * floods and disconnects mid-message.  Each variant runs one attack and
 * asserts what the broker does (an error reply, silence, or closing that
 * channel), then that the broker is alive, that its fd count is what it
 * was (less the hostile device's own fds if it was closed), and that a
 * second, well-behaved device is served without interruption.  The
 * SHARED_OBJECT_* attacks hold the broker's dma-buf table to the same
 * rules; one of them shares real vgem dma-bufs when vgem is loaded.
 */
#include "vgem_util.h"

#include "kselftest_harness.h"
#include "broker_util.h"

#define GOOD_GA		0x100000000ull
#define EVIL_GA		0x200000000ull
#define RSZ		(1ull << 20)

enum outcome { REPLY, CLOSED };

struct ctx {
	struct broker *b;
	struct tdev *evil, *good;
	int mfd;		/* a 64 KiB memfd */
};

FIXTURE(hostile) {
	struct broker b;
	struct tdev evil, good;
	int mfd;
	int fds_without_evil, fds_with_evil;
};

FIXTURE_VARIANT(hostile) {
	int (*run)(struct __test_metadata *_metadata, struct ctx *c);
	enum outcome outcome;
};

FIXTURE_SETUP(hostile)
{
	const char *extra[] = { "--max-mappings", "32", "--max-rate", "2000",
				"--max-inflight", "262144", NULL };
	uint8_t buf[8];

	ASSERT_EQ(0, broker_startv(&self->b, NULL, extra));
	ASSERT_EQ(0, tdev_add(&self->b, &self->good, RSZ, GOOD_GA));
	self->mfd = memfd_filled(64 << 10, 0x5a);
	ASSERT_GE(self->mfd, 0);
	ASSERT_EQ(0, do_map(&self->good, 0, self->mfd, 0, 0, 16 * PG, 1));
	ASSERT_EQ(0, do_read(&self->good, GOOD_GA, 8, buf));
	self->fds_without_evil = broker_fds(&self->b);
	ASSERT_EQ(0, tdev_add(&self->b, &self->evil, RSZ, EVIL_GA));
	self->fds_with_evil = broker_fds(&self->b);
}

FIXTURE_TEARDOWN(hostile)
{
	tdev_close(&self->evil);
	tdev_close(&self->good);
	close(self->mfd);
	broker_stop(&self->b);
}

#define CHECK(cond) do { if (!(cond)) { \
	TH_LOG("attack check failed at line %d: %s", __LINE__, #cond); return -1; } } while (0)

static const uint32_t V = VSHM_HDR_VERSION, NR = VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY;

static int bad_version0(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(!send_frame(c->evil->be, VSHM_VU_BACKEND_VRING_CALL, 0, 8,
			  "\0\0\0\0\0\0\0\0", 8, NULL, 0));
	return 0;
}

static int bad_version2(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(!send_frame(c->evil->be, VSHM_VU_BACKEND_MEM_READ, 2, 12,
			  "\0\0\0\0\0\0\0\0\1\0\0\0", 12, NULL, 0));
	return 0;
}

static int reserved_hdr_flags(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(!send_frame(c->evil->be, VSHM_VU_BACKEND_VRING_CALL, V | 0x100, 8,
			  "\0\0\0\0\0\0\0\0", 8, NULL, 0));
	return 0;
}

static int reply_and_need_reply(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(!send_frame(c->evil->be, VSHM_VU_BACKEND_VRING_CALL,
			  V | VSHM_HDR_REPLY | VSHM_HDR_NEED_REPLY, 8,
			  "\0\0\0\0\0\0\0\0", 8, NULL, 0));
	return 0;
}

static int oversized_frame(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	/* Claims 1 GiB of payload: the broker must not wait for it. */
	CHECK(!send_frame(c->evil->be, 99, NR, 1u << 30, NULL, 0, NULL, 0));
	return 0;
}

static int truncated_header_eof(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(send(c->evil->be, "\x09\0\0\0\x09\0", 6, MSG_NOSIGNAL) == 6);
	CHECK(shutdown(c->evil->be, SHUT_WR) == 0);
	return 0;
}

static int truncated_payload_with_fd_eof(struct __test_metadata *_metadata, struct ctx *c)
{
	uint8_t p[40];

	(void)_metadata;
	put_mmap(p, 0, 0, 0, PG, 1);
	/* Header says 40 bytes, 20 come (with the fd), then the peer is gone. */
	CHECK(send_frame(c->evil->be, VSHM_VU_BACKEND_SHMEM_MAP, NR, 40, p, 20,
			 &c->mfd, 1) == 0);
	CHECK(shutdown(c->evil->be, SHUT_WR) == 0);
	return 0;
}

static int close_mid_frame(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(send_frame(c->evil->be, VSHM_VU_BACKEND_MEM_WRITE, NR, 1000,
			 "0123456789", 10, NULL, 0) == 0);
	vshm_chan_free(c->evil->ch);
	c->evil->ch = NULL;
	close(c->evil->be);
	c->evil->be = -1;
	return 0;
}

static int half_close(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(shutdown(c->evil->be, SHUT_WR) == 0);
	return 0;
}

/* Send a map frame of a given payload size and fds; expect EBADMSG. */
static int map_badmsg(struct ctx *c, uint32_t size, const int *fds, unsigned int nfds,
		      uint8_t pad, uint64_t flags)
{
	uint8_t p[64];

	memset(p, 0, sizeof(p));
	put_mmap(p, 0, 0, 0, PG, flags);
	p[3] = pad;
	if (send_frame(c->evil->be, VSHM_VU_BACKEND_SHMEM_MAP, NR, size, p, size,
		       fds, nfds))
		return -1;
	return recv_u64(c->evil, VSHM_VU_BACKEND_SHMEM_MAP) == EBADMSG ? 0 : -1;
}

static int map_short_payload(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	return map_badmsg(c, 39, &c->mfd, 1, 0, 1);
}

static int map_long_payload(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	return map_badmsg(c, 48, &c->mfd, 1, 0, 1);
}

static int map_without_fd(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	return map_badmsg(c, 40, NULL, 0, 0, 1);
}

static int map_two_fds(struct __test_metadata *_metadata, struct ctx *c)
{
	int fds[2] = { c->mfd, c->mfd };

	(void)_metadata;
	return map_badmsg(c, 40, fds, 2, 0, 1);
}

static int map_padding(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	return map_badmsg(c, 40, &c->mfd, 1, 0xff, 1);
}

static int map_unknown_flags(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	return map_badmsg(c, 40, &c->mfd, 1, 0, 0x80);
}

static int many_fds(struct __test_metadata *_metadata, struct ctx *c)
{
	int fds[40], i;

	(void)_metadata;
	for (i = 0; i < 40; i++)
		fds[i] = c->mfd;
	return map_badmsg(c, 40, fds, 40, 0, 1);
}

static int unmap_with_fd(struct __test_metadata *_metadata, struct ctx *c)
{
	uint8_t p[40];

	(void)_metadata;
	put_mmap(p, 0, 0, 0, PG, 0);
	CHECK(!send_frame(c->evil->be, VSHM_VU_BACKEND_SHMEM_UNMAP, NR, 40, p, 40,
			  &c->mfd, 1));
	CHECK(recv_u64(c->evil, VSHM_VU_BACKEND_SHMEM_UNMAP) == EBADMSG);
	return 0;
}

static int mem_read_bad(struct ctx *c, uint32_t size, uint32_t field, const int *fds,
			unsigned int nfds)
{
	uint8_t p[16] = { 0 };

	memcpy(p + 8, &field, 4);
	if (send_frame(c->evil->be, VSHM_VU_BACKEND_MEM_READ, V, size, p, size, fds, nfds))
		return -1;
	return recv_mem_read(c->evil, 1, NULL) == EBADMSG ? 0 : -1;
}

static int mem_read_size0(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	return mem_read_bad(c, 12, 0, NULL, 0);
}

static int mem_read_too_big(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	return mem_read_bad(c, 12, VSHM_MEM_DATA_MAX + 1, NULL, 0);
}

static int mem_read_short(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	return mem_read_bad(c, 11, 8, NULL, 0);
}

static int mem_read_with_fd(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	return mem_read_bad(c, 12, 8, &c->mfd, 1);
}

static int mem_write_size_lie(struct __test_metadata *_metadata, struct ctx *c)
{
	uint8_t p[12 + 16] = { 0 };
	uint32_t size = 1000;

	(void)_metadata;
	memcpy(p + 8, &size, 4);
	CHECK(!send_frame(c->evil->be, VSHM_VU_BACKEND_MEM_WRITE, NR, sizeof(p), p,
			  sizeof(p), NULL, 0));
	CHECK(recv_u64(c->evil, VSHM_VU_BACKEND_MEM_WRITE) == EBADMSG);
	return 0;
}

/*
 * The series' libvhost-user pads MEM_READ / MEM_WRITE to sizeof its struct
 * (16 bytes).  vshmd accepts zero padding up to a multiple of 8 and
 * nothing else.  These frames come from the evil device but name the good
 * device's mapping (GOOD_GA holds 0x5a).
 */
static int draft_frame(struct ctx *c, uint32_t req, uint32_t flags,
		       uint64_t ga, uint32_t field, const void *data,
		       uint32_t dlen, uint32_t size)
{
	uint8_t p[64] = { 0 };

	memcpy(p, &ga, 8);
	memcpy(p + 8, &field, 4);
	if (dlen)
		memcpy(p + 12, data, dlen);
	return send_frame(c->evil->be, req, flags, size, p, size, NULL, 0);
}

static int mem_read_draft_padded(struct __test_metadata *_metadata, struct ctx *c)
{
	uint8_t buf[8] = { 0 };

	(void)_metadata;
	CHECK(!draft_frame(c, VSHM_VU_BACKEND_MEM_READ, V, GOOD_GA, 8, NULL, 0, 16));
	CHECK(recv_mem_read(c->evil, 8, buf) == 0);
	CHECK(buf[0] == 0x5a && buf[7] == 0x5a);
	return 0;
}

static int mem_read_padding_nonzero(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	/* 16 bytes whose padding is not zero: bytes 12..15 are "pad!" */
	CHECK(!draft_frame(c, VSHM_VU_BACKEND_MEM_READ, V, GOOD_GA, 8, "pad!", 4, 16));
	CHECK(recv_mem_read(c->evil, 1, NULL) == EBADMSG);
	return 0;
}

static int mem_read_padded_past_8(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(!draft_frame(c, VSHM_VU_BACKEND_MEM_READ, V, GOOD_GA, 8, NULL, 0, 24));
	CHECK(recv_mem_read(c->evil, 1, NULL) == EBADMSG);
	return 0;
}

static int mem_write_draft_padded(struct __test_metadata *_metadata, struct ctx *c)
{
	uint8_t buf[8] = { 0 };

	(void)_metadata;
	/* 3 data bytes in the draft's 16-byte payload: 12 + 3 + 1 zero byte */
	CHECK(!draft_frame(c, VSHM_VU_BACKEND_MEM_WRITE, NR, GOOD_GA + 3 * PG, 3,
			   "abc", 3, 16));
	CHECK(recv_u64(c->evil, VSHM_VU_BACKEND_MEM_WRITE) == 0);
	CHECK(do_read(c->good, GOOD_GA + 3 * PG, 4, buf) == 0);
	CHECK(!memcmp(buf, "abc\x5a", 4));
	return 0;
}

static int mem_write_draft_truncated(struct __test_metadata *_metadata, struct ctx *c)
{
	uint8_t buf[8] = { 0 };

	(void)_metadata;
	/* the draft's MEM_WRITE of 8 bytes: only 4 of them fit its 16-byte payload */
	CHECK(!draft_frame(c, VSHM_VU_BACKEND_MEM_WRITE, NR, GOOD_GA + 3 * PG, 8,
			   "abcd", 4, 16));
	CHECK(recv_u64(c->evil, VSHM_VU_BACKEND_MEM_WRITE) == EBADMSG);
	CHECK(do_read(c->good, GOOD_GA + 3 * PG, 4, buf) == 0);
	CHECK(buf[0] == 0x5a);
	return 0;
}

static int mem_write_padding_nonzero(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	/* size 3, 16 bytes, the padding byte is 'x' */
	CHECK(!draft_frame(c, VSHM_VU_BACKEND_MEM_WRITE, NR, GOOD_GA + 3 * PG, 3,
			   "abcx", 4, 16));
	CHECK(recv_u64(c->evil, VSHM_VU_BACKEND_MEM_WRITE) == EBADMSG);
	return 0;
}

static int mem_read_wraps(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(do_read(c->evil, 0xfffffffffffff000ull, 8192, NULL) == EFAULT);
	return 0;
}

static int mem_write_other_hole(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	/* Into the good device's region, past its mapping: refused, nothing written. */
	CHECK(do_write(c->evil, GOOD_GA + 16 * PG - 2, "xxxx", 4) == ENXIO);
	return 0;
}

static int map_pipe(struct __test_metadata *_metadata, struct ctx *c)
{
	int p[2];
	int64_t r;

	(void)_metadata;
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	r = do_map(c->evil, 0, p[1], 0, 0, PG, 1);
	close(p[0]);
	close(p[1]);
	CHECK(r == ENODEV);
	return 0;
}

static int map_own_socket(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(do_map(c->evil, 0, c->evil->be, 0, 0, PG, 1) == ENODEV);
	return 0;
}

static int map_o_path(struct __test_metadata *_metadata, struct ctx *c)
{
	int fd = open("/tmp", O_PATH | O_CLOEXEC);
	int64_t r;

	(void)_metadata;
	CHECK(fd >= 0);
	r = do_map(c->evil, 0, fd, 0, 0, PG, 0);
	close(fd);
	CHECK(r == ENODEV || r == EBADF);
	return 0;
}

static int map_past_source(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(do_map(c->evil, 0, c->mfd, 60 << 10, 0, 8 * PG, 1) == EOVERFLOW);
	return 0;
}

static int map_wrapping(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(do_map(c->evil, 0, c->mfd, 0, 0xfffffffffffff000ull, 0x2000, 1) == EOVERFLOW);
	CHECK(do_map(c->evil, 0, c->mfd, 0xfffffffffffff000ull, 0, 0x2000, 1) == EOVERFLOW);
	return 0;
}

static int map_bad_shmid(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(do_map(c->evil, 200, c->mfd, 0, 0, PG, 1) == EINVAL);
	return 0;
}

static int unsolicited_reply(struct __test_metadata *_metadata, struct ctx *c)
{
	uint64_t zero = 0;

	(void)_metadata;
	CHECK(!send_frame(c->evil->be, VSHM_VU_BACKEND_SHMEM_MAP, V | VSHM_HDR_REPLY,
			  8, &zero, 8, NULL, 0));
	CHECK(quiet(c->evil, 100));
	return 0;
}

static int unknown_request_no_forward(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(!send_frame(c->evil->be, 12345, NR, 5, "hello", 5, &c->mfd, 1));
	CHECK(recv_u64(c->evil, 12345) == EOPNOTSUPP);
	return 0;
}

static int exhaust_mappings(struct __test_metadata *_metadata, struct ctx *c)
{
	int i;

	(void)_metadata;
	for (i = 0; i < 32; i++)
		CHECK(do_map(c->evil, 0, c->mfd, 0, i * PG, PG, 0) == 0);
	CHECK(do_map(c->evil, 0, c->mfd, 0, 32 * PG, PG, 0) == ENOSPC);
	CHECK(vshm_client_reset_device(c->b->c, c->evil->id, NULL) == 0);
	return 0;
}

static int truncate_source(struct __test_metadata *_metadata, struct ctx *c)
{
	int fd = memfd_filled(4 * PG, 7);
	uint8_t buf[16];
	int64_t r;

	(void)_metadata;
	CHECK(fd >= 0);
	CHECK(do_map(c->evil, 0, fd, 0, 0, 4 * PG, 1) == 0);
	CHECK(ftruncate(fd, 0) == 0);
	/* The broker must not fault: old pages (kmod) or a clean error. */
	r = do_read(c->evil, EVIL_GA + PG, 16, buf);
	CHECK(r == 0 || r == EIO);
	r = do_write(c->evil, EVIL_GA + PG, "zz", 2);
	CHECK(r == 0 || r == EIO);
	close(fd);
	CHECK(vshm_client_reset_device(c->b->c, c->evil->id, NULL) == 0);
	return 0;
}

/* Many MEM_READs whose 64 KiB replies are never read: the broker stops reading. */
static int reply_flood(struct __test_metadata *_metadata, struct ctx *c)
{
	uint8_t p[12], buf[8];
	uint32_t size = VSHM_MEM_DATA_MAX;
	uint64_t ga = 0;
	int i, sent = 0;

	(void)_metadata;
	memcpy(p, &ga, 8);
	memcpy(p + 8, &size, 4);
	for (i = 0; i < 400; i++) {
		struct pollfd pf = { .fd = c->evil->be, .events = POLLOUT };

		if (poll(&pf, 1, 50) <= 0)
			break;
		if (send_frame(c->evil->be, VSHM_VU_BACKEND_MEM_READ, V, 12, p, 12,
			       NULL, 0))
			break;
		sent++;
	}
	CHECK(sent > 10);
	/* Meanwhile the good device is served at once. */
	CHECK(do_read(c->good, GOOD_GA, 8, buf) == 0);
	/* Drain: every reply that comes is a well-formed EFAULT. */
	for (i = 0; i < sent; i++)
		CHECK(recv_mem_read(c->evil, size, NULL) == EFAULT);
	return 0;
}

/* Thousands of cheap requests: the rate limit slows this device, not the other. */
static int message_flood(struct __test_metadata *_metadata, struct ctx *c)
{
	uint8_t p[40], buf[8];
	uint64_t t0, t1;
	struct timespec ts;
	int i;

	(void)_metadata;
	put_mmap(p, 0, 0, 0, PG, 0);
	for (i = 0; i < 6000; i++) {
		struct pollfd pf = { .fd = c->evil->be, .events = POLLOUT };

		if (poll(&pf, 1, 50) <= 0)
			break;
		if (send_frame(c->evil->be, VSHM_VU_BACKEND_SHMEM_UNMAP, V, 40, p, 40,
			       NULL, 0))
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
	CHECK(do_read(c->good, GOOD_GA, 8, buf) == 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t1 = ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
	CHECK(t1 - t0 < 1000);
	/* The flood is still being worked off at its own rate; the channel lives. */
	CHECK(do_unmap(c->evil, 0, 0, PG) == ENOENT);
	return 0;
}

/* A frame dribbled one byte at a time is served once whole. */
static int slow_dribble(struct __test_metadata *_metadata, struct ctx *c)
{
	uint8_t frame[12 + 12], buf[8];
	struct vshm_hdr h = { VSHM_VU_BACKEND_MEM_READ, V, 12 };
	uint64_t ga = GOOD_GA;
	uint32_t size = 8;
	size_t i;

	(void)_metadata;
	memcpy(frame, &h, 12);
	memcpy(frame + 12, &ga, 8);
	memcpy(frame + 20, &size, 4);
	for (i = 0; i < sizeof(frame); i++) {
		CHECK(send(c->evil->be, frame + i, 1, MSG_NOSIGNAL) == 1);
		if (i == 5)
			CHECK(do_read(c->good, GOOD_GA, 8, buf) == 0);
		usleep(2000);
	}
	CHECK(recv_mem_read(c->evil, 8, buf) == 0 && buf[0] == 0x5a);
	return 0;
}

static int zero_payload_map(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	return map_badmsg(c, 0, NULL, 0, 0, 0);
}

static int shared_object_bad_size(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(!send_frame(c->evil->be, VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP, V, 15,
			  "0123456789abcde", 15, NULL, 0));
	CHECK(recv_u64(c->evil, VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP) == EBADMSG);
	return 0;
}

static int unmap_partial_of_mapping(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(do_map(c->evil, 0, c->mfd, 0, 0, 4 * PG, 1) == 0);
	CHECK(do_unmap(c->evil, 0, PG, PG) == ENOENT);
	CHECK(do_unmap(c->evil, 0, 0, 4 * PG) == 0);
	return 0;
}

/* A SHARED_OBJECT_* frame: 16-byte UUID (or size bytes), fds. */
static int so_frame(struct ctx *c, uint32_t req, uint32_t flags, uint32_t size,
		    const int *fds, unsigned int nfds)
{
	uint8_t p[32];

	memset(p, 0xee, sizeof(p));
	return send_frame(c->evil->be, req, flags, size, p, size, fds, nfds);
}

/* The u64 answering req: its value, -1 if it is not exactly that without fds. */
static int64_t so_reply(struct ctx *c, uint32_t req)
{
	struct vshm_msg *m = malloc(sizeof(*m));
	int64_t ret = -1;
	uint64_t v;

	if (!m)
		return -1;
	if (recv_msg(c->evil, m, T_TIMEOUT_MS) == 0) {
		if (vshm_decode_reply_u64(m, req, &v, NULL) == 0 && m->nfds == 0)
			ret = (int64_t)v;
		vshm_msg_release(m);
	}
	free(m);
	return ret;
}

#define SO_ADD		VSHM_VU_BACKEND_SHARED_OBJECT_ADD
#define SO_REMOVE	VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE
#define SO_LOOKUP	VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP

static int so_add_no_fd(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(!so_frame(c, SO_ADD, NR, 16, NULL, 0));
	CHECK(so_reply(c, SO_ADD) == EOPNOTSUPP);
	return 0;
}

static int so_add_two_fds(struct __test_metadata *_metadata, struct ctx *c)
{
	int fds[2] = { c->mfd, c->mfd };

	(void)_metadata;
	CHECK(!so_frame(c, SO_ADD, NR, 16, fds, 2));
	CHECK(so_reply(c, SO_ADD) == EBADMSG);
	return 0;
}

static int so_add_many_fds(struct __test_metadata *_metadata, struct ctx *c)
{
	int fds[40], i;

	(void)_metadata;
	for (i = 0; i < 40; i++)
		fds[i] = c->mfd;
	CHECK(!so_frame(c, SO_ADD, NR, 16, fds, 40));
	CHECK(so_reply(c, SO_ADD) == EBADMSG);
	return 0;
}

static int so_add_memfd(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(!so_frame(c, SO_ADD, NR, 16, &c->mfd, 1));
	CHECK(so_reply(c, SO_ADD) == ENODEV);
	return 0;
}

static int so_add_own_socket(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(!so_frame(c, SO_ADD, NR, 16, &c->evil->be, 1));
	CHECK(so_reply(c, SO_ADD) == ENODEV);
	return 0;
}

static int so_add_o_path(struct __test_metadata *_metadata, struct ctx *c)
{
	int fd = open("/tmp", O_PATH | O_CLOEXEC);
	int64_t r;

	(void)_metadata;
	CHECK(fd >= 0);
	r = so_frame(c, SO_ADD, NR, 16, &fd, 1) ? -1 : so_reply(c, SO_ADD);
	close(fd);
	CHECK(r == EBADF);
	return 0;
}

static int so_add_long_payload(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(!so_frame(c, SO_ADD, NR, 24, &c->mfd, 1));
	CHECK(so_reply(c, SO_ADD) == EBADMSG);
	return 0;
}

static int so_remove_with_fd(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(!so_frame(c, SO_REMOVE, NR, 16, &c->mfd, 1));
	CHECK(so_reply(c, SO_REMOVE) == EBADMSG);
	return 0;
}

static int so_remove_unknown(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(!so_frame(c, SO_REMOVE, NR, 16, NULL, 0));
	CHECK(so_reply(c, SO_REMOVE) == ENOENT);
	return 0;
}

static int so_lookup_with_fd(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	/* LOOKUP is always answered, need_reply or not. */
	CHECK(!so_frame(c, SO_LOOKUP, V, 16, &c->mfd, 1));
	CHECK(so_reply(c, SO_LOOKUP) == EBADMSG);
	return 0;
}

static int so_lookup_unknown(struct __test_metadata *_metadata, struct ctx *c)
{
	(void)_metadata;
	CHECK(!so_frame(c, SO_LOOKUP, V, 16, NULL, 0));
	CHECK(so_reply(c, SO_LOOKUP) == ENOENT);
	return 0;
}

/* Hundreds of refused ADDs with fds and no reply wanted: every fd is closed. */
static int so_add_flood(struct __test_metadata *_metadata, struct ctx *c)
{
	int i;

	(void)_metadata;
	for (i = 0; i < 300; i++) {
		struct pollfd pf = { .fd = c->evil->be, .events = POLLOUT };

		CHECK(poll(&pf, 1, T_TIMEOUT_MS) == 1);
		CHECK(!so_frame(c, SO_ADD, V, 16, &c->mfd, 1));
	}
	CHECK(!so_frame(c, SO_LOOKUP, V, 16, NULL, 0));
	CHECK(so_reply(c, SO_LOOKUP) == ENOENT);
	return 0;
}

/*
 * Shares objects (real vgem dma-bufs where vgem exists, else refused
 * memfds), then hangs up with a frame half sent: its objects' fds go too.
 */
static int so_add_then_hangup(struct __test_metadata *_metadata, struct ctx *c)
{
	int drm = vgem_open(), i;

	(void)_metadata;
	for (i = 0; i < 3; i++) {
		uint8_t uuid[16];
		int64_t r;
		int fd;

		fd = drm >= 0 ? vgem_dmabuf(drm, 4 * 4096, true) : dup(c->mfd);
		CHECK(fd >= 0);
		memset(uuid, i, sizeof(uuid));
		r = send_frame(c->evil->be, SO_ADD, NR, 16, uuid, 16, &fd, 1) ? -1 :
		    so_reply(c, SO_ADD);
		close(fd);
		CHECK(r == (drm >= 0 ? 0 : ENODEV));
	}
	if (drm >= 0)
		close(drm);
	CHECK(send_frame(c->evil->be, SO_ADD, NR, 16, "0123456789", 10, &c->mfd, 1) == 0);
	CHECK(shutdown(c->evil->be, SHUT_WR) == 0);
	return 0;
}

#define ATTACK(name, out) \
	FIXTURE_VARIANT_ADD(hostile, name) { .run = name, .outcome = out }

ATTACK(bad_version0, CLOSED);
ATTACK(bad_version2, CLOSED);
ATTACK(reserved_hdr_flags, CLOSED);
ATTACK(reply_and_need_reply, CLOSED);
ATTACK(oversized_frame, CLOSED);
ATTACK(truncated_header_eof, CLOSED);
ATTACK(truncated_payload_with_fd_eof, CLOSED);
ATTACK(close_mid_frame, CLOSED);
ATTACK(half_close, CLOSED);
ATTACK(map_short_payload, REPLY);
ATTACK(map_long_payload, REPLY);
ATTACK(map_without_fd, REPLY);
ATTACK(map_two_fds, REPLY);
ATTACK(map_padding, REPLY);
ATTACK(map_unknown_flags, REPLY);
ATTACK(many_fds, REPLY);
ATTACK(unmap_with_fd, REPLY);
ATTACK(mem_read_size0, REPLY);
ATTACK(mem_read_too_big, REPLY);
ATTACK(mem_read_short, REPLY);
ATTACK(mem_read_with_fd, REPLY);
ATTACK(mem_write_size_lie, REPLY);
ATTACK(mem_read_draft_padded, REPLY);
ATTACK(mem_read_padding_nonzero, REPLY);
ATTACK(mem_read_padded_past_8, REPLY);
ATTACK(mem_write_draft_padded, REPLY);
ATTACK(mem_write_draft_truncated, REPLY);
ATTACK(mem_write_padding_nonzero, REPLY);
ATTACK(mem_read_wraps, REPLY);
ATTACK(mem_write_other_hole, REPLY);
ATTACK(map_pipe, REPLY);
ATTACK(map_own_socket, REPLY);
ATTACK(map_o_path, REPLY);
ATTACK(map_past_source, REPLY);
ATTACK(map_wrapping, REPLY);
ATTACK(map_bad_shmid, REPLY);
ATTACK(unsolicited_reply, REPLY);
ATTACK(unknown_request_no_forward, REPLY);
ATTACK(exhaust_mappings, REPLY);
ATTACK(truncate_source, REPLY);
ATTACK(reply_flood, REPLY);
ATTACK(message_flood, REPLY);
ATTACK(slow_dribble, REPLY);
ATTACK(zero_payload_map, REPLY);
ATTACK(shared_object_bad_size, REPLY);
ATTACK(unmap_partial_of_mapping, REPLY);
ATTACK(so_add_no_fd, REPLY);
ATTACK(so_add_two_fds, REPLY);
ATTACK(so_add_many_fds, REPLY);
ATTACK(so_add_memfd, REPLY);
ATTACK(so_add_own_socket, REPLY);
ATTACK(so_add_o_path, REPLY);
ATTACK(so_add_long_payload, REPLY);
ATTACK(so_remove_with_fd, REPLY);
ATTACK(so_remove_unknown, REPLY);
ATTACK(so_lookup_with_fd, REPLY);
ATTACK(so_lookup_unknown, REPLY);
ATTACK(so_add_flood, REPLY);
ATTACK(so_add_then_hangup, CLOSED);

/*
 * Proves, for each attack: the documented reply (or the channel closed),
 * broker alive, fd count unchanged, and the good device still served.
 */
TEST_F(hostile, attack)
{
	struct ctx c = { &self->b, &self->evil, &self->good, self->mfd };
	uint8_t buf[8];
	int want;

	ASSERT_EQ(0, variant->run(_metadata, &c));
	if (variant->outcome == CLOSED) {
		if (self->evil.be >= 0)
			EXPECT_TRUE(closed_by_broker(&self->evil));
		want = self->fds_without_evil;
	} else {
		/* still served: a well-formed request gets its answer */
		EXPECT_EQ(ENOENT, do_unmap(&self->evil, 0, 0, PG));
		want = self->fds_with_evil;
	}
	EXPECT_TRUE(broker_alive(&self->b));
	EXPECT_EQ(want, broker_fds_settle(&self->b, want));
	EXPECT_EQ(0, do_read(&self->good, GOOD_GA + PG, 8, buf));
	EXPECT_EQ(0x5a, buf[0]);
	EXPECT_EQ(0, do_write(&self->good, GOOD_GA + 2 * PG, "ok", 2));
	EXPECT_EQ(0, do_unmap(&self->good, 0, 0, 16 * PG));
	EXPECT_EQ(0, do_map(&self->good, 0, self->mfd, 0, 0, 16 * PG, 1));
	EXPECT_EQ(0, broker_stop(&self->b));
}

TEST_HARNESS_MAIN
