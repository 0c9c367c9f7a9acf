// SPDX-License-Identifier: GPL-2.0
/*
 * The event-loop client (vshm_client_submit / _dispatch / _events): many
 * requests in flight against a real vshmd complete in order and right;
 * blocking calls mix with them; frames that arrive or leave in pieces are
 * reassembled; when the broker goes away every request in flight
 * completes with a clear error; replies that do not match, the in-flight
 * limit and the broker's own requests are handled; and no fd leaks
 * (fixtures compare this process's fd count before and after).
 *
 * The "fake" fixture plays the broker itself over a socketpair, so that
 * it can split frames, attach fds to replies and send its own requests.
 */
#include "kselftest_harness.h"
#include "broker_util.h"

#define NREQ	200

/* What the completion callbacks saw, in the order they ran. */
struct log {
	unsigned int n;
	uint32_t request[VSHM_CLIENT_MAX_INFLIGHT + 8];
	int result[VSHM_CLIENT_MAX_INFLIGHT + 8];
	uintptr_t tag[VSHM_CLIENT_MAX_INFLIGHT + 8];
	uint64_t devices[VSHM_CLIENT_MAX_INFLIGHT + 8];
	int fd;			/* a reply fd the callback kept, or -1 */
};

static struct log *log_of;

static void record(struct vshm_client *c, struct vshm_client_done *d,
		   void *opaque)
{
	struct log *l = log_of;

	(void)c;
	if (l->n >= VSHM_CLIENT_MAX_INFLIGHT + 8)
		return;
	l->request[l->n] = d->request;
	l->result[l->n] = d->result;
	l->tag[l->n] = (uintptr_t)opaque;
	l->devices[l->n] = 0;
	if (!d->result && d->request == VSHM_CTL_GET_STATS &&
	    d->len == sizeof(struct vshm_ctl_stats)) {
		struct vshm_ctl_stats st;

		memcpy(&st, d->body, sizeof(st));
		l->devices[l->n] = st.devices;
	}
	if (!d->result && d->nfds && l->fd < 0) {
		l->fd = d->fds[0];
		d->fds[0] = -1;
	}
	l->n++;
}

/* Poll and dispatch until nothing is in flight; the last dispatch result. */
static int drive(struct vshm_client *c, int timeout_ms)
{
	return client_pump(c, timeout_ms, true, NULL);
}

static int submit_dev(struct vshm_client *c, uint32_t req, uint32_t dev_id,
		      uintptr_t tag)
{
	struct vshm_ctl_dev_ref ref = { .dev_id = dev_id };

	return vshm_client_submit(c, req, &ref, sizeof(ref), NULL, 0, record,
				  (void *)tag, NULL);
}

FIXTURE(real) {
	struct broker b;
	struct log log;
	int fds0;
};

FIXTURE_SETUP(real)
{
	self->fds0 = count_open_fds();
	memset(&self->log, 0, sizeof(self->log));
	self->log.fd = -1;
	log_of = &self->log;
	ASSERT_EQ(0, broker_start(&self->b, NULL));
}

FIXTURE_TEARDOWN(real)
{
	if (self->log.fd >= 0)
		close(self->log.fd);
	broker_stop(&self->b);
	EXPECT_EQ(self->fds0, count_open_fds());
}

/*
 * Proves: NREQ requests of mixed kinds (ADD_DEVICE carrying an fd,
 * GET_STATS, REMOVE_DEVICE of an unknown device) are in flight at once and
 * complete in submission order, each with its own result.
 */
TEST_F(real, many_in_flight)
{
	struct vshm_ctl_add_device add = { .nregions = 1 };
	uint8_t buf[sizeof(add) + 8];
	uint64_t size = 1 << 20;
	int sv[2], i, added = 0;

	memcpy(buf, &add, sizeof(add));
	memcpy(buf + sizeof(add), &size, 8);
	for (i = 0; i < NREQ; i++) {
		switch (i % 4) {
		case 0:
			ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
						0, sv));
			ASSERT_EQ(0, vshm_client_submit(self->b.c,
							VSHM_CTL_ADD_DEVICE, buf,
							sizeof(buf), &sv[1], 1,
							record, (void *)(uintptr_t)i,
							NULL));
			close(sv[0]);	/* the broker drops the device later */
			close(sv[1]);
			break;
		case 1:
		case 2:
			ASSERT_EQ(0, submit_dev(self->b.c, VSHM_CTL_GET_STATS,
						VSHM_CTL_ALL_DEVICES, i));
			break;
		case 3:
			ASSERT_EQ(0, submit_dev(self->b.c, VSHM_CTL_REMOVE_DEVICE,
						99999, i));
			break;
		}
	}
	EXPECT_EQ(NREQ, vshm_client_inflight(self->b.c));
	EXPECT_LE(0, drive(self->b.c, 10000));
	ASSERT_EQ(NREQ, self->log.n);
	for (i = 0; i < NREQ; i++) {
		EXPECT_EQ((uintptr_t)i, self->log.tag[i]);
		if (i % 4 == 0) {
			EXPECT_EQ(VSHM_CTL_ADD_DEVICE, self->log.request[i]);
			EXPECT_EQ(0, self->log.result[i]);
			added++;
		} else if (i % 4 == 3) {
			EXPECT_EQ(VSHM_CTL_REMOVE_DEVICE, self->log.request[i]);
			EXPECT_EQ(-ENOENT, self->log.result[i]);
		} else {
			EXPECT_EQ(0, self->log.result[i]);
			/* Never more devices than were added before it. */
			EXPECT_GE((uint64_t)added, self->log.devices[i]);
		}
	}
	EXPECT_EQ(0, vshm_client_inflight(self->b.c));
}

/*
 * Proves: a blocking call made while async requests are in flight
 * completes those first (their callbacks run, in order) and then returns
 * its own reply.
 */
TEST_F(real, blocking_after_async)
{
	struct vshm_ctl_stats st;
	int i;

	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, submit_dev(self->b.c, VSHM_CTL_GET_STATS,
					VSHM_CTL_ALL_DEVICES, i));
	ASSERT_EQ(0, vshm_client_stats(self->b.c, VSHM_CTL_ALL_DEVICES, &st,
				       NULL));
	EXPECT_EQ(10, self->log.n);
	EXPECT_EQ(0, vshm_client_inflight(self->b.c));
	for (i = 0; i < 10; i++)
		EXPECT_EQ((uintptr_t)i, self->log.tag[i]);
}

/*
 * Proves: when the broker dies with requests in flight, each completes,
 * oldest first, with -EPIPE; later submits and blocking
 * calls fail at once with it; no fd stays behind.
 */
TEST_F(real, broker_dies_mid_request)
{
	struct vshm_ctl_stats st;
	struct vshm_err err;
	int i, ret;

	kill(self->b.pid, SIGSTOP);
	for (i = 0; i < 20; i++)
		ASSERT_EQ(0, submit_dev(self->b.c, VSHM_CTL_GET_STATS,
					VSHM_CTL_ALL_DEVICES, i));
	kill(self->b.pid, SIGKILL);
	waitpid(self->b.pid, NULL, 0);
	self->b.pid = 0;
	ret = drive(self->b.c, 5000);
	/* The reset (requests left unread) is reported as EPIPE too. */
	EXPECT_EQ(-EPIPE, ret) {
		TH_LOG("dispatch returned %d", ret);
	}
	ASSERT_EQ(20, self->log.n);
	for (i = 0; i < 20; i++) {
		EXPECT_EQ((uintptr_t)i, self->log.tag[i]);
		EXPECT_EQ(ret, self->log.result[i]);
	}
	EXPECT_EQ(ret, submit_dev(self->b.c, VSHM_CTL_GET_STATS, 0, 0));
	EXPECT_EQ(ret, vshm_client_stats(self->b.c, VSHM_CTL_ALL_DEVICES, &st,
					 &err));
	EXPECT_EQ(ret, err.code);
	EXPECT_EQ(ret, vshm_client_dispatch(self->b.c, NULL));
}

/* Proves: the in-flight limit is VSHM_CLIENT_MAX_INFLIGHT (then -EBUSY). */
TEST_F(real, inflight_limit)
{
	unsigned int i;

	kill(self->b.pid, SIGSTOP);
	for (i = 0; i < VSHM_CLIENT_MAX_INFLIGHT; i++)
		ASSERT_EQ(0, submit_dev(self->b.c, VSHM_CTL_GET_STATS, 0, i));
	EXPECT_EQ(-EBUSY, submit_dev(self->b.c, VSHM_CTL_GET_STATS, 0, i));
	kill(self->b.pid, SIGCONT);
	EXPECT_LE(0, drive(self->b.c, 10000));
	EXPECT_EQ(VSHM_CLIENT_MAX_INFLIGHT, self->log.n);
	EXPECT_EQ(0, submit_dev(self->b.c, VSHM_CTL_GET_STATS, 0, 0));
	EXPECT_LE(0, drive(self->b.c, 5000));
}

/* A broker played by the test over a socketpair. */
FIXTURE(fake) {
	int peer;		/* the broker's end */
	struct vshm_chan *pch;
	struct vshm_client *c;
	struct vshm_msg *m;
	struct log log;
	int fds0;
};

static int send_reply(int fd, struct vshm_msg *m, uint32_t req, uint32_t error,
		      const void *body, size_t len, const int *fds,
		      unsigned int nfds)
{
	size_t flen;
	const void *frame;
	struct iovec iov;

	if (vshm_ctl_encode_reply(m, req, error, body, len, fds, nfds))
		return -1;
	frame = vshm_msg_frame(m, &flen);
	iov.iov_base = (void *)frame;
	iov.iov_len = flen;
	return send_with_fds(fd, &iov, 1, m->fds, m->nfds);
}

FIXTURE_SETUP(fake)
{
	struct vshm_ctl_hello h = { .version = VSHM_CTL_VERSION };
	int sv[2];

	self->fds0 = count_open_fds();
	memset(&self->log, 0, sizeof(self->log));
	self->log.fd = -1;
	log_of = &self->log;
	self->m = malloc(sizeof(*self->m));
	ASSERT_NE(NULL, self->m);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	self->peer = sv[0];
	/* The HELLO reply waits in the socket before the client asks. */
	ASSERT_EQ(0, send_reply(self->peer, self->m, VSHM_CTL_HELLO, 0, &h,
				sizeof(h), NULL, 0));
	ASSERT_EQ(0, vshm_client_from_fd(sv[1], 2000, &self->c, NULL));
	ASSERT_EQ(0, vshm_chan_new(self->peer, VSHM_PROTO_CONTROL, 0, &self->pch));
	ASSERT_EQ(0, vshm_chan_recv_wait(self->pch, self->m, 2000, NULL));
	EXPECT_EQ(VSHM_CTL_HELLO, self->m->hdr.request);
}

FIXTURE_TEARDOWN(fake)
{
	if (self->log.fd >= 0)
		close(self->log.fd);
	vshm_client_close(self->c);
	vshm_chan_free(self->pch);
	close(self->peer);
	free(self->m);
	EXPECT_EQ(self->fds0, count_open_fds());
}

/* Read one request on the broker's side; its request number or -1. */
static int peer_recv(struct vshm_chan *ch, struct vshm_msg *m)
{
	if (vshm_chan_recv_wait(ch, m, 2000, NULL))
		return -1;
	vshm_msg_release(m);
	return (int)m->hdr.request;
}

/*
 * Proves: a reply that arrives one byte at a time completes only once
 * whole; its fd reaches the callback, which may keep it (the library
 * closes the fds it does not take).
 */
TEST_F(fake, reply_in_pieces_with_fds)
{
	struct vshm_ctl_region reg = { .size = 1 << 20, .shmid = 0 };
	struct vshm_ctl_region_ref ref = { 0 };
	const uint8_t *frame;
	size_t flen, i;
	int mfd, sfd;

	ASSERT_EQ(0, vshm_client_submit(self->c, VSHM_CTL_GET_REGION, &ref,
					sizeof(ref), NULL, 0, record, NULL, NULL));
	ASSERT_EQ(0, vshm_client_submit(self->c, VSHM_CTL_GET_REGION, &ref,
					sizeof(ref), NULL, 0, record, NULL, NULL));
	EXPECT_EQ(0, vshm_client_dispatch(self->c, NULL));
	EXPECT_EQ(VSHM_CTL_GET_REGION, peer_recv(self->pch, self->m));
	EXPECT_EQ(VSHM_CTL_GET_REGION, peer_recv(self->pch, self->m));
	mfd = memfd_create("r", MFD_CLOEXEC);
	ASSERT_GE(mfd, 0);
	ASSERT_EQ(0, vshm_ctl_encode_reply(self->m, VSHM_CTL_GET_REGION, 0, &reg,
					   sizeof(reg), &mfd, 1));
	frame = vshm_msg_frame(self->m, &flen);
	for (i = 0; i < flen; i++) {
		struct iovec iov = { (void *)(frame + i), 1 };

		ASSERT_EQ(0, send_with_fds(self->peer, &iov, 1, &mfd, i == 0));
		EXPECT_EQ(i + 1 == flen ? 1 : 0,
			  vshm_client_dispatch(self->c, NULL));
	}
	/* The second reply also has an fd, which nobody takes. */
	ASSERT_EQ(0, send_reply(self->peer, self->m, VSHM_CTL_GET_REGION, 0, &reg,
				sizeof(reg), &mfd, 1));
	close(mfd);
	EXPECT_LE(0, drive(self->c, 2000));
	ASSERT_EQ(2, self->log.n);
	EXPECT_EQ(0, self->log.result[0]);
	EXPECT_EQ(0, self->log.result[1]);
	ASSERT_GE(self->log.fd, 0);
	sfd = self->log.fd;
	EXPECT_EQ(0, ftruncate(sfd, 4096));
}

/* Ranges (and duplicated fds) per queued request: 40 of them stay under RLIMIT_NOFILE. */
#define NRANGES	16

/*
 * Proves: requests larger than the socket takes at once are queued and go
 * out whole, in order, as the peer reads (POLLOUT is asked for meanwhile).
 */
TEST_F(fake, partial_writes)
{
	struct vshm_ctl_ram_range r[NRANGES];
	struct vshm_ctl_mem_table hdr = { .nranges = NRANGES };
	uint8_t buf[sizeof(hdr) + sizeof(r)];
	int fds[NRANGES], sndbuf = 4096, i, got = 0, mfd;
	bool saw_pollout = false;

	ASSERT_EQ(0, setsockopt(vshm_client_fd(self->c), SOL_SOCKET, SO_SNDBUF,
				&sndbuf, sizeof(sndbuf)));
	mfd = memfd_create("ram", MFD_CLOEXEC);
	ASSERT_GE(mfd, 0);
	for (i = 0; i < NRANGES; i++) {
		r[i] = (struct vshm_ctl_ram_range){
			.guest_addr = (uint64_t)i << 32, .size = 4096,
		};
		fds[i] = mfd;
	}
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), r, sizeof(r));
	for (i = 0; i < 40; i++) {
		ASSERT_EQ(0, vshm_client_submit(self->c, VSHM_CTL_SET_MEM_TABLE,
						buf, sizeof(buf), fds,
						NRANGES, record,
						(void *)(uintptr_t)i, NULL));
		if (vshm_client_events(self->c) & POLLOUT)
			saw_pollout = true;
	}
	close(mfd);
	EXPECT_TRUE(saw_pollout);
	for (i = 0; got < 40 && i < 20000; i++) {
		int ret;

		EXPECT_LE(0, vshm_client_dispatch(self->c, NULL));
		ret = vshm_chan_recv(self->pch, self->m, NULL);
		if (ret == -EAGAIN) {
			usleep(100);
			continue;
		}
		ASSERT_EQ(0, ret);
		EXPECT_EQ(VSHM_CTL_SET_MEM_TABLE, self->m->hdr.request);
		EXPECT_EQ(NRANGES, self->m->nfds);
		EXPECT_EQ(0, memcmp(self->m->payload, buf, sizeof(buf)));
		vshm_msg_release(self->m);
		ASSERT_EQ(0, send_reply(self->peer, self->m, VSHM_CTL_SET_MEM_TABLE,
					0, NULL, 0, NULL, 0));
		got++;
	}
	EXPECT_EQ(40, got);
	EXPECT_LE(0, drive(self->c, 2000));
	EXPECT_EQ(40, self->log.n);
}

/*
 * Proves: a broker that closes mid-reply completes the request it was
 * answering and every later one with -VSHM_ETRUNC.
 */
TEST_F(fake, closed_mid_frame)
{
	struct vshm_ctl_stats st = { 0 };
	const uint8_t *frame;
	size_t flen;
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, submit_dev(self->c, VSHM_CTL_GET_STATS, 0, i));
	EXPECT_EQ(0, vshm_client_dispatch(self->c, NULL));
	ASSERT_EQ(0, vshm_ctl_encode_reply(self->m, VSHM_CTL_GET_STATS, 0, &st,
					   sizeof(st), NULL, 0));
	frame = vshm_msg_frame(self->m, &flen);
	ASSERT_EQ((ssize_t)flen, write(self->peer, frame, flen));
	ASSERT_EQ(20, write(self->peer, frame, 20));
	shutdown(self->peer, SHUT_RDWR);
	EXPECT_EQ(-VSHM_ETRUNC, drive(self->c, 2000));
	ASSERT_EQ(3, self->log.n);
	EXPECT_EQ(0, self->log.result[0]);
	EXPECT_EQ(-VSHM_ETRUNC, self->log.result[1]);
	EXPECT_EQ(-VSHM_ETRUNC, self->log.result[2]);
}

/*
 * Proves: a reply to another request than the oldest in flight ends the
 * connection (-VSHM_EREPLY for everything in flight), as does a reply
 * with nothing in flight.
 */
TEST_F(fake, mismatched_reply)
{
	ASSERT_EQ(0, submit_dev(self->c, VSHM_CTL_GET_STATS, 0, 1));
	ASSERT_EQ(0, submit_dev(self->c, VSHM_CTL_RESET_DEVICE, 0, 2));
	ASSERT_EQ(0, send_reply(self->peer, self->m, VSHM_CTL_RESET_DEVICE, 0,
				NULL, 0, NULL, 0));
	EXPECT_EQ(-VSHM_EREPLY, drive(self->c, 2000));
	ASSERT_EQ(2, self->log.n);
	EXPECT_EQ(-VSHM_EREPLY, self->log.result[0]);
	EXPECT_EQ(-VSHM_EREPLY, self->log.result[1]);
}

struct handler_seen {
	uint32_t request;
	int fd;
	unsigned int calls;
	int blocking_ret;
};

static void on_request(struct vshm_client *c, struct vshm_msg *msg, void *opaque)
{
	struct handler_seen *h = opaque;
	struct vshm_ctl_stats st;

	h->calls++;
	h->request = msg->hdr.request;
	h->fd = vshm_msg_take_fd(msg, 0);
	/* Blocking calls are refused here; answering is not. */
	h->blocking_ret = vshm_client_stats(c, 0, &st, NULL);
	vshm_client_answer(c, msg->hdr.request, 0, NULL, 0, NULL, 0, NULL);
}

/*
 * Proves: a request the broker sends on its own is answered ENOSYS when
 * no handler is set, and reaches the handler (with its fds) when one is;
 * requests in flight are unaffected.  SET_MEM_TABLE stands in for a
 * broker request: only the direction (REPLY flag clear) matters here.
 */
TEST_F(fake, broker_requests)
{
	struct vshm_ctl_mem_table hdr = { .nranges = 0 };
	struct handler_seen seen = { .fd = -1 };
	uint32_t status;
	const void *body;
	size_t len;

	ASSERT_EQ(0, vshm_ctl_encode_request(self->m, VSHM_CTL_SET_MEM_TABLE, &hdr,
					     sizeof(hdr), NULL, 0));
	ASSERT_EQ(0, vshm_chan_send(self->pch, self->m, NULL));
	EXPECT_EQ(0, vshm_client_dispatch(self->c, NULL));
	ASSERT_EQ(0, vshm_chan_recv_wait(self->pch, self->m, 2000, NULL));
	ASSERT_EQ(0, vshm_ctl_decode_reply(self->m, VSHM_CTL_SET_MEM_TABLE,
					   &status, &body, &len, NULL));
	EXPECT_EQ(ENOSYS, status);

	vshm_client_set_handler(self->c, on_request, &seen);
	ASSERT_EQ(0, submit_dev(self->c, VSHM_CTL_GET_STATS, 0, 7));
	{
		struct vshm_ctl_ram_range r = { .guest_addr = 0, .size = 4096 };
		uint8_t buf[sizeof(hdr) + sizeof(r)];
		int mfd = memfd_create("x", MFD_CLOEXEC);

		ASSERT_GE(mfd, 0);
		hdr.nranges = 1;
		memcpy(buf, &hdr, sizeof(hdr));
		memcpy(buf + sizeof(hdr), &r, sizeof(r));
		ASSERT_EQ(0, vshm_ctl_encode_request(self->m, VSHM_CTL_SET_MEM_TABLE,
						     buf, sizeof(buf), &mfd, 1));
		ASSERT_EQ(0, vshm_chan_send(self->pch, self->m, NULL));
		close(mfd);
	}
	EXPECT_EQ(0, vshm_client_dispatch(self->c, NULL));
	EXPECT_EQ(1, seen.calls);
	EXPECT_EQ(-EDEADLK, seen.blocking_ret);
	EXPECT_EQ(VSHM_CTL_SET_MEM_TABLE, seen.request);
	EXPECT_GE(seen.fd, 0);
	if (seen.fd >= 0)
		close(seen.fd);
	EXPECT_EQ(VSHM_CTL_GET_STATS, peer_recv(self->pch, self->m));
	ASSERT_EQ(0, vshm_chan_recv_wait(self->pch, self->m, 2000, NULL));
	EXPECT_EQ(VSHM_CTL_SET_MEM_TABLE, self->m->hdr.request);
	EXPECT_TRUE(self->m->hdr.flags & VSHM_HDR_REPLY);
	EXPECT_EQ(1, vshm_client_inflight(self->c));
}

/*
 * Proves: a blocking call that times out leaves the connection usable: its
 * reply, when it comes late, is dropped instead of being taken as the
 * answer to the next call (which would fail with -VSHM_EREPLY).
 */
TEST_F(fake, late_reply_after_timeout)
{
	struct vshm_ctl_stats st = { .devices = 3 }, got;

	EXPECT_EQ(-ETIMEDOUT, vshm_client_reset_device(self->c, 1, NULL));
	EXPECT_EQ(VSHM_CTL_RESET_DEVICE, peer_recv(self->pch, self->m));
	ASSERT_EQ(0, send_reply(self->peer, self->m, VSHM_CTL_RESET_DEVICE, 0,
				NULL, 0, NULL, 0));
	ASSERT_EQ(0, send_reply(self->peer, self->m, VSHM_CTL_GET_STATS, 0, &st,
				sizeof(st), NULL, 0));
	ASSERT_EQ(0, vshm_client_stats(self->c, 0, &got, NULL));
	EXPECT_EQ(3, got.devices);
	EXPECT_EQ(0, vshm_client_inflight(self->c));
}

TEST_HARNESS_MAIN
