/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMM client of the vshmd broker over the control socket (see control.h).
 * Two ways to drive it, usable together on one connection:
 *  - blocking calls (vshm_client_add_device() ...): send, wait for the
 *    reply, return;
 *  - an event-loop interface: poll vshm_client_fd() for
 *    vshm_client_events(), queue requests with vshm_client_submit() (never
 *    blocks) and call vshm_client_dispatch() when the fd is ready; each
 *    request completes through its callback, in the order submitted.
 * The broker may also send requests of its own on the connection (see
 * vshm_client_set_handler()).  A broker-side failure comes back as the
 * negated errno it sent; protocol problems as -VSHM_E*.
 */
#ifndef VSHM_CLIENT_H
#define VSHM_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <vshm/error.h>
#include <vshm/control.h>
#include <vshm/region.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vshm_client;

/* Connect to the broker's socket at path and say HELLO. */
int vshm_client_connect(const char *path, int timeout_ms,
			struct vshm_client **out, struct vshm_err *err);
/* Use an already connected socket (taken over) and say HELLO. */
int vshm_client_from_fd(int fd, int timeout_ms, struct vshm_client **out,
			struct vshm_err *err);
/* Close the connection and free the client. */
void vshm_client_close(struct vshm_client *c);
/* Features the broker granted in HELLO (VSHM_CTL_FEAT_*). */
uint32_t vshm_client_features(const struct vshm_client *c);

/*
 * Register a device: its backend channel fd, an optional forward socket
 * (-1 for none), region sizes indexed by shmid (0 = none), flags
 * VSHM_CTL_DEV_DRAFT_FLAGS, VSHM_CTL_DEV_STRICT_HOLES (kmod regions whose
 * holes raise SIGBUS instead of reading as zeros) and VSHM_CTL_DEV_POPULATE
 * (every SHMEM_MAP populated; -EOPNOTSUPP, nothing sent, from a broker
 * before 1.4).  The fds are sent, not closed.  On success
 * *dev_id is set and, if region_fds is not NULL, region_fds[shmid] receives
 * the region fd of each non-zero size (-1 elsewhere; the caller owns them).
 * Region fds exist only when the broker granted VSHM_CTL_FEAT_KMOD; with an
 * mmap broker every entry is -1 and the call still succeeds.  If fetching
 * a region fd fails, the device is removed again and the error returned.
 */
int vshm_client_add_device(struct vshm_client *c, int backend_fd,
			   int forward_fd, const uint64_t *sizes,
			   uint32_t nregions, uint32_t flags, uint32_t *dev_id,
			   int *region_fds, struct vshm_err *err);
/*
 * Hand a restarted broker a device the last one served, whose regions live
 * on in /dev/vshm (Documentation/protocol.rst, "Restarting the broker"):
 * the broker's end of its backend channel, its forward socket (-1: none),
 * region sizes and region fds indexed by shmid (size 0: no region, its
 * fd is not read), each region's guest address (UINT64_MAX: not placed;
 * guest_addrs NULL: none placed) and the flags ADD_DEVICE had
 * (VSHM_CTL_DEV_DRAFT_FLAGS, VSHM_CTL_DEV_STRICT_HOLES,
 * VSHM_CTL_DEV_POPULATE).  The fds are sent,
 * not closed.  The broker serves the mappings the regions hold as they
 * are, nothing is remapped; *dev_id is the device's new id.  -EOPNOTSUPP:
 * the broker has no module (--region-mode mmap or vmm), whose regions die with
 * it; -EBADF: an fd is not a vshm region; -EINVAL: a size or the hole
 * policy differs from the region's; -EEXIST: a guest address overlaps;
 * -E2BIG: more regions than one message carries fds for.
 */
int vshm_client_adopt_device(struct vshm_client *c, int backend_fd,
			     int forward_fd, const uint64_t *sizes,
			     const int *region_fds, const uint64_t *guest_addrs,
			     uint32_t nregions, uint32_t flags, uint32_t *dev_id,
			     struct vshm_err *err);
/*
 * Fetch one region fd of a device (the caller owns it); *size (if not NULL)
 * gets its size.  An mmap broker (no VSHM_CTL_FEAT_KMOD) answers -ENODEV.
 */
int vshm_client_get_region(struct vshm_client *c, uint32_t dev_id,
			   uint32_t shmid, int *fd, uint64_t *size,
			   struct vshm_err *err);
/* Tell the broker where region shmid of a device sits in guest space. */
int vshm_client_set_region_addr(struct vshm_client *c, uint32_t dev_id,
				uint32_t shmid, uint64_t guest_addr,
				struct vshm_err *err);
/* Give the guest RAM table: ranges[i] is backed by fds[i] (sent, not closed). */
int vshm_client_set_mem_table(struct vshm_client *c,
			      const struct vshm_ctl_ram_range *ranges,
			      const int *fds, uint32_t n, struct vshm_err *err);
/* Drop every mapping of a device. */
int vshm_client_reset_device(struct vshm_client *c, uint32_t dev_id,
			     struct vshm_err *err);
/* Remove a device (its regions go when the last fd closes). */
int vshm_client_remove_device(struct vshm_client *c, uint32_t dev_id,
			      struct vshm_err *err);
/* Counters of one device, or of all with VSHM_CTL_ALL_DEVICES. */
int vshm_client_stats(struct vshm_client *c, uint32_t dev_id,
		      struct vshm_ctl_stats *stats, struct vshm_err *err);
/* List up to max devices into out; returns the number stored, *total all. */
ssize_t vshm_client_list_devices(struct vshm_client *c,
				 struct vshm_ctl_device_entry *out, size_t max,
				 uint32_t *total, struct vshm_err *err);
/* List up to max mappings of (dev_id, shmid) from index start; returns the count. */
ssize_t vshm_client_list_mappings(struct vshm_client *c, uint32_t dev_id,
				  uint32_t shmid, uint32_t start,
				  struct vshm_mapping_entry *out, size_t max,
				  uint32_t *total, struct vshm_err *err);

/*
 * Inspection (libvshm 1.2; the broker must have granted
 * VSHM_CTL_FEAT_BROKER_INFO, else these fail with -EOPNOTSUPP and send
 * nothing).  Each stores up to max entries in out, *total (if not NULL)
 * the number that exist, and returns the number stored.
 */
/* The broker's release, as its HELLO reply gave it; -EOPNOTSUPP if it gave none. */
int vshm_client_broker_version(const struct vshm_client *c,
			       struct vshm_ctl_broker_info *out);
/* Regions of one device (or VSHM_CTL_ALL_DEVICES) from index start. */
ssize_t vshm_client_list_regions(struct vshm_client *c, uint32_t dev_id,
				 uint32_t start,
				 struct vshm_ctl_region_entry *out, size_t max,
				 uint32_t *total, struct vshm_err *err);
/* The guest RAM table (SET_MEM_TABLE's ranges). */
ssize_t vshm_client_list_ram(struct vshm_client *c,
			     struct vshm_ctl_ram_range *out, size_t max,
			     uint32_t *total, struct vshm_err *err);
/* The shared-object table from index start. */
ssize_t vshm_client_list_shared_objects(struct vshm_client *c, uint32_t start,
					struct vshm_ctl_shared_object_entry *out,
					size_t max, uint32_t *total,
					struct vshm_err *err);
/* Connected control clients from index start (the caller's own has CLIENT_SELF). */
ssize_t vshm_client_list_clients(struct vshm_client *c, uint32_t start,
				 struct vshm_ctl_client_entry *out, size_t max,
				 uint32_t *total, struct vshm_err *err);
/* The broker's limits and their current use. */
ssize_t vshm_client_limits(struct vshm_client *c, struct vshm_ctl_limit *out,
			   size_t max, uint32_t *total, struct vshm_err *err);

/* Requests one connection may have in flight (submitted, not completed). */
#define VSHM_CLIENT_MAX_INFLIGHT	256u

/*
 * How a request ended, as its completion callback sees it.  result is 0,
 * the broker's errno negated, -VSHM_E* for a malformed reply, or the code
 * that ended the connection (-EPIPE, -VSHM_ETRUNC, ...) for every request
 * still in flight then.  body/len hold the reply body when result is 0 and
 * stay valid during the callback only.  fds are the reply's fds: the
 * callback takes one by storing -1 in its slot; the library closes the
 * rest when the callback returns.
 */
struct vshm_client_done {
	uint32_t request;	/* VSHM_CTL_* that this answers */
	int result;
	const void *body;
	size_t len;
	int *fds;
	unsigned int nfds;
};

typedef void (*vshm_client_done_fn)(struct vshm_client *c,
				    struct vshm_client_done *done, void *opaque);

/*
 * A request the broker sent on its own (REPLY flag clear), with its fds in
 * msg (take them with vshm_msg_take_fd(); the rest are closed after the
 * handler returns).  The handler answers with vshm_client_answer(), now or
 * later.
 */
typedef void (*vshm_client_request_fn)(struct vshm_client *c,
				       struct vshm_msg *msg, void *opaque);

/* The connection's socket, to watch in poll/epoll. */
int vshm_client_fd(const struct vshm_client *c);
/* poll() events to wait for now: POLLIN, plus POLLOUT while bytes are queued. */
short vshm_client_events(const struct vshm_client *c);
/*
 * Queue a control request (payload and fds as for vshm_ctl_encode_request();
 * the fds are borrowed, duplicated if they must wait).  Never blocks.  done
 * (may be NULL) runs from vshm_client_dispatch() or from a blocking call
 * once the reply is in.  -EBUSY with VSHM_CLIENT_MAX_INFLIGHT in flight,
 * -ENOBUFS when the output queue is full, the broken connection's code
 * once it has ended.
 */
int vshm_client_submit(struct vshm_client *c, uint32_t request,
		       const void *payload, size_t len, const int *fds,
		       unsigned int nfds, vshm_client_done_fn done,
		       void *opaque, struct vshm_err *err);
/*
 * Without blocking: send queued bytes, read every whole message, complete
 * requests and run the request handler.  Returns the number of requests
 * completed, or, once the connection has ended, its negative code (every
 * request in flight has then completed with it).
 */
int vshm_client_dispatch(struct vshm_client *c, struct vshm_err *err);
/* Requests submitted and not yet completed. */
unsigned int vshm_client_inflight(const struct vshm_client *c);
/*
 * Handle the broker's own requests (NULL: answer each with ENOSYS).  The
 * handler runs from vshm_client_dispatch() and from blocking calls.
 */
void vshm_client_set_handler(struct vshm_client *c, vshm_client_request_fn fn,
			     void *opaque);
/* Answer a broker request: error 0 with body and fds (borrowed), or an errno. */
int vshm_client_answer(struct vshm_client *c, uint32_t request, int error,
		       const void *body, size_t len, const int *fds,
		       unsigned int nfds, struct vshm_err *err);

/*
 * Where this broker's regions live (VSHM_CTL_REGIONS_*): KMOD, region fds
 * to mmap once; VMM, reservations the VMM makes itself (forwarding mode:
 * serve VSHM_CTL_VMM_* with vshm_vmm_serve()); BROKER, inside vshmd.
 */
uint32_t vshm_client_region_mode(const struct vshm_client *c);

/* The VMM's reservation of region shmid of device dev_id, or NULL. */
typedef struct vshm_region *(*vshm_vmm_lookup_fn)(uint32_t dev_id,
						  uint32_t shmid, void *opaque);
/*
 * Forwarding mode, in the VMM: execute one VSHM_CTL_VMM_* request from the
 * broker in the VMM's own reservations (mmap regions from
 * vshm_region_create(VSHM_REGION_MODE_MMAP, ...)) and answer it.  Call it from
 * the vshm_client_set_handler() handler.  Returns 0 or the error answered;
 * -EOPNOTSUPP (not answered) for any other request.
 */
int vshm_vmm_serve(struct vshm_client *c, struct vshm_msg *msg,
		   vshm_vmm_lookup_fn lookup, void *opaque, struct vshm_err *err);

#ifdef __cplusplus
}
#endif

#endif /* VSHM_CLIENT_H */
