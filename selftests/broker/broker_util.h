/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vshmd selftests: start a broker as a child
 * process, register devices whose back-end end the test holds, send raw
 * frames, and look at the broker from outside (fd count, liveness).
 *
 * The broker binary is $VSHMD, else <test dir>/vshmd when it is there (an
 * installed kselftest tree keeps the programs a suite runs beside it),
 * else <test dir>/../../broker/vshmd (tests live in
 * $(OUT)/selftests/broker/, vshmd in $(OUT)/broker/).  The region
 * mode is $VSHM_TEST_REGION_MODE, else kmod when /dev/vshm exists (in the
 * VM), else mmap (native runs).
 */
#ifndef VSHM_BROKER_UTIL_H
#define VSHM_BROKER_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libvshm.h>

#include "fd_util.h"
#include "self_path.h"
#include "touch_probe.h"

#define T_TIMEOUT_MS	5000
#define PG		4096u

struct broker {
	pid_t pid;
	char dir[64];
	char sock[96];
	char log[96];
	bool kmod;
	struct vshm_client *c;
};

/* A device as the test sees it: the back-end end of its channel. */
struct tdev {
	uint32_t id;
	int be;			/* raw socket (back-end side) */
	struct vshm_chan *ch;	/* the same socket as a channel */
	int fw;			/* VMM side of the forward socket, or -1 */
	int region[4];		/* kmod region fds, -1 otherwise */
};

static inline const char *test_region_mode(void)
{
	const char *b = getenv("VSHM_TEST_REGION_MODE");

	if (b && *b)
		return b;
	return access("/dev/vshm", F_OK) == 0 ? "kmod" : "mmap";
}

/*
 * Where a program the tests run is: beside the test (an installed
 * kselftest tree), else in its build directory, $(OUT)/<build_dir>/.
 */
static inline void helper_path(char *out, size_t len, const char *build_dir,
			       const char *name)
{
	char rel[128];

	path_near_self(out, len, name, NULL);
	if (access(out, X_OK) == 0)
		return;
	snprintf(rel, sizeof(rel), "../../%s/%s", build_dir, name);
	path_near_self(out, len, rel, NULL);
}

static inline void vshmd_path(char *out, size_t len)
{
	if (getenv("VSHMD") && *getenv("VSHMD")) {
		snprintf(out, len, "%s", getenv("VSHMD"));
		return;
	}
	helper_path(out, len, "broker", "vshmd");
}

static inline void tools_path(char *out, size_t len, const char *tool)
{
	helper_path(out, len, "tools", tool);
}

/* Start vshmd with extra NULL-terminated arguments; 0 once HELLO worked. */

/*
 * Connect to the broker b->pid is starting, for up to 10 s: 0, -ECHILD if
 * it exited first, or -ETIMEDOUT.
 */
static inline int broker_wait_ready(struct broker *b)
{
	int i;

	for (i = 0; i < 1000; i++) {
		if (vshm_client_connect(b->sock, T_TIMEOUT_MS, &b->c, NULL) == 0) {
			b->kmod = vshm_client_features(b->c) & VSHM_CTL_FEAT_KMOD;
			return 0;
		}
		if (waitpid(b->pid, NULL, WNOHANG) == b->pid) {
			b->pid = 0;
			return -ECHILD;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}
static inline int broker_startv(struct broker *b, const char *region_mode,
				const char *const *extra)
{
	char vshmd[PATH_MAX];
	const char *argv[32];
	int i, n = 0;

	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "/tmp/vshmd-test.XXXXXX");
	if (!mkdtemp(b->dir))
		return -errno;
	snprintf(b->sock, sizeof(b->sock), "%s/ctl.sock", b->dir);
	snprintf(b->log, sizeof(b->log), "%s/vshmd.log", b->dir);
	vshmd_path(vshmd, sizeof(vshmd));
	argv[n++] = vshmd;
	argv[n++] = "--control-socket";
	argv[n++] = b->sock;
	argv[n++] = "--region-mode";
	argv[n++] = region_mode ? region_mode : test_region_mode();
	argv[n++] = "--log-file";
	argv[n++] = b->log;
	argv[n++] = "--log-level";
	argv[n++] = "debug";
	for (i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	b->pid = fork();
	if (b->pid < 0)
		return -errno;
	if (b->pid == 0) {
		/* Keep the test's own fds out of the broker. */
		for (i = 3; i < 1024; i++)
			close(i);
		execv(vshmd, (char *const *)argv);
		_exit(127);
	}
	return broker_wait_ready(b);
}

static inline int broker_start(struct broker *b, const char *region_mode)
{
	return broker_startv(b, region_mode, NULL);
}

/*
 * Exit status of pid within timeout_s, -1 if a signal killed it, -2 if it
 * hung (then it is killed and reaped).
 */
static inline int wait_exit(pid_t pid, int timeout_s)
{
	int i, status;

	for (i = 0; i < timeout_s * 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -2;
}

/* SIGTERM the broker; its exit status (or -1 if killed by a signal or hung). */
static inline int broker_stop(struct broker *b)
{
	int ret;

	if (b->c)
		vshm_client_close(b->c);
	b->c = NULL;
	if (b->pid <= 0)
		return -1;
	kill(b->pid, SIGTERM);
	ret = wait_exit(b->pid, 5);
	b->pid = 0;
	unlink(b->sock);
	unlink(b->log);
	rmdir(b->dir);
	return ret < 0 ? -1 : ret;
}

/*
 * Poll and dispatch c for at most timeout_ms, or only while requests are
 * in flight; a negative dispatch result at once, else the last one.
 */
static inline int client_pump(struct vshm_client *c, int timeout_ms,
			      bool while_inflight, struct vshm_err *err)
{
	struct pollfd p = { .fd = vshm_client_fd(c) };
	int ret = 0, i;

	for (i = 0; i < timeout_ms / 10; i++) {
		if (while_inflight && !vshm_client_inflight(c))
			break;
		p.events = vshm_client_events(c);
		poll(&p, 1, 10);
		ret = vshm_client_dispatch(c, err);
		if (ret < 0)
			return ret;
	}
	return ret;
}

/* Do the first 64 KiB of the file at path contain s? */
static inline bool file_has(const char *path, const char *s)
{
	char buf[1 << 16];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, s);
}

/* Does the broker's log contain s? */
static inline bool broker_log_has(struct broker *b, const char *s)
{
	return file_has(b->log, s);
}

/* Open fds of the broker process. */
static inline int broker_fds_now(struct broker *b)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd", b->pid);
	return count_dir_entries(path);
}

/*
 * The broker's fd count once steady: peers' fds are closed by its closer
 * threads, a moment after the reply (three equal reads 10 ms apart, 1 s
 * at most).
 */
static inline int broker_fds(struct broker *b)
{
	int n = broker_fds_now(b), same = 0, i, m;

	for (i = 0; i < 100 && same < 2; i++) {
		usleep(10000);
		m = broker_fds_now(b);
		same = m == n ? same + 1 : 0;
		n = m;
	}
	return n;
}

/* Wait until the broker's fd count is want (it may lag by a loop turn). */
static inline int broker_fds_settle(struct broker *b, int want)
{
	int i, n = -1;

	for (i = 0; i < 200; i++) {
		n = broker_fds_now(b);
		if (n == want)
			return n;
		usleep(10000);
	}
	return n;
}

static inline bool broker_alive(struct broker *b)
{
	struct vshm_ctl_stats st;

	return b->pid > 0 && waitpid(b->pid, NULL, WNOHANG) == 0 &&
	       vshm_client_stats(b->c, VSHM_CTL_ALL_DEVICES, &st, NULL) == 0;
}

/* Register a device with sizes[n]; fw: also create a forward socket. */
static inline int tdev_add_flags(struct broker *b, struct tdev *t,
				 const uint64_t *sizes, uint32_t n, bool fw,
				 uint32_t flags)
{
	int sv[2], fv[2] = { -1, -1 }, ret, i;
	int fds[VSHM_MAX_SHMIDS];

	memset(t, 0, sizeof(*t));
	t->fw = -1;
	for (i = 0; i < 4; i++)
		t->region[i] = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if (fw && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fv) < 0)
		return -errno;
	ret = vshm_client_add_device(b->c, sv[1], fw ? fv[1] : -1, sizes, n,
				     flags, &t->id, b->kmod ? fds : NULL, NULL);
	close(sv[1]);
	if (fw)
		close(fv[1]);
	if (ret) {
		close(sv[0]);
		if (fw)
			close(fv[0]);
		return ret;
	}
	for (i = 0; b->kmod && i < (int)n; i++) {
		if (i < 4)
			t->region[i] = fds[i];
		else if (fds[i] >= 0)
			close(fds[i]);
	}
	t->be = sv[0];
	t->fw = fw ? fv[0] : -1;
	return vshm_chan_new(t->be, VSHM_PROTO_BACKEND, 0, &t->ch);
}

static inline int tdev_add(struct broker *b, struct tdev *t, uint64_t size,
			   uint64_t ga)
{
	int ret = tdev_add_flags(b, t, &size, 1, false, 0);

	if (!ret && ga != UINT64_MAX)
		ret = vshm_client_set_region_addr(b->c, t->id, 0, ga, NULL);
	return ret;
}

static inline void tdev_close(struct tdev *t)
{
	int i;

	vshm_chan_free(t->ch);
	t->ch = NULL;
	if (t->be >= 0)
		close(t->be);
	if (t->fw >= 0)
		close(t->fw);
	for (i = 0; i < 4; i++)
		if (t->region[i] >= 0)
			close(t->region[i]);
	t->be = t->fw = -1;
}

/* Send one raw frame: header fields, payload, fds. */
static inline int send_frame(int fd, uint32_t req, uint32_t flags, uint32_t size,
			     const void *payload, size_t plen, const int *fds,
			     unsigned int nfds)
{
	struct vshm_hdr h = { .request = req, .flags = flags, .size = size };
	struct iovec iov[2] = {
		{ &h, sizeof(h) }, { (void *)payload, plen },
	};

	return send_with_fds(fd, iov, plen ? 2 : 1, fds, nfds);
}

/* A VhostUserMMap payload. */
static inline void put_mmap(uint8_t p[40], uint8_t shmid, uint64_t fd_off,
			    uint64_t shm_off, uint64_t len, uint64_t flags)
{
	memset(p, 0, 40);
	p[0] = shmid;
	memcpy(p + 8, &fd_off, 8);
	memcpy(p + 16, &shm_off, 8);
	memcpy(p + 24, &len, 8);
	memcpy(p + 32, &flags, 8);
}

/* Receive one message on the test's channel within timeout_ms. */
static inline int recv_msg(struct tdev *t, struct vshm_msg *m, int timeout_ms)
{
	return vshm_chan_recv_wait(t->ch, m, timeout_ms, NULL);
}

/* Wait for a u64 reply to req: its value, or -1 on anything else. */
static inline int64_t recv_u64(struct tdev *t, uint32_t req)
{
	struct vshm_msg *m = malloc(sizeof(*m));
	uint64_t v;
	int64_t ret = -1;

	if (!m)
		return -1;
	if (recv_msg(t, m, T_TIMEOUT_MS) == 0) {
		if (vshm_decode_reply_u64(m, req, &v, NULL) == 0)
			ret = (int64_t)v;
		vshm_msg_release(m);
	}
	free(m);
	return ret;
}

/* SHARED_OBJECT_ADD / _REMOVE with NEED_REPLY: the REPLY_ACK value, or -1. */
static inline int64_t so_ack(struct tdev *t, uint32_t req, const uint8_t uuid[16], int fd)
{
	if (send_frame(t->be, req, VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, 16,
		       uuid, 16, &fd, fd >= 0 ? 1 : 0))
		return -1;
	return recv_u64(t, req);
}

/* SHARED_OBJECT_LOOKUP: the reply value (-1 on a bad reply); *fd gets the fd or -1. */
static inline int64_t so_lookup(struct tdev *t, const uint8_t uuid[16], int *fd)
{
	struct vshm_msg *m = malloc(sizeof(*m));
	int64_t ret = -1;
	uint64_t v;

	*fd = -1;
	if (!m)
		return -1;
	if (send_frame(t->be, VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP,
		       VSHM_HDR_VERSION, 16, uuid, 16, NULL, 0) == 0 &&
	    recv_msg(t, m, T_TIMEOUT_MS) == 0) {
		if (vshm_decode_reply_u64(m, VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP,
					  &v, NULL) == 0 &&
		    ((v == 0 && m->nfds == 1) || (v != 0 && m->nfds == 0))) {
			ret = (int64_t)v;
			*fd = vshm_msg_take_fd(m, 0);
		}
		vshm_msg_release(m);
	}
	free(m);
	return ret;
}

/* A MEM_READ reply's status (0 with data copied to out), or -1. */
static inline int64_t recv_mem_read(struct tdev *t, uint32_t want, void *out)
{
	struct vshm_msg *m = malloc(sizeof(*m));
	const uint8_t *data;
	uint64_t st;
	int64_t ret = -1;

	if (!m)
		return -1;
	if (recv_msg(t, m, T_TIMEOUT_MS) == 0) {
		if (vshm_decode_mem_read_reply(m, want, &st, &data, NULL) == 0) {
			ret = (int64_t)st;
			if (!st && out)
				memcpy(out, data, want);
		}
		vshm_msg_release(m);
	}
	free(m);
	return ret;
}

/* Nothing arrives on the back-end side within ms? */
static inline bool quiet(struct tdev *t, int ms)
{
	struct pollfd p = { .fd = t->be, .events = POLLIN };

	return poll(&p, 1, ms) == 0;
}

/* Has the broker closed this back-end's channel (EOF within timeout)? */
static inline bool closed_by_broker(struct tdev *t)
{
	char buf[4096];
	int i;

	for (i = 0; i < 100; i++) {
		struct pollfd p = { .fd = t->be, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, T_TIMEOUT_MS) <= 0)
			return false;
		n = recv(t->be, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			return true;
		if (n < 0 && errno != EAGAIN)
			return errno == ECONNRESET;
	}
	return false;
}

/* SHMEM_MAP with NEED_REPLY: the REPLY_ACK value. */
static inline int64_t do_map(struct tdev *t, uint8_t shmid, int fd,
			     uint64_t fd_off, uint64_t off, uint64_t len,
			     uint64_t flags)
{
	uint8_t p[40];

	put_mmap(p, shmid, fd_off, off, len, flags);
	if (send_frame(t->be, VSHM_VU_BACKEND_SHMEM_MAP,
		       VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, 40, p, 40, &fd,
		       fd >= 0 ? 1 : 0))
		return -1;
	return recv_u64(t, VSHM_VU_BACKEND_SHMEM_MAP);
}

static inline int64_t do_unmap(struct tdev *t, uint8_t shmid, uint64_t off,
			       uint64_t len)
{
	uint8_t p[40];

	put_mmap(p, shmid, 0, off, len, 0);
	if (send_frame(t->be, VSHM_VU_BACKEND_SHMEM_UNMAP,
		       VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, 40, p, 40, NULL, 0))
		return -1;
	return recv_u64(t, VSHM_VU_BACKEND_SHMEM_UNMAP);
}

/* MEM_READ: the reply status (0: data in out). */
static inline int64_t do_read(struct tdev *t, uint64_t ga, uint32_t len, void *out)
{
	uint8_t p[12];

	memcpy(p, &ga, 8);
	memcpy(p + 8, &len, 4);
	if (send_frame(t->be, VSHM_VU_BACKEND_MEM_READ, VSHM_HDR_VERSION, 12, p,
		       12, NULL, 0))
		return -1;
	return recv_mem_read(t, len, out);
}

/* MEM_WRITE with NEED_REPLY: the REPLY_ACK value. */
static inline int64_t do_write(struct tdev *t, uint64_t ga, const void *data,
			       uint32_t len)
{
	uint8_t *p = malloc(12 + len);
	int ret;

	if (!p)
		return -1;
	memcpy(p, &ga, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, data, len);
	ret = send_frame(t->be, VSHM_VU_BACKEND_MEM_WRITE,
			 VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, 12 + len, p,
			 12 + len, NULL, 0);
	free(p);
	return ret ? -1 : recv_u64(t, VSHM_VU_BACKEND_MEM_WRITE);
}

/* Did touching p kill a child with SIGBUS? */
static inline bool sigbus_at(const volatile uint8_t *p)
{
	return read_fault_signal(p) == SIGBUS;
}

#endif /* VSHM_BROKER_UTIL_H */
