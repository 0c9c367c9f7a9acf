/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMM client of the vshmd broker: one blocking request/reply at a time over
 * the control socket (see control.h).  A broker-side failure comes back as
 * the negated errno it sent; protocol problems as -VSHM_E*.
 */
#ifndef VSHM_CLIENT_H
#define VSHM_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <vshm/error.h>
#include <vshm/control.h>

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
 * VSHM_CTL_DEV_DRAFT_FLAGS and/or VSHM_CTL_DEV_STRICT_HOLES (kmod regions
 * whose holes raise SIGBUS instead of reading as zeros).  The fds are sent,
 * not closed.  On success
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
				  struct vshm_mapping *out, size_t max,
				  uint32_t *total, struct vshm_err *err);

#ifdef __cplusplus
}
#endif

#endif /* VSHM_CLIENT_H */
