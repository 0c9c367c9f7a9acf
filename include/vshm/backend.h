/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers for device back-end authors: send SHMEM_MAP / SHMEM_UNMAP and
 * MEM_READ / MEM_WRITE on a backend channel (a struct vshm_chan opened with
 * VSHM_PROTO_BACKEND), and translate guest addresses through the back-end's
 * memory table with a MEM_READ / MEM_WRITE fallback.
 *
 * The helpers that wait for a reply expect nothing else to arrive on the
 * channel meanwhile (in vhost-user only the front-end's replies travel
 * front-end to back-end on this channel).  timeout_ms -1 waits forever.
 */
#ifndef VSHM_BACKEND_H
#define VSHM_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vshm/error.h>
#include <vshm/wire.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of the map/unmap helpers. */
#define VSHM_BE_WAIT_ACK	0x1u	/* set NEED_REPLY and wait for the REPLY_ACK */

/*
 * Ask the front-end to map len bytes of fd at fd_offset into region shmid
 * at shm_offset.  writable is encoded as enc says.  With VSHM_BE_WAIT_ACK a
 * non-zero REPLY_ACK is returned as -errno (-EREMOTEIO if not an errno).
 */
int vshm_be_shmem_map(struct vshm_chan *ch, uint8_t shmid, int fd,
		      uint64_t fd_offset, uint64_t shm_offset, uint64_t len,
		      bool writable, enum vshm_flag_encoding enc, uint32_t flags,
		      int timeout_ms, struct vshm_err *err);
/* Ask the front-end to unmap exactly one mapping of region shmid. */
int vshm_be_shmem_unmap(struct vshm_chan *ch, uint8_t shmid,
			uint64_t shm_offset, uint64_t len, uint32_t flags,
			int timeout_ms, struct vshm_err *err);
/* Read len guest bytes at guest_address with MEM_READ (split into VSHM_MEM_DATA_MAX blocks). */
int vshm_be_mem_read(struct vshm_chan *ch, uint64_t guest_address, void *buf,
		     size_t len, int timeout_ms, struct vshm_err *err);
/* Write len guest bytes with MEM_WRITE; waits for each block's REPLY_ACK. */
int vshm_be_mem_write(struct vshm_chan *ch, uint64_t guest_address,
		      const void *buf, size_t len, int timeout_ms,
		      struct vshm_err *err);

/* One entry of a back-end's memory table (as received in SET_MEM_TABLE). */
struct vshm_mem_region {
	uint64_t guest_addr;
	uint64_t size;
	void *host;		/* where the back-end mapped it */
};

/* Host pointer for [guest_address, +len) if one table entry holds it all, else NULL. */
void *vshm_translate(const struct vshm_mem_region *table, size_t n,
		     uint64_t guest_address, size_t len);
/*
 * Read guest memory: pieces the table translates are copied directly, the
 * rest is fetched with MEM_READ on ch (ch NULL: -EFAULT for those pieces).
 */
int vshm_guest_read(const struct vshm_mem_region *table, size_t n,
		    struct vshm_chan *ch, uint64_t guest_address, void *buf,
		    size_t len, int timeout_ms, struct vshm_err *err);
/* Write guest memory, falling back to MEM_WRITE where translation fails. */
int vshm_guest_write(const struct vshm_mem_region *table, size_t n,
		     struct vshm_chan *ch, uint64_t guest_address,
		     const void *buf, size_t len, int timeout_ms,
		     struct vshm_err *err);

#ifdef __cplusplus
}
#endif

#endif /* VSHM_BACKEND_H */
