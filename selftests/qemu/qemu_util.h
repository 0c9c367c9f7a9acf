/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the QEMU tests share: a vhost-user back-end process built on
 * libvshm's back-end API, which answers QEMU's main-channel requests and,
 * on the test's word (a SOCK_SEQPACKET "script" socket), maps memfds with
 * SHMEM_MAP, unmaps them, reads guest memory with MEM_READ and shows what
 * a memfd holds; and the plumbing around vshmd, QEMU and its log.
 */
#ifndef VSHM_QEMU_UTIL_H
#define VSHM_QEMU_UTIL_H

#include <inttypes.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "../broker/broker_util.h"

#define REGION_SIZE	(4ull << 20)
#define MAP_OFF		(1ull << 20)	/* the read-write memfd */
#define RO_OFF		(2ull << 20)	/* the read-only memfd */
#define MAP_LEN		(64ull << 10)
#define VIRTIO_ID	37
#define TIMEOUT_MS	10000

/* vhost-user main-channel requests this back-end answers. */
enum {
	VU_GET_FEATURES = 1,
	VU_GET_QUEUE_NUM = 17,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_BACKEND_REQ_FD = 21,
	VU_GET_CONFIG = 24,
	VU_GET_MAX_MEM_SLOTS = 36,
};
#define VU_FLAG_REPLY		0x4u
#define VU_FLAG_NEED_REPLY	0x8u
#define VU_VERSION		0x1u

/* What the test asks the back-end to do (one datagram each way). */
enum op { OP_MAP = 1, OP_UNMAP, OP_PEEK, OP_MEM_READ, OP_QUIT };

struct script_msg {
	uint32_t op;
	int32_t status;		/* reply: 0 or -errno */
	uint64_t off;		/* region offset, memfd offset (PEEK) or guest address */
	uint32_t slot;		/* which memfd: 0 read-write, 1 read-only, 2 the remap */
	uint8_t data[8];
};

struct backend {
	int main_fd;
	struct vshm_chan *bch;
	int memfd[3];
	uint8_t *buf[3];
};

/* One raw vhost-user frame: header, then payload; fds into *fd. */
static inline int vu_recv(int fd, uint32_t hdr[3], uint8_t *payload, int *rfd)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = { hdr, 12 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n;

	*rfd = -1;
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	if (n != 12)
		return -EPIPE;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(rfd, CMSG_DATA(cm), sizeof(int));
	if (hdr[2] > 4096 || (hdr[2] && recv(fd, payload, hdr[2], MSG_WAITALL) != hdr[2]))
		return -EPIPE;
	return 0;
}

static inline void vu_reply(int fd, uint32_t req, const void *payload, uint32_t len)
{
	uint8_t frame[12 + 4096];
	uint32_t hdr[3] = { req, VU_VERSION | VU_FLAG_REPLY, len };

	memcpy(frame, hdr, 12);
	memcpy(frame + 12, payload, len);
	if (send(fd, frame, 12 + len, MSG_NOSIGNAL) < 0)
		perror("back-end: reply");
}

static inline void vu_reply_u64(int fd, uint32_t req, uint64_t v)
{
	vu_reply(fd, req, &v, sizeof(v));
}

/* Answer one request of QEMU's on the main channel; <0 when it is gone. */
static inline int be_main_step(struct backend *be)
{
	uint8_t payload[4096];
	uint32_t hdr[3];
	int fd, ret;

	ret = vu_recv(be->main_fd, hdr, payload, &fd);
	if (ret)
		return ret;
	switch (hdr[0]) {
	case VU_GET_FEATURES:
		vu_reply_u64(be->main_fd, hdr[0], (1ull << 32) | (1ull << 30));
		return 0;
	case VU_GET_PROTOCOL_FEATURES:
		vu_reply_u64(be->main_fd, hdr[0], VSHM_FE_PROTOCOL_WANTED);
		return 0;
	case VU_GET_QUEUE_NUM:
		vu_reply_u64(be->main_fd, hdr[0], 1);
		return 0;
	case VU_GET_MAX_MEM_SLOTS:
		vu_reply_u64(be->main_fd, hdr[0], 8);
		return 0;
	case VU_GET_CONFIG:
		vu_reply(be->main_fd, hdr[0], payload, hdr[2]);
		return 0;
	case VU_SET_BACKEND_REQ_FD:
		if (fd >= 0 && !be->bch &&
		    vshm_chan_new(fd, VSHM_PROTO_BACKEND, VSHM_CHAN_OWN_FD, &be->bch) == 0)
			fd = -1;
		break;
	}
	if (fd >= 0)
		close(fd);
	if (hdr[1] & VU_FLAG_NEED_REPLY)
		vu_reply_u64(be->main_fd, hdr[0], 0);
	return 0;
}

static inline int be_memfd(struct backend *be, uint32_t slot, const char *bytes)
{
	if (be->memfd[slot] < 0) {
		be->memfd[slot] = memfd_create("qemu-qtest-backend", MFD_CLOEXEC);
		if (be->memfd[slot] < 0 || ftruncate(be->memfd[slot], MAP_LEN) < 0)
			return -errno;
		be->buf[slot] = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
				     be->memfd[slot], 0);
		if (be->buf[slot] == MAP_FAILED)
			return -errno;
	}
	memcpy(be->buf[slot], bytes, 8);
	return 0;
}

static inline int be_script_step(struct backend *be, struct script_msg *m)
{
	static const char *const fill[] = { "rw-bytes", "ro-bytes", "remapped" };
	int ret;

	if (!be->bch)
		return -ENOTCONN;
	switch (m->op) {
	case OP_MAP:
		if (m->slot > 2)
			return -EINVAL;
		ret = be_memfd(be, m->slot, fill[m->slot]);
		if (ret)
			return ret;
		return vshm_be_shmem_map(be->bch, 0, be->memfd[m->slot], 0, m->off, MAP_LEN,
					 m->slot != 1, VSHM_FLAGS_FINAL, VSHM_BE_WAIT_ACK,
					 TIMEOUT_MS, NULL);
	case OP_UNMAP:
		return vshm_be_shmem_unmap(be->bch, 0, m->off, MAP_LEN, VSHM_BE_WAIT_ACK,
					   TIMEOUT_MS, NULL);
	case OP_PEEK:
		if (m->slot > 2 || !be->buf[m->slot] || m->off > MAP_LEN - 8)
			return -EINVAL;
		memcpy(m->data, be->buf[m->slot] + m->off, 8);
		return 0;
	case OP_MEM_READ:
		return vshm_be_mem_read(be->bch, m->off, m->data, 8, TIMEOUT_MS, NULL);
	}
	return -EINVAL;
}

/* The back-end process: accept QEMU, then serve it and the script. */
static inline int backend_main(int listen_fd, int script)
{
	struct backend be = { .memfd = { -1, -1, -1 } };
	struct script_msg m;

	be.main_fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	close(listen_fd);
	if (be.main_fd < 0)
		return 1;
	for (;;) {
		struct pollfd p[2] = { { be.main_fd, POLLIN, 0 }, { script, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0)
			return 1;
		if (p[0].revents && be_main_step(&be) < 0)
			return 0;	/* QEMU went away */
		if (!p[1].revents)
			continue;
		if (recv(script, &m, sizeof(m), 0) != sizeof(m) || m.op == OP_QUIT)
			return 0;
		m.status = be_script_step(&be, &m);
		if (send(script, &m, sizeof(m), MSG_NOSIGNAL) != sizeof(m))
			return 1;
	}
}

static inline int script(int fd, enum op op, uint32_t slot, uint64_t off, struct script_msg *m)
{
	struct script_msg req = { .op = op, .slot = slot, .off = off };
	struct pollfd p = { fd, POLLIN, 0 };

	if (send(fd, &req, sizeof(req), MSG_NOSIGNAL) != sizeof(req) ||
	    poll(&p, 1, TIMEOUT_MS) != 1 || recv(fd, m, sizeof(*m), 0) != sizeof(*m))
		return -EPIPE;
	return m->status;
}

static inline bool peek_is(int s, uint32_t slot, uint64_t off, const char *want)
{
	struct script_msg m;

	return script(s, OP_PEEK, slot, off, &m) == 0 && !memcmp(m.data, want, 8);
}

static inline int listen_unix(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The first connection on *listen_fd within ms, or -1; *listen_fd is closed. */
static inline int accept_within(int *listen_fd, int ms)
{
	struct pollfd p = { *listen_fd, POLLIN, 0 };
	int fd = -1;

	if (poll(&p, 1, ms) == 1)
		fd = accept4(*listen_fd, NULL, NULL, SOCK_CLOEXEC);
	close(*listen_fd);
	*listen_fd = -1;
	return fd;
}

/* A text connection of one command or reply a line: QEMU's qtest, the guest's ttyS1. */
struct line_conn {
	int fd;
	char buf[4096];
	size_t len;
	char line[4096];
};

/* Send one command line, fmt and its arguments without the newline. */
static inline bool line_vsend(struct line_conn *c, const char *fmt, va_list ap)
{
	char cmd[256];
	int n = vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);

	if (n < 0 || n >= (int)sizeof(cmd) - 1)
		return false;
	cmd[n++] = '\n';
	return send(c->fd, cmd, n, MSG_NOSIGNAL) == n;
}

/* The next line (without CR/LF), or NULL after ms; valid until the next call. */
static inline const char *line_next(struct line_conn *c, int ms)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd p = { c->fd, POLLIN, 0 };
		ssize_t n;

		if (nl) {
			size_t l = nl - c->buf;

			memcpy(c->line, c->buf, l);
			c->line[l] = 0;
			if (l && c->line[l - 1] == '\r')
				c->line[l - 1] = 0;
			c->len -= l + 1;
			memmove(c->buf, nl + 1, c->len);
			return c->line;
		}
		if (c->len == sizeof(c->buf) || poll(&p, 1, ms) != 1)
			return NULL;
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n <= 0)
			return NULL;
		c->len += n;
	}
}

static inline bool qemu_alive(pid_t qemu)
{
	return waitpid(qemu, NULL, WNOHANG) == 0;
}

/* Reap pid within ms, else kill it: its wait status, or -1. */
static inline int wait_for(pid_t pid, int ms)
{
	int status, i;
	pid_t r;

	for (i = 0; i < ms / 10; i++) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0)
			return -1;	/* already reaped (qemu_alive() saw it die) */
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/*
 * vshmd and the back-end process, ready for a QEMU: the back-end listens
 * on be_sock (QEMU's vhost-user chardev) and takes the test's word on
 * script.  mode is vshmd's --region-mode: kmod (vshm.ko) or vmm (forwarding).
 */
struct qemu_stack {
	struct broker b;
	char be_sock[96], log[96];
	char test_sock[96];	/* where QEMU connects to the test */
	int test_listen;	/* listening there until accept_within() */
	pid_t backend, qemu;
	int script;
};

/*
 * vshmd, the back-end and the test's socket @test_sock_name in vshmd's
 * directory.  0, or a negative errno with *what naming the part that failed.
 */
static inline int qemu_stack_start(struct qemu_stack *st, const char *mode,
				   const char *test_sock_name, const char **what)
{
	int be_listen, sv[2], ret;

	st->script = -1;
	st->test_listen = -1;
	st->backend = st->qemu = 0;
	*what = "vshmd";
	ret = broker_start(&st->b, mode);
	if (ret)
		return ret;
	snprintf(st->be_sock, sizeof(st->be_sock), "%s/be.sock", st->b.dir);
	snprintf(st->log, sizeof(st->log), "%s/qemu.log", st->b.dir);
	*what = "the back-end's sockets";
	be_listen = listen_unix(st->be_sock);
	if (be_listen < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		ret = -errno;
		close(be_listen);
		return ret;
	}
	*what = "the back-end process";
	st->backend = fork();
	if (st->backend < 0)
		return -errno;
	if (st->backend == 0) {
		close(sv[0]);
		_exit(backend_main(be_listen, sv[1]));
	}
	close(sv[1]);
	close(be_listen);
	st->script = sv[0];
	snprintf(st->test_sock, sizeof(st->test_sock), "%s/%s", st->b.dir, test_sock_name);
	*what = test_sock_name;
	st->test_listen = listen_unix(st->test_sock);
	return st->test_listen < 0 ? -errno : 0;
}

/* Stop the back-end, wait for QEMU (killed after ms), stop vshmd. */
static inline void qemu_stack_stop(struct qemu_stack *st, int ms)
{
	struct script_msg quit = { .op = OP_QUIT };

	if (st->script >= 0) {
		send(st->script, &quit, sizeof(quit), MSG_NOSIGNAL);
		close(st->script);
	}
	if (st->qemu > 0 && wait_for(st->qemu, ms) < 0)
		printf("# QEMU had to be killed\n");
	if (st->backend > 0)
		wait_for(st->backend, 5000);
	if (st->test_listen >= 0)
		close(st->test_listen);
	unlink(st->test_sock);
	unlink(st->be_sock);
	unlink(st->log);
	broker_stop(&st->b);
}

/* QEMU's log (its stdout, stderr and -D) as test comments. */
static inline void show_log(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		printf("# qemu: %s", line);
	if (f)
		fclose(f);
}

/* The -device argument of the vshm device that st's back-end and vshmd serve. */
static inline void qemu_device_arg(char *buf, size_t len, const struct qemu_stack *st)
{
	snprintf(buf, len, "vhost-user-vshm-pci,chardev=vu,virtio-id=%d,vshmd=%s,region-size=%llu",
		 VIRTIO_ID, st->b.sock, (unsigned long long)REGION_SIZE);
}

/* Start QEMU (argv, NULL-terminated) with its stdout and stderr appended to log. */
static inline pid_t qemu_spawn(const char *qemu, const char *const *argv, const char *log)
{
	pid_t pid = fork();
	int fd;

	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(qemu, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

#endif
