// SPDX-License-Identifier: GPL-2.0
/*
 * Forwarding: back-end requests the broker does not serve go verbatim,
 * fds included, to the device's forward socket, and the VMM's replies come
 * back verbatim, fds included.  Without a forward socket, requests that
 * expect a reply are refused with EOPNOTSUPP; when the forward socket
 * closes, owed replies become EPIPE; stray frames from the VMM are dropped.
 */
#include "kselftest_harness.h"
#include "broker_util.h"

FIXTURE(fwd) {
	struct broker b;
	struct tdev d;		/* with a forward socket */
	struct tdev nofw;	/* without */
	struct vshm_chan *vmm;	/* the VMM's end of the forward socket */
	struct vshm_msg *m;
};

FIXTURE_SETUP(fwd)
{
	uint64_t size = 1 << 20;

	ASSERT_EQ(0, broker_start(&self->b, NULL));
	ASSERT_EQ(0, tdev_add_flags(&self->b, &self->d, &size, 1, true, 0));
	ASSERT_EQ(0, tdev_add(&self->b, &self->nofw, size, UINT64_MAX));
	ASSERT_EQ(0, vshm_chan_new(self->d.fw, VSHM_PROTO_BACKEND, 0, &self->vmm));
	self->m = calloc(1, sizeof(*self->m));
	ASSERT_NE(NULL, self->m);
}

FIXTURE_TEARDOWN(fwd)
{
	vshm_chan_free(self->vmm);
	tdev_close(&self->d);
	tdev_close(&self->nofw);
	free(self->m);
	broker_stop(&self->b);
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	       sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

/* Proves: a request with an fd (VRING_HOST_NOTIFIER_MSG) reaches the VMM byte for byte with its fd; the ACK comes back. */
TEST_F(fwd, request_with_fd_and_ack)
{
	uint8_t p[24];
	uint64_t v;
	int mfd = memfd_filled(PG, 1);

	memset(p, 0xab, sizeof(p));
	ASSERT_EQ(0, send_frame(self->d.be, VSHM_VU_BACKEND_VRING_HOST_NOTIFIER_MSG,
				VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, 24, p,
				24, &mfd, 1));
	ASSERT_EQ(0, vshm_chan_recv_wait(self->vmm, self->m, T_TIMEOUT_MS, NULL));
	EXPECT_EQ(VSHM_VU_BACKEND_VRING_HOST_NOTIFIER_MSG, self->m->hdr.request);
	EXPECT_EQ(VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, self->m->hdr.flags);
	EXPECT_EQ(24, self->m->hdr.size);
	EXPECT_EQ(0, memcmp(self->m->payload, p, 24));
	ASSERT_EQ(1, self->m->nfds);
	EXPECT_TRUE(same_file(mfd, self->m->fds[0]));
	vshm_msg_release(self->m);
	/* The VMM acknowledges with a failure code; it comes back as is. */
	vshm_encode_reply_u64(self->m, VSHM_VU_BACKEND_VRING_HOST_NOTIFIER_MSG, 7);
	ASSERT_EQ(0, vshm_chan_send(self->vmm, self->m, NULL));
	ASSERT_EQ(0, recv_msg(&self->d, self->m, T_TIMEOUT_MS));
	ASSERT_EQ(0, vshm_decode_reply_u64(self->m, VSHM_VU_BACKEND_VRING_HOST_NOTIFIER_MSG,
					   &v, NULL));
	EXPECT_EQ(7, v);
	close(mfd);
}

/* Proves: a reply carrying an fd (to a request vshm does not know) reaches the back-end with its fd. */
TEST_F(fwd, reply_with_fd)
{
	uint8_t p[16] = { 1, 2, 3 };
	uint64_t v;
	int mfd = memfd_filled(PG, 2);

	ASSERT_EQ(0, send_frame(self->d.be, 77, VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY,
				16, p, 16, NULL, 0));
	ASSERT_EQ(0, vshm_chan_recv_wait(self->vmm, self->m, T_TIMEOUT_MS, NULL));
	EXPECT_EQ(77, self->m->hdr.request);
	EXPECT_EQ(0, memcmp(self->m->payload, p, 16));
	vshm_msg_release(self->m);
	vshm_encode_reply_u64(self->m, 77, 0);
	vshm_msg_add_fd(self->m, mfd);
	ASSERT_EQ(0, vshm_chan_send(self->vmm, self->m, NULL));
	ASSERT_EQ(0, recv_msg(&self->d, self->m, T_TIMEOUT_MS));
	ASSERT_EQ(0, vshm_decode_reply_u64(self->m, 77, &v, NULL));
	EXPECT_EQ(0, v);
	ASSERT_EQ(1, self->m->nfds);
	EXPECT_TRUE(same_file(mfd, self->m->fds[0]));
	vshm_msg_release(self->m);
	close(mfd);
}

/* Proves: SHARED_OBJECT_* are served by the broker, never forwarded, even with a forward socket. */
TEST_F(fwd, shared_objects_not_forwarded)
{
	uint8_t uuid[16] = { 9, 9, 9 };

	ASSERT_EQ(0, send_frame(self->d.be, VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP,
				VSHM_HDR_VERSION, 16, uuid, 16, NULL, 0));
	EXPECT_EQ(ENOENT, recv_u64(&self->d, VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP));
	ASSERT_EQ(0, send_frame(self->d.be, VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE,
				VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, 16, uuid, 16,
				NULL, 0));
	EXPECT_EQ(ENOENT, recv_u64(&self->d, VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE));
	EXPECT_EQ(-ETIMEDOUT, vshm_chan_recv_wait(self->vmm, self->m, 100, NULL));
}

/* Proves: an unknown request number with a payload and two fds is forwarded verbatim; no reply is invented. */
TEST_F(fwd, unknown_request_verbatim)
{
	uint8_t payload[100];
	int fds[2] = { memfd_filled(PG, 3), memfd_filled(PG, 4) };
	int i;

	for (i = 0; i < 100; i++)
		payload[i] = i;
	ASSERT_EQ(0, send_frame(self->d.be, 77, VSHM_HDR_VERSION, 100, payload, 100,
				fds, 2));
	ASSERT_EQ(0, vshm_chan_recv_wait(self->vmm, self->m, T_TIMEOUT_MS, NULL));
	EXPECT_EQ(77, self->m->hdr.request);
	EXPECT_EQ(VSHM_HDR_VERSION, self->m->hdr.flags);
	ASSERT_EQ(100, self->m->hdr.size);
	EXPECT_EQ(0, memcmp(self->m->payload, payload, 100));
	ASSERT_EQ(2, self->m->nfds);
	EXPECT_TRUE(same_file(fds[0], self->m->fds[0]));
	EXPECT_TRUE(same_file(fds[1], self->m->fds[1]));
	vshm_msg_release(self->m);
	EXPECT_TRUE(quiet(&self->d, 100));
	close(fds[0]);
	close(fds[1]);
}

/* Proves: VRING_CALL etc. pass through in order, and replies are matched in order. */
TEST_F(fwd, ordering)
{
	uint64_t idx, v;
	int i;

	for (i = 0; i < 5; i++) {
		idx = i;
		ASSERT_EQ(0, send_frame(self->d.be, VSHM_VU_BACKEND_VRING_CALL,
					VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, 8,
					&idx, 8, NULL, 0));
	}
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, vshm_chan_recv_wait(self->vmm, self->m, T_TIMEOUT_MS, NULL));
		memcpy(&idx, self->m->payload, 8);
		EXPECT_EQ(i, idx);
	}
	for (i = 0; i < 5; i++) {
		vshm_encode_reply_u64(self->m, VSHM_VU_BACKEND_VRING_CALL, 100 + i);
		ASSERT_EQ(0, vshm_chan_send(self->vmm, self->m, NULL));
	}
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, recv_msg(&self->d, self->m, T_TIMEOUT_MS));
		ASSERT_EQ(0, vshm_decode_reply_u64(self->m, VSHM_VU_BACKEND_VRING_CALL,
						   &v, NULL));
		EXPECT_EQ(100 + i, v);
	}
}

/* Proves: without a forward socket a request expecting a reply gets EOPNOTSUPP; others are dropped. */
TEST_F(fwd, no_forward_socket)
{
	uint8_t uuid[16] = { 0 };
	uint64_t x = 0;

	ASSERT_EQ(0, send_frame(self->nofw.be, VSHM_VU_BACKEND_VRING_ERR,
				VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, 8, &x, 8,
				NULL, 0));
	EXPECT_EQ(EOPNOTSUPP, recv_u64(&self->nofw, VSHM_VU_BACKEND_VRING_ERR));
	ASSERT_EQ(0, send_frame(self->nofw.be, 77, VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY,
				16, uuid, 16, NULL, 0));
	EXPECT_EQ(EOPNOTSUPP, recv_u64(&self->nofw, 77));
	ASSERT_EQ(0, send_frame(self->nofw.be, VSHM_VU_BACKEND_CONFIG_CHANGE_MSG,
				VSHM_HDR_VERSION, 0, NULL, 0, NULL, 0));
	EXPECT_TRUE(quiet(&self->nofw, 100));
	EXPECT_TRUE(broker_alive(&self->b));
}

/* Proves: when the VMM closes the forward socket, owed replies become EPIPE and the device keeps working. */
TEST_F(fwd, forward_socket_closed)
{
	uint64_t x = 0;
	uint8_t buf[8];

	ASSERT_EQ(0, send_frame(self->d.be, VSHM_VU_BACKEND_VRING_ERR,
				VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, 8, &x, 8,
				NULL, 0));
	ASSERT_EQ(0, vshm_chan_recv_wait(self->vmm, self->m, T_TIMEOUT_MS, NULL));
	vshm_chan_free(self->vmm);
	self->vmm = NULL;
	close(self->d.fw);
	self->d.fw = -1;
	EXPECT_EQ(EPIPE, recv_u64(&self->d, VSHM_VU_BACKEND_VRING_ERR));
	ASSERT_EQ(0, send_frame(self->d.be, VSHM_VU_BACKEND_VRING_ERR,
				VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, 8, &x, 8,
				NULL, 0));
	EXPECT_EQ(EOPNOTSUPP, recv_u64(&self->d, VSHM_VU_BACKEND_VRING_ERR));
	EXPECT_EQ(EFAULT, do_read(&self->d, 0, 8, buf));
}

/* Proves: frames from the VMM that answer nothing are dropped (their fds closed), never relayed. */
TEST_F(fwd, stray_vmm_frames)
{
	int fds_before = broker_fds(&self->b);
	int mfd = memfd_filled(PG, 5);

	vshm_encode_reply_u64(self->m, VSHM_VU_BACKEND_VRING_CALL, 0);
	ASSERT_EQ(0, vshm_chan_send(self->vmm, self->m, NULL));
	vshm_encode_shared_object(self->m, VSHM_VU_BACKEND_SHARED_OBJECT_ADD,
				  (uint8_t[16]){ 0 }, mfd);
	ASSERT_EQ(0, vshm_chan_send(self->vmm, self->m, NULL));
	EXPECT_TRUE(quiet(&self->d, 200));
	EXPECT_EQ(fds_before, broker_fds_settle(&self->b, fds_before));
	EXPECT_TRUE(broker_alive(&self->b));
	close(mfd);
}

TEST_HARNESS_MAIN
