/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the libvshm selftests. */
#ifndef VSHM_TEST_UTIL_H
#define VSHM_TEST_UTIL_H

#include <dirent.h>
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

#endif
