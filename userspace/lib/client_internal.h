/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The client's state, shared by the blocking calls (client.c) and the
 * connection engine (client_loop.c).
 */
#ifndef VSHMI_CLIENT_INTERNAL_H
#define VSHMI_CLIENT_INTERNAL_H

#include "internal.h"

enum vshmi_slot_kind {
	VSHMI_SLOT_ASYNC,	/* vshm_client_submit(): completes through done */
	VSHMI_SLOT_SYNC,	/* a blocking call waits for it */
	VSHMI_SLOT_ABANDONED,	/* a blocking call timed out: drop the reply */
};

/* One request in flight. */
struct vshmi_client_slot {
	uint32_t request;
	enum vshmi_slot_kind kind;
	vshm_client_done_fn done;
	void *opaque;
};

struct vshm_client {
	struct vshm_chan *ch;
	uint32_t features;
	bool has_broker_info;	/* the broker granted VSHM_CTL_FEAT_BROKER_INFO */
	struct vshm_ctl_broker_info broker_info;
	int timeout_ms;
	int broken;		/* 0, or the code that ended the connection */
	int send_err;		/* a send failed: end once the replies are read */
	unsigned int in_callback; /* inside a done callback or the handler */
	struct vshmi_client_slot slot[VSHM_CLIENT_MAX_INFLIGHT]; /* FIFO ring */
	uint32_t head, count;
	vshm_client_request_fn handler;
	void *handler_opaque;
	bool sync_ready;	/* the blocking call's reply is in msg */
	int sync_result;
	struct vshm_err last_err; /* why the last message failed */
	struct vshm_msg msg;	/* receive buffer; holds a blocking call's reply */
	struct vshm_msg out;	/* send buffer */
};

/* Queue a request of the given kind (see vshm_client_submit()). */
int vshmi_client_submit(struct vshm_client *c, uint32_t request,
			const void *payload, size_t len, const int *fds,
			unsigned int nfds, enum vshmi_slot_kind kind,
			vshm_client_done_fn done, void *opaque,
			struct vshm_err *err);
/* Send and receive what can be, without blocking (vshm_client_dispatch()). */
int vshmi_client_pump(struct vshm_client *c);
/* Pump, polling, until the blocking call's reply is in (or timeout_ms). */
int vshmi_client_wait(struct vshm_client *c, int timeout_ms);
/*
 * Send a LIST_* request and wait for its reply (client.c); copy up to max
 * of its entries, of esize bytes each, to out, and its total into *total
 * if not NULL.  Returns the number copied.
 */
ssize_t vshmi_client_list_call(struct vshm_client *c, uint32_t request,
			       const void *payload, size_t plen, void *out,
			       size_t esize, size_t max, uint32_t *total,
			       struct vshm_err *err);
/* Describe a connection failure code in err (may be NULL). */
void vshmi_client_error(struct vshm_client *c, int code, struct vshm_err *err);

#endif /* VSHMI_CLIENT_INTERNAL_H */
