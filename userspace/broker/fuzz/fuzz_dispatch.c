// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for vshmd's message dispatch: the broker's own
 * functions (everything but vshmd.c) serve fuzzed byte streams
 * arriving on a device's backend channel, on its forward socket and on a
 * control connection, exactly as the epoll loop would hand them over, but
 * driven directly by the harness.
 *
 * Sandboxed: the region mode is always mmap (no /dev/vshm, no module),
 * regions are at most 256 KiB, at most 4 devices and 16 mappings each.
 * Guest RAM is a 64 KiB memfd.  Synthetic fds ride on the frames: a
 * read-write memfd, a read-only memfd, a write-sealed memfd, /dev/null and
 * fresh socketpair ends (so that ADD_DEVICE can succeed).
 *
 * Input: a sequence of segments, each [op u8][len u16 LE][len bytes]:
 *   op bits 0-1  where the bytes go: 0 backend channel, 1 control
 *                connection, 2 forward socket (the VMM's side), 3 the
 *                back-end closes its end (hang-up path)
 *   op bits 2-4  how many fds ride on the segment's first byte (0-7)
 *   op bits 5-7  which kind of fd first; the rest follow round robin
 * After every segment the receiving side's event handler runs and every
 * reply is read (and its fds closed) by the harness.  At the end every
 * device and connection is torn down.  Beyond ASan, UBSan and LeakSanitizer,
 * an fd left open by the broker aborts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../vshmd.h"
#include "../../lib/scm_rights.h"

#define FZ_RAM_GA	0x100000ull
#define FZ_REGION_GA	0x200000ull
#define FZ_SRC_SIZE	(64u << 10)

enum { FZ_BACKEND, FZ_CONTROL, FZ_FORWARD, FZ_HANGUP };

/* Everything the harness keeps between inputs. */
struct fz {
	struct vshmd d;
	int memfd, memfd_ro, memfd_sealed, devnull;
	int ram;		/* guest RAM source */
	int nfds;		/* open fds between inputs */
	uint8_t *rx;		/* drain buffer */
};

static struct fz *fz;

/*
 * Open fds but pipes (the sanitizers' symbolizer talks through pipes; the
 * broker never makes one); with show, print each one (what leaked).
 */
static int open_fds(bool show)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[256];
	int n = 0;

	if (!dir)
		abort();
	while ((e = readdir(dir))) {
		ssize_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = 0;
		if (!strncmp(target, "pipe:", 5))
			continue;
		n++;
		if (show)
			fprintf(stderr, "fd %s -> %s\n", e->d_name, target);
	}
	closedir(dir);
	return n;
}

static int make_memfd(unsigned int seals)
{
	int fd = memfd_create("fz", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, FZ_SRC_SIZE))
		abort();
	if (seals && fcntl(fd, F_ADD_SEALS, seals))
		abort();
	return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[64];

	(void)argc;
	(void)argv;
	fz = calloc(1, sizeof(*fz));
	if (!fz)
		abort();
	/* vshmd's defaults, in a smaller sandbox, every line logged. */
	vd_options_init(&fz->d.opt);
	fz->d.opt.control_socket = "(fuzz)";
	fz->d.opt.region_mode = VSHM_REGION_MODE_MMAP;
	fz->d.opt.max_devices = 4;
	fz->d.opt.max_mappings = 16;
	fz->d.opt.msg_rate = 10000000;
	fz->d.opt.max_clients = 4;
	fz->d.opt.log_level = VD_LOG_DEBUG;
	fz->d.region_mode = VSHM_REGION_MODE_MMAP;
	fz->d.msg = calloc(1, sizeof(*fz->d.msg));
	fz->d.out = calloc(1, sizeof(*fz->d.out));
	fz->d.buf = malloc(VSHM_MEM_DATA_MAX);
	fz->rx = malloc(VSHM_PAYLOAD_MAX + 64);
	fz->d.epfd = epoll_create1(EPOLL_CLOEXEC);
	/* Log lines are formatted and thrown away (VSHM_FUZZ_LOG=1: stderr). */
	fz->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	fz->d.log.fd = getenv("VSHM_FUZZ_LOG") ? STDERR_FILENO : fz->devnull;
	fz->memfd = make_memfd(0);
	fz->memfd_sealed = make_memfd(F_SEAL_WRITE);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fz->memfd);
	fz->memfd_ro = open(path, O_RDONLY | O_CLOEXEC);
	fz->ram = make_memfd(0);
	if (!fz->d.msg || !fz->d.out || !fz->d.buf || !fz->rx ||
	    fz->d.epfd < 0 || fz->devnull < 0 || fz->memfd_ro < 0)
		abort();
	return 0;
}

/* A new fd of kind k (0-7) for the harness to send; -1 if none. */
static int synth_fd(unsigned int k)
{
	int sv[2];

	switch (k % 6) {
	case 0:
		return fcntl(fz->memfd, F_DUPFD_CLOEXEC, 0);
	case 1:
		return fcntl(fz->memfd_ro, F_DUPFD_CLOEXEC, 0);
	case 2:
		return fcntl(fz->memfd_sealed, F_DUPFD_CLOEXEC, 0);
	case 3:
		return fcntl(fz->devnull, F_DUPFD_CLOEXEC, 0);
	default:
		/* The other end is closed: a back-end that is already gone. */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			return -1;
		close(sv[1]);
		return sv[0];
	}
}

/* Send bytes with nfds synthetic fds; what does not fit is dropped. */
static void send_bytes(int fd, const uint8_t *p, size_t len, unsigned int nfds,
		       unsigned int kind)
{
	VSHMI_SCM_BUF(cb, 8);
	struct iovec iov = { (void *)p, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[8];
	unsigned int i, n = 0;

	for (i = 0; i < nfds; i++) {
		fds[n] = synth_fd(kind + i);
		if (fds[n] >= 0)
			n++;
	}
	vshmi_scm_attach(&mh, cb.buf, fds, n);
	(void)sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* Read whatever the broker sent on fd, closing the fds that came with it. */
static void drain(int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(64 * sizeof(int))];
	} cb;

	if (fd < 0)
		return;
	for (;;) {
		struct iovec iov = { fz->rx, VSHM_PAYLOAD_MAX + 64 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cb.buf,
				     .msg_controllen = sizeof(cb.buf) };
		struct cmsghdr *c;

		if (recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0)
			return;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			int *f = (int *)CMSG_DATA(c);
			size_t i, n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				for (i = 0; i < n; i++)
					close(f[i]);
		}
	}
}

/* The harness's ends of one input's sockets. */
struct peers {
	int be, fw, ctl;
	struct vd_device *dev;
	struct vd_ctl_conn *conn;
};

/* Is obj on the list at head (devices or clients), and not dead? */
#define alive(head, obj) \
	({ \
		__typeof__(head) it_ = (head); \
		while (it_ && it_ != (obj)) \
			it_ = it_->next; \
		it_ && !it_->dead; \
	})

/* Run the handlers the loop would run now, then read every reply. */
static void turn(struct vshmd *d, struct peers *p, uint32_t be_events)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (alive(d->devices, p->dev)) {
			vd_watch_fire(d, &p->dev->be_w, be_events | EPOLLOUT);
			if (p->dev->fw)
				vd_watch_fire(d, &p->dev->fw_w, EPOLLIN | EPOLLOUT);
		}
		if (alive(d->clients, p->conn))
			vd_watch_fire(d, &p->conn->w, EPOLLIN | EPOLLOUT);
		drain(p->be);
		drain(p->fw);
		drain(p->ctl);
	}
}

static void setup(struct vshmd *d, struct peers *p, bool fw)
{
	uint64_t sizes[3] = { 4 * FZ_SRC_SIZE, 0, FZ_SRC_SIZE };
	struct vshm_ctl_ram_range ram = {
		.guest_addr = FZ_RAM_GA, .size = FZ_SRC_SIZE,
	};
	int be[2], fv[2] = { -1, -1 }, cs[2], ramfd, ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, be) ||
	    (fw && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fv)) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, cs))
		abort();
	ret = vd_device_add(d, 0, sizes, 3, be[1], fv[1], &p->dev);
	if (ret) {
		fprintf(stderr, "harness device: %s (%u devices)\n",
			vshm_strerror(ret), d->ndevices);
		abort();
	}
	p->dev->regions[0].guest_addr = FZ_REGION_GA;
	p->dev->regions[0].has_addr = true;
	p->be = be[0];
	p->fw = fv[0];
	p->ctl = cs[0];
	p->conn = vd_control_adopt(d, cs[1]);
	if (!p->conn)
		abort();
	ramfd = fcntl(fz->ram, F_DUPFD_CLOEXEC, 0);
	if (vd_ram_set(d, &ram, &ramfd, 1))
		abort();
}

static void teardown(struct vshmd *d, struct peers *p)
{
	struct vd_ctl_conn *c;
	struct vd_device *dev;

	for (dev = d->devices; dev; dev = dev->next)
		vd_device_remove(d, dev, "fuzz input done");
	vd_device_reap(d);
	while ((c = d->clients)) {
		d->clients = c->next;
		vd_control_close(d, c);
	}
	vd_ram_clear(d);
	if (p->be >= 0)
		close(p->be);
	if (p->fw >= 0)
		close(p->fw);
	close(p->ctl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vshmd *d = &fz->d;
	struct peers p = { .be = -1, .fw = -1, .ctl = -1 };

	if (!fz->nfds)
		fz->nfds = open_fds(false);
	/* Odd first byte: the device has a forward socket. */
	setup(d, &p, size && (data[0] & 1));
	while (size >= 3) {
		unsigned int op = data[0], len = data[1] | data[2] << 8;
		const uint8_t *bytes = data + 3;
		unsigned int nfds = (op >> 2) & 7, kind = op >> 5;
		int to;

		if (len > size - 3)
			len = size - 3;
		data += 3 + len;
		size -= 3 + len;
		if ((op & 3) == FZ_HANGUP) {
			if (p.be >= 0) {
				close(p.be);
				p.be = -1;
				turn(d, &p, EPOLLIN | EPOLLHUP | EPOLLRDHUP);
			}
			continue;
		}
		to = (op & 3) == FZ_BACKEND ? p.be :
		     (op & 3) == FZ_CONTROL ? p.ctl : p.fw;
		if (to >= 0 && len)
			send_bytes(to, bytes, len, nfds, kind);
		turn(d, &p, EPOLLIN);
	}
	teardown(d, &p);
	if (d->ndevices || d->nclients || d->devices || d->clients) {
		fprintf(stderr, "after teardown: %u devices, %u clients\n",
			d->ndevices, d->nclients);
		abort();
	}
	/* Every fd the broker received or made is closed again. */
	if (open_fds(false) != fz->nfds) {
		fprintf(stderr, "fd leak: %d open fds, %d before the input\n",
			open_fds(true), fz->nfds);
		abort();
	}
	return 0;
}
