/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vshmd internals: the daemon's one state struct, devices, connections and
 * the functions each file provides.  Everything mutable lives in struct
 * vshmd; internal functions use the vd_ prefix.
 */
#ifndef VSHMD_H
#define VSHMD_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include <libvshm.h>

#define VD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define VD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Scope-bound release, as systemd's _cleanup_: a variable declared
 * VD_AUTOCLOSE int fd or VD_AUTOFREE struct x *p is closed or freed when
 * it goes out of scope, on every return path.  vd_take_fd() and
 * vd_take_ptr() hand it over to a new owner, which ends that.
 */
static inline void vd_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void vd_freep(void *p)
{
	free(*(void **)p);
}

#define VD_AUTOCLOSE	__attribute__((cleanup(vd_closep)))
#define VD_AUTOFREE	__attribute__((cleanup(vd_freep)))

static inline int vd_take_fd(int *fd)
{
	int ret = *fd;

	*fd = -1;
	return ret;
}

#define vd_take_ptr(pp) \
	({ __typeof__(*(pp)) p_ = *(pp); *(pp) = NULL; p_; })

/* Unlink every dead object of the list at head; release it with fn(d, obj). */
#define vd_reap_list(d, head, fn) \
	do { \
		__typeof__(head) *pp_ = &(head), o_; \
		while ((o_ = *pp_)) { \
			if (o_->dead) { \
				*pp_ = o_->next; \
				fn((d), o_); \
			} else { \
				pp_ = &o_->next; \
			} \
		} \
	} while (0)

/*
 * Errors inside the broker are 0 or a negative errno (or a negative
 * libvshm code, VSHM_E*).  The wire carries a positive errno: only the
 * code that encodes a reply converts, through vd_wire_status(), and only
 * the code that decodes a peer's status converts back (vd_wire_errno()).
 */
static inline uint32_t vd_wire_status(int err)
{
	if (err >= 0)
		return 0;
	/* Library codes are not errno values: say "bad message". */
	return -err >= VSHM_ERR_BASE ? EBADMSG : (uint32_t)-err;
}

/* A peer's status word (0 or a positive errno) as 0 or a negative errno. */
static inline int vd_wire_errno(uint64_t status)
{
	if (!status)
		return 0;
	return status >= VSHM_ERR_BASE ? -EBADMSG : -(int)status;
}

enum vd_log_level { VD_LOG_ERR, VD_LOG_WARN, VD_LOG_INFO, VD_LOG_DEBUG };

/*
 * A ring of owed answers: entries [head, head + count) modulo its size,
 * oldest first.  vd_ring_push() and vd_ring_pop() return the slot to fill
 * or to read; the caller checks count against the size first.
 */
struct vd_ring {
	uint32_t head, count;
};

static inline uint32_t vd_ring_push(struct vd_ring *r, uint32_t size)
{
	return (r->head + r->count++) % size;
}

static inline uint32_t vd_ring_pop(struct vd_ring *r, uint32_t size)
{
	uint32_t slot = r->head;

	r->head = (r->head + 1) % size;
	r->count--;
	return slot;
}

struct vshmd;
struct vd_watch;

/* What an epoll event on a watched fd does. */
typedef void vd_watch_fn(struct vshmd *d, struct vd_watch *w, uint32_t events);

/*
 * A watched fd: the loop calls fn with the events; obj is what the fd
 * belongs to (a device, a connection), for fn to use.
 */
struct vd_watch {
	vd_watch_fn *fn;
	void *obj;
	int fd;
	uint32_t events;	/* currently registered */
	bool added;
};

/* Run w's handler, as the loop does for an epoll event. */
static inline void vd_watch_fire(struct vshmd *d, struct vd_watch *w,
				 uint32_t events)
{
	w->fn(d, w, events);
}

/*
 * Frames read from one channel per wakeup, so that one peer cannot starve
 * the others (Documentation/broker.rst, "Isolation between devices").
 */
#define VD_BATCH	16

/* Logging of peer mistakes: at most VD_RL_BURST lines per VD_RL_WINDOW_MS. */
#define VD_RL_BURST	5u
#define VD_RL_WINDOW_MS	10000u
struct vd_ratelimit {
	uint64_t window_start;
	uint32_t printed, suppressed;
};

/*
 * A token bucket for log lines a peer can trigger (log.c): burst lines at
 * once, then per_s a second; what it drops is counted and reported.
 */
struct vd_log_bucket {
	uint64_t last_ms;
	uint32_t milli_tokens;	/* thousandths of a line */
	uint32_t suppressed;
	bool primed;
};
#define VD_LOG_BUCKET_BURST	20u
#define VD_LOG_BUCKET_PER_S	2u

/* The longest log line, its newline included. */
#define VD_LOG_LINE_MAX	512

/*
 * Where log lines go (log_sink.c), written so that the loop never waits
 * on a reader (Documentation/broker.rst, "Logs"): a line the sink would
 * block on is dropped and counted, and the count is reported before the
 * next line that goes out.  The tail of a line only partly written waits
 * in pend and goes out before anything else, so that every line stays
 * whole (journald reads a "<N>" priority only at a line's start).
 */
enum vd_log_sink {
	VD_LOG_SINK_PLAIN,	/* a file, or a pipe we could not reopen: write() */
	VD_LOG_SINK_SOCKET,	/* send(MSG_DONTWAIT | MSG_NOSIGNAL) */
	VD_LOG_SINK_NONBLOCK,	/* an O_NONBLOCK open file description of our own */
};
struct vd_log {
	int fd;
	bool owned;		/* ours to close: not stderr itself */
	enum vd_log_sink sink;
	bool journal;		/* stderr is the journal: <N> prefixes */
	uint32_t dropped;	/* lines dropped since the last that went out */
	uint16_t pend_off, pend_len;
	char pend[VD_LOG_LINE_MAX];
};

/*
 * closer.c: peers' fds are closed by closer threads, never the loop: at
 * least VD_CLOSERS_MIN, one more per owner whose closes are under way, up
 * to max-devices + 1 but never more than VD_CLOSERS_MAX; a thread above the
 * floor exits after VD_CLOSER_IDLE_MS without work.
 */
#define VD_CLOSERS_MIN		2u
#define VD_CLOSERS_MAX		256u
#define VD_CLOSER_IDLE_MS	2000u
#define VD_CLOSE_QUEUE		4096u
/* A device with this many fds waiting to be closed is not read. */
#define VD_CLOSE_DEV_MAX	64u
/* Duplicated fds queued towards one device's peers before it is not read. */
#define VD_MAX_INFLIGHT_FDS	256u

struct vd_close_item {
	int fd;
	uint32_t owner;		/* device id, 0: a control connection */
};

struct vd_closer {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool initialized, stop;
	uint32_t nrunning;	/* threads started and not exited */
	uint32_t max;		/* the cap on nrunning */
	uint32_t nwaiting;	/* threads waiting for work */
	uint32_t nstarting;	/* created, not yet looking for work */
	pthread_t tids[VD_CLOSERS_MAX];	/* joinable threads, ntids of them */
	uint32_t ntids;
	uint32_t busy[VD_CLOSERS_MAX];	/* owners being closed, nbusy of them */
	uint32_t nbusy;
	struct vd_close_item q[VD_CLOSE_QUEUE];	/* oldest first */
	uint32_t count;
	uint32_t done[VD_CLOSE_QUEUE];		/* owners of finished closes */
	uint32_t ndone;
	uint32_t unkicked;	/* loop only: queued since vd_closer_kick() */
};

/* What a channel's closer hook needs (vshm_chan_set_closer()). */
struct vd_close_owner {
	struct vshmd *d;
	uint32_t owner;
};

/*
 * A region of a device.  Its mappings are libvshm's to keep (the module's,
 * for kmod regions): the broker asks vshm_region_lookup() and friends.
 */
struct vd_region {
	struct vshm_region *r;	/* NULL when the shmid has no region */
	uint64_t size;
	uint64_t guest_addr;
	bool has_addr;
};

/* Replies the forward socket still owes, in order. */
#define VD_FWD_MAX_PENDING	64u

/*
 * Forwarding mode (--region-mode vmm): the one SHMEM_MAP / SHMEM_UNMAP of a
 * device that waits for its VMM.  The device's channel is not read
 * meanwhile, so its operations reach the VMM one at a time, in order.
 */
struct vd_vmm_wait {
	bool active;
	bool need_reply;
	uint32_t request;		/* VSHM_VU_BACKEND_SHMEM_MAP / _UNMAP */
	struct vshm_vu_mmap m;
};

/* A request sent to a VMM whose answer is owed, in order. */
struct vd_vmm_op {
	uint32_t dev_id;
	uint32_t request;		/* VSHM_CTL_VMM_* */
	uint64_t deadline_ms;
};

/* Answers one VMM connection may owe (a device has at most one MAP/UNMAP). */
#define VD_VMM_MAX_OPS	(2 * VSHM_CTL_MAX_DEVICES)

struct vd_ctl_conn;

struct vd_device {
	struct vd_device *next;
	struct vd_ctl_conn *owner;	/* forwarding mode: the VMM that added it */
	struct vd_vmm_wait vmm;
	uint32_t id;
	uint32_t flags;		/* VSHM_CTL_DEV_*, POPULATE also from --populate */
	uint32_t nregions;
	enum vshm_flag_encoding enc;
	struct vd_region *regions;	/* nregions entries */
	uint32_t nmappings;	/* over all its regions */
	uint32_t nsobjs;	/* shared objects it added */
	bool adopted;		/* ADOPT_DEVICE: its shared objects were lost */
	uint32_t added_by;	/* id of the control connection that added it */
	struct vshm_chan *be;
	struct vshm_chan *fw;
	struct vd_watch be_w, fw_w;
	uint32_t fw_req[VD_FWD_MAX_PENDING];	/* forwarded request ids owed a reply */
	struct vd_ring fw_ring;
	/* message rate: a token bucket refilled by the timer */
	uint32_t tokens;
	bool throttled;
	bool dead;		/* torn down at the end of this loop turn */
	uint32_t closing;	/* its fds the closers have not closed yet */
	struct vd_close_owner be_close, fw_close;
	struct vd_ratelimit rl;
	struct vshm_ctl_stats st;
};

struct vd_ctl_conn {
	struct vd_ctl_conn *next;
	struct vshm_chan *ch;
	struct vd_watch w;
	uint32_t id;			/* from 1, in connection order */
	uint32_t pid, uid, gid;		/* SO_PEERCRED at accept */
	uint64_t requests;		/* requests received */
	bool hello;
	bool dead;
	bool vmm_maps;			/* granted VSHM_CTL_FEAT_VMM_MAPS */
	struct vd_vmm_op *ops;		/* VD_VMM_MAX_OPS entries, once granted */
	struct vd_ring ops_ring;
	struct vd_close_owner close_owner;
	struct vd_ratelimit rl;
};

/* A guest RAM range from SET_MEM_TABLE, read and written with pread/pwrite. */
struct vd_ram {
	uint64_t guest_addr, size, fd_offset;
	int fd;
};

struct vd_options {
	const char *control_socket;	/* --control-socket, or vm_socket */
	char vm_socket[108];	/* --vm NAME: RUN_DIR/NAME/control.sock */
	int listen_fd;		/* --listen-fd, -1: none */
	enum vshm_region_mode region_mode;
	int wait_device;	/* seconds, 0: do not wait */
	uint32_t max_devices;
	uint32_t max_mappings;	/* per device */
	uint64_t max_inflight;	/* bytes queued towards one device's peers */
	uint32_t msg_rate;	/* back-end messages per second per device */
	uint32_t max_clients;	/* control connections */
	uint32_t max_shared_objects;	/* per device */
	enum vd_log_level log_level;
	const char *log_file;
	uint32_t vmm_timeout_ms;	/* forwarding mode: answer deadline */
	bool populate;		/* every device as if added with VSHM_CTL_DEV_POPULATE */
};

/* options.c: every option at its default */
void vd_options_init(struct vd_options *o);

/*
 * The listening socket: bound here (own_path: ours to remove, if it is
 * still the inode we bound), or passed by systemd or by the VMM.
 */
struct vd_listen {
	char name[108];		/* the socket's path, for the log */
	char lock_path[4096];	/* <control socket>.lock, flock()ed while we run */
	char dir[4096];		/* the socket's directory */
	int lock_fd;
	bool own_path;
	bool made_dir;		/* dir was created by this broker */
	dev_t dev;
	ino_t ino;
};

struct vshmd {
	struct vd_options opt;
	enum vshm_region_mode region_mode;	/* in use: KMOD, MMAP or TABLE (--region-mode vmm) */
	int epfd;
	struct vd_watch sig_w, timer_w, listen_w;
	struct vd_listen listen;
	struct vd_log log;
	bool stopping;
	uint64_t now_ms;
	struct vd_device *devices;
	uint32_t ndevices, next_id;
	struct vd_ctl_conn *clients;
	uint32_t nclients, next_client_id;
	struct vd_ram ram[VSHM_CTL_MAX_RAM_RANGES];
	uint32_t nram;
	struct vshm_ctl_stats total;	/* counters summed over every device ever */
	struct vshm_msg *msg;		/* receive buffer */
	struct vshm_msg *out;		/* reply buffer */
	uint8_t *buf;			/* control replies' bodies */
	struct vd_sobj *sobjs;		/* the shared-object table */
	uint32_t nsobjs;
	struct vd_closer closer;
	uint32_t closing;		/* fds queued to the closers, all owners */
	bool listen_paused;		/* out of fds: accept() waits for a tick */
	struct vd_log_bucket peer_log;	/* every peer-triggered line, together */
	struct vd_log_bucket accept_log, closer_log;
};

/* receive.c */
enum vd_rx {
	VD_RX_NONE,	/* no whole frame yet: wait for the next event */
	VD_RX_CLOSED,	/* the peer closed the channel between frames */
	VD_RX_BROKEN,	/* the stream cannot be trusted any more: err says why */
	VD_RX_BAD,	/* one frame failed validation: msg->hdr is its header,
			 * err says why; its fds are closed, the channel goes on */
	VD_RX_FRAME,	/* msg holds a valid frame and owns its fds */
};
/* Receive one frame from ch into msg. */
enum vd_rx vd_receive(struct vshm_chan *ch, struct vshm_msg *msg,
		      struct vshm_err *err);
/* Is nothing left to read on ch's socket now?  Ends a drain early. */
bool vd_chan_drained(struct vshm_chan *ch);

/* log_sink.c */
int vd_log_open(struct vshmd *d);
void vd_log_reopen(struct vshmd *d);
/* Write one formatted line, or drop and count it if the sink would block. */
void vd_log_emit(struct vshmd *d, const char *line, size_t len);
/* Send a held tail and report dropped lines, if the sink takes them now. */
void vd_log_flush(struct vshmd *d);
void vd_log_close(struct vshmd *d);

/* log.c */
/* One line at lvl with its prefix and newline, in buf; its length. */
size_t vd_log_format(struct vshmd *d, enum vd_log_level lvl,
		     char buf[VD_LOG_LINE_MAX], const char *fmt, ...)
	VD_PRINTF(4, 5);
void vd_log(struct vshmd *d, enum vd_log_level lvl, const char *fmt, ...)
	VD_PRINTF(3, 4);
/* Log a peer's mistake through a rate limiter. */
void vd_log_peer(struct vshmd *d, struct vd_ratelimit *rl, const char *fmt, ...)
	VD_PRINTF(3, 4);
int vd_log_level_parse(const char *s, enum vd_log_level *lvl);
/* May a line go through bucket b now?  Reports what it dropped first. */
bool vd_log_allow(struct vshmd *d, struct vd_log_bucket *b);
#define vd_log_limited(d, b, lvl, ...) \
	do { \
		if (vd_log_allow((d), (b))) \
			vd_log((d), (lvl), __VA_ARGS__); \
	} while (0)
uint64_t vd_now_ms(void);

/* closer.c */
int vd_closer_start(struct vshmd *d);
void vd_closer_stop(struct vshmd *d, unsigned int wait_ms);
/* Close a peer's fd off the loop; owner: device id or 0. */
void vd_close_fd(struct vshmd *d, uint32_t owner, int fd);
/* Account for the closes that finished (every timer tick). */
void vd_closer_collect(struct vshmd *d);
/*
 * Give the fds the loop turn queued their threads: once a turn, not once
 * an fd (each staffing may wake every waiting closer).
 */
void vd_closer_kick(struct vshmd *d);
/* Route the fds ch drops through the closers, on behalf of owner. */
void vd_closer_attach(struct vshmd *d, struct vshm_chan *ch,
		      struct vd_close_owner *o, uint32_t owner);
/* vshm_msg_release() through the closers. */
void vd_msg_release(struct vshmd *d, uint32_t owner, struct vshm_msg *msg);
/* Close a source the region mode took its own reference to, on the loop. */
void vd_close_mapped_source(struct vshm_msg *msg);
/* Closer threads running now and their cap (GET_LIMITS). */
void vd_closer_usage(struct vshmd *d, uint32_t *running, uint32_t *cap);

/* loop.c */
int vd_loop_init(struct vshmd *d);
int vd_loop_run(struct vshmd *d);
void vd_loop_fini(struct vshmd *d);
int vd_watch_set(struct vshmd *d, struct vd_watch *w, uint32_t events);
void vd_watch_del(struct vshmd *d, struct vd_watch *w);

/* listen.c: the listening socket, one broker per socket */
int vd_listen_open(struct vshmd *d);
/* Close it; remove the path only if this broker bound it and it is still ours. */
void vd_listen_close(struct vshmd *d);

/* control_conn.c */
/* The listening socket's handler: accept what waits. */
vd_watch_fn vd_control_accept;
/* Serve an already connected socket (takes fd); NULL on failure. */
struct vd_ctl_conn *vd_control_adopt(struct vshmd *d, int fd);
void vd_control_close(struct vshmd *d, struct vd_ctl_conn *c);
/*
 * Send d->out, which encoding request gave enc (0 or -errno), to c.  A
 * failure is logged (what: "reply", "VMM request") and marks c dead.
 */
int vd_control_send(struct vshmd *d, struct vd_ctl_conn *c, uint32_t request,
		    int enc, const char *what);
/* Watch for what the connection needs now (after queueing output). */
void vd_control_update_events(struct vshmd *d, struct vd_ctl_conn *c);
void vd_control_fini(struct vshmd *d);
/* Out of fds: accept() is paused; resume it (every tick). */
void vd_control_resume_listen(struct vshmd *d);

/* inspect.c: build the reply body of an inspection request in d->buf */
int vd_inspect(struct vshmd *d, struct vd_ctl_conn *c, uint32_t request,
	       const void *payload, size_t *len);

/* device.c */
int vd_device_add(struct vshmd *d, uint32_t flags, const uint64_t *sizes,
		  uint32_t nregions, int be_fd, int fw_fd, struct vd_device **out);
/* A device a killed broker served (ADOPT_DEVICE); kmod only, else -EOPNOTSUPP. */
int vd_device_adopt(struct vshmd *d, uint32_t flags,
		    const struct vshm_ctl_adopt_region *e, uint32_t nregions,
		    int be_fd, int fw_fd, const int *region_fds,
		    struct vd_device **out);
struct vd_device *vd_device_find(struct vshmd *d, uint32_t id);
void vd_device_reset(struct vshmd *d, struct vd_device *dev);
void vd_device_remove(struct vshmd *d, struct vd_device *dev, const char *why);
void vd_device_reap(struct vshmd *d);
void vd_device_stats(struct vshmd *d, struct vd_device *dev,
		     struct vshm_ctl_stats *st);
void vd_device_update_events(struct vshmd *d, struct vd_device *dev);
#define vd_count(d, dev, field, n) \
	do { (dev)->st.field += (n); (d)->total.field += (n); } while (0)

/* shmem.c: SHMEM_MAP / SHMEM_UNMAP validation and execution */
int vd_shmem_map(struct vshmd *d, struct vd_device *dev,
		 const struct vshm_vu_mmap *m, int fd);
int vd_shmem_unmap(struct vshmd *d, struct vd_device *dev,
		   const struct vshm_vu_mmap *m);
/* Every SHMEM_UNMAP check, nothing executed. */
int vd_shmem_unmap_check(struct vd_device *dev, const struct vshm_vu_mmap *m);
/* The mappings a region holds and the bytes they cover, as libvshm counts. */
void vd_region_usage(struct vd_region *reg, uint32_t *nmappings,
		     uint64_t *bytes);

/* vmm.c: forwarding mode, the VMM executes approved operations */
bool vd_vmm_mode(const struct vshmd *d);
/* Hand an approved (and, for a map, recorded) operation to the VMM. */
int vd_vmm_forward(struct vshmd *d, struct vd_device *dev,
		   const struct vshm_msg *msg, const struct vshm_vu_mmap *m);
/* Tell the VMM that every mapping of dev is gone. */
void vd_vmm_reset(struct vshmd *d, struct vd_device *dev);
/* A reply frame from a VMM (malformed: it failed validation). */
void vd_vmm_answer(struct vshmd *d, struct vd_ctl_conn *c,
		   struct vshm_msg *msg, bool malformed);
/* Close VMM connections whose oldest answer is overdue. */
void vd_vmm_tick(struct vshmd *d);
/* A VMM connection is closing: its devices go with it. */
void vd_vmm_conn_closed(struct vshmd *d, struct vd_ctl_conn *c);

/* router.c: guest addresses to RAM or regions */
int vd_route_read(struct vshmd *d, uint64_t ga, void *buf, uint32_t len);
int vd_route_write(struct vshmd *d, uint64_t ga, const void *buf, uint32_t len);
int vd_ram_set(struct vshmd *d, const struct vshm_ctl_ram_range *r,
	       const int *fds, uint32_t n);
void vd_ram_clear(struct vshmd *d);
/* Does [ga, ga+len) overlap RAM or a placed region other than skip? */
bool vd_route_overlaps(struct vshmd *d, uint64_t ga, uint64_t len,
		       const struct vd_region *skip);

/* backend_chan.c */
/* A device's backend channel handler (w->obj: the device). */
vd_watch_fn vd_backend_event;
/*
 * A u64 reply (REPLY_ACK, SHARED_OBJECT_LOOKUP) of err (0 or -errno) to
 * request, with a borrowed fd attached (-1: none).
 */
int vd_backend_reply(struct vshmd *d, struct vd_device *dev, uint32_t request,
		     int err, int fd);

/* forward.c */
int vd_forward_request(struct vshmd *d, struct vd_device *dev,
		       struct vshm_msg *msg);
/* A device's forward socket handler (w->obj: the device). */
vd_watch_fn vd_forward_event;
/* Answer every reply the forward socket still owes with err (-errno). */
void vd_forward_fail_pending(struct vshmd *d, struct vd_device *dev, int err);

/* shared_objects.c: SHARED_OBJECT_ADD / _REMOVE / _LOOKUP */
struct vd_sobj;
void vd_sobj_request(struct vshmd *d, struct vd_device *dev,
		     struct vshm_msg *msg);
/* Drop every shared object dev added (the device is going). */
void vd_sobj_drop_device(struct vshmd *d, struct vd_device *dev);
/* Describe up to max entries of the table from index start; the number stored. */
uint32_t vd_sobj_list(struct vshmd *d, uint32_t start,
		      struct vshm_ctl_shared_object_entry *out, uint32_t max);

/* limits.c */
void vd_limits_refill(struct vshmd *d);
bool vd_limits_take(struct vshmd *d, struct vd_device *dev);
bool vd_limits_backlogged(struct vshmd *d, struct vd_device *dev);

/* udev.c */
int vd_udev_find(struct vshmd *d, int wait_s, char *path, size_t len);

#endif /* VSHMD_H */
