// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket's listening end, and one broker per socket.
 *
 * It comes from one of three places: systemd (socket activation,
 * sd_listen_fds()), a VMM that bound it itself (--listen-fd N), or
 * --control-socket PATH, which vshmd binds.  Only in the last case is the
 * path vshmd's to replace and to remove.
 *
 * Binding PATH, two brokers must never both believe they own it:
 *  - PATH.lock is flock()ed for the broker's whole life.  A second vshmd
 *    fails to take it and exits; the lock goes with the process, so a
 *    crashed broker leaves nothing that blocks the next one.
 *  - Holding the lock, a socket at PATH is still probed with connect():
 *    someone may listen there without the lock (systemd, a --listen-fd
 *    broker).  Only ECONNREFUSED, nobody listening, makes it stale.
 *  - The socket's device and inode are recorded at bind, and on exit PATH
 *    is removed only if it is still that socket.
 * The lock file is removed on exit while it is held, so whoever opens it
 * checks, once locked, that the path still names the file it locked.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "vshmd.h"

#define VD_LISTEN_BACKLOG	16

/* Create PATH's missing parent directories (0755; the socket is 0660). */
static int make_parents(struct vshmd *d, const char *path)
{
	char *dir = d->listen.dir, *p;
	bool last;

	if (strlen(path) >= sizeof(d->listen.dir))
		return -ENAMETOOLONG;
	strcpy(dir, path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = 0;
	for (p = dir + 1; ; p++) {
		if (*p && *p != '/')
			continue;
		last = !*p;
		*p = 0;
		if (mkdir(dir, 0755) == 0) {
			vd_log(d, VD_LOG_INFO, "created directory %s", dir);
			if (last)
				d->listen.made_dir = true;
		} else if (errno != EEXIST) {
			return -errno;
		}
		if (last)
			return 0;
		*p = '/';
	}
}

/* Take PATH.lock or say which vshmd holds it. */
static int take_lock(struct vshmd *d)
{
	struct vd_listen *l = &d->listen;
	struct stat fst, pst;
	char pid[32];
	ssize_t n;
	int ret;

	if (snprintf(l->lock_path, sizeof(l->lock_path), "%s.lock",
		     d->opt.control_socket) >= (int)sizeof(l->lock_path))
		return -ENAMETOOLONG;
	while (l->lock_fd < 0) {
		VD_AUTOCLOSE int fd = open(l->lock_path, O_RDWR | O_CREAT |
					   O_CLOEXEC | O_NOFOLLOW, 0644);

		if (fd < 0) {
			ret = -errno;
			vd_log(d, VD_LOG_ERR, "lock file %s: %s", l->lock_path,
			       strerror(-ret));
			return ret;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			ret = -errno;
			if (ret != -EWOULDBLOCK) {
				vd_log(d, VD_LOG_ERR, "locking %s: %s",
				       l->lock_path, strerror(-ret));
				return ret;
			}
			n = pread(fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = 0;
			pid[strcspn(pid, "\n")] = 0;
			vd_log(d, VD_LOG_ERR,
			       "another vshmd (pid %s) is serving %s: one broker per socket; stop it first or choose another --control-socket",
			       *pid ? pid : "unknown", d->opt.control_socket);
			return -EADDRINUSE;
		}
		/* The holder before us may have removed it meanwhile. */
		if (fstat(fd, &fst) == 0 && stat(l->lock_path, &pst) == 0 &&
		    fst.st_dev == pst.st_dev && fst.st_ino == pst.st_ino)
			l->lock_fd = vd_take_fd(&fd);
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(l->lock_fd, 0) < 0 || pwrite(l->lock_fd, pid, n, 0) != n)
		vd_log(d, VD_LOG_DEBUG, "writing the pid to %s: %s",
		       l->lock_path, strerror(errno));
	return 0;
}

/* Is someone listening on the socket at PATH?  0: no (stale), <0: error. */
static int probe_stale(struct vshmd *d, const struct sockaddr_un *sa)
{
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;
	close(fd);
	if (ret == -ECONNREFUSED || ret == -ENOENT)
		return 0;
	if (ret == 0 || ret == -EAGAIN || ret == -EINPROGRESS) {
		vd_log(d, VD_LOG_ERR,
		       "%s is in use: something listens there (a vshmd started by systemd or with --listen-fd?); one broker per socket",
		       sa->sun_path);
		return -EADDRINUSE;
	}
	vd_log(d, VD_LOG_ERR, "probing %s: %s", sa->sun_path, strerror(-ret));
	return ret;
}

static int bind_path(struct vshmd *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = d->opt.control_socket;
	struct stat st;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		vd_log(d, VD_LOG_ERR, "--control-socket %s: longer than %zu bytes",
		       path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	ret = make_parents(d, path);
	if (ret) {
		vd_log(d, VD_LOG_ERR, "creating the directory of %s: %s", path,
		       strerror(-ret));
		return ret;
	}
	ret = take_lock(d);
	if (ret)
		return ret;
	/* Replace a stale socket, never another kind of file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			vd_log(d, VD_LOG_ERR, "%s exists and is not a socket: not replaced",
			       path);
			return -EEXIST;
		}
		ret = probe_stale(d, &sa);
		if (ret)
			return ret;
		vd_log(d, VD_LOG_INFO, "replacing the stale socket %s (nobody listens)",
		       path);
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0660) < 0 || lstat(path, &st) < 0 ||
	    listen(fd, VD_LISTEN_BACKLOG) < 0) {
		ret = -errno;
		vd_log(d, VD_LOG_ERR, "control socket %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	d->listen.own_path = true;
	d->listen.dev = st.st_dev;
	d->listen.ino = st.st_ino;
	return fd;
}

/* What a file that is not a socket is, for the message refusing it. */
static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFIFO: return "a pipe";
	case S_IFLNK: return "a symbolic link";
	}
	return "not a socket";
}

/*
 * Why fd is not a listening AF_UNIX stream socket, written to buf, or
 * NULL if it is one.  The message says what fd N turned out to be: a
 * wrapper that put the wrong file there learns which.
 */
static const char *not_listening(int fd, char *buf, size_t len)
{
	int domain, type, acc;
	socklen_t sl = sizeof(int);
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(buf, len, "it is not open (%s)", strerror(errno));
		return buf;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(buf, len, "it is %s", file_kind(st.st_mode));
		return buf;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &sl) < 0 ||
	    (sl = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl)) < 0 ||
	    (sl = sizeof(int),
	     getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &sl)) < 0) {
		snprintf(buf, len, "its socket options cannot be read (%s)",
			 strerror(errno));
		return buf;
	}
	if (domain != AF_UNIX) {
		snprintf(buf, len, "it is a socket of address family %d, not AF_UNIX (%d)",
			 domain, AF_UNIX);
		return buf;
	}
	if (type != SOCK_STREAM) {
		snprintf(buf, len, "it is a Unix %s socket, not SOCK_STREAM",
			 type == SOCK_DGRAM ? "datagram" :
			 type == SOCK_SEQPACKET ? "seqpacket" : "non-stream");
		return buf;
	}
	if (!acc) {
		snprintf(buf, len, "it does not listen (no listen() on it)");
		return buf;
	}
	return NULL;
}

/*
 * Check that fd (any fd >= 0, stdin included) listens on a Unix stream
 * socket and make it non-blocking: 0 or a negative errno.
 */
static int adopt_fd(struct vshmd *d, int fd, const char *from)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	const char *why;
	char buf[128];
	int fl;

	why = not_listening(fd, buf, sizeof(buf));
	if (why) {
		vd_log(d, VD_LOG_ERR,
		       "%s: fd %d is not a listening Unix stream socket (AF_UNIX, SOCK_STREAM, listen() called): %s",
		       from, fd, why);
		return -ENOTSOCK;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 &&
	    len > offsetof(struct sockaddr_un, sun_path) && sa.sun_path[0])
		snprintf(d->listen.name, sizeof(d->listen.name), "%s", sa.sun_path);
	else
		snprintf(d->listen.name, sizeof(d->listen.name), "fd %d", fd);
	if (d->opt.control_socket && strcmp(d->opt.control_socket, d->listen.name)) {
		vd_log(d, VD_LOG_ERR, "%s: the socket is %s, but --control-socket says %s",
		       from, d->listen.name, d->opt.control_socket);
		return -EINVAL;
	}
	return 0;
}

/*
 * The socket systemd passed (socket activation) in *fd, -1 if none:
 * 0 or a negative errno.
 */
static int activated_fd(struct vshmd *d, int *fd)
{
	int n = sd_listen_fds(1);

	*fd = -1;
	if (n < 0) {
		vd_log(d, VD_LOG_ERR, "socket activation: %s", strerror(-n));
		return n;
	}
	if (n == 0)
		return 0;
	if (n > 1) {
		vd_log(d, VD_LOG_ERR, "socket activation: %d sockets passed, expected 1 (one ListenStream=)",
		       n);
		return -EINVAL;
	}
	*fd = SD_LISTEN_FDS_START;
	return adopt_fd(d, *fd, "socket activation");
}

/*
 * The listening socket, or a negative errno.  Any fd >= 0 may be it:
 * --listen-fd 0 is an inetd-style wrapper's socket on stdin.
 */
static int listen_fd(struct vshmd *d)
{
	int fd, ret;

	ret = activated_fd(d, &fd);
	if (ret)
		return ret;
	if (fd < 0 && d->opt.listen_fd >= 0) {
		fd = d->opt.listen_fd;
		ret = adopt_fd(d, fd, "--listen-fd");
		if (ret)
			return ret;
	}
	if (fd >= 0)
		return fd;
	if (!d->opt.control_socket) {
		vd_log(d, VD_LOG_ERR, "no control socket: give --control-socket PATH or --listen-fd N, or start vshmd through its socket unit");
		return -EINVAL;
	}
	snprintf(d->listen.name, sizeof(d->listen.name), "%s",
		 d->opt.control_socket);
	return bind_path(d);
}

int vd_listen_open(struct vshmd *d)
{
	VD_AUTOCLOSE int fd = listen_fd(d);
	int ret;

	if (fd < 0)
		return fd;
	/* Watched, it is d's (vd_listen_close()); otherwise it closes here. */
	d->listen_w = (struct vd_watch){ .fn = vd_control_accept, .fd = fd };
	ret = vd_watch_set(d, &d->listen_w, EPOLLIN);
	if (ret) {
		d->listen_w.fd = -1;
		return ret;
	}
	vd_take_fd(&fd);
	return 0;
}

void vd_listen_close(struct vshmd *d)
{
	struct vd_listen *l = &d->listen;
	struct stat st;

	if (d->listen_w.fd >= 0) {
		vd_watch_del(d, &d->listen_w);
		close(d->listen_w.fd);
		d->listen_w.fd = -1;
	}
	/* Only the socket this broker bound: a successor's stays. */
	if (l->own_path && lstat(d->opt.control_socket, &st) == 0 &&
	    st.st_dev == l->dev && st.st_ino == l->ino &&
	    unlink(d->opt.control_socket) < 0)
		vd_log(d, VD_LOG_WARN, "cannot remove %s: %s", d->opt.control_socket,
		       strerror(errno));
	l->own_path = false;
	if (l->lock_fd >= 0) {
		unlink(l->lock_path);
		close(l->lock_fd);
		l->lock_fd = -1;
	}
}
