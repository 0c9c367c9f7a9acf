/* SPDX-License-Identifier: GPL-2.0 */
/*
 * File-descriptor helpers shared by the selftests and the tools: counting
 * open fds, making filled memfds, and sending fds over a Unix socket.
 * Not part of libvshm (which has its own, non-blocking sender in wire.c).
 */
#ifndef VSHM_COMMON_FD_UTIL_H
#define VSHM_COMMON_FD_UTIL_H

#include <stddef.h>
#include <sys/uio.h>

/* Most fds send_with_fds() passes in one message (SCM_MAX_FD is 253). */
#define SEND_FDS_MAX 64

/* Entries of directory @path, "." and ".." not counted; -1 if unreadable. */
int count_dir_entries(const char *path);

/* Open fds of this process, not counting the one used to count them. */
int count_open_fds(void);

/*
 * A memfd (MFD_CLOEXEC | MFD_ALLOW_SEALING) of @size bytes, each set to
 * @fill.  Returns the fd, or -1 with errno set and nothing left open.
 */
int memfd_filled(size_t size, int fill);

/*
 * Send @iov with @nfds (at most SEND_FDS_MAX) fds attached as SCM_RIGHTS,
 * blocking, without SIGPIPE.  Returns 0 if every byte went out in one
 * sendmsg(), -1 otherwise (errno says why; a short send sets EMSGSIZE).
 */
int send_with_fds(int sock, const struct iovec *iov, int niov,
		  const int *fds, int nfds);

#endif /* VSHM_COMMON_FD_UTIL_H */
