/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvshm: VIRTIO Shared Memory Regions over vhost-user.
 *
 * Umbrella header, <libvshm.h> (<vshm/vshm.h> before 1.3.0): the wire codec and channels (wire.h), region modes
 * (region.h), the device back-end helpers (backend.h), the vhost-user
 * main-channel steps for both ends (frontend.h), the broker control
 * protocol (control.h) and the VMM client (client.h).  Errors: error.h;
 * the library's version: version.h (generated when the library is built).
 */
#ifndef LIBVSHM_H
#define LIBVSHM_H

#include <vshm/version.h>
#include <vshm/error.h>
#include <vshm/wire.h>
#include <vshm/region.h>
#include <vshm/backend.h>
#include <vshm/frontend.h>
#include <vshm/control.h>
#include <vshm/client.h>

#endif /* LIBVSHM_H */
