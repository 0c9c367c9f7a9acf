// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The client's connection engine: requests in flight, matched to replies
 * in order, and the broker's own requests.  Everything here is
 * non-blocking; the blocking calls in client.c submit a request and wait
 * for it through the same path, so both ways can be mixed on one
 * connection.
 *
 * The control protocol answers requests in the order they were sent, so
 * the requests in flight form a FIFO ring: a reply completes the oldest.
 * A reply that names another request, or one that comes with nothing in
 * flight, desynchronises the stream and ends the connection.  When the
 * connection ends (the broker closed it, mid-frame or not, or a socket
 * error) every request in flight completes with that code, oldest first.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client_internal.h"

int vshm_client_fd(const struct vshm_client *c)
{
	return vshm_chan_fd(c->ch);
}

short vshm_client_events(const struct vshm_client *c)
{
	return POLLIN | (vshm_chan_pending(c->ch) ? POLLOUT : 0);
}

unsigned int vshm_client_inflight(const struct vshm_client *c)
{
	return c->count;
}

void vshm_client_set_handler(struct vshm_client *c, vshm_client_request_fn fn,
			     void *opaque)
{
	c->handler = fn;
	c->handler_opaque = opaque;
}

/* Complete the oldest request in flight with result (body/fds in c->msg). */
static void complete_head(struct vshm_client *c, int result, const void *body,
			  size_t len)
{
	struct vshmi_client_slot s = c->slot[c->head];
	struct vshm_client_done done = {
		.request = s.request, .result = result,
		.body = result ? NULL : body, .len = result ? 0 : len,
		.fds = c->msg.fds, .nfds = result ? 0 : c->msg.nfds,
	};

	c->head = (c->head + 1) % VSHM_CLIENT_MAX_INFLIGHT;
	c->count--;
	switch (s.kind) {
	case VSHMI_SLOT_SYNC:
		/* The waiting call reads c->msg; nothing more is received until then. */
		c->sync_ready = true;
		c->sync_result = result;
		return;
	case VSHMI_SLOT_ASYNC:
		if (!s.done)
			break;
		c->in_callback++;
		s.done(c, &done, s.opaque);
		c->in_callback--;
		break;
	case VSHMI_SLOT_ABANDONED:
		break;
	}
	vshm_msg_release(&c->msg);
}

/* The connection is over: complete everything in flight with code. */
static int end_connection(struct vshm_client *c, int code)
{
	if (!c->broken)
		c->broken = code;
	vshm_msg_release(&c->msg);
	while (c->count)
		complete_head(c, c->broken, NULL, 0);
	return c->broken;
}

/* A request from the broker: its handler, or ENOSYS. */
static void broker_request(struct vshm_client *c, int recv_ret)
{
	uint32_t req = c->msg.hdr.request;

	if (recv_ret) {
		/* Malformed: answer if the request number can be named. */
		if (vshmi_ctl_name(req))
			vshm_client_answer(c, req, EBADMSG, NULL, 0, NULL, 0, NULL);
	} else if (c->handler) {
		c->in_callback++;
		c->handler(c, &c->msg, c->handler_opaque);
		c->in_callback--;
	} else {
		vshm_client_answer(c, req, ENOSYS, NULL, 0, NULL, 0, NULL);
	}
	vshm_msg_release(&c->msg);
}

/* One reply: match it to the oldest request in flight. */
static int reply(struct vshm_client *c, int recv_ret)
{
	uint32_t want = c->slot[c->head].request;
	const void *body;
	uint32_t error;
	size_t len;
	int ret;

	if (!c->count || c->msg.hdr.request != want) {
		vshmi_fail(&c->last_err, VSHM_EREPLY,
			   "reply to request %u, %s expected", c->msg.hdr.request,
			   c->count ? vshmi_ctl_name(want) : "nothing");
		return end_connection(c, -VSHM_EREPLY);
	}
	if (recv_ret) {
		/* A whole frame that failed validation: this request fails. */
		complete_head(c, recv_ret, NULL, 0);
		return 1;
	}
	ret = vshm_ctl_decode_reply(&c->msg, want, &error, &body, &len,
				    &c->last_err);
	if (!ret && error)
		ret = vshmi_fail(&c->last_err, (int)error, "broker refused %s: %s",
				 vshmi_ctl_name(want), vshm_strerror((int)error));
	complete_head(c, ret, body, len);
	return 1;
}

/* Receive and handle one message: 1 if it completed a request, 0 if not. */
static int receive_one(struct vshm_client *c)
{
	int ret;

	c->last_err.msg[0] = 0;
	ret = vshm_chan_recv(c->ch, &c->msg, &c->last_err);
	if (ret == -EAGAIN) {
		/* Nothing more to read: a failed send ends it now. */
		return c->send_err ? end_connection(c, c->send_err) : -EAGAIN;
	}
	if (ret == -ECONNRESET || ret == -EPIPE) {
		/*
		 * A reset means the broker exited with requests of ours
		 * unread: the same event as a close between frames, so the
		 * same code.
		 */
		vshmi_fail(&c->last_err, EPIPE,
			   "the broker closed the connection%s (vshmd stopped or crashed)",
			   ret == -ECONNRESET ? " with requests unread" : "");
		ret = -EPIPE;
	}
	if (ret && vshm_chan_broken(c->ch))
		return end_connection(c, ret);
	if (!(c->msg.hdr.flags & VSHM_HDR_REPLY)) {
		broker_request(c, ret);
		return 0;
	}
	return reply(c, ret);
}

int vshmi_client_pump(struct vshm_client *c)
{
	int n = 0, ret;

	if (c->broken)
		return c->broken;
	ret = vshm_chan_flush(c->ch);
	if (ret && ret != -EAGAIN && !c->send_err)
		c->send_err = ret;
	while (!c->sync_ready) {
		ret = receive_one(c);
		if (ret == -EAGAIN)
			break;
		if (ret < 0)
			return ret;
		n += ret;
	}
	return n;
}

int vshm_client_dispatch(struct vshm_client *c, struct vshm_err *err)
{
	int ret;

	if (c->in_callback)
		return vshmi_fail(err, EDEADLK,
				  "vshm_client_dispatch() from a callback");
	ret = vshmi_client_pump(c);
	if (ret < 0)
		vshmi_client_error(c, ret, err);
	return ret;
}

int vshmi_client_submit(struct vshm_client *c, uint32_t request,
			const void *payload, size_t len, const int *fds,
			unsigned int nfds, enum vshmi_slot_kind kind,
			vshm_client_done_fn done, void *opaque,
			struct vshm_err *err)
{
	struct vshm_err serr;
	uint32_t tail;
	int ret;

	if (c->broken)
		return vshmi_fail(err, -c->broken,
				  "connection to the broker ended: %s",
				  vshm_strerror(c->broken));
	if (c->count >= VSHM_CLIENT_MAX_INFLIGHT)
		return vshmi_fail(err, EBUSY, "%u requests in flight already",
				  c->count);
	ret = vshm_ctl_encode_request(&c->out, request, payload, len, fds, nfds);
	if (ret)
		return vshmi_fail(err, -ret, "encoding request %u: %s", request,
				  vshm_strerror(ret));
	ret = vshm_chan_send(c->ch, &c->out, &serr);
	if (ret == -ENOBUFS || ret == -EMSGSIZE) {
		if (err)
			*err = serr;
		return ret;
	}
	/*
	 * Any other failure is the socket's: the request is in flight as far
	 * as ordering goes, and the connection's end completes it, after any
	 * replies still waiting to be read.
	 */
	if (ret && !c->send_err)
		c->send_err = ret;
	tail = (c->head + c->count) % VSHM_CLIENT_MAX_INFLIGHT;
	c->slot[tail] = (struct vshmi_client_slot){
		.request = request, .kind = kind, .done = done, .opaque = opaque,
	};
	c->count++;
	return 0;
}

int vshm_client_submit(struct vshm_client *c, uint32_t request,
		       const void *payload, size_t len, const int *fds,
		       unsigned int nfds, vshm_client_done_fn done,
		       void *opaque, struct vshm_err *err)
{
	return vshmi_client_submit(c, request, payload, len, fds, nfds,
				   VSHMI_SLOT_ASYNC, done, opaque, err);
}

int vshm_client_answer(struct vshm_client *c, uint32_t request, int error,
		       const void *body, size_t len, const int *fds,
		       unsigned int nfds, struct vshm_err *err)
{
	int ret;

	if (c->broken)
		return vshmi_fail(err, -c->broken,
				  "connection to the broker ended: %s",
				  vshm_strerror(c->broken));
	if (error < 0)
		error = -error;
	ret = vshm_ctl_encode_reply(&c->out, request, error, body, len, fds,
				    nfds);
	if (ret)
		return vshmi_fail(err, -ret, "encoding the answer to %u: %s",
				  request, vshm_strerror(ret));
	return vshm_chan_send(c->ch, &c->out, err);
}

void vshmi_client_error(struct vshm_client *c, int code, struct vshm_err *err)
{
	if (!err)
		return;
	if (c->last_err.msg[0] && c->last_err.code == code)
		*err = c->last_err;
	else
		vshmi_fail(err, -code, "connection to the broker: %s",
			   vshm_strerror(code));
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Forget the waiting blocking call's request: its reply will be dropped. */
static void abandon_sync(struct vshm_client *c)
{
	uint32_t i;

	for (i = 0; i < c->count; i++) {
		struct vshmi_client_slot *s =
			&c->slot[(c->head + i) % VSHM_CLIENT_MAX_INFLIGHT];

		if (s->kind == VSHMI_SLOT_SYNC)
			s->kind = VSHMI_SLOT_ABANDONED;
	}
}

int vshmi_client_wait(struct vshm_client *c, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct pollfd p = { .fd = vshm_chan_fd(c->ch) };
	int ret, wait;

	for (;;) {
		ret = vshmi_client_pump(c);
		if (c->sync_ready)
			return 0;
		if (ret < 0)
			return ret;
		wait = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0) {
				abandon_sync(c);
				return -ETIMEDOUT;
			}
			wait = left > 1000000 ? 1000000 : (int)left;
		}
		p.events = vshm_client_events(c);
		if (poll(&p, 1, wait) < 0 && errno != EINTR)
			return -errno;
	}
}
