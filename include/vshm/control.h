/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vshm control protocol: a VMM talks to the vshmd broker over a Unix stream
 * socket with the vhost-user 12-byte framing and its own request numbers.
 * Every request gets exactly one reply with the same request number and the
 * REPLY flag, in the order the requests were sent (they may be pipelined).
 * In forwarding mode the broker also sends requests of its own
 * (VSHM_CTL_VMM_*) on the connection that added a device, and the VMM
 * answers them the same way, in order.  A reply payload starts with struct
 * vshm_ctl_status; when its error is 0 the request's reply body follows,
 * otherwise nothing does.
 * Every struct here is laid out with explicit padding; reserved fields must
 * be zero (the decoder rejects them otherwise).  See
 * Documentation/protocol.rst for the message-by-message description.
 */
#ifndef VSHM_CONTROL_H
#define VSHM_CONTROL_H

#include <stdint.h>
#include <vshm/error.h>
#include <vshm/wire.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VSHM_CTL_VERSION	1u

/* Request numbers. */
#define VSHM_CTL_HELLO		1u  /* version handshake */
#define VSHM_CTL_ADD_DEVICE	2u  /* fds: backend channel [, forward socket] */
#define VSHM_CTL_GET_REGION	3u  /* reply fd: the region fd of one shmid */
#define VSHM_CTL_SET_REGION_ADDR 4u /* guest base address of a region */
#define VSHM_CTL_SET_MEM_TABLE	5u  /* fds: one memfd per guest RAM range */
#define VSHM_CTL_RESET_DEVICE	6u  /* drop every mapping of a device */
#define VSHM_CTL_REMOVE_DEVICE	7u
#define VSHM_CTL_GET_STATS	8u
#define VSHM_CTL_LIST_DEVICES	9u
#define VSHM_CTL_LIST_MAPPINGS	10u
/*
 * Requests the broker sends to the VMM (forwarding mode, feature
 * VSHM_CTL_FEAT_VMM_MAPS): the VMM executes them in its own reservations
 * and answers each with a status-only reply, in order.
 */
#define VSHM_CTL_VMM_MAP	11u /* fd: the source; struct vshm_ctl_vmm_map */
#define VSHM_CTL_VMM_UNMAP	12u /* struct vshm_ctl_vmm_map (fd_offset, flags 0) */
#define VSHM_CTL_VMM_RESET	13u /* struct vshm_ctl_vmm_reset: drop every mapping */
/*
 * Inspection (feature VSHM_CTL_FEAT_BROKER_INFO: a broker that did not
 * grant it closes the connection on these numbers).
 */
#define VSHM_CTL_LIST_REGIONS	14u /* every region of one device, or of all */
#define VSHM_CTL_LIST_RAM	15u /* the guest RAM table */
#define VSHM_CTL_LIST_SHARED_OBJECTS 16u /* the shared-object table */
#define VSHM_CTL_LIST_CLIENTS	17u /* connected control clients */
#define VSHM_CTL_GET_LIMITS	18u /* limits and their current use */
/*
 * Hand a restarted broker a device whose regions live on in /dev/vshm
 * (fds: backend channel [, forward socket], region fds); kmod only.
 */
#define VSHM_CTL_ADOPT_DEVICE	19u
#define VSHM_CTL_MAX_REQUEST	19u

/* Limits. */
#define VSHM_CTL_MAX_RAM_RANGES	32u	/* entries (and memfds) in SET_MEM_TABLE */
#define VSHM_CTL_MAX_DEVICES	1024u	/* entries in one LIST_DEVICES reply */
#define VSHM_CTL_MAX_MAPPINGS	1024u	/* entries in one LIST_MAPPINGS reply */
#define VSHM_CTL_MAX_REGIONS	1024u	/* entries in one LIST_REGIONS reply */
#define VSHM_CTL_MAX_SHARED_OBJECTS 1024u /* entries in one LIST_SHARED_OBJECTS reply */
#define VSHM_CTL_MAX_CLIENTS	1024u	/* entries in one LIST_CLIENTS reply */
#define VSHM_CTL_MAX_LIMITS	64u	/* entries in one GET_LIMITS reply */
#define VSHM_CTL_ALL_DEVICES	0xffffffffu /* GET_STATS, LIST_REGIONS over every device */

/* Every reply payload starts with this. */
struct vshm_ctl_status {
	uint32_t error;		/* 0, or a positive errno */
	uint32_t reserved;
};

/* HELLO request and reply body. */
struct vshm_ctl_hello {
	uint32_t version;	/* VSHM_CTL_VERSION */
	uint32_t features;	/* VSHM_CTL_FEAT_*: request offers, reply grants */
	uint64_t reserved;
};

/* The broker serves regions from /dev/vshm (region fds available). */
#define VSHM_CTL_FEAT_KMOD	0x1u
/*
 * Forwarding mode: the VMM reserves each region itself and executes the
 * mappings the broker approved (VSHM_CTL_VMM_* requests on this
 * connection).  Offered by a client that can serve them.
 */
#define VSHM_CTL_FEAT_VMM_MAPS	0x2u
/*
 * The HELLO reply body goes on with struct vshm_ctl_broker_info, and the
 * broker answers the inspection requests (LIST_REGIONS .. GET_LIMITS).
 * Every broker from vshm 1.2 on grants it to a client that offers it.  A
 * broker before 1.2 refuses a HELLO offering it with EBADMSG and keeps
 * the connection: the client says HELLO again without it.
 */
#define VSHM_CTL_FEAT_BROKER_INFO 0x4u
#define VSHM_CTL_FEAT_ALL	(VSHM_CTL_FEAT_KMOD | VSHM_CTL_FEAT_VMM_MAPS | \
				 VSHM_CTL_FEAT_BROKER_INFO)

/* Follows struct vshm_ctl_hello in a HELLO reply granting BROKER_INFO. */
struct vshm_ctl_broker_info {
	uint32_t major;		/* the broker's release, as in VERSION */
	uint32_t minor;
	uint32_t patch;
	uint32_t reserved;
	char version[32];	/* the same as a string, NUL-terminated and NUL-padded */
};

/* Where a device's regions live (ADD_DEVICE reply region_mode). */
#define VSHM_CTL_REGIONS_KMOD	1u  /* region fds from /dev/vshm: GET_REGION, mmap once */
#define VSHM_CTL_REGIONS_BROKER	2u  /* inside vshmd (mmap region mode): the VMM has none */
#define VSHM_CTL_REGIONS_VMM	3u  /* the VMM reserves them and serves VSHM_CTL_VMM_* */

/* ADD_DEVICE flags. */
#define VSHM_CTL_DEV_FORWARD	0x1u  /* a second fd: socket to forward other back-end requests to */
#define VSHM_CTL_DEV_DRAFT_FLAGS 0x2u /* VhostUserMMap.flags use the draft MAP_R=1/MAP_W=2 */
/* kmod regions with the strict hole policy (SIGBUS, KVM_RUN EFAULT); default: safe */
#define VSHM_CTL_DEV_STRICT_HOLES 0x4u
/*
 * Populate every SHMEM_MAP of the device (VSHM_REGION_POPULATE: kmod, the
 * VMM's mmap of the region takes no fault on first touch; no effect in
 * forwarding mode).  A broker before vshm 1.4 refuses the flag with
 * EBADMSG; vshm_client_add_device() says EOPNOTSUPP before sending it.
 * vshmd --populate sets it on every device.
 */
#define VSHM_CTL_DEV_POPULATE	0x8u
#define VSHM_CTL_DEV_FLAGS_ALL	(VSHM_CTL_DEV_FORWARD | VSHM_CTL_DEV_DRAFT_FLAGS | \
				 VSHM_CTL_DEV_STRICT_HOLES | VSHM_CTL_DEV_POPULATE)

/*
 * ADD_DEVICE request: this header then nregions u64 sizes, index = shmid
 * (0 = no region), each a multiple of VSHM_PAGE_SIZE; nregions <= 256.
 * fds: the backend channel, then the forward socket if VSHM_CTL_DEV_FORWARD.
 */
struct vshm_ctl_add_device {
	uint32_t flags;
	uint32_t nregions;
	uint64_t reserved;
	/* uint64_t sizes[nregions]; */
};

/* ADD_DEVICE reply body. */
struct vshm_ctl_device {
	uint32_t dev_id;
	uint32_t nregions;	/* as requested */
	uint32_t region_mode;	/* VSHM_CTL_REGIONS_* */
	uint32_t reserved;
};

/*
 * ADOPT_DEVICE request: this header then nregions struct
 * vshm_ctl_adopt_region (index = shmid), nregions <= 256.  Fds: the
 * backend channel, the forward socket if VSHM_CTL_DEV_FORWARD, then the
 * region fd of each shmid whose size is not 0, in shmid order (so at most
 * VSHM_MAX_FDS - 2 regions).  The reply body is struct vshm_ctl_device.
 */
struct vshm_ctl_adopt_device {
	uint32_t flags;		/* VSHM_CTL_DEV_*, as ADD_DEVICE had them */
	uint32_t nregions;
	uint64_t reserved;
	/* struct vshm_ctl_adopt_region regions[nregions]; */
};

/* One shmid of an ADOPT_DEVICE request. */
struct vshm_ctl_adopt_region {
	uint64_t size;		/* 0: no region; else its fd's region size */
	uint64_t guest_addr;	/* with VSHM_CTL_REGION_PLACED, else 0 */
	uint32_t flags;		/* VSHM_CTL_REGION_PLACED */
	uint32_t reserved;
};

/* VSHM_CTL_VMM_MAP / VSHM_CTL_VMM_UNMAP request (broker to VMM). */
struct vshm_ctl_vmm_map {
	uint32_t dev_id;
	uint32_t shmid;
	uint64_t fd_offset;	/* UNMAP: 0 */
	uint64_t shm_offset;
	uint64_t len;
	uint32_t flags;		/* VSHM_CTL_VMM_WRITE; UNMAP: 0 */
	uint32_t reserved;
};

#define VSHM_CTL_VMM_WRITE	0x1u	/* map read-write (else read-only) */

/* VSHM_CTL_VMM_RESET request (broker to VMM): shmids 0..nregions-1. */
struct vshm_ctl_vmm_reset {
	uint32_t dev_id;
	uint32_t nregions;
};

/* GET_REGION request; the reply body is struct vshm_ctl_region plus one fd. */
struct vshm_ctl_region_ref {
	uint32_t dev_id;
	uint32_t shmid;
};

/* GET_REGION reply body. */
struct vshm_ctl_region {
	uint64_t size;
	uint32_t shmid;
	uint32_t reserved;
};

/* SET_REGION_ADDR request. */
struct vshm_ctl_region_addr {
	uint32_t dev_id;
	uint32_t shmid;
	uint64_t guest_addr;
};

/* One SET_MEM_TABLE entry; its memfd is the fd at the same index. */
struct vshm_ctl_ram_range {
	uint64_t guest_addr;
	uint64_t size;		/* non-zero */
	uint64_t fd_offset;
	uint64_t reserved;
};

/* SET_MEM_TABLE request: this header then nranges entries (0 clears the table). */
struct vshm_ctl_mem_table {
	uint32_t nranges;	/* <= VSHM_CTL_MAX_RAM_RANGES */
	uint32_t reserved;
	/* struct vshm_ctl_ram_range ranges[nranges]; */
};

/* RESET_DEVICE, REMOVE_DEVICE, GET_STATS request. */
struct vshm_ctl_dev_ref {
	uint32_t dev_id;
	uint32_t reserved;
};

/* GET_STATS reply body (for one device, or summed over all). */
struct vshm_ctl_stats {
	uint64_t devices;
	uint64_t mappings;
	uint64_t mapped_bytes;
	uint64_t maps;
	uint64_t unmaps;
	uint64_t map_errors;
	uint64_t mem_reads;
	uint64_t mem_writes;
	uint64_t mem_read_bytes;
	uint64_t mem_write_bytes;
	uint64_t forwarded;
	uint64_t protocol_errors;
	uint64_t reserved[4];
};

/*
 * Reply body of every LIST_* request and of GET_LIMITS: this header then
 * count entries.
 */
struct vshm_ctl_list {
	uint32_t total;		/* entries that exist */
	uint32_t count;		/* entries in this reply */
};

/* A LIST_DEVICES entry. */
struct vshm_ctl_device_entry {
	uint32_t dev_id;
	uint32_t flags;		/* VSHM_CTL_DEV_* */
	uint32_t nregions;
	uint32_t nmappings;
};

/* LIST_MAPPINGS request: entries from index start of (dev_id, shmid). */
struct vshm_ctl_list_mappings {
	uint32_t dev_id;
	uint32_t shmid;
	uint32_t start;
	uint32_t reserved;
};

/* A LIST_MAPPINGS entry (also the region API's mapping description). */
struct vshm_mapping_entry {
	uint64_t shm_offset;
	uint64_t len;
	uint64_t fd_offset;
	uint32_t flags;		/* VSHM_REGION_WRITE */
	uint32_t reserved;
};

/* LIST_REGIONS request: entries from index start, of one device or of all. */
struct vshm_ctl_list_regions {
	uint32_t dev_id;	/* or VSHM_CTL_ALL_DEVICES */
	uint32_t start;
};

/* A LIST_REGIONS entry: devices newest first, each by shmid. */
struct vshm_ctl_region_entry {
	uint32_t dev_id;
	uint32_t shmid;
	uint64_t size;
	uint64_t guest_addr;	/* with VSHM_CTL_REGION_PLACED, else 0 */
	uint64_t mapped_bytes;
	uint32_t nmappings;
	uint32_t flags;		/* VSHM_CTL_REGION_* */
};

#define VSHM_CTL_REGION_PLACED	0x1u	/* SET_REGION_ADDR gave it a guest address */

/* LIST_SHARED_OBJECTS and LIST_CLIENTS request: entries from index start. */
struct vshm_ctl_list_start {
	uint32_t start;
	uint32_t reserved;
};

/* A LIST_SHARED_OBJECTS entry. */
struct vshm_ctl_shared_object_entry {
	uint8_t uuid[16];
	uint32_t dev_id;	/* the device that added it */
	uint32_t reserved;
	uint64_t size;		/* of its dma-buf, in bytes */
};

/* A LIST_CLIENTS entry: one control connection. */
struct vshm_ctl_client_entry {
	uint32_t client_id;	/* numbered from 1 in connection order */
	uint32_t flags;		/* VSHM_CTL_CLIENT_* */
	uint32_t pid;		/* the peer's credentials when it connected */
	uint32_t uid;
	uint32_t gid;
	uint32_t ndevices;	/* devices it added that still exist */
	uint64_t requests;	/* requests it sent */
	uint64_t queued_bytes;	/* replies not yet taken from the socket */
};

#define VSHM_CTL_CLIENT_SELF	0x1u	/* the connection that asked */
#define VSHM_CTL_CLIENT_HELLO	0x2u	/* said HELLO */
#define VSHM_CTL_CLIENT_VMM_MAPS 0x4u	/* granted VSHM_CTL_FEAT_VMM_MAPS */

/* A GET_LIMITS entry: one limit and how much of it is in use. */
struct vshm_ctl_limit {
	char name[24];		/* "devices", "mappings", ...: NUL-terminated and NUL-padded */
	uint32_t scope;		/* VSHM_CTL_LIMIT_* */
	uint32_t reserved;
	uint64_t limit;
	uint64_t used;		/* per-device limits: the highest use of any device */
};

#define VSHM_CTL_LIMIT_BROKER	1u	/* one budget for the whole broker */
#define VSHM_CTL_LIMIT_DEVICE	2u	/* a budget per device */

/* Encode a control request; payload is the request struct (and array), fds borrowed. */
int vshm_ctl_encode_request(struct vshm_msg *msg, uint32_t request,
			    const void *payload, size_t len,
			    const int *fds, unsigned int nfds);
/* Encode a reply: status error (positive errno or 0), then body if error is 0. */
int vshm_ctl_encode_reply(struct vshm_msg *msg, uint32_t request, uint32_t error,
			  const void *body, size_t len, const int *fds,
			  unsigned int nfds);
/*
 * Get a validated request's payload: *payload points into msg, *len is its size.
 * Arrays follow the fixed struct, as described above.
 */
int vshm_ctl_decode_request(const struct vshm_msg *msg, uint32_t request,
			    const void **payload, size_t *len,
			    struct vshm_err *err);
/*
 * Get a validated reply to request: *error is the status (positive errno or
 * 0); on 0, *body and *len describe the body.
 */
int vshm_ctl_decode_reply(const struct vshm_msg *msg, uint32_t request,
			  uint32_t *error, const void **body, size_t *len,
			  struct vshm_err *err);

#ifdef __cplusplus
}
#endif

#endif /* VSHM_CONTROL_H */
