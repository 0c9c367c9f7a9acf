/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost-user-vshm-pci: a generic vhost-user device whose VIRTIO Shared
 * Memory Region is served by vshmd (and vshm.ko) instead of this process.
 */
#ifndef HW_VIRTIO_VHOST_USER_VSHM_H
#define HW_VIRTIO_VHOST_USER_VSHM_H

/*
 * Called by the vhost-user front-end right after it created the socketpair
 * of the backend channel, with its own end in *channel_fd.  While a
 * vhost-user-vshm-pci device realizes, that end is registered with vshmd
 * (which then receives SHMEM_MAP/UNMAP) and *channel_fd is replaced by a
 * forward socket on which vshmd relays every other back-end request.
 * Otherwise nothing happens.  Returns 0, or -1 when vshmd refused (the
 * device's realize then fails with the reason).
 */
int vhost_user_vshm_take_backend_channel(int *channel_fd);

#endif
