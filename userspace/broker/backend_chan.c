// SPDX-License-Identifier: GPL-2.0
/*
 * One device's backend channel: the back-end's requests, validated by the
 * library's strict decoder, then served here (SHMEM_MAP / SHMEM_UNMAP,
 * MEM_READ / MEM_WRITE, SHARED_OBJECT_* in shared_objects.c) or forwarded
 * (everything else).
 *
 * Replies: SHMEM_MAP, SHMEM_UNMAP and MEM_WRITE get a u64 REPLY_ACK (0 or a
 * positive errno) when NEED_REPLY is set.  MEM_READ always gets its reply:
 * u64 status, then the data when the status is 0.  A whole frame that fails
 * validation gets the same kind of reply with EBADMSG, when its request
 * expects one; a frame whose header cannot be trusted (version, flags,
 * oversized) or a connection closed mid-frame ends the device.  Each
 * problem is logged through the device's rate limiter.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "vshmd.h"

static int send_out(struct vshmd *d, struct vd_device *dev)
{
	struct vshm_err err;
	int ret = vshm_chan_send(dev->be, d->out, &err);

	if (ret) {
		vd_log_peer(d, &dev->rl, "device %u: reply not sent: %s", dev->id,
			    err.msg);
		vd_device_remove(d, dev, "cannot send to the back-end");
	}
	return ret;
}

int vd_backend_reply(struct vshmd *d, struct vd_device *dev, uint32_t request,
		     int err, int fd)
{
	vshm_encode_reply_u64(d->out, request, vd_wire_status(err));
	if (fd >= 0)
		vshm_msg_add_fd(d->out, fd);
	return send_out(d, dev);
}

/* err: 0 (then data) or -errno. */
static int reply_mem_read(struct vshmd *d, struct vd_device *dev, int err,
			  const void *data, uint32_t size)
{
	vshm_encode_mem_read_reply(d->out, vd_wire_status(err), data, size);
	return send_out(d, dev);
}

static bool wants_ack(const struct vshm_msg *msg)
{
	return msg->hdr.flags & VSHM_HDR_NEED_REPLY;
}

static void do_shmem(struct vshmd *d, struct vd_device *dev,
		     struct vshm_msg *msg)
{
	bool map = msg->hdr.request == VSHM_VU_BACKEND_SHMEM_MAP;
	struct vshm_vu_mmap m = { 0 };
	struct vshm_err err;
	int ret;

	ret = vshm_decode_mmap(msg, &m, &err);
	if (!ret && vd_vmm_mode(d)) {
		/* Approved here, executed by the VMM: the reply waits for it. */
		ret = map ? vd_shmem_map(d, dev, &m, msg->fds[0]) :
			    vd_shmem_unmap_check(dev, &m);
		if (!ret) {
			ret = vd_vmm_forward(d, dev, msg, &m);
			if (!ret) {
				vd_msg_release(d, dev->id, msg);
				return;
			}
			if (map)
				vd_shmem_unmap(d, dev, &m);
		}
	} else if (!ret) {
		ret = map ? vd_shmem_map(d, dev, &m, msg->fds[0]) :
			    vd_shmem_unmap(d, dev, &m);
		if (!ret && map)
			vd_close_mapped_source(msg);
	}
	if (ret) {
		vd_count(d, dev, map_errors, 1);
		vd_log_peer(d, &dev->rl,
			    "device %u: %s shmid %u offset 0x%llx len 0x%llx refused: %s",
			    dev->id, map ? "SHMEM_MAP" : "SHMEM_UNMAP", m.shmid,
			    (unsigned long long)m.shm_offset,
			    (unsigned long long)m.len, vshm_strerror(ret));
	} else if (map) {
		vd_count(d, dev, maps, 1);
	} else {
		vd_count(d, dev, unmaps, 1);
	}
	/* The source fd is the region's business now (kmod holds its own reference). */
	vd_msg_release(d, dev->id, msg);
	if (wants_ack(msg))
		vd_backend_reply(d, dev, msg->hdr.request, ret, -1);
}

static void do_mem(struct vshmd *d, struct vd_device *dev, struct vshm_msg *msg)
{
	struct vshm_vu_mem_access a = { 0 };
	struct vshm_err err;
	int ret;

	ret = vshm_decode_mem_access(msg, &a, &err);
	if (ret)
		ret = -EBADMSG;
	if (msg->hdr.request == VSHM_VU_BACKEND_MEM_READ) {
		/* Read in place: where the reply carries the data. */
		uint8_t *data = d->out->payload + VSHM_VU_U64_SIZE;

		if (!ret)
			ret = vd_route_read(d, a.guest_address, data, a.size);
		if (!ret) {
			vd_count(d, dev, mem_reads, 1);
			vd_count(d, dev, mem_read_bytes, a.size);
			reply_mem_read(d, dev, 0, data, a.size);
			return;
		}
		vd_log_peer(d, &dev->rl, "device %u: MEM_READ 0x%llx+%u: %s",
			    dev->id, (unsigned long long)a.guest_address, a.size,
			    strerror(-ret));
		reply_mem_read(d, dev, ret, NULL, 0);
		return;
	}
	if (!ret)
		ret = vd_route_write(d, a.guest_address, a.data, a.size);
	if (!ret) {
		vd_count(d, dev, mem_writes, 1);
		vd_count(d, dev, mem_write_bytes, a.size);
	} else {
		vd_log_peer(d, &dev->rl, "device %u: MEM_WRITE 0x%llx+%u: %s",
			    dev->id, (unsigned long long)a.guest_address, a.size,
			    strerror(-ret));
	}
	if (wants_ack(msg))
		vd_backend_reply(d, dev, VSHM_VU_BACKEND_MEM_WRITE, ret, -1);
}

static void handle(struct vshmd *d, struct vd_device *dev, struct vshm_msg *msg)
{
	if (msg->hdr.flags & VSHM_HDR_REPLY) {
		vd_count(d, dev, protocol_errors, 1);
		vd_log_peer(d, &dev->rl,
			    "device %u: unexpected reply to request %u dropped "
			    "(the broker sends back-ends no requests)",
			    dev->id, msg->hdr.request);
		vd_msg_release(d, dev->id, msg);
		return;
	}
	switch (msg->hdr.request) {
	case VSHM_VU_BACKEND_SHMEM_MAP:
	case VSHM_VU_BACKEND_SHMEM_UNMAP:
		do_shmem(d, dev, msg);
		break;
	case VSHM_VU_BACKEND_MEM_READ:
	case VSHM_VU_BACKEND_MEM_WRITE:
		do_mem(d, dev, msg);
		break;
	case VSHM_VU_BACKEND_SHARED_OBJECT_ADD:
	case VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE:
	case VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP:
		vd_sobj_request(d, dev, msg);
		break;
	default:
		vd_forward_request(d, dev, msg);
		break;
	}
}

/* A whole frame failed validation: reply EBADMSG if its request expects a reply. */
static void refuse(struct vshmd *d, struct vd_device *dev,
		   const struct vshm_msg *msg, const struct vshm_err *err)
{
	vd_count(d, dev, protocol_errors, 1);
	vd_log_peer(d, &dev->rl, "device %u: malformed %s: %s", dev->id,
		    vshm_request_name(VSHM_PROTO_BACKEND, msg->hdr.request),
		    err->msg);
	if (msg->hdr.flags & VSHM_HDR_REPLY)
		return;
	if (msg->hdr.request == VSHM_VU_BACKEND_MEM_READ)
		reply_mem_read(d, dev, -EBADMSG, NULL, 0);
	else if (msg->hdr.flags & VSHM_HDR_NEED_REPLY ||
		 msg->hdr.request == VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP)
		vd_backend_reply(d, dev, msg->hdr.request, -EBADMSG, -1);
}

/*
 * Does the frame's sender wait for an answer?  Then nothing more is
 * likely queued behind it, and asking would cost a syscall per request;
 * the level-triggered watch brings the loop back if something is.
 */
static bool answered(const struct vshm_msg *msg)
{
	return !(msg->hdr.flags & VSHM_HDR_REPLY) &&
	       (msg->hdr.flags & VSHM_HDR_NEED_REPLY ||
		msg->hdr.request == VSHM_VU_BACKEND_MEM_READ ||
		msg->hdr.request == VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP);
}

/* hup: the peer is gone; read what it left whatever the limits say. */
static void receive(struct vshmd *d, struct vd_device *dev, bool hup)
{
	struct vshm_msg *msg = d->msg;
	struct vshm_err err;
	enum vd_rx rx;
	int i;

	for (i = 0; i < VD_BATCH && !dev->dead; i++) {
		if (!hup && (dev->throttled || vd_limits_backlogged(d, dev)))
			break;
		if (dev->vmm.active)
			break;	/* one operation at the VMM at a time */
		rx = vd_receive(dev->be, msg, &err);
		if (rx == VD_RX_NONE)
			break;
		if (rx == VD_RX_CLOSED) {
			vd_device_remove(d, dev, "back-end closed its channel");
			break;
		}
		if (rx == VD_RX_BROKEN) {
			vd_count(d, dev, protocol_errors, 1);
			vd_log_limited(d, &d->peer_log, VD_LOG_WARN,
				       "device %u: %s", dev->id, err.msg);
			vd_device_remove(d, dev, "back-end channel unusable");
			break;
		}
		if (!vd_limits_take(d, dev)) {
			/* Over its rate: served, then the channel rests until the next tick. */
			dev->throttled = true;
		}
		if (rx == VD_RX_BAD)
			refuse(d, dev, msg, &err);
		else
			handle(d, dev, msg);
		if (!hup && !dev->dead &&
		    (answered(msg) || vd_chan_drained(dev->be)))
			break;
	}
}

void vd_backend_event(struct vshmd *d, struct vd_watch *w, uint32_t events)
{
	struct vd_device *dev = w->obj;
	int ret;

	if (dev->dead)
		return;
	if (events & EPOLLOUT) {
		ret = vshm_chan_flush(dev->be);
		if (ret && ret != -EAGAIN) {
			vd_device_remove(d, dev, "back-end channel write failed");
			return;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR))
		receive(d, dev, events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR));
	vd_device_update_events(d, dev);
}
