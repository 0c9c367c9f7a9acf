/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvshm wire codec: vhost-user framing, the messages vshm serves, and
 * channels that send and receive them with SCM_RIGHTS fds on non-blocking
 * stream sockets.
 *
 * Everything is host endian, as in vhost-user.  A frame is a 12-byte header
 * (request, flags, size) followed by size payload bytes; fds ride on the
 * frame's first byte.  Decoding is strict: see Documentation/protocol.rst.
 */
#ifndef VSHM_WIRE_H
#define VSHM_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <vshm/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Header flags. */
#define VSHM_HDR_VERSION	0x1u	/* bits 0-1: protocol version, always 1 */
#define VSHM_HDR_VERSION_MASK	0x3u
#define VSHM_HDR_REPLY		0x4u	/* this is a reply */
#define VSHM_HDR_NEED_REPLY	0x8u	/* the sender wants a REPLY_ACK */
#define VSHM_HDR_FLAGS_ALL	(VSHM_HDR_VERSION_MASK | VSHM_HDR_REPLY | VSHM_HDR_NEED_REPLY)

#define VSHM_HDR_SIZE		12u
/* Largest MEM_READ / MEM_WRITE data block (bytes). */
#define VSHM_MEM_DATA_MAX	65536u
/*
 * Largest payload of any message: a MEM_WRITE carrying VSHM_MEM_DATA_MAX
 * bytes, zero-padded to a multiple of 8 (accepted for the series'
 * libvhost-user, which pads to sizeof its struct).
 */
#define VSHM_PAYLOAD_MAX	((12u + VSHM_MEM_DATA_MAX + 7u) & ~7u)
/* Most fds one message may carry. */
#define VSHM_MAX_FDS		32u
/* Most fds an opaque (forwarded) vhost-user message may carry. */
#define VSHM_VU_MAX_FDS		8u
/* VIRTIO Shared Memory Region ids per device. */
#define VSHM_MAX_SHMIDS		256u
/* Region sizes and offsets are multiples of this on the wire. */
#define VSHM_PAGE_SIZE		4096u

/* VHOST_USER_PROTOCOL_F_SHMEM in the final upstream assignment. */
#define VSHM_VU_PROTOCOL_F_SHMEM	22
#define VSHM_VU_PROTOCOL_F_REPLY_ACK	3

/* Front-end requests (main channel) that vshm understands. */
#define VSHM_VU_GET_SHMEM_CONFIG	44u

/* Back-end requests (backend channel). */
#define VSHM_VU_BACKEND_IOTLB_MSG		1u
#define VSHM_VU_BACKEND_CONFIG_CHANGE_MSG	2u
#define VSHM_VU_BACKEND_VRING_HOST_NOTIFIER_MSG	3u
#define VSHM_VU_BACKEND_VRING_CALL		4u
#define VSHM_VU_BACKEND_VRING_ERR		5u
#define VSHM_VU_BACKEND_SHARED_OBJECT_ADD	6u
#define VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE	7u
#define VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP	8u
#define VSHM_VU_BACKEND_SHMEM_MAP		9u
#define VSHM_VU_BACKEND_SHMEM_UNMAP		10u
#define VSHM_VU_BACKEND_MEM_READ		11u
#define VSHM_VU_BACKEND_MEM_WRITE		12u

/* VhostUserMMap.flags, final upstream encoding: bit 0 set = read-write. */
#define VSHM_VU_MMAP_RW		0x1u
/* The 2024-25 draft encoding: MAP_R = 1, MAP_W = 2. */
#define VSHM_VU_MMAP_DRAFT_R	0x1u
#define VSHM_VU_MMAP_DRAFT_W	0x2u

/* How a device's back-end encodes VhostUserMMap.flags. */
enum vshm_flag_encoding {
	VSHM_FLAGS_FINAL = 0,	/* bit 0 = read-write, 0 = read-only (default) */
	VSHM_FLAGS_DRAFT = 1,	/* MAP_R = 1, MAP_W = 2 */
};

/* Which conversation a channel carries; request numbers overlap between them. */
enum vshm_proto {
	VSHM_PROTO_FRONTEND = 1, /* vhost-user main channel: front-end requests */
	VSHM_PROTO_BACKEND = 2,	 /* vhost-user backend channel: back-end requests */
	VSHM_PROTO_CONTROL = 3,	 /* vshm control socket: VMM requests to the broker */
};

/* The 12-byte frame header. */
struct vshm_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};

/* VhostUserMMap, 40 bytes (SHMEM_MAP / SHMEM_UNMAP payload). */
struct vshm_vu_mmap {
	uint8_t shmid;
	uint8_t padding[7];
	uint64_t fd_offset;
	uint64_t shm_offset;
	uint64_t len;
	uint64_t flags;
};

/* GET_SHMEM_CONFIG reply, 2056 bytes. */
struct vshm_vu_shmem_config {
	uint32_t nregions;
	uint32_t padding;
	uint64_t memory_sizes[VSHM_MAX_SHMIDS];
};

/* MEM_READ / MEM_WRITE request, decoded (on the wire: u64, u32, data[]). */
struct vshm_vu_mem_access {
	uint64_t guest_address;
	uint32_t size;
	const uint8_t *data;	/* MEM_WRITE: size bytes inside the message; MEM_READ: NULL */
};

/* Wire size of the MEM_READ / MEM_WRITE fixed part. */
#define VSHM_VU_MEM_ACCESS_SIZE	12u
/* Size of a u64 REPLY_ACK payload, and of a MEM_READ reply's status word. */
#define VSHM_VU_U64_SIZE	8u
#define VSHM_VU_UUID_SIZE	16u

/* struct vshm_msg.flags: the message owns its fds (received ones do). */
#define VSHM_MSG_OWNS_FDS	0x1u

/*
 * One message: fds, then the header immediately followed by the payload, so
 * that &hdr is the frame as it goes on the wire.  Received messages own
 * their fds (vshm_msg_release() closes those not taken); messages built by
 * the encoders borrow them.
 */
struct vshm_msg {
	int fds[VSHM_MAX_FDS];
	uint32_t nfds;
	uint32_t flags;
	struct vshm_hdr hdr;
	uint8_t payload[VSHM_PAYLOAD_MAX];
};

/* Start a message: version 1, the given header flags, no payload, no fds. */
void vshm_msg_init(struct vshm_msg *msg, uint32_t request, uint32_t hdr_flags);
/* Append len payload bytes; -EMSGSIZE past VSHM_PAYLOAD_MAX. */
int vshm_msg_append(struct vshm_msg *msg, const void *data, size_t len);
/* Attach a borrowed fd (sent with the frame); -E2BIG past VSHM_MAX_FDS. */
int vshm_msg_add_fd(struct vshm_msg *msg, int fd);
/* Take fd number idx out of a message (the caller now owns it); -1 if none. */
int vshm_msg_take_fd(struct vshm_msg *msg, unsigned int idx);
/* Close the fds a received message still owns; the message keeps no fds. */
void vshm_msg_release(struct vshm_msg *msg);
/* The frame bytes (header + payload) and their length. */
const void *vshm_msg_frame(const struct vshm_msg *msg, size_t *len);
/* Name of a request number in a protocol ("SHMEM_MAP"), or "unknown". */
const char *vshm_request_name(enum vshm_proto proto, uint32_t request);

/*
 * Parse one frame from buf (len bytes) with the fds that came with it, and
 * validate it strictly for proto.  Always takes ownership of fds: on success
 * msg owns them, on failure they are closed.  Returns the bytes consumed.
 */
ssize_t vshm_msg_parse(enum vshm_proto proto, const void *buf, size_t len,
		       const int *fds, unsigned int nfds, struct vshm_msg *msg,
		       struct vshm_err *err);
/* Validate a message already in memory (as vshm_msg_parse does). */
int vshm_msg_check(enum vshm_proto proto, const struct vshm_msg *msg,
		   struct vshm_err *err);

/* Encoders.  Padding is always written as zero. */

/* SHMEM_MAP with its source fd (borrowed); need_reply asks for a REPLY_ACK. */
int vshm_encode_shmem_map(struct vshm_msg *msg, const struct vshm_vu_mmap *m,
			  int fd, bool need_reply);
/* SHMEM_UNMAP. */
int vshm_encode_shmem_unmap(struct vshm_msg *msg, const struct vshm_vu_mmap *m,
			    bool need_reply);
/* GET_SHMEM_CONFIG request (no payload). */
int vshm_encode_get_shmem_config(struct vshm_msg *msg);
/* GET_SHMEM_CONFIG reply. */
int vshm_encode_shmem_config_reply(struct vshm_msg *msg,
				   const struct vshm_vu_shmem_config *cfg);
/* MEM_READ request for size bytes (1..VSHM_MEM_DATA_MAX) at a guest address. */
int vshm_encode_mem_read(struct vshm_msg *msg, uint64_t guest_address,
			 uint32_t size);
/*
 * MEM_READ reply: status 0 with size data bytes, or a positive errno and no
 * data.  data may already be at msg->payload + 8, where the reply carries
 * it (read in place): it is then not copied.
 */
int vshm_encode_mem_read_reply(struct vshm_msg *msg, uint64_t status,
			       const void *data, uint32_t size);
/* MEM_WRITE request carrying size bytes (1..VSHM_MEM_DATA_MAX). */
int vshm_encode_mem_write(struct vshm_msg *msg, uint64_t guest_address,
			  const void *data, uint32_t size, bool need_reply);
/* SHARED_OBJECT_ADD / _REMOVE / _LOOKUP with a 16-byte UUID; fd -1 for none. */
int vshm_encode_shared_object(struct vshm_msg *msg, uint32_t request,
			      const uint8_t uuid[16], int fd);
/* A u64 reply (REPLY_ACK: 0 success, else failure) to request in proto. */
int vshm_encode_reply_u64(struct vshm_msg *msg, uint32_t request, uint64_t value);

/* Decoders.  Each validates msg first; fds stay in msg (take them with vshm_msg_take_fd). */

/* SHMEM_MAP or SHMEM_UNMAP payload; SHMEM_MAP's source fd is msg->fds[0]. */
int vshm_decode_mmap(const struct vshm_msg *msg, struct vshm_vu_mmap *m,
		     struct vshm_err *err);
/* GET_SHMEM_CONFIG reply. */
int vshm_decode_shmem_config_reply(const struct vshm_msg *msg,
				   struct vshm_vu_shmem_config *cfg,
				   struct vshm_err *err);
/* MEM_READ or MEM_WRITE request; data points into msg. */
int vshm_decode_mem_access(const struct vshm_msg *msg,
			   struct vshm_vu_mem_access *a, struct vshm_err *err);
/* MEM_READ reply for a request of want bytes: status and data (NULL on failure). */
int vshm_decode_mem_read_reply(const struct vshm_msg *msg, uint32_t want,
			       uint64_t *status, const uint8_t **data,
			       struct vshm_err *err);
/* SHARED_OBJECT_* request: the UUID (an ADD's optional fd is in msg->fds). */
int vshm_decode_shared_object(const struct vshm_msg *msg, uint8_t uuid[16],
			      struct vshm_err *err);
/* A u64 reply to request (REPLY_ACK or SHARED_OBJECT_LOOKUP). */
int vshm_decode_reply_u64(const struct vshm_msg *msg, uint32_t request,
			  uint64_t *value, struct vshm_err *err);

/*
 * Interpret VhostUserMMap.flags under an encoding: *writable is set.
 * -VSHM_EFIELD for bits the encoding does not define (or draft W without R).
 */
int vshm_mmap_flags_writable(uint64_t flags, enum vshm_flag_encoding enc,
			     bool *writable, struct vshm_err *err);
/* Encode writable as VhostUserMMap.flags in an encoding. */
uint64_t vshm_mmap_flags_make(bool writable, enum vshm_flag_encoding enc);

/*
 * Channels: a stream socket (SOCK_STREAM AF_UNIX) carrying whole frames.
 * Every call uses MSG_DONTWAIT, so the socket may be blocking or not.
 */
struct vshm_chan;

/* Channel takes ownership of fd: vshm_chan_free() closes it. */
#define VSHM_CHAN_OWN_FD	0x1u

/* Wrap a connected stream socket for proto. */
int vshm_chan_new(int fd, enum vshm_proto proto, uint32_t flags,
		  struct vshm_chan **out);
/* Free a channel, its queued output and any half-received fds. */
void vshm_chan_free(struct vshm_chan *ch);
/* The socket, for poll/epoll. */
int vshm_chan_fd(const struct vshm_chan *ch);
/*
 * Receive one whole validated message into msg (which then owns its fds).
 * -EAGAIN: not complete yet, call again when readable; msg is untouched.
 * Any other failure either breaks the channel or drops one frame, and
 * vshm_chan_broken() tells which:
 *  - broken (-EPIPE: the peer closed between frames; -VSHM_ETRUNC: it
 *    closed mid-frame; -VSHM_EVERSION, -VSHM_EHDRFLAGS, -VSHM_EFRAMESIZE: a
 *    header that leaves the stream unsynchronised; a socket -errno): msg is
 *    untouched, and every later call returns the same code;
 *  - not broken (any other -VSHM_E*): a whole frame was read and failed
 *    validation; msg->hdr and msg->payload hold it, its fds are already
 *    closed (msg->nfds is 0), and the channel is ready for the next frame.
 */
int vshm_chan_recv(struct vshm_chan *ch, struct vshm_msg *msg,
		   struct vshm_err *err);
/* 0 while the channel is usable, else the negative code that broke it. */
int vshm_chan_broken(const struct vshm_chan *ch);
/* Like vshm_chan_recv() but poll up to timeout_ms (-1: forever); -ETIMEDOUT. */
int vshm_chan_recv_wait(struct vshm_chan *ch, struct vshm_msg *msg,
			int timeout_ms, struct vshm_err *err);
/*
 * Send msg (fds borrowed).  Whatever the socket does not take now is queued
 * (its fds duplicated) and goes out with vshm_chan_flush().  Returns 0 once
 * sent or queued; -ENOBUFS if the queue would pass its limit.
 */
int vshm_chan_send(struct vshm_chan *ch, const struct vshm_msg *msg,
		   struct vshm_err *err);
/* Push queued output: 0 when the queue is empty, -EAGAIN if bytes remain. */
int vshm_chan_flush(struct vshm_chan *ch);
/* Flush, polling up to timeout_ms (-1: forever); -ETIMEDOUT. */
int vshm_chan_flush_wait(struct vshm_chan *ch, int timeout_ms);
/* Bytes queued for output (wait for POLLOUT while non-zero). */
size_t vshm_chan_pending(const struct vshm_chan *ch);
/* Duplicated fds held by the output queue until the peer takes them. */
size_t vshm_chan_pending_fds(const struct vshm_chan *ch);

/* Takes ownership of fd and closes it, possibly later and elsewhere. */
typedef void (*vshm_fd_closer)(void *arg, int fd);
/*
 * Hand every fd the channel closes on its own (received fds it drops,
 * queued duplicates once sent or freed) to closer instead of close(), so
 * that a caller can keep a close() that blocks off its event loop.  NULL
 * restores close().
 */
int vshm_chan_set_closer(struct vshm_chan *ch, vshm_fd_closer closer,
			 void *arg);

#ifdef __cplusplus
}
#endif

#endif /* VSHM_WIRE_H */
