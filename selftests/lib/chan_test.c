// SPDX-License-Identifier: GPL-2.0
/*
 * libvshm channels: whole frames over a non-blocking stream socket with
 * partial reads and writes, SCM_RIGHTS fds, end of stream, and the fd
 * accounting of every failure.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>

#include "kselftest_harness.h"
#include "test_util.h"

FIXTURE(chan) {
	int sv[2];
	struct vshm_chan *rx, *tx;
	struct vshm_msg *m, *out;
	struct vshm_err err;
	int fds0;
};

FIXTURE_SETUP(chan)
{
	self->fds0 = count_open_fds();
	ASSERT_EQ(0, chan_pair(VSHM_PROTO_BACKEND, SOCK_NONBLOCK, 0, self->sv,
			       &self->rx, &self->tx));
	self->m = new_msg();
	self->out = new_msg();
	ASSERT_NE(NULL, self->m);
	ASSERT_NE(NULL, self->out);
	memset(&self->err, 0, sizeof(self->err));
}

FIXTURE_TEARDOWN(chan)
{
	vshm_chan_free(self->rx);
	vshm_chan_free(self->tx);
	if (self->sv[0] >= 0)
		close(self->sv[0]);
	if (self->sv[1] >= 0)
		close(self->sv[1]);
	free(self->m);
	free(self->out);
}

/* sendmsg len bytes with nfds fds on the first byte; len, or -1. */
static ssize_t raw_send(int sock, const void *buf, size_t len, const int *fds,
			unsigned int nfds)
{
	struct iovec iov = { (void *)buf, len };

	return send_with_fds(sock, &iov, 1, fds, nfds) ? -1 : (ssize_t)len;
}

static void fill_mmap(struct vshm_vu_mmap *m)
{
	memset(m, 0, sizeof(*m));
	m->shmid = 3;
	m->shm_offset = 4096;
	m->len = 8192;
	m->flags = 1;
}

/*
 * Encode fill_mmap()'s request in self->m as SHMEM_MAP carrying @fd (@map)
 * or as SHMEM_UNMAP, and send its first @n bytes (0: all) raw, with @fd
 * attached to the first byte whatever the request; @fd -1: a new memfd,
 * closed once sent.  0 if all went out.
 */
static int send_mmap_raw(FIXTURE_DATA(chan) *self, bool map, int fd, size_t n)
{
	int own = fd < 0 ? memfd_filled(4096, 0) : -1, ret = -1;
	struct vshm_vu_mmap mm;
	const uint8_t *f;
	size_t len;

	if (fd < 0)
		fd = own;
	fill_mmap(&mm);
	if (fd >= 0 && !(map ? vshm_encode_shmem_map(self->m, &mm, fd, false) :
			 vshm_encode_shmem_unmap(self->m, &mm, false))) {
		f = vshm_msg_frame(self->m, &len);
		if (n == 0 || n > len)
			n = len;
		ret = raw_send(self->sv[1], f, n, &fd, 1) == (ssize_t)n ? 0 : -1;
	}
	if (own >= 0)
		close(own);
	return ret;
}

/* Proves a frame arriving one byte at a time, its fd on the first byte, is returned whole once complete. */
TEST_F(chan, partial_reads)
{
	struct vshm_vu_mmap mm, got;
	int fd = memfd_filled(4096, 0);
	const uint8_t *f;
	size_t len, i;

	ASSERT_GE(fd, 0);
	fill_mmap(&mm);
	ASSERT_EQ(0, vshm_encode_shmem_map(self->m, &mm, fd, true));
	f = vshm_msg_frame(self->m, &len);
	for (i = 0; i < len; i++) {
		EXPECT_EQ(-EAGAIN, vshm_chan_recv(self->rx, self->out, &self->err));
		ASSERT_EQ(1, raw_send(self->sv[1], f + i, 1, &fd, i == 0));
	}
	ASSERT_EQ(0, vshm_chan_recv(self->rx, self->out, &self->err));
	ASSERT_EQ(0, vshm_decode_mmap(self->out, &got, &self->err));
	EXPECT_EQ(0, memcmp(&mm, &got, sizeof(mm)));
	EXPECT_EQ(1, self->out->nfds);
	vshm_msg_release(self->out);
	close(fd);
	EXPECT_EQ(-EAGAIN, vshm_chan_recv(self->rx, self->out, &self->err));
	EXPECT_EQ(self->fds0 + 2, count_open_fds());
}

/* Proves two back-to-back frames with one fd each are received separately, each with its own fd. */
TEST_F(chan, fds_stay_with_their_frame)
{
	struct vshm_vu_mmap mm;
	int a = memfd_filled(4096, 0), b = memfd_filled(8192, 0), fa, fb;
	struct stat sa, sb;

	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	fill_mmap(&mm);
	ASSERT_EQ(0, vshm_encode_shmem_map(self->m, &mm, a, false));
	ASSERT_EQ(0, vshm_chan_send(self->tx, self->m, &self->err));
	ASSERT_EQ(0, vshm_encode_shmem_map(self->m, &mm, b, false));
	ASSERT_EQ(0, vshm_chan_send(self->tx, self->m, &self->err));
	close(a);
	close(b);
	ASSERT_EQ(0, vshm_chan_recv(self->rx, self->out, &self->err));
	ASSERT_EQ(1, self->out->nfds);
	fa = vshm_msg_take_fd(self->out, 0);
	ASSERT_EQ(0, vshm_chan_recv(self->rx, self->out, &self->err));
	ASSERT_EQ(1, self->out->nfds);
	fb = vshm_msg_take_fd(self->out, 0);
	ASSERT_EQ(0, fstat(fa, &sa));
	ASSERT_EQ(0, fstat(fb, &sb));
	EXPECT_EQ(4096, sa.st_size);
	EXPECT_EQ(8192, sb.st_size);
	close(fa);
	close(fb);
	EXPECT_EQ(self->fds0 + 2, count_open_fds());
}

/* Proves output the socket cannot take is queued (fds duplicated) and arrives intact and in order after flushing. */
TEST_F(chan, partial_writes_and_queue)
{
	static uint8_t data[VSHM_MEM_DATA_MAX];
	struct vshm_vu_mem_access a;
	struct vshm_vu_mmap mm, got;
	int sz = 4096, fd = memfd_filled(4096, 0), i, n = 0, got_map = 0;
	struct pollfd p;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, setsockopt(self->sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)));
	for (i = 0; i < (int)sizeof(data); i++)
		data[i] = i;
	/* fill the socket until output queues */
	while (vshm_chan_pending(self->tx) == 0) {
		ASSERT_EQ(0, vshm_encode_mem_write(self->m, n, data, sizeof(data), false));
		ASSERT_EQ(0, vshm_chan_send(self->tx, self->m, &self->err));
		n++;
		ASSERT_LT(n, 1000);
	}
	/* a queued message with an fd: the caller may close its fd at once */
	fill_mmap(&mm);
	ASSERT_EQ(0, vshm_encode_shmem_map(self->m, &mm, fd, false));
	ASSERT_EQ(0, vshm_chan_send(self->tx, self->m, &self->err));
	close(fd);
	EXPECT_EQ(-EAGAIN, vshm_chan_flush(self->tx));

	for (i = 0; i < n + 1;) {
		int r = vshm_chan_recv(self->rx, self->out, &self->err);

		if (r == -EAGAIN) {
			r = vshm_chan_flush(self->tx);
			ASSERT_TRUE(r == 0 || r == -EAGAIN);
			p = (struct pollfd){ .fd = self->sv[0], .events = POLLIN };
			poll(&p, 1, 100);
			continue;
		}
		ASSERT_EQ(0, r) TH_LOG("%s", self->err.msg);
		if (i < n) {
			ASSERT_EQ(0, vshm_decode_mem_access(self->out, &a, &self->err));
			EXPECT_EQ(i, a.guest_address);
			EXPECT_EQ(0, memcmp(a.data, data, sizeof(data)));
		} else {
			ASSERT_EQ(0, vshm_decode_mmap(self->out, &got, &self->err));
			EXPECT_EQ(1, self->out->nfds);
			got_map = 1;
		}
		vshm_msg_release(self->out);
		i++;
	}
	EXPECT_EQ(1, got_map);
	EXPECT_EQ(0, vshm_chan_pending(self->tx));
	EXPECT_EQ(self->fds0 + 2, count_open_fds());
}

/* Proves a peer closing between frames gives -EPIPE, mid-frame -VSHM_ETRUNC, and fds of the cut frame are closed. */
TEST_F(chan, end_of_stream)
{
	ASSERT_EQ(0, send_mmap_raw(self, true, -1, 20));
	EXPECT_EQ(-EAGAIN, vshm_chan_recv(self->rx, self->out, &self->err));
	close(self->sv[1]);
	self->sv[1] = -1;
	EXPECT_EQ(-VSHM_ETRUNC, vshm_chan_recv(self->rx, self->out, &self->err));
	TH_LOG("%s", self->err.msg);
	/* the channel stays broken */
	EXPECT_EQ(-VSHM_ETRUNC, vshm_chan_recv(self->rx, self->out, &self->err));
	EXPECT_EQ(self->fds0 + 1, count_open_fds());
}

/* Proves a clean close between frames is -EPIPE. */
TEST_F(chan, clean_close)
{
	close(self->sv[1]);
	self->sv[1] = -1;
	EXPECT_EQ(-EPIPE, vshm_chan_recv(self->rx, self->out, &self->err));
}

/* Proves a bad header breaks the channel (same code afterwards) and closes the fds that came with it. */
TEST_F(chan, bad_header_breaks_channel)
{
	struct vshm_hdr h = { 9, 0x2, 40 };
	int fd = memfd_filled(4096, 0);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(12, raw_send(self->sv[1], &h, 12, &fd, 1));
	close(fd);
	EXPECT_EQ(-VSHM_EVERSION, vshm_chan_recv(self->rx, self->out, &self->err));
	EXPECT_EQ(-VSHM_EVERSION, vshm_chan_broken(self->rx));
	EXPECT_EQ(-VSHM_EVERSION, vshm_chan_recv(self->rx, self->out, &self->err));
	EXPECT_EQ(self->fds0 + 2, count_open_fds());
}

/*
 * Proves an oversized frame is refused at its header with VSHM_EFRAMESIZE,
 * before any payload is read; the channel is then broken (vshm_chan_broken()
 * says so) and msg is left untouched.
 */
TEST_F(chan, oversized_header)
{
	struct vshm_hdr h = { 12, 0x1, VSHM_PAYLOAD_MAX + 1 };

	EXPECT_EQ(0, vshm_chan_broken(self->rx));
	ASSERT_EQ(12, raw_send(self->sv[1], &h, 12, NULL, 0));
	self->out->hdr = (struct vshm_hdr){ 0xdead, 0xbeef, 0xcafe };
	EXPECT_EQ(-VSHM_EFRAMESIZE, vshm_chan_recv(self->rx, self->out, &self->err));
	TH_LOG("%s", self->err.msg);
	EXPECT_EQ(-VSHM_EFRAMESIZE, vshm_chan_broken(self->rx));
	EXPECT_EQ(0xdead, self->out->hdr.request);
	EXPECT_EQ(0xcafe, self->out->hdr.size);
	EXPECT_EQ(-VSHM_EFRAMESIZE, vshm_chan_recv(self->rx, self->out, &self->err));
}

/*
 * Proves a MEM_READ asking for more than the data cap is VSHM_EDATASIZE on a
 * whole frame: the channel stays usable, msg->hdr names the frame, and the
 * next frame is received.
 */
TEST_F(chan, data_size_keeps_channel)
{
	uint8_t p[12] = { 0 };
	uint32_t big = VSHM_MEM_DATA_MAX + 1;
	struct vshm_hdr h = { VSHM_VU_BACKEND_MEM_READ, 0x1, 12 };
	uint8_t frame[24];

	memcpy(p + 8, &big, 4);
	memcpy(frame, &h, 12);
	memcpy(frame + 12, p, 12);
	ASSERT_EQ(24, raw_send(self->sv[1], frame, 24, NULL, 0));
	EXPECT_EQ(-VSHM_EDATASIZE, vshm_chan_recv(self->rx, self->out, &self->err));
	TH_LOG("%s", self->err.msg);
	EXPECT_EQ(0, vshm_chan_broken(self->rx));
	EXPECT_EQ(VSHM_VU_BACKEND_MEM_READ, self->out->hdr.request);
	EXPECT_EQ(12, self->out->hdr.size);
	EXPECT_EQ(0, self->out->nfds);
	ASSERT_EQ(0, vshm_encode_mem_read(self->m, 0x1000, 16));
	ASSERT_EQ(0, vshm_chan_send(self->tx, self->m, &self->err));
	EXPECT_EQ(0, vshm_chan_recv(self->rx, self->out, &self->err));
	EXPECT_EQ(0, vshm_chan_broken(self->rx));
}

/* Proves end of stream breaks the channel: -EPIPE from recv and from vshm_chan_broken(), msg untouched. */
TEST_F(chan, eof_is_broken)
{
	close(self->sv[1]);
	self->sv[1] = -1;
	self->out->hdr.request = 0xdead;
	EXPECT_EQ(-EPIPE, vshm_chan_recv(self->rx, self->out, &self->err));
	EXPECT_EQ(-EPIPE, vshm_chan_broken(self->rx));
	EXPECT_EQ(0xdead, self->out->hdr.request);
}

/* Proves a whole but invalid frame is rejected, its fd closed, and the next frame is still received. */
TEST_F(chan, invalid_frame_keeps_channel)
{
	ASSERT_EQ(0, send_mmap_raw(self, false, -1, 0));
	EXPECT_EQ(-VSHM_EFDEXTRA, vshm_chan_recv(self->rx, self->out, &self->err));
	EXPECT_EQ(0, vshm_chan_broken(self->rx));
	EXPECT_EQ(VSHM_VU_BACKEND_SHMEM_UNMAP, self->out->hdr.request);
	EXPECT_EQ(0, self->out->nfds);
	EXPECT_EQ(self->fds0 + 2, count_open_fds());
	ASSERT_EQ(0, vshm_chan_send(self->tx, self->m, &self->err));
	EXPECT_EQ(0, vshm_chan_recv(self->rx, self->out, &self->err));
}

/* Proves more fds than VSHM_MAX_FDS on one frame is VSHM_EFDEXTRA with every fd closed. */
TEST_F(chan, too_many_fds)
{
	struct vshm_hdr h = { 99, 0x1, 0 };
	int fds[VSHM_MAX_FDS + 8];
	unsigned int i;

	for (i = 0; i < VSHM_MAX_FDS + 8; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_EQ(12, raw_send(self->sv[1], &h, 12, fds, VSHM_MAX_FDS + 8));
	for (i = 0; i < VSHM_MAX_FDS + 8; i++)
		close(fds[i]);
	EXPECT_EQ(-VSHM_EFDEXTRA, vshm_chan_recv(self->rx, self->out, &self->err));
	EXPECT_EQ(self->fds0 + 2, count_open_fds());
}

/* A closer that keeps the fds it is given, to check them. */
struct kept_fds {
	int fds[VSHM_MAX_FDS + 8];
	unsigned int n;
};

static void keep_fd(void *arg, int fd)
{
	struct kept_fds *k = arg;

	if (k->n < VSHM_MAX_FDS + 8)
		k->fds[k->n++] = fd;
	else
		close(fd);
}

/*
 * Proves the fds a channel drops on its own (a frame that must not carry
 * one; queued duplicates once sent) reach the closer set with
 * vshm_chan_set_closer() instead of close(), and that
 * vshm_chan_pending_fds() counts the queued duplicates.
 */
TEST_F(chan, closer_gets_dropped_fds)
{
	static uint8_t data[VSHM_MEM_DATA_MAX];
	struct kept_fds rxk = { .n = 0 }, txk = { .n = 0 };
	struct vshm_vu_mmap mm;
	int fd = memfd_filled(4096, 0), sz = 4096, n = 0, r;
	struct stat a, b;
	unsigned int i;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vshm_chan_set_closer(self->rx, keep_fd, &rxk));
	ASSERT_EQ(0, vshm_chan_set_closer(self->tx, keep_fd, &txk));
	ASSERT_EQ(0, send_mmap_raw(self, false, fd, 0));
	EXPECT_EQ(-VSHM_EFDEXTRA, vshm_chan_recv(self->rx, self->out, &self->err));
	ASSERT_EQ(1u, rxk.n);
	ASSERT_EQ(0, fstat(fd, &a));
	ASSERT_EQ(0, fstat(rxk.fds[0], &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	close(rxk.fds[0]);

	/* Queue a frame with fd behind a full socket: one duplicate held. */
	ASSERT_EQ(0, setsockopt(self->sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)));
	while (vshm_chan_pending(self->tx) == 0) {
		ASSERT_EQ(0, vshm_encode_mem_write(self->m, n, data, sizeof(data), false));
		ASSERT_EQ(0, vshm_chan_send(self->tx, self->m, &self->err));
		ASSERT_LT(++n, 1000);
	}
	EXPECT_EQ(0u, vshm_chan_pending_fds(self->tx));
	fill_mmap(&mm);
	ASSERT_EQ(0, vshm_encode_shmem_map(self->m, &mm, fd, false));
	ASSERT_EQ(0, vshm_chan_send(self->tx, self->m, &self->err));
	EXPECT_EQ(1u, vshm_chan_pending_fds(self->tx));
	for (i = 0; i < 2000 && vshm_chan_pending(self->tx); i++) {
		r = vshm_chan_recv(self->rx, self->out, &self->err);
		if (r == 0)
			vshm_msg_release(self->out);
		vshm_chan_flush(self->tx);
	}
	EXPECT_EQ(0u, vshm_chan_pending_fds(self->tx));
	/* The sent duplicate went to the closer, not close(). */
	ASSERT_EQ(1u, txk.n);
	EXPECT_EQ(0, fcntl(txk.fds[0], F_GETFD) < 0);
	close(txk.fds[0]);
	close(fd);
	while (vshm_chan_recv(self->rx, self->out, &self->err) == 0)
		vshm_msg_release(self->out);
	EXPECT_EQ(0, vshm_chan_set_closer(self->rx, NULL, NULL));
	EXPECT_EQ(-EINVAL, vshm_chan_set_closer(NULL, keep_fd, &rxk));
	EXPECT_EQ(self->fds0 + 2, count_open_fds());
}

/* Proves recv_wait times out with -ETIMEDOUT when nothing arrives. */
TEST_F(chan, recv_timeout)
{
	EXPECT_EQ(-ETIMEDOUT, vshm_chan_recv_wait(self->rx, self->out, 50, &self->err));
}

TEST_HARNESS_MAIN
