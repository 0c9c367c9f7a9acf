// SPDX-License-Identifier: GPL-2.0
/*
 * Forwarding: every back-end request that the broker does not serve itself
 * goes verbatim, fds included, to the device's forward socket (the VMM's
 * own back-end request handler).  The VMM's replies come back the same way
 * and are relayed to the back-end, fds included.  The broker remembers, in
 * order, which forwarded requests expect a reply (NEED_REPLY set) and
 * relays only those replies; anything else from the forward socket is
 * dropped and logged.  SHARED_OBJECT_* never get here (shared_objects.c
 * serves them); the LOOKUP test below only keeps this file right on its own.
 *
 * Without a forward socket, or with VD_FWD_MAX_PENDING replies already
 * owed, a request that expects a reply is refused with a u64 reply:
 * EOPNOTSUPP (no forward socket) or EBUSY; one that does not is dropped
 * and logged.  If the forward socket closes, the replies it still owed are
 * answered with EPIPE.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "vshmd.h"

static bool expects_reply(const struct vshm_msg *msg)
{
	return (msg->hdr.flags & VSHM_HDR_NEED_REPLY) ||
	       msg->hdr.request == VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP;
}

int vd_forward_request(struct vshmd *d, struct vd_device *dev,
		       struct vshm_msg *msg)
{
	bool reply = expects_reply(msg);
	struct vshm_err err;
	int ret = 0;

	if (!dev->fw)
		ret = -EOPNOTSUPP;
	else if (reply && dev->fw_ring.count >= VD_FWD_MAX_PENDING)
		ret = -EBUSY;
	if (!ret) {
		/* msg's fds are borrowed by the send: queued ones are duplicated. */
		if (vshm_chan_send(dev->fw, msg, &err)) {
			vd_log_limited(d, &d->peer_log, VD_LOG_WARN,
				       "device %u: forward socket: %s",
				       dev->id, err.msg);
			ret = -EIO;
		}
	}
	vd_msg_release(d, dev->id, msg);
	if (ret) {
		vd_count(d, dev, protocol_errors, 1);
		vd_log_peer(d, &dev->rl, "device %u: %s (%u) not forwarded: %s",
			    dev->id,
			    vshm_request_name(VSHM_PROTO_BACKEND, msg->hdr.request),
			    msg->hdr.request, strerror(-ret));
		if (reply)
			vd_backend_reply(d, dev, msg->hdr.request, ret, -1);
		return ret;
	}
	vd_count(d, dev, forwarded, 1);
	if (reply)
		dev->fw_req[vd_ring_push(&dev->fw_ring, VD_FWD_MAX_PENDING)] =
			msg->hdr.request;
	return 0;
}

void vd_forward_fail_pending(struct vshmd *d, struct vd_device *dev, int err)
{
	while (dev->fw_ring.count) {
		uint32_t req = dev->fw_req[vd_ring_pop(&dev->fw_ring,
						       VD_FWD_MAX_PENDING)];

		if (dev->be && !dev->dead)
			vd_backend_reply(d, dev, req, err, -1);
	}
}

static void close_forward(struct vshmd *d, struct vd_device *dev, const char *why)
{
	vd_log(d, VD_LOG_WARN, "device %u: forward socket closed: %s", dev->id, why);
	vd_watch_del(d, &dev->fw_w);
	vshm_chan_free(dev->fw);
	dev->fw = NULL;
	vd_forward_fail_pending(d, dev, -EPIPE);
}

/* Is msg the reply owed first?  Then it is owed no longer. */
static bool take_owed(struct vd_device *dev, const struct vshm_msg *msg)
{
	if (!(msg->hdr.flags & VSHM_HDR_REPLY) || !dev->fw_ring.count ||
	    dev->fw_req[dev->fw_ring.head] != msg->hdr.request)
		return false;
	vd_ring_pop(&dev->fw_ring, VD_FWD_MAX_PENDING);
	return true;
}

static void relay(struct vshmd *d, struct vd_device *dev, struct vshm_msg *msg)
{
	struct vshm_err err;
	int ret;

	if (!take_owed(dev, msg)) {
		vd_log_peer(d, &dev->rl,
			    "device %u: forward socket sent %s %u that nobody waits for; dropped",
			    dev->id, msg->hdr.flags & VSHM_HDR_REPLY ? "reply" : "request",
			    msg->hdr.request);
		vd_msg_release(d, dev->id, msg);
		return;
	}
	ret = vshm_chan_send(dev->be, msg, &err);
	vd_msg_release(d, dev->id, msg);
	if (ret) {
		vd_log_peer(d, &dev->rl, "device %u: relaying a reply: %s",
			    dev->id, err.msg);
		vd_device_remove(d, dev, "cannot send to the back-end");
	}
}

void vd_forward_event(struct vshmd *d, struct vd_watch *w, uint32_t events)
{
	struct vd_device *dev = w->obj;
	struct vshm_err err;
	enum vd_rx rx;
	int i, ret;

	if (dev->dead || !dev->fw)
		return;
	if (events & EPOLLOUT) {
		ret = vshm_chan_flush(dev->fw);
		if (ret && ret != -EAGAIN) {
			close_forward(d, dev, vshm_strerror(ret));
			vd_device_update_events(d, dev);
			return;
		}
	}
	for (i = 0; i < VD_BATCH &&
		    (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR)); i++) {
		rx = vd_receive(dev->fw, d->msg, &err);
		if (rx == VD_RX_NONE)
			break;
		if (rx == VD_RX_CLOSED || rx == VD_RX_BROKEN) {
			close_forward(d, dev, rx == VD_RX_CLOSED ?
					      "the VMM closed it" : err.msg);
			break;
		}
		if (rx == VD_RX_BAD) {
			vd_log_peer(d, &dev->rl, "device %u: forward socket: %s",
				    dev->id, err.msg);
			/* A malformed reply still answers the request it is for. */
			if (take_owed(dev, d->msg)) {
				vd_backend_reply(d, dev, d->msg->hdr.request,
						 -EBADMSG, -1);
				if (dev->dead)
					return;
			}
			continue;
		}
		relay(d, dev, d->msg);
		if (dev->dead)
			return;
		if (vd_chan_drained(dev->fw))
			break;
	}
	vd_device_update_events(d, dev);
}
