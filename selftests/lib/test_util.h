/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the libvshm selftests. */
#ifndef VSHM_TEST_UTIL_H
#define VSHM_TEST_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvshm.h>

#include "fd_util.h"

/* A heap message (they are 64 KiB; keep them off small stacks). */
static inline struct vshm_msg *new_msg(void)
{
	struct vshm_msg *m = calloc(1, sizeof(*m));

	return m;
}

/*
 * A stream socket pair in @sv (SOCK_CLOEXEC, and @sock_flags) and a
 * channel of @proto with @chan_flags on each end: 0, or a negative errno
 * with what was made left in place for the teardown.
 */
static inline int chan_pair(enum vshm_proto proto, int sock_flags,
			    uint32_t chan_flags, int sv[2],
			    struct vshm_chan **a, struct vshm_chan **b)
{
	int ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | sock_flags, 0, sv))
		return -errno;
	ret = vshm_chan_new(sv[0], proto, chan_flags, a);
	return ret ? ret : vshm_chan_new(sv[1], proto, chan_flags, b);
}

#endif
