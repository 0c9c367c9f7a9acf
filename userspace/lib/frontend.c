// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The shmem-related steps of the vhost-user main channel: the front-end's
 * requests (a VMM setting a back-end up for vshm) and a back-end's answers.
 * Every frame goes through the strict codec (vshm_msg_check()), whose
 * front-end table knows the sizes and fd counts of these requests.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#define NAME(req) vshm_request_name(VSHM_PROTO_FRONTEND, (req))

/* Send request (payload: value if has_value, fd if >= 0), optionally need_reply. */
static int fe_send(struct vshm_chan *ch, struct vshm_msg *msg, uint32_t request,
		   const uint64_t *value, int fd, bool need_reply,
		   int timeout_ms, struct vshm_err *err)
{
	vshm_msg_init(msg, request, need_reply ? VSHM_HDR_NEED_REPLY : 0);
	if (value) {
		vshmi_put64(msg->payload, *value);
		msg->hdr.size = VSHM_VU_U64_SIZE;
	}
	if (fd >= 0 && vshm_msg_add_fd(msg, fd))
		return vshmi_fail(err, EBADF, "%s: cannot attach fd %d",
				  NAME(request), fd);
	return vshmi_send_all(ch, msg, timeout_ms, err);
}

/* Wait for the u64 reply to request. */
static int fe_recv_u64(struct vshm_chan *ch, struct vshm_msg *msg,
		       uint32_t request, uint64_t *value, int timeout_ms,
		       struct vshm_err *err)
{
	int ret;

	ret = vshm_chan_recv_wait(ch, msg, timeout_ms, err);
	if (ret)
		return ret;
	ret = vshmi_expect(msg, VSHM_PROTO_FRONTEND, request, true, err);
	if (!ret)
		*value = vshmi_get64(msg->payload);
	vshm_msg_release(msg);
	return ret;
}

/* One request that may carry a u64 and/or an fd; *reply gets the u64 answer. */
static int fe_call(struct vshm_chan *ch, uint32_t request, const uint64_t *value,
		   int fd, bool need_reply, uint64_t *reply, int timeout_ms,
		   struct vshm_err *err)
{
	struct vshm_msg *msg = malloc(sizeof(*msg));
	int ret;

	if (!msg)
		return vshmi_fail(err, ENOMEM, "no memory for a message");
	ret = fe_send(ch, msg, request, value, fd, need_reply, timeout_ms, err);
	if (!ret && reply)
		ret = fe_recv_u64(ch, msg, request, reply, timeout_ms, err);
	free(msg);
	return ret;
}

/* A setter: with reply_ack, the back-end's REPLY_ACK status as -errno. */
static int fe_set(struct vshm_chan *ch, uint32_t request, const uint64_t *value,
		  int fd, bool reply_ack, int timeout_ms, struct vshm_err *err)
{
	uint64_t status = 0;
	int ret;

	ret = fe_call(ch, request, value, fd, reply_ack,
		      reply_ack ? &status : NULL, timeout_ms, err);
	if (ret)
		return ret;
	ret = vshmi_status_to_err(status);
	if (ret)
		return vshmi_fail(err, -ret, "back-end refused %s: status %llu (%s)",
				  NAME(request), (unsigned long long)status,
				  vshm_strerror(ret));
	return 0;
}

int vshm_fe_get_features(struct vshm_chan *ch, uint64_t *features,
			 int timeout_ms, struct vshm_err *err)
{
	return fe_call(ch, VSHM_VU_GET_FEATURES, NULL, -1, false, features,
		       timeout_ms, err);
}

int vshm_fe_get_protocol_features(struct vshm_chan *ch, uint64_t *features,
				  int timeout_ms, struct vshm_err *err)
{
	return fe_call(ch, VSHM_VU_GET_PROTOCOL_FEATURES, NULL, -1, false,
		       features, timeout_ms, err);
}

int vshm_fe_set_protocol_features(struct vshm_chan *ch, uint64_t features,
				  int timeout_ms, struct vshm_err *err)
{
	/* REPLY_ACK is not in force until this message has been handled */
	return fe_set(ch, VSHM_VU_SET_PROTOCOL_FEATURES, &features, -1, false,
		      timeout_ms, err);
}

int vshm_fe_set_owner(struct vshm_chan *ch, bool reply_ack, int timeout_ms,
		      struct vshm_err *err)
{
	return fe_set(ch, VSHM_VU_SET_OWNER, NULL, -1, reply_ack, timeout_ms, err);
}

int vshm_fe_set_backend_req_fd(struct vshm_chan *ch, int fd, bool reply_ack,
			       int timeout_ms, struct vshm_err *err)
{
	if (fd < 0)
		return vshmi_fail(err, EBADF, "SET_BACKEND_REQ_FD needs a socket");
	return fe_set(ch, VSHM_VU_SET_BACKEND_REQ_FD, NULL, fd, reply_ack,
		      timeout_ms, err);
}

int vshm_fe_get_shmem_config(struct vshm_chan *ch,
			     struct vshm_vu_shmem_config *cfg, int timeout_ms,
			     struct vshm_err *err)
{
	struct vshm_msg *msg = malloc(sizeof(*msg));
	int ret;

	if (!msg)
		return vshmi_fail(err, ENOMEM, "no memory for a message");
	vshm_encode_get_shmem_config(msg);
	ret = vshmi_send_all(ch, msg, timeout_ms, err);
	if (!ret)
		ret = vshm_chan_recv_wait(ch, msg, timeout_ms, err);
	if (!ret) {
		ret = vshm_decode_shmem_config_reply(msg, cfg, err);
		vshm_msg_release(msg);
	}
	free(msg);
	return ret;
}

static int require_bit(uint64_t have, unsigned int bit, const char *what,
		       struct vshm_err *err)
{
	if (have & (1ull << bit))
		return 0;
	return vshmi_fail(err, EPROTONOSUPPORT,
			  "the back-end does not offer %s (bit %u)", what, bit);
}

int vshm_fe_setup_shmem(struct vshm_chan *ch, struct vshm_fe_shmem *out,
			int timeout_ms, struct vshm_err *err)
{
	uint64_t offered;
	bool ack;
	int sv[2], ret;

	memset(out, 0, sizeof(*out));
	out->backend_fd = -1;
	ret = vshm_fe_get_features(ch, &out->features, timeout_ms, err);
	if (!ret)
		ret = require_bit(out->features, VSHM_VU_F_PROTOCOL_FEATURES,
				  "PROTOCOL_FEATURES", err);
	if (!ret)
		ret = vshm_fe_get_protocol_features(ch, &offered, timeout_ms, err);
	if (!ret)
		ret = require_bit(offered, VSHM_VU_PROTOCOL_F_BACKEND_REQ,
				  "BACKEND_REQ", err);
	if (!ret)
		ret = require_bit(offered, VSHM_VU_PROTOCOL_F_SHMEM, "SHMEM", err);
	if (ret)
		return ret;
	out->protocol_features = offered & VSHM_FE_PROTOCOL_WANTED;
	ack = out->protocol_features & (1ull << VSHM_VU_PROTOCOL_F_REPLY_ACK);
	ret = vshm_fe_set_protocol_features(ch, out->protocol_features,
					    timeout_ms, err);
	if (!ret)
		ret = vshm_fe_set_owner(ch, ack, timeout_ms, err);
	if (ret)
		return ret;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return vshmi_fail(err, errno, "socketpair for the backend channel: %s",
				  strerror(errno));
	/* the back-end gets sv[1]; once sent, our copy of it is not needed */
	ret = vshm_fe_set_backend_req_fd(ch, sv[1], ack, timeout_ms, err);
	close(sv[1]);
	if (!ret)
		ret = vshm_fe_get_shmem_config(ch, &out->config, timeout_ms, err);
	if (ret) {
		close(sv[0]);
		return ret;
	}
	out->backend_fd = sv[0];
	return 0;
}

/* Back-end side. */

void vshm_be_main_init(struct vshm_be_main *st)
{
	st->acked_protocol_features = 0;
	st->owned = false;
	st->config_sent = false;
	st->backend_fd = -1;
}

/* Answer msg with a u64 (a value, or a REPLY_ACK status). */
static int be_reply_u64(struct vshm_chan *ch, uint32_t request, uint64_t value,
			int timeout_ms, struct vshm_err *err)
{
	struct vshm_msg *r = malloc(sizeof(*r));
	int ret;

	if (!r)
		return vshmi_fail(err, ENOMEM, "no memory for a reply");
	vshm_encode_reply_u64(r, request, value);
	ret = vshmi_send_all(ch, r, timeout_ms, err);
	free(r);
	return ret;
}

/* Acknowledge a setter: status 0 or a positive errno, if it asked. */
static int be_ack(struct vshm_chan *ch, const struct vshm_msg *msg,
		  int status, int timeout_ms, struct vshm_err *err)
{
	if (!(msg->hdr.flags & VSHM_HDR_NEED_REPLY))
		return 0;
	return be_reply_u64(ch, msg->hdr.request, (uint64_t)status, timeout_ms, err);
}

/* Refuse msg: a non-zero ack if asked, and the protocol error as the result. */
static int be_refuse(struct vshm_chan *ch, const struct vshm_msg *msg,
		     int status, struct vshm_err *err, int timeout_ms,
		     const char *why)
{
	struct vshm_err ignored;
	int ret;

	ret = be_ack(ch, msg, status, timeout_ms, &ignored);
	vshmi_fail(err, status, "%s refused: %s", NAME(msg->hdr.request), why);
	return ret ? ret : -status;
}

static int be_take_backend_fd(struct vshm_be_main *st, struct vshm_chan *ch,
			      struct vshm_msg *msg, int timeout_ms,
			      struct vshm_err *err)
{
	int fd = vshm_msg_take_fd(msg, 0), type = 0;
	socklen_t len = sizeof(type);
	const char *why = NULL;

	if (!(st->acked_protocol_features & (1ull << VSHM_VU_PROTOCOL_F_BACKEND_REQ)))
		why = "BACKEND_REQ was not negotiated";
	else if (st->backend_fd >= 0)
		why = "a backend channel is already set";
	else if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
		 type != SOCK_STREAM)
		why = "the fd is not a stream socket";
	if (why) {
		close(fd);
		return be_refuse(ch, msg, EINVAL, err, timeout_ms, why);
	}
	st->backend_fd = fd;
	return be_ack(ch, msg, 0, timeout_ms, err);
}

int vshm_be_main_handle(struct vshm_be_main *st, struct vshm_chan *ch,
			struct vshm_msg *msg, int timeout_ms,
			struct vshm_err *err)
{
	uint32_t req = msg->hdr.request;
	uint64_t value;
	int ret;

	if (msg->hdr.flags & VSHM_HDR_REPLY)
		return 0;
	switch (req) {
	case VSHM_VU_GET_FEATURES:
		value = st->features | (1ull << VSHM_VU_F_PROTOCOL_FEATURES);
		ret = be_reply_u64(ch, req, value, timeout_ms, err);
		break;
	case VSHM_VU_GET_PROTOCOL_FEATURES:
		ret = be_reply_u64(ch, req, st->protocol_features, timeout_ms, err);
		break;
	case VSHM_VU_SET_PROTOCOL_FEATURES:
		value = vshmi_get64(msg->payload);
		if (value & ~st->protocol_features) {
			ret = be_refuse(ch, msg, EINVAL, err, timeout_ms,
					"features that were not offered");
			break;
		}
		st->acked_protocol_features = value;
		ret = be_ack(ch, msg, 0, timeout_ms, err);
		break;
	case VSHM_VU_SET_OWNER:
		if (st->owned) {
			ret = be_refuse(ch, msg, EBUSY, err, timeout_ms,
					"the back-end already has an owner");
			break;
		}
		st->owned = true;
		ret = be_ack(ch, msg, 0, timeout_ms, err);
		break;
	case VSHM_VU_SET_BACKEND_REQ_FD:
		ret = be_take_backend_fd(st, ch, msg, timeout_ms, err);
		break;
	case VSHM_VU_GET_SHMEM_CONFIG:
		if (!(st->acked_protocol_features & (1ull << VSHM_VU_PROTOCOL_F_SHMEM))) {
			ret = vshmi_fail(err, EPROTO,
					 "GET_SHMEM_CONFIG before SHMEM was negotiated");
			break;
		}
		/* the request has no payload and no fd: its buffer carries the reply */
		ret = vshm_encode_shmem_config_reply(msg, &st->config);
		if (ret) {
			ret = vshmi_fail(err, -ret, "the offered shmem config is invalid");
			break;
		}
		ret = vshmi_send_all(ch, msg, timeout_ms, err);
		st->config_sent = !ret;
		break;
	default:
		return 0;
	}
	vshm_msg_release(msg);
	return ret ? ret : 1;
}

int vshm_be_main_serve(struct vshm_be_main *st, struct vshm_chan *ch,
		       int timeout_ms, struct vshm_err *err)
{
	struct vshm_msg *msg = malloc(sizeof(*msg));
	int ret = 0;

	if (!msg)
		return vshmi_fail(err, ENOMEM, "no memory for a message");
	while (st->backend_fd < 0 || !st->config_sent) {
		ret = vshm_chan_recv_wait(ch, msg, timeout_ms, err);
		if (ret)
			break;
		ret = vshm_be_main_handle(st, ch, msg, timeout_ms, err);
		if (ret < 0)
			break;
		if (ret == 0) {
			vshm_msg_release(msg);
			ret = be_ack(ch, msg, EOPNOTSUPP, timeout_ms, err);
			if (ret)
				break;
		}
		ret = 0;
	}
	free(msg);
	return ret;
}
