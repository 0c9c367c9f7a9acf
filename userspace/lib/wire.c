// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Channels: whole frames over a stream socket, fds as SCM_RIGHTS.
 *
 * Receiving reads the 12-byte header, checks it, then reads exactly the
 * payload, never past the end of the frame, so fds of the next frame are
 * never picked up with this one.  Partial reads keep their state in the
 * channel.  Sending queues whatever the socket does not take; fds travel
 * with the frame's first byte, so a queued remainder carries fds only if
 * nothing of the frame went out yet (those fds are duplicated).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "scm_rights.h"

/* Most bytes queued for output before vshm_chan_send() refuses. */
#define VSHMI_TXQ_MAX	(4u << 20)
/* Most duplicated fds the output queue may hold: they count against RLIMIT_NOFILE. */
#define VSHMI_TXQ_MAX_FDS	1024u

struct txbuf {
	struct txbuf *next;
	size_t len, off;
	unsigned int nfds;
	int fds[VSHM_MAX_FDS];
	uint8_t data[];
};

struct vshm_chan {
	int fd;
	enum vshm_proto proto;
	uint32_t flags;
	int broken;		/* negative code once the stream cannot be trusted */
	/* receive state */
	size_t rx_have;		/* bytes of the current frame received */
	unsigned int rx_nfds;
	bool rx_fd_overflow;
	struct vshm_msg rx;
	/* send queue */
	struct txbuf *txq_head, *txq_tail;
	size_t tx_queued;
	size_t tx_queued_fds;
	/* who closes received and queued fds (NULL: close() here) */
	vshm_fd_closer closer;
	void *closer_arg;
};

int vshm_chan_new(int fd, enum vshm_proto proto, uint32_t flags,
		  struct vshm_chan **out)
{
	struct vshm_chan *ch;

	if (fd < 0)
		return -EBADF;
	if (proto < VSHM_PROTO_FRONTEND || proto > VSHM_PROTO_CONTROL ||
	    (flags & ~VSHM_CHAN_OWN_FD))
		return -EINVAL;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->fd = fd;
	ch->proto = proto;
	ch->flags = flags;
	*out = ch;
	return 0;
}

/* Close fds that came from the peer, through the channel's closer if any. */
static void chan_close_fds(struct vshm_chan *ch, const int *fds, unsigned int n)
{
	unsigned int i;

	if (!ch->closer) {
		vshmi_close_fds(fds, n);
		return;
	}
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			ch->closer(ch->closer_arg, fds[i]);
}

static void chan_release(struct vshm_chan *ch, struct vshm_msg *msg)
{
	if (msg->flags & VSHM_MSG_OWNS_FDS)
		chan_close_fds(ch, msg->fds, msg->nfds);
	msg->nfds = 0;
	msg->flags &= ~VSHM_MSG_OWNS_FDS;
}

int vshm_chan_set_closer(struct vshm_chan *ch, vshm_fd_closer closer,
			 void *arg)
{
	if (!ch)
		return -EINVAL;
	ch->closer = closer;
	ch->closer_arg = closer ? arg : NULL;
	return 0;
}

static void rx_drop(struct vshm_chan *ch)
{
	chan_close_fds(ch, ch->rx.fds, ch->rx_nfds);
	ch->rx_nfds = 0;
	ch->rx_have = 0;
	ch->rx_fd_overflow = false;
}

void vshm_chan_free(struct vshm_chan *ch)
{
	struct txbuf *b, *next;

	if (!ch)
		return;
	rx_drop(ch);
	for (b = ch->txq_head; b; b = next) {
		next = b->next;
		chan_close_fds(ch, b->fds, b->nfds);
		free(b);
	}
	if (ch->flags & VSHM_CHAN_OWN_FD)
		close(ch->fd);
	free(ch);
}

int vshm_chan_fd(const struct vshm_chan *ch)
{
	return ch->fd;
}

int vshm_chan_broken(const struct vshm_chan *ch)
{
	return ch->broken;
}

size_t vshm_chan_pending(const struct vshm_chan *ch)
{
	return ch->tx_queued;
}

size_t vshm_chan_pending_fds(const struct vshm_chan *ch)
{
	return ch->tx_queued_fds;
}

/* Keep the fds that came with a recvmsg(); note any that did not fit. */
static void rx_take_fds(struct vshm_chan *ch, struct msghdr *mh)
{
	struct cmsghdr *c;

	if (mh->msg_flags & MSG_CTRUNC)
		ch->rx_fd_overflow = true;
	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n, i;
		int fd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (ch->rx_nfds < VSHM_MAX_FDS) {
				ch->rx.fds[ch->rx_nfds++] = fd;
			} else {
				chan_close_fds(ch, &fd, 1);
				ch->rx_fd_overflow = true;
			}
		}
	}
}

/*
 * How much the first read of a frame asks for: the whole frame when its
 * header is already there and valid (peeked), else the header.  A frame
 * its sender wrote at once is then taken off the socket whole or not at
 * all, so that a reader killed between two reads (a broker's kill -9)
 * never leaves its successor the tail of a frame.
 */
static size_t frame_len(struct vshm_chan *ch)
{
	struct vshm_hdr hdr;
	ssize_t n;

	do {
		n = recv(ch->fd, &hdr, sizeof(hdr), MSG_PEEK | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n != VSHM_HDR_SIZE || vshmi_check_header(ch->proto, &hdr, NULL))
		return VSHM_HDR_SIZE;
	return VSHM_HDR_SIZE + hdr.size;
}

static int chan_break(struct vshm_chan *ch, int code)
{
	rx_drop(ch);
	ch->broken = code;
	return code;
}

int vshm_chan_recv(struct vshm_chan *ch, struct vshm_msg *msg,
		   struct vshm_err *err)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(VSHM_MAX_FDS * sizeof(int))];
	} cbuf;
	uint8_t *frame = (uint8_t *)&ch->rx.hdr;
	int ret;

	if (ch->broken)
		return vshmi_fail(err, -ch->broken,
				  "channel is broken by an earlier error: %s",
				  vshm_strerror(ch->broken));
	for (;;) {
		size_t had = ch->rx_have;
		size_t want = had < VSHM_HDR_SIZE ? VSHM_HDR_SIZE - had :
			      VSHM_HDR_SIZE + ch->rx.hdr.size - had;
		struct iovec iov = { frame + had, had ? want : frame_len(ch) };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
		};
		ssize_t n;

		if (want == 0)
			break;
		n = recvmsg(ch->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -EAGAIN;
			ret = -errno;
			vshmi_fail(err, errno, "recvmsg: %s", vshm_strerror(ret));
			return chan_break(ch, ret);
		}
		rx_take_fds(ch, &mh);
		if (n == 0) {
			if (ch->rx_have == 0 && ch->rx_nfds == 0) {
				vshmi_fail(err, EPIPE, "peer closed the connection");
				return chan_break(ch, -EPIPE);
			}
			vshmi_fail(err, VSHM_ETRUNC,
				   "peer closed the connection after %zu bytes of a frame",
				   ch->rx_have);
			return chan_break(ch, -VSHM_ETRUNC);
		}
		ch->rx_have += n;
		if (had < VSHM_HDR_SIZE && ch->rx_have >= VSHM_HDR_SIZE) {
			ret = vshmi_check_header(ch->proto, &ch->rx.hdr, err);
			if (ret)
				return chan_break(ch, ret);
		}
	}

	/* A whole frame: hand it over with its fds, then validate. */
	msg->hdr = ch->rx.hdr;
	memcpy(msg->payload, ch->rx.payload, ch->rx.hdr.size);
	memcpy(msg->fds, ch->rx.fds, ch->rx_nfds * sizeof(int));
	msg->nfds = ch->rx_nfds;
	msg->flags = VSHM_MSG_OWNS_FDS;
	ch->rx_nfds = 0;
	ch->rx_have = 0;
	if (ch->rx_fd_overflow) {
		ch->rx_fd_overflow = false;
		chan_release(ch, msg);
		return vshmi_fail(err, VSHM_EFDEXTRA,
				  "%s: fds dropped: more than %u, or no free fd slot to receive them",
				  vshm_request_name(ch->proto, msg->hdr.request),
				  VSHM_MAX_FDS);
	}
	ret = vshm_msg_check(ch->proto, msg, err);
	if (ret)
		chan_release(ch, msg);
	return ret;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Poll for events until deadline (-1: none); 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int timeout, n;

	for (;;) {
		timeout = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			timeout = left > 1000000 ? 1000000 : (int)left;
		}
		n = poll(&p, 1, timeout);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

int vshm_chan_recv_wait(struct vshm_chan *ch, struct vshm_msg *msg,
			int timeout_ms, struct vshm_err *err)
{
	int64_t deadline = deadline_of(timeout_ms);
	int ret;

	for (;;) {
		ret = vshm_chan_recv(ch, msg, err);
		if (ret != -EAGAIN)
			return ret;
		ret = wait_fd(ch->fd, POLLIN, deadline);
		if (ret)
			return vshmi_fail(err, -ret, "waiting for a message: %s",
					  vshm_strerror(ret));
	}
}

/* sendmsg() the bytes with fds; returns bytes sent or -errno. */
static ssize_t send_some(int fd, const uint8_t *p, size_t len, const int *fds,
			 unsigned int nfds)
{
	VSHMI_SCM_BUF(cbuf, VSHM_MAX_FDS);
	struct iovec iov = { (void *)p, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	vshmi_scm_attach(&mh, cbuf.buf, fds, nfds);
	do {
		n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int vshm_chan_flush(struct vshm_chan *ch)
{
	struct txbuf *b;
	ssize_t n;

	while ((b = ch->txq_head)) {
		n = send_some(ch->fd, b->data + b->off, b->len - b->off,
			      b->fds, b->nfds);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return -EAGAIN;
		if (n < 0)
			return (int)n;
		if (b->nfds) {
			/* The peer has its own copies now. */
			chan_close_fds(ch, b->fds, b->nfds);
			ch->tx_queued_fds -= b->nfds;
			b->nfds = 0;
		}
		b->off += n;
		ch->tx_queued -= n;
		if (b->off < b->len)
			continue;
		ch->txq_head = b->next;
		if (!ch->txq_head)
			ch->txq_tail = NULL;
		free(b);
	}
	return 0;
}

static int enqueue(struct vshm_chan *ch, const uint8_t *p, size_t len,
		   const int *fds, unsigned int nfds, struct vshm_err *err)
{
	struct txbuf *b;
	unsigned int i;

	if (ch->tx_queued + len > VSHMI_TXQ_MAX)
		return vshmi_fail(err, ENOBUFS,
				  "output queue would hold %zu bytes, limit %u",
				  ch->tx_queued + len, VSHMI_TXQ_MAX);
	if (ch->tx_queued_fds + nfds > VSHMI_TXQ_MAX_FDS)
		return vshmi_fail(err, ENOBUFS,
				  "output queue would hold %zu fds, limit %u",
				  ch->tx_queued_fds + nfds, VSHMI_TXQ_MAX_FDS);
	b = malloc(sizeof(*b) + len);
	if (!b)
		return vshmi_fail(err, ENOMEM, "no memory to queue %zu bytes", len);
	b->next = NULL;
	b->len = len;
	b->off = 0;
	b->nfds = 0;
	for (i = 0; i < nfds; i++) {
		int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);

		if (fd < 0) {
			int ret = -errno;

			vshmi_close_fds(b->fds, b->nfds);
			free(b);
			return vshmi_fail(err, -ret, "duplicating fd %d to queue it: %s",
					  fds[i], vshm_strerror(ret));
		}
		b->fds[b->nfds++] = fd;
	}
	memcpy(b->data, p, len);
	if (ch->txq_tail)
		ch->txq_tail->next = b;
	else
		ch->txq_head = b;
	ch->txq_tail = b;
	ch->tx_queued += len;
	ch->tx_queued_fds += b->nfds;
	return 0;
}

int vshm_chan_send(struct vshm_chan *ch, const struct vshm_msg *msg,
		   struct vshm_err *err)
{
	size_t len;
	const uint8_t *p = vshm_msg_frame(msg, &len);
	ssize_t n;
	int ret;

	if (msg->hdr.size > VSHM_PAYLOAD_MAX || msg->nfds > VSHM_MAX_FDS)
		return vshmi_fail(err, EMSGSIZE, "message of %u bytes / %u fds is above the caps",
				  msg->hdr.size, msg->nfds);
	if (ch->txq_head) {
		ret = enqueue(ch, p, len, msg->fds, msg->nfds, err);
		if (ret)
			return ret;
		ret = vshm_chan_flush(ch);
		if (ret && ret != -EAGAIN)
			return vshmi_fail(err, -ret, "sendmsg: %s", vshm_strerror(ret));
		return 0;
	}
	n = send_some(ch->fd, p, len, msg->fds, msg->nfds);
	if (n == -EAGAIN || n == -EWOULDBLOCK)
		return enqueue(ch, p, len, msg->fds, msg->nfds, err);
	if (n < 0)
		return vshmi_fail(err, (int)-n, "sendmsg: %s", vshm_strerror((int)n));
	if ((size_t)n < len)
		return enqueue(ch, p + n, len - n, NULL, 0, err);
	return 0;
}

int vshm_chan_flush_wait(struct vshm_chan *ch, int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	int ret;

	for (;;) {
		ret = vshm_chan_flush(ch);
		if (ret != -EAGAIN)
			return ret;
		ret = wait_fd(ch->fd, POLLOUT, deadline);
		if (ret)
			return ret;
	}
}

int vshmi_send_all(struct vshm_chan *ch, const struct vshm_msg *msg,
		   int timeout_ms, struct vshm_err *err)
{
	int ret = vshm_chan_send(ch, msg, err);

	if (ret)
		return ret;
	ret = vshm_chan_flush_wait(ch, timeout_ms);
	if (ret)
		return vshmi_fail(err, -ret, "sending %s: %s",
				  vshm_request_name(ch->proto, msg->hdr.request),
				  vshm_strerror(ret));
	return 0;
}
