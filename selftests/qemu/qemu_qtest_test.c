// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU's vhost-user-vshm-pci, without a guest CPU: QEMU runs with the qtest
 * accelerator and this program plays the guest over the qtest protocol
 * (PCI config cycles on ports 0xcf8/0xcfc, memory reads and writes).
 *
 * It starts vshmd (kmod region mode: /dev/vshm must exist), a separate
 * vhost-user back-end process built on libvshm's back-end API, and QEMU
 * from $VSHM_QEMU with the device.  The back-end maps memfds into the
 * region with SHMEM_MAP; the "guest" programs the BAR and reads and
 * writes them through it.  Checks: the bytes are there, a write reaches
 * the memfd, vshmd knows the BAR's and the RAM's guest addresses
 * (MEM_READ), a hole and an unmapped range read as zeros and QEMU
 * survives, a read-only map keeps the memfd unchanged, a remap shows the
 * new bytes.
 *
 * Skips (exit 4) without $VSHM_QEMU or /dev/vshm, saying which.
 */
#include <inttypes.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "../broker/broker_util.h"
#include "kselftest.h"

#define REGION_SIZE	(4ull << 20)
#define BAR_GPA		0xc0000000ull
#define RAM_MIB		128
#define RAM_PROBE_GPA	0x200000ull
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
static int vu_recv(int fd, uint32_t hdr[3], uint8_t *payload, int *rfd)
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

static void vu_reply(int fd, uint32_t req, const void *payload, uint32_t len)
{
	uint8_t frame[12 + 4096];
	uint32_t hdr[3] = { req, VU_VERSION | VU_FLAG_REPLY, len };

	memcpy(frame, hdr, 12);
	memcpy(frame + 12, payload, len);
	if (send(fd, frame, 12 + len, MSG_NOSIGNAL) < 0)
		perror("back-end: reply");
}

static void vu_reply_u64(int fd, uint32_t req, uint64_t v)
{
	vu_reply(fd, req, &v, sizeof(v));
}

/* Answer one request of QEMU's on the main channel; <0 when it is gone. */
static int be_main_step(struct backend *be)
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

static int be_memfd(struct backend *be, uint32_t slot, const char *bytes)
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

static int be_script_step(struct backend *be, struct script_msg *m)
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
static int backend_main(int listen_fd, int script)
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

static int script(int fd, enum op op, uint32_t slot, uint64_t off, struct script_msg *m)
{
	struct script_msg req = { .op = op, .slot = slot, .off = off };
	struct pollfd p = { fd, POLLIN, 0 };

	if (send(fd, &req, sizeof(req), MSG_NOSIGNAL) != sizeof(req) ||
	    poll(&p, 1, TIMEOUT_MS) != 1 || recv(fd, m, sizeof(*m), 0) != sizeof(*m))
		return -EPIPE;
	return m->status;
}

/* The qtest connection. */
struct qtest {
	int fd;
	char buf[4096];
	size_t len;
};

/* Send one command and return its "OK ..." reply line (NULL if none). */
static const char *qt_cmd(struct qtest *q, const char *fmt, ...)
{
	static char line[4096];
	char cmd[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
	va_end(ap);
	cmd[n++] = '\n';
	if (send(q->fd, cmd, n, MSG_NOSIGNAL) != n)
		return NULL;
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd p = { q->fd, POLLIN, 0 };
		ssize_t r;

		if (nl) {
			size_t l = nl - q->buf;

			memcpy(line, q->buf, l);
			line[l] = 0;
			memmove(q->buf, nl + 1, q->len - l - 1);
			q->len -= l + 1;
			if (!strncmp(line, "IRQ", 3))
				continue;
			return strncmp(line, "OK", 2) ? NULL : line;
		}
		if (q->len == sizeof(q->buf) || poll(&p, 1, TIMEOUT_MS) != 1)
			return NULL;
		r = recv(q->fd, q->buf + q->len, sizeof(q->buf) - q->len, 0);
		if (r <= 0)
			return NULL;
		q->len += r;
	}
}

static bool qt_value(struct qtest *q, uint64_t *v, const char *fmt, ...)
{
	char cmd[256];
	const char *r;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = qt_cmd(q, "%s", cmd);
	return r && sscanf(r, "OK 0x%" SCNx64, v) == 1;
}

static uint32_t cfg_addr(int dev, int reg)
{
	return 0x80000000u | (uint32_t)dev << 11 | (uint32_t)reg;
}

static bool cfg_read32(struct qtest *q, int dev, int reg, uint32_t *v)
{
	uint64_t x;

	if (!qt_cmd(q, "outl 0xcf8 0x%x", cfg_addr(dev, reg)) || !qt_value(q, &x, "inl 0xcfc"))
		return false;
	*v = x;
	return true;
}

static bool cfg_write32(struct qtest *q, int dev, int reg, uint32_t v)
{
	return qt_cmd(q, "outl 0xcf8 0x%x", cfg_addr(dev, reg)) &&
	       qt_cmd(q, "outl 0xcfc 0x%x", v);
}

/* 8 bytes of guest memory as a string (little-endian readq). */
static bool guest_read8(struct qtest *q, uint64_t gpa, char out[9])
{
	uint64_t v;

	if (!qt_value(q, &v, "readq 0x%" PRIx64, gpa))
		return false;
	memcpy(out, &v, 8);
	out[8] = 0;
	return true;
}

static bool guest_write8(struct qtest *q, uint64_t gpa, const char *s)
{
	uint64_t v;

	memcpy(&v, s, 8);
	return qt_cmd(q, "writeq 0x%" PRIx64 " 0x%" PRIx64, gpa, v) != NULL;
}

static bool guest_reads(struct qtest *q, uint64_t gpa, const char *want)
{
	char got[9];

	if (!guest_read8(q, gpa, got))
		return false;
	ksft_print_msg("guest reads 0x%" PRIx64 ": \"%s\"\n", gpa, got);
	return !memcmp(got, want, 8);
}

static bool peek_is(int s, uint32_t slot, uint64_t off, const char *want)
{
	struct script_msg m;

	return script(s, OP_PEEK, slot, off, &m) == 0 && !memcmp(m.data, want, 8);
}

struct run {
	struct broker b;
	char dir[64], be_sock[96], qt_sock[96], log[96];
	pid_t backend, qemu;
	int script;
	struct qtest q;
};

static int listen_unix(const char *path)
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

static pid_t start_qemu(struct run *r, const char *qemu)
{
	char ram[64], chr[160], dev[256], qtarg[128];
	const char *argv[] = {
		qemu, "-L", "/usr/share/qemu", "-L", "/usr/share/seabios", "-machine", "pc,accel=qtest,memory-backend=ram",
		"-m", "128M",
		"-object", ram, "-qtest", qtarg, "-display", "none", "-nodefaults",
		"-serial", "none", "-monitor", "none", "-chardev", chr, "-device", dev,
		"-D", r->log, "-d", "guest_errors", NULL,
	};
	pid_t pid;
	int fd;

	snprintf(ram, sizeof(ram), "memory-backend-memfd,id=ram,size=%dM,share=on", RAM_MIB);
	snprintf(qtarg, sizeof(qtarg), "unix:%s", r->qt_sock);
	snprintf(chr, sizeof(chr), "socket,id=vu,path=%s", r->be_sock);
	snprintf(dev, sizeof(dev), "vhost-user-vshm-pci,chardev=vu,virtio-id=%d,vshmd=%s,region-size=%llu",
		 VIRTIO_ID, r->b.sock, (unsigned long long)REGION_SIZE);
	pid = fork();
	if (pid == 0) {
		fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(qemu, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static bool qemu_alive(struct run *r)
{
	return waitpid(r->qemu, NULL, WNOHANG) == 0;
}

static void show_log(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		ksft_print_msg("qemu: %s", line);
	if (f)
		fclose(f);
}

/* Find the device on bus 0 and put its BAR 4 at BAR_GPA; the slot or -1. */
static int program_bar(struct qtest *q)
{
	uint32_t id, cmd;
	int dev;

	for (dev = 0; dev < 32; dev++) {
		if (!cfg_read32(q, dev, 0, &id))
			return -1;
		if (id == (0x1af4u | (0x1040u + VIRTIO_ID) << 16))
			break;
	}
	if (dev == 32)
		return -1;
	if (!cfg_write32(q, dev, 0x20, (uint32_t)BAR_GPA) ||
	    !cfg_write32(q, dev, 0x24, (uint32_t)(BAR_GPA >> 32)) ||
	    !cfg_read32(q, dev, 0x04, &cmd) || !cfg_write32(q, dev, 0x04, cmd | 0x2))
		return -1;
	return dev;
}

static void checks(struct run *r)
{
	struct script_msg m;
	char got[9];
	int s = r->script;

	ksft_test_result(program_bar(&r->q) >= 0,
			 "the device is on PCI bus 0; BAR 4 programmed at 0x%llx\n", BAR_GPA);

	ksft_test_result(script(s, OP_MAP, 0, MAP_OFF, &m) == 0,
			 "back-end: SHMEM_MAP of a memfd (read-write) acknowledged\n");
	ksft_test_result(guest_reads(&r->q, BAR_GPA + MAP_OFF, "rw-bytes"),
			 "the guest reads the memfd's bytes through the BAR\n");
	ksft_test_result(guest_write8(&r->q, BAR_GPA + MAP_OFF + 8, "guest-wr") &&
			 peek_is(s, 0, 8, "guest-wr"),
			 "the guest's write through the BAR reaches the memfd\n");
	ksft_test_result(script(s, OP_MEM_READ, 0, BAR_GPA + MAP_OFF + 8, &m) == 0 &&
			 !memcmp(m.data, "guest-wr", 8),
			 "MEM_READ at the BAR's guest address: vshmd got SET_REGION_ADDR\n");
	ksft_test_result(guest_write8(&r->q, RAM_PROBE_GPA, "ram-word") &&
			 script(s, OP_MEM_READ, 0, RAM_PROBE_GPA, &m) == 0 &&
			 !memcmp(m.data, "ram-word", 8),
			 "MEM_READ of guest RAM: vshmd got the RAM table\n");

	ksft_test_result(guest_read8(&r->q, BAR_GPA, got) && !memcmp(got, "\0\0\0\0\0\0\0\0", 8) &&
			 guest_write8(&r->q, BAR_GPA, "to-hole!") && qemu_alive(r),
			 "a hole reads as zeros, a write there is dropped, QEMU survives\n");

	ksft_test_result(script(s, OP_UNMAP, 0, MAP_OFF, &m) == 0,
			 "back-end: SHMEM_UNMAP acknowledged\n");
	ksft_test_result(guest_read8(&r->q, BAR_GPA + MAP_OFF, got) &&
			 !memcmp(got, "\0\0\0\0\0\0\0\0", 8) && qemu_alive(r),
			 "after the unmap the guest reads zeros and QEMU survives\n");

	ksft_test_result(script(s, OP_MAP, 1, RO_OFF, &m) == 0 &&
			 guest_reads(&r->q, BAR_GPA + RO_OFF, "ro-bytes"),
			 "a read-only map: the guest reads its bytes\n");
	ksft_test_result(guest_write8(&r->q, BAR_GPA + RO_OFF, "smashed!") && qemu_alive(r) &&
			 peek_is(s, 1, 0, "ro-bytes") &&
			 guest_reads(&r->q, BAR_GPA + RO_OFF, "ro-bytes"),
			 "a read-only map refuses the guest's write; QEMU survives\n");

	ksft_test_result(script(s, OP_MAP, 2, MAP_OFF, &m) == 0 &&
			 guest_reads(&r->q, BAR_GPA + MAP_OFF, "remapped"),
			 "a remap at the unmapped offset shows the new bytes\n");
	ksft_test_result(qemu_alive(r) && qt_cmd(&r->q, "readq 0x%llx", BAR_GPA),
			 "QEMU is still running and answering\n");
}

static int wait_for(pid_t pid, int ms)
{
	int status, i;

	for (i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

int main(void)
{
	const char *qemu = getenv("VSHM_QEMU");
	struct run r = { .script = -1, .q.fd = -1 };
	int be_listen, qt_listen, sv[2];

	ksft_print_header();
	if (!qemu || access(qemu, X_OK))
		ksft_exit_skip("set VSHM_QEMU to a qemu-system-x86_64 built by scripts/qemu-build\n");
	if (access("/dev/vshm", F_OK))
		ksft_exit_skip("no /dev/vshm: load vshm.ko (scripts/check-qemu runs this in the VM)\n");
	ksft_set_plan(13);

	if (broker_start(&r.b, "kmod"))
		ksft_exit_fail_msg("vshmd did not start with the kmod region mode\n");
	snprintf(r.dir, sizeof(r.dir), "%s", r.b.dir);
	snprintf(r.be_sock, sizeof(r.be_sock), "%s/be.sock", r.dir);
	snprintf(r.qt_sock, sizeof(r.qt_sock), "%s/qtest.sock", r.dir);
	snprintf(r.log, sizeof(r.log), "%s/qemu.log", r.dir);
	be_listen = listen_unix(r.be_sock);
	qt_listen = listen_unix(r.qt_sock);
	if (be_listen < 0 || qt_listen < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		ksft_exit_fail_msg("sockets: %s\n", strerror(errno));
	r.backend = fork();
	if (r.backend == 0) {
		close(sv[0]);
		close(qt_listen);
		_exit(backend_main(be_listen, sv[1]));
	}
	close(sv[1]);
	close(be_listen);
	r.script = sv[0];

	r.qemu = start_qemu(&r, qemu);
	{
		struct pollfd p = { qt_listen, POLLIN, 0 };

		if (poll(&p, 1, 60000) == 1)
			r.q.fd = accept4(qt_listen, NULL, NULL, SOCK_CLOEXEC);
	}
	close(qt_listen);
	if (r.q.fd < 0) {
		show_log(r.log);
		ksft_exit_fail_msg("QEMU did not come up with vhost-user-vshm-pci (log above)\n");
	}
	ksft_print_msg("QEMU %s is up with vhost-user-vshm-pci (qtest accelerator)\n", qemu);
	checks(&r);

	{
		struct script_msg quit = { .op = OP_QUIT };

		send(r.script, &quit, sizeof(quit), MSG_NOSIGNAL);
	}
	close(r.q.fd);		/* qtest: QEMU exits when its socket closes */
	if (wait_for(r.qemu, 10000) < 0)
		ksft_print_msg("QEMU had to be killed\n");
	wait_for(r.backend, 5000);
	if (ksft_get_fail_cnt())
		show_log(r.log);
	broker_stop(&r.b);
	ksft_finished();
}
