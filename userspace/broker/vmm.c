// SPDX-License-Identifier: GPL-2.0
/*
 * Forwarding mode (--region-mode vmm, no /dev/vshm): the broker validates
 * every SHMEM_MAP / SHMEM_UNMAP and keeps the table as in the other modes,
 * but the mapping itself happens in the VMM, which holds the guest-visible
 * reservation.  Each approved operation goes to the control connection that
 * added the device as a VSHM_CTL_VMM_MAP (with the source fd) or
 * VSHM_CTL_VMM_UNMAP request; the back-end's reply waits for the VMM's
 * answer, and a failure answer becomes the back-end's error.
 *
 * Ordering: while an operation of a device waits, that device's channel is
 * not read, so a device has at most one operation at the VMM and an UNMAP
 * can never overtake the MAP it names.  Answers come back in the order the
 * requests went (the ring c->ops).  The table: a map is recorded before it
 * is forwarded (so that MEM_READ/MEM_WRITE and overlap checks see it) and
 * rolled back if the VMM fails it; an unmap is executed once the VMM
 * confirms it.  A device reset (RESET_DEVICE, REMOVE_DEVICE, the back-end
 * leaving) clears the table and sends VSHM_CTL_VMM_RESET, after whatever
 * is already on its way.
 *
 * A VMM that does not answer: the oldest owed answer has a deadline of
 * --vmm-timeout ms; past it, or when the ring is full, the VMM is taken as
 * hung and its control connection is closed.  A VMM connection that closes
 * takes its devices with it (their back-ends see their channels close), as
 * nobody else could map for them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vshmd.h"

bool vd_vmm_mode(const struct vshmd *d)
{
	return d->region_mode == VSHM_REGION_MODE_TABLE;
}

/* Send one request to the device's VMM and owe its answer. */
static int send_op(struct vshmd *d, struct vd_ctl_conn *c, uint32_t dev_id,
		   uint32_t request, const void *payload, size_t len, int fd)
{
	if (!c || c->dead)
		return -ENOTCONN;
	if (c->ops_ring.count >= VD_VMM_MAX_OPS)
		return -EBUSY;
	if (vd_control_send(d, c, request,
			    vshm_ctl_encode_request(d->out, request, payload, len,
						    &fd, fd >= 0 ? 1 : 0),
			    "VMM request"))
		return -ENOTCONN;
	c->ops[vd_ring_push(&c->ops_ring, VD_VMM_MAX_OPS)] = (struct vd_vmm_op){
		.dev_id = dev_id, .request = request,
		.deadline_ms = vd_now_ms() + d->opt.vmm_timeout_ms,
	};
	vd_control_update_events(d, c);
	return 0;
}

int vd_vmm_forward(struct vshmd *d, struct vd_device *dev,
		   const struct vshm_msg *msg, const struct vshm_vu_mmap *m)
{
	bool map = msg->hdr.request == VSHM_VU_BACKEND_SHMEM_MAP;
	struct vshm_ctl_vmm_map v = {
		.dev_id = dev->id, .shmid = m->shmid,
		.shm_offset = m->shm_offset, .len = m->len,
	};
	struct vshm_err err;
	bool writable = false;
	int ret;

	if (map) {
		vshm_mmap_flags_writable(m->flags, dev->enc, &writable, &err);
		v.fd_offset = m->fd_offset;
		v.flags = writable ? VSHM_CTL_VMM_WRITE : 0;
	}
	ret = send_op(d, dev->owner, dev->id,
		      map ? VSHM_CTL_VMM_MAP : VSHM_CTL_VMM_UNMAP, &v, sizeof(v),
		      map ? msg->fds[0] : -1);
	if (ret)
		return ret;
	dev->vmm = (struct vd_vmm_wait){
		.active = true, .request = msg->hdr.request, .m = *m,
		.need_reply = msg->hdr.flags & VSHM_HDR_NEED_REPLY,
	};
	vd_device_update_events(d, dev);
	return 0;
}

void vd_vmm_reset(struct vshmd *d, struct vd_device *dev)
{
	struct vshm_ctl_vmm_reset v = {
		.dev_id = dev->id, .nregions = dev->nregions,
	};

	if (!dev->owner || dev->owner->dead)
		return;
	if (send_op(d, dev->owner, dev->id, VSHM_CTL_VMM_RESET, &v, sizeof(v),
		    -1) == -EBUSY) {
		vd_log(d, VD_LOG_WARN, "device %u: VMM owes %u answers: closing it",
		       dev->id, VD_VMM_MAX_OPS);
		dev->owner->dead = true;
	}
}

/* The device's waiting operation is settled: err 0 or -errno. */
static void settle(struct vshmd *d, struct vd_device *dev, int err)
{
	struct vd_vmm_wait w = dev->vmm;
	bool map = w.request == VSHM_VU_BACKEND_SHMEM_MAP;

	dev->vmm.active = false;
	if (!err && !map)
		vd_shmem_unmap(d, dev, &w.m);	/* ENOENT after a reset: fine */
	else if (err && map)
		vd_shmem_unmap(d, dev, &w.m);	/* roll the recorded map back */
	if (err) {
		vd_count(d, dev, map_errors, 1);
		vd_log_peer(d, &dev->rl,
			    "device %u: %s shmid %u offset 0x%llx len 0x%llx failed in the VMM: %s",
			    dev->id, map ? "SHMEM_MAP" : "SHMEM_UNMAP", w.m.shmid,
			    (unsigned long long)w.m.shm_offset,
			    (unsigned long long)w.m.len, strerror(-err));
	} else if (map) {
		vd_count(d, dev, maps, 1);
	} else {
		vd_count(d, dev, unmaps, 1);
	}
	if (w.need_reply)
		vd_backend_reply(d, dev, w.request, err, -1);
	vd_device_update_events(d, dev);
}

void vd_vmm_answer(struct vshmd *d, struct vd_ctl_conn *c,
		   struct vshm_msg *msg, bool malformed)
{
	struct vd_vmm_op op;
	struct vd_device *dev;
	const void *body;
	uint32_t status;
	size_t len;
	int ret;

	if (!c->ops_ring.count || malformed ||
	    msg->hdr.request != c->ops[c->ops_ring.head].request ||
	    vshm_ctl_decode_reply(msg, msg->hdr.request, &status, &body, &len,
				  NULL)) {
		vd_log_peer(d, &c->rl,
			    "control connection: reply to %s not owed or malformed: closing it",
			    vshm_request_name(VSHM_PROTO_CONTROL, msg->hdr.request));
		c->dead = true;
		return;
	}
	op = c->ops[vd_ring_pop(&c->ops_ring, VD_VMM_MAX_OPS)];
	ret = vd_wire_errno(status);
	if (op.request == VSHM_CTL_VMM_RESET) {
		if (ret)
			vd_log_limited(d, &d->peer_log, VD_LOG_WARN,
				       "device %u: VMM reset failed: %s",
				       op.dev_id, strerror(-ret));
		return;
	}
	dev = vd_device_find(d, op.dev_id);
	if (dev && dev->vmm.active)
		settle(d, dev, ret);
}

void vd_vmm_tick(struct vshmd *d)
{
	uint64_t now = vd_now_ms();
	struct vd_ctl_conn *c;

	for (c = d->clients; c; c = c->next) {
		if (c->dead || !c->ops_ring.count ||
		    c->ops[c->ops_ring.head].deadline_ms > now)
			continue;
		vd_log(d, VD_LOG_WARN,
		       "VMM did not answer %s within %u ms: closing its connection",
		       vshm_request_name(VSHM_PROTO_CONTROL,
					 c->ops[c->ops_ring.head].request),
		       d->opt.vmm_timeout_ms);
		c->dead = true;
	}
}

void vd_vmm_conn_closed(struct vshmd *d, struct vd_ctl_conn *c)
{
	struct vd_device *dev;

	for (dev = d->devices; dev; dev = dev->next) {
		if (dev->owner != c)
			continue;
		dev->owner = NULL;
		vd_device_remove(d, dev, "its VMM's control connection closed");
	}
	free(c->ops);
	c->ops = NULL;
	c->ops_ring = (struct vd_ring){ 0 };
}
