/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The shmem-related steps of the vhost-user main channel, for both ends:
 *
 *  - a VMM (front-end) negotiates BACKEND_REQ, REPLY_ACK and SHMEM, claims
 *    the back-end with SET_OWNER, gives it a backend channel with
 *    SET_BACKEND_REQ_FD (the other end of that socketpair goes to vshmd,
 *    see vshm_client_add_device()) and reads GET_SHMEM_CONFIG;
 *  - a device back-end answers those same requests and obtains its backend
 *    channel.
 *
 * ch is the main channel, a struct vshm_chan opened with
 * VSHM_PROTO_FRONTEND.  The calls that wait for a reply expect nothing else
 * to arrive on it meanwhile.  timeout_ms -1 waits forever.
 */
#ifndef VSHM_FRONTEND_H
#define VSHM_FRONTEND_H

#include <stdbool.h>
#include <stdint.h>
#include <vshm/error.h>
#include <vshm/wire.h>

#ifdef __cplusplus
extern "C" {
#endif

/* vhost-user front-end request numbers used here. */
#define VSHM_VU_GET_FEATURES		1u
#define VSHM_VU_SET_FEATURES		2u
#define VSHM_VU_SET_OWNER		3u
#define VSHM_VU_GET_PROTOCOL_FEATURES	15u
#define VSHM_VU_SET_PROTOCOL_FEATURES	16u
#define VSHM_VU_SET_BACKEND_REQ_FD	21u

/* Virtio feature bit: the back-end speaks GET/SET_PROTOCOL_FEATURES. */
#define VSHM_VU_F_PROTOCOL_FEATURES	30
/* Protocol feature bit: the back-end may have a backend channel. */
#define VSHM_VU_PROTOCOL_F_BACKEND_REQ	5

/* The protocol features vshm_fe_setup_shmem() asks for. */
#define VSHM_FE_PROTOCOL_WANTED \
	((1ull << VSHM_VU_PROTOCOL_F_BACKEND_REQ) | \
	 (1ull << VSHM_VU_PROTOCOL_F_REPLY_ACK) | \
	 (1ull << VSHM_VU_PROTOCOL_F_SHMEM))

/* Front-end: one request each. */

/* GET_FEATURES: the back-end's virtio feature bits. */
int vshm_fe_get_features(struct vshm_chan *ch, uint64_t *features,
			 int timeout_ms, struct vshm_err *err);
/* GET_PROTOCOL_FEATURES: the protocol features the back-end offers. */
int vshm_fe_get_protocol_features(struct vshm_chan *ch, uint64_t *features,
				  int timeout_ms, struct vshm_err *err);
/* SET_PROTOCOL_FEATURES: enable features (a subset of those offered). */
int vshm_fe_set_protocol_features(struct vshm_chan *ch, uint64_t features,
				  int timeout_ms, struct vshm_err *err);
/* SET_OWNER; reply_ack (REPLY_ACK negotiated) waits for the back-end's ack. */
int vshm_fe_set_owner(struct vshm_chan *ch, bool reply_ack, int timeout_ms,
		      struct vshm_err *err);
/* SET_BACKEND_REQ_FD with fd (borrowed: the caller still closes it). */
int vshm_fe_set_backend_req_fd(struct vshm_chan *ch, int fd, bool reply_ack,
			       int timeout_ms, struct vshm_err *err);
/* GET_SHMEM_CONFIG: region sizes indexed by shmid. */
int vshm_fe_get_shmem_config(struct vshm_chan *ch,
			     struct vshm_vu_shmem_config *cfg, int timeout_ms,
			     struct vshm_err *err);

/* What vshm_fe_setup_shmem() negotiated and obtained. */
struct vshm_fe_shmem {
	uint64_t features;		/* GET_FEATURES */
	uint64_t protocol_features;	/* set with SET_PROTOCOL_FEATURES */
	int backend_fd;			/* the VMM's end of the backend channel: hand it
					 * to vshmd; the caller owns it */
	struct vshm_vu_shmem_config config;
};

/*
 * All the steps in order: GET_FEATURES, GET_PROTOCOL_FEATURES,
 * SET_PROTOCOL_FEATURES (VSHM_FE_PROTOCOL_WANTED & offered), SET_OWNER,
 * SET_BACKEND_REQ_FD with a new socketpair, GET_SHMEM_CONFIG.
 * -EPROTONOSUPPORT if the back-end lacks PROTOCOL_FEATURES, BACKEND_REQ or
 * SHMEM.  On failure no fd is left open.
 */
int vshm_fe_setup_shmem(struct vshm_chan *ch, struct vshm_fe_shmem *out,
			int timeout_ms, struct vshm_err *err);

/* Back-end: answer those requests on the main channel. */

/* What a back-end offers, and what the front-end made of it. */
struct vshm_be_main {
	/* set by the caller before serving */
	uint64_t features;		/* virtio features (PROTOCOL_FEATURES is added) */
	uint64_t protocol_features;	/* offered protocol features */
	struct vshm_vu_shmem_config config;
	/* filled while serving; vshm_be_main_init() clears them */
	uint64_t acked_protocol_features;
	bool owned;			/* SET_OWNER received */
	bool config_sent;		/* GET_SHMEM_CONFIG answered */
	int backend_fd;			/* from SET_BACKEND_REQ_FD, -1 until then;
					 * the caller owns it (close it when done) */
};

/* Clear the serving state (backend_fd -1); the offer fields are kept. */
void vshm_be_main_init(struct vshm_be_main *st);
/*
 * Answer one received main-channel message.  Returns 1 when it was one of
 * the requests above (answered, its fd taken or closed), 0 when it is not
 * (left in msg, fds included, for the caller), or a negative code when the
 * front-end broke the protocol (a refused request is also answered with a
 * non-zero REPLY_ACK when it asked for one).
 */
int vshm_be_main_handle(struct vshm_be_main *st, struct vshm_chan *ch,
			struct vshm_msg *msg, int timeout_ms,
			struct vshm_err *err);
/*
 * Receive and answer messages until the backend fd has arrived and
 * GET_SHMEM_CONFIG was answered.  Other requests are refused (a REPLY_ACK
 * of EOPNOTSUPP when asked for one, else dropped).
 */
int vshm_be_main_serve(struct vshm_be_main *st, struct vshm_chan *ch,
		       int timeout_ms, struct vshm_err *err);

#ifdef __cplusplus
}
#endif

#endif /* VSHM_FRONTEND_H */
