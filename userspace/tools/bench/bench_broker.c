// SPDX-License-Identifier: GPL-2.0
/*
 * vshm-bench, the broker's part: a real vshmd (kmod region mode when
 * /dev/vshm exists, else mmap) against a bare echo peer on a socketpair
 * that answers the same frames with replies of the same sizes.  Both sides
 * are driven by the same client code (raw sendmsg/recv), so the ratio is
 * what the broker adds.
 *
 *   broker_map_rtt     SHMEM_MAP (64 KiB memfd range, fd attached) + reply
 *                      and SHMEM_UNMAP + reply.  Target <= 1.5x.
 *   maps_per_s_N       map+unmap pairs per second with N back-ends (1, 4,
 *                      16, 64: vshmd's default --max-devices) at once, one
 *                      thread each, against N echo peers.  Target >= 0.6x
 *                      at 16.
 *   mem_read_S,        MEM_READ / MEM_WRITE of S bytes (4 KiB, 64 KiB = the
 *   mem_write_S        maximum message size) routed to guest RAM (a memfd),
 *                      and MEM_READ from a region; MiB/s.  Target >= 0.9x
 *                      at 64 KiB, >= 0.5x at 4 KiB.
 *   two_brokers_maps_16
 *                      16 back-ends over two vshmd processes: what two
 *                      shards could give at most (info).
 *   loop_floor_*       the same requests answered by a one-loop echo process
 *   broker_over_loop_* (the floor of any one-thread broker process) against
 *                      the echo threads, and vshmd against that floor.
 *   broker_rss         VmRSS of vshmd holding 16 devices x 10k mappings,
 *                      against the same broker with the 16 devices empty.
 *   broker_bytes_per_map
 *                      the same growth per mapping, judged against a size:
 *                      at most 48 bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libvshm.h>

#include "bench.h"
#include "proc_status.h"

#define MAP_LEN		(64u << 10)
#define RAM_GA		0x40000000ull
#define RAM_SIZE	(1u << 20)
#define REGION_GA	0x80000000ull
#define NEED		(VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY)
#define MAX_BACKENDS	64
#define RSS_DEVICES	16
#define RSS_MAPPINGS	10000u

struct broker {
	pid_t pid;
	char dir[64], sock[96];
	struct vshm_client *c;
	bool kmod;
};

/* One client connection: to the broker (a device) or to an echo peer. */
struct peer {
	int fd;
	pthread_t echo;		/* echo peers only */
	bool is_echo;
};

static void broker_start(struct bench *b, struct broker *br, unsigned int max_mappings)
{
	char vshmd[PATH_MAX], maxmap[16], log[128];
	const char *region_mode = b->dev >= 0 ? "kmod" : "mmap";
	int i;

	snprintf(br->dir, sizeof(br->dir), "/tmp/vshm-bench.XXXXXX");
	if (!mkdtemp(br->dir))
		die("mkdtemp");
	snprintf(br->sock, sizeof(br->sock), "%s/ctl.sock", br->dir);
	snprintf(log, sizeof(log), "%s/vshmd.log", br->dir);
	snprintf(vshmd, sizeof(vshmd), "%s/../broker/vshmd", b->tools_dir);
	snprintf(maxmap, sizeof(maxmap), "%u", max_mappings);
	br->pid = fork();
	if (br->pid < 0)
		die("fork");
	if (br->pid == 0) {
		execl(vshmd, vshmd, "--control-socket", br->sock, "--region-mode", region_mode,
		      "--max-rate", "10000000", "--max-mappings", maxmap,
		      "--max-inflight", "3145728", "--log-level", "error",
		      "--log-file", log, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		if (vshm_client_connect(br->sock, 5000, &br->c, NULL) == 0) {
			br->kmod = vshm_client_features(br->c) & VSHM_CTL_FEAT_KMOD;
			return;
		}
		usleep(10000);
	}
	errno = ETIMEDOUT;
	die(vshmd);
}

static void broker_stop(struct broker *br)
{
	char path[128];

	vshm_client_close(br->c);
	kill(br->pid, SIGTERM);
	waitpid(br->pid, NULL, 0);
	snprintf(path, sizeof(path), "%s/vshmd.log", br->dir);
	unlink(path);
	unlink(br->sock);
	rmdir(br->dir);
}

/* The region mode the broker runs with, for the one-loop floor. */
static int region_mode_of(const struct broker *br)
{
	return br->kmod ? VSHM_REGION_MODE_KMOD : VSHM_REGION_MODE_MMAP;
}

/* Register a device with one region; the back-end's end of its channel. */
static int add_device(struct broker *br, uint64_t size, uint32_t *id)
{
	int sv[2], fds[1] = { -1 };

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	if (vshm_client_add_device(br->c, sv[1], -1, &size, 1, 0, id,
				   br->kmod ? fds : NULL, NULL))
		die("ADD_DEVICE");
	close(sv[1]);
	if (fds[0] >= 0)
		close(fds[0]);
	return sv[0];
}

static int send_frame(int fd, uint32_t req, uint32_t flags, const void *p,
		      uint32_t len, int pass_fd)
{
	struct vshm_hdr h = { .request = req, .flags = flags, .size = len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)p, len } };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cb;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (pass_fd >= 0) {
		struct cmsghdr *c;

		memset(&cb, 0, sizeof(cb));
		mh.msg_control = cb.buf;
		mh.msg_controllen = sizeof(cb.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)(sizeof(h) + len) ? 0 : -1;
}

/*
 * Read one frame into buf (header, then payload); its size.  Its first fd
 * goes to *keep_fd (-1 if none) when keep_fd is not NULL; the rest are
 * closed.
 */
static int recv_frame(int fd, struct vshm_hdr *h, void *buf, size_t max,
		      int *keep_fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(8 * sizeof(int))];
	} cb;
	struct iovec iov = { h, sizeof(*h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cb.buf, .msg_controllen = sizeof(cb.buf) };
	struct cmsghdr *c;
	ssize_t n;

	if (keep_fd)
		*keep_fd = -1;
	n = recvmsg(fd, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC);
	if (n != sizeof(*h) || h->size > max)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		int *f = (int *)CMSG_DATA(c);
		size_t i;

		for (i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			if (keep_fd && *keep_fd < 0)
				*keep_fd = f[i];
			else
				close(f[i]);
		}
	}
	if (h->size && recv(fd, buf, h->size, MSG_WAITALL) != (ssize_t)h->size)
		return -1;
	return h->size;
}

/* SHMEM_MAP / SHMEM_UNMAP executed on region as a broker would: 0 or errno. */
static uint64_t execute_map(struct vshm_region *region, uint32_t request,
			    const uint8_t *p, int src)
{
	struct vshm_vu_mmap m;
	int ret;

	memcpy(&m.fd_offset, p + 8, 8);
	memcpy(&m.shm_offset, p + 16, 8);
	memcpy(&m.len, p + 24, 8);
	if (request == VSHM_VU_BACKEND_SHMEM_MAP)
		ret = vshm_region_map(region, src, m.fd_offset, m.shm_offset,
				      m.len, VSHM_REGION_WRITE);
	else
		ret = vshm_region_unmap(region, m.shm_offset, m.len);
	return ret < 0 ? (uint64_t)-ret : 0;
}

/*
 * Answer one frame with a reply of the size the broker would send, from
 * memory; with ram >= 0 the MEM_WRITE data is first written to ram and
 * MEM_READ data read from it, and with a region SHMEM_MAP / SHMEM_UNMAP
 * are executed on it, as any broker delivering the request must.
 */
static int echo_one(int fd, uint8_t *buf, int ram, struct vshm_region *region)
{
	uint64_t status = 0;
	struct vshm_hdr h;
	uint32_t size = 0;
	int src;

	if (recv_frame(fd, &h, buf, VSHM_PAYLOAD_MAX, region ? &src : NULL) < 0)
		return -1;
	if (h.request == VSHM_VU_BACKEND_MEM_READ) {
		memcpy(&size, buf + 8, 4);
		if (ram >= 0 && pread(ram, buf + 8, size, 0) != (ssize_t)size)
			return -1;
	} else if (h.request == VSHM_VU_BACKEND_MEM_WRITE && ram >= 0) {
		memcpy(&size, buf + 8, 4);
		if (pwrite(ram, buf + 12, size, 0) != (ssize_t)size)
			return -1;
		size = 0;
	} else if (region && (h.request == VSHM_VU_BACKEND_SHMEM_MAP ||
			      h.request == VSHM_VU_BACKEND_SHMEM_UNMAP)) {
		status = execute_map(region, h.request, buf, src);
	}
	if (region && src >= 0)
		close(src);
	memcpy(buf, &status, 8);
	return send_frame(fd, h.request, VSHM_HDR_VERSION | VSHM_HDR_REPLY, buf,
			  8 + size, -1);
}

/* The echo peer: a thread of this process answering one connection. */
static void *echo_main(void *arg)
{
	int fd = (int)(long)arg;
	uint8_t *buf = calloc(1, VSHM_PAYLOAD_MAX + 8);

	while (buf && echo_one(fd, buf, -1, NULL) == 0)
		;
	free(buf);
	close(fd);
	return NULL;
}

/*
 * The smallest broker: another process with one thread and one epoll loop
 * answering every connection like the echo threads, without decoding or
 * checking anything, but doing what the request asks: SHMEM_MAP /
 * SHMEM_UNMAP on a libvshm region of its own per connection (the broker's
 * region mode), MEM_READ / MEM_WRITE copies from and to a memfd as vshmd
 * does with guest RAM.  vshmd has to be a process of its own (the
 * back-ends are untrusted), so what this loop costs over the echo threads
 * is the floor of any one-loop broker on the machine: wakeups that cross
 * a process boundary, epoll, one thread serving every connection, and the
 * work the request itself asks for.
 */
struct loop_echo {
	pid_t pid;
	int fd[MAX_BACKENDS];	/* the clients' ends */
	int n;
};

static void __attribute__((noreturn)) loop_echo_serve(const int *fds, int n,
						     uint8_t *buf, int ram,
						     int region_mode)
{
	struct vshm_region *regions[MAX_BACKENDS] = { NULL };
	struct epoll_event ev[MAX_BACKENDS];
	int ep = epoll_create1(0), open_fds = n, i, k;

	for (i = 0; i < n; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = i };

		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e))
			_exit(1);
		if (region_mode >= 0 &&
		    vshm_region_create(region_mode, 1 << 20, 0, &regions[i]))
			_exit(1);
	}
	while (open_fds) {
		k = epoll_wait(ep, ev, MAX_BACKENDS, -1);
		if (k < 0 && errno != EINTR)
			_exit(1);
		for (i = 0; i < k; i++) {
			int c = ev[i].data.u32;

			if (echo_one(fds[c], buf, ram, regions[c]) == 0)
				continue;
			epoll_ctl(ep, EPOLL_CTL_DEL, fds[c], NULL);
			close(fds[c]);
			open_fds--;
		}
	}
	_exit(0);
}

/*
 * ram: the memfd MEM_READ / MEM_WRITE data is copied from and to;
 * region_mode >= 0: SHMEM_MAP / SHMEM_UNMAP are executed on a region of
 * that mode per connection (enum vshm_region_mode), -1: answered only.
 */
static void loop_echo_open(struct loop_echo *le, int n, uint8_t *buf, int ram,
			   int region_mode)
{
	int srv[MAX_BACKENDS], sv[2], i;

	for (i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			die("socketpair");
		le->fd[i] = sv[0];
		srv[i] = sv[1];
	}
	le->n = n;
	/* buf is allocated before the fork. */
	le->pid = fork();
	if (le->pid < 0)
		die("fork");
	if (le->pid == 0) {
		for (i = 0; i < n; i++)
			close(le->fd[i]);
		loop_echo_serve(srv, n, buf, ram, region_mode);
	}
	for (i = 0; i < n; i++)
		close(srv[i]);
}

static void loop_echo_close(struct loop_echo *le)
{
	int i;

	for (i = 0; i < le->n; i++)
		close(le->fd[i]);
	waitpid(le->pid, NULL, 0);
}

static void echo_open(struct peer *p)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	p->fd = sv[0];
	p->is_echo = true;
	if (pthread_create(&p->echo, NULL, echo_main, (void *)(long)sv[1]))
		die("pthread_create");
}

static void peer_close(struct peer *p)
{
	close(p->fd);
	if (p->is_echo)
		pthread_join(p->echo, NULL);
}

/* One request and its reply; the reply's u64 status (MEM_READ: first word). */
static uint64_t call(int fd, uint32_t req, uint32_t flags, const void *p,
		     uint32_t len, int pass_fd, uint8_t *rbuf)
{
	struct vshm_hdr h;
	uint64_t v;

	if (send_frame(fd, req, flags, p, len, pass_fd) ||
	    recv_frame(fd, &h, rbuf, VSHM_PAYLOAD_MAX, NULL) < 8)
		die("request/reply");
	memcpy(&v, rbuf, 8);
	return v;
}

static void mmap_payload(uint8_t p[40], uint64_t off, uint64_t len, uint64_t flags)
{
	memset(p, 0, 40);
	memcpy(p + 16, &off, 8);
	memcpy(p + 24, &len, 8);
	memcpy(p + 32, &flags, 8);
}

/* One SHMEM_MAP + reply and SHMEM_UNMAP + reply. */
static void map_pair(int fd, int memfd, uint64_t off, uint8_t *rbuf)
{
	uint8_t m[40];

	mmap_payload(m, off, MAP_LEN, VSHM_VU_MMAP_RW);
	if (call(fd, VSHM_VU_BACKEND_SHMEM_MAP, NEED, m, 40, memfd, rbuf))
		die("SHMEM_MAP refused");
	if (call(fd, VSHM_VU_BACKEND_SHMEM_UNMAP, NEED, m, 40, -1, rbuf))
		die("SHMEM_UNMAP refused");
}

static double time_map_pairs(int fd, int memfd, int iters, uint8_t *rbuf)
{
	double t0 = now_ns();
	int i;

	for (i = 0; i < iters; i++)
		map_pair(fd, memfd, 0, rbuf);
	return (now_ns() - t0) / iters;
}

static void bench_map_rtt(struct bench *b, struct broker *br, int memfd, uint8_t *rbuf)
{
	double v[ROUNDS], u[ROUNDS], w[ROUNDS];
	struct loop_echo loop;
	struct peer echo;
	uint32_t id;
	int be = add_device(br, 1 << 20, &id), r;

	loop_echo_open(&loop, 1, rbuf, -1, region_mode_of(br));
	echo_open(&echo);
	for (r = 0; r < ROUNDS; r++) {
		v[r] = time_map_pairs(be, memfd, 200, rbuf);
		u[r] = time_map_pairs(echo.fd, memfd, 200, rbuf);
		w[r] = time_map_pairs(loop.fd[0], memfd, 200, rbuf);
	}
	add_result(b, (struct result){
		.name = "broker_map_rtt", .unit = "ns/pair",
		.vshm = median(v, ROUNDS), .other = median(u, ROUNDS),
		.target = 1.5, .kind = T_AT_MOST },
		"SHMEM_MAP 64k+reply, SHMEM_UNMAP+reply vs same frames on a socketpair (%s)",
		br->kmod ? "kmod" : "mmap");
	add_result(b, (struct result){
		.name = "loop_floor_map_rtt", .unit = "ns/pair",
		.vshm = median(w, ROUNDS), .other = median(u, ROUNDS),
		.kind = T_INFO },
		"the same pairs executed by a one-loop process on its own regions vs the echo thread");
	add_result(b, (struct result){
		.name = "broker_over_loop_rtt", .unit = "ns/pair",
		.vshm = median(v, ROUNDS), .other = median(w, ROUNDS),
		.kind = T_INFO },
		"vshmd vs the one-loop process: what its checks and bookkeeping add");
	peer_close(&echo);
	loop_echo_close(&loop);
	close(be);
	vshm_client_remove_device(br->c, id, NULL);
}

struct worker {
	pthread_t t;
	int fd, memfd;
	double until_ns;
	unsigned long pairs;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t *rbuf = malloc(VSHM_PAYLOAD_MAX);

	if (!rbuf)
		die("malloc");
	while (now_ns() < w->until_ns) {
		map_pair(w->fd, w->memfd, 0, rbuf);
		w->pairs++;
	}
	free(rbuf);
	return NULL;
}

/* Map+unmap pairs per second over n connections at once for ms. */
static double pairs_per_s(struct worker *w, int n, double ms)
{
	double t0 = now_ns();
	unsigned long total = 0;
	int i;

	for (i = 0; i < n; i++) {
		w[i].until_ns = t0 + ms * 1e6;
		w[i].pairs = 0;
		if (pthread_create(&w[i].t, NULL, worker_main, &w[i]))
			die("pthread_create");
	}
	for (i = 0; i < n; i++) {
		pthread_join(w[i].t, NULL);
		total += w[i].pairs;
	}
	return total / ((now_ns() - t0) / 1e9);
}

static void bench_maps_per_s(struct bench *b, struct broker *br, int memfd,
			     uint8_t *rbuf)
{
	static const int counts[] = { 1, 4, 16, MAX_BACKENDS };
	struct worker wb[MAX_BACKENDS], we[MAX_BACKENDS], wl[MAX_BACKENDS];
	struct peer echo[MAX_BACKENDS];
	uint32_t ids[MAX_BACKENDS];
	struct loop_echo loop;
	double v[5], u[5], l[5];
	size_t k;
	int i, r;

	for (k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		int n = counts[k];
		char name[32];

		loop_echo_open(&loop, n, rbuf, -1, region_mode_of(br));
		for (i = 0; i < n; i++) {
			wb[i] = (struct worker){ .fd = add_device(br, 1 << 20, &ids[i]),
						 .memfd = memfd };
			echo_open(&echo[i]);
			we[i] = (struct worker){ .fd = echo[i].fd, .memfd = memfd };
			wl[i] = (struct worker){ .fd = loop.fd[i], .memfd = memfd };
		}
		for (r = 0; r < 5; r++) {
			v[r] = pairs_per_s(wb, n, 200);
			u[r] = pairs_per_s(we, n, 200);
			l[r] = pairs_per_s(wl, n, 200);
		}
		for (i = 0; i < n; i++) {
			close(wb[i].fd);
			peer_close(&echo[i]);
			vshm_client_remove_device(br->c, ids[i], NULL);
		}
		loop_echo_close(&loop);
		snprintf(name, sizeof(name), "maps_per_s_%d", n);
		add_result(b, (struct result){
			.name = strdup(name), .unit = "maps/s",
			.vshm = median(v, 5), .other = median(u, 5),
			/* The scaling goal is set at 16 back-ends. */
			.target = 0.6, .kind = n == 16 ? T_AT_LEAST : T_INFO },
			"%d back-end%s at once, map+unmap pairs vs %d echo peers",
			n, n > 1 ? "s" : "", n);
		if (n != 16)
			continue;
		add_result(b, (struct result){
			.name = "loop_floor_maps_16", .unit = "maps/s",
			.vshm = median(l, 5), .other = median(u, 5),
			.kind = T_INFO },
			"16 connections on a one-loop process executing the maps vs 16 echo threads");
		add_result(b, (struct result){
			.name = "broker_over_loop_16", .unit = "maps/s",
			.vshm = median(v, 5), .other = median(l, 5),
			.kind = T_INFO },
			"vshmd vs the one-loop process, 16 back-ends");
	}
}

/*
 * What sharding devices over two loops could give at most on this
 * machine: two vshmd processes with 8 of the 16 back-ends each (no shared
 * state, so no lock to contend), against the 16 echo threads.  Info only:
 * an upper bound for a broker with two worker threads.
 */
static void bench_two_brokers(struct bench *b, struct broker *br, int memfd)
{
	struct worker wb[16], we[16];
	struct peer echo[16];
	struct broker second;
	uint32_t ids[16];
	double v[5], u[5];
	int i, r;

	broker_start(b, &second, 4096);
	for (i = 0; i < 16; i++) {
		wb[i] = (struct worker){
			.fd = add_device(i % 2 ? &second : br, 1 << 20, &ids[i]),
			.memfd = memfd };
		echo_open(&echo[i]);
		we[i] = (struct worker){ .fd = echo[i].fd, .memfd = memfd };
	}
	for (r = 0; r < 5; r++) {
		v[r] = pairs_per_s(wb, 16, 200);
		u[r] = pairs_per_s(we, 16, 200);
	}
	for (i = 0; i < 16; i++) {
		close(wb[i].fd);
		peer_close(&echo[i]);
		vshm_client_remove_device(i % 2 ? second.c : br->c, ids[i], NULL);
	}
	broker_stop(&second);
	add_result(b, (struct result){
		.name = "two_brokers_maps_16", .unit = "maps/s",
		.vshm = median(v, 5), .other = median(u, 5), .kind = T_INFO },
		"16 back-ends split over two vshmd processes vs 16 echo peers (2 shards, at most)");
}

/* MiB/s of iters MEM_READs (or MEM_WRITEs) of size bytes at ga. */
static double mem_rate(int fd, bool write, uint64_t ga, uint32_t size,
		       int iters, uint8_t *wbuf, uint8_t *rbuf)
{
	double t0 = now_ns();
	int i;

	memcpy(wbuf, &ga, 8);
	memcpy(wbuf + 8, &size, 4);
	for (i = 0; i < iters; i++) {
		uint64_t st = write ?
			call(fd, VSHM_VU_BACKEND_MEM_WRITE, NEED, wbuf, 12 + size, -1, rbuf) :
			call(fd, VSHM_VU_BACKEND_MEM_READ, VSHM_HDR_VERSION, wbuf, 12, -1, rbuf);

		if (st)
			die(write ? "MEM_WRITE refused" : "MEM_READ refused");
	}
	return (double)size * iters / ((now_ns() - t0) / 1e9) / (1 << 20);
}

static void bench_mem(struct bench *b, struct broker *br, int memfd, uint8_t *rbuf)
{
	static const struct { const char *name; bool write, region; uint32_t size; } cases[] = {
		{ "mem_read_4k", false, false, 4096 },
		{ "mem_read_64k_max", false, false, VSHM_MEM_DATA_MAX },
		{ "mem_write_4k", true, false, 4096 },
		{ "mem_write_64k_max", true, false, VSHM_MEM_DATA_MAX },
		{ "mem_read_64k_region", false, true, VSHM_MEM_DATA_MAX },
	};
	struct vshm_ctl_ram_range ram = { .guest_addr = RAM_GA, .size = RAM_SIZE };
	int ramfd = make_memfd(RAM_SIZE), be, i;
	uint8_t *wbuf = calloc(1, VSHM_PAYLOAD_MAX), m[40];
	double v[ROUNDS], u[ROUNDS], w[ROUNDS];
	struct loop_echo loop;
	struct peer echo;
	uint32_t id;
	size_t k;

	if (!wbuf)
		die("calloc");
	be = add_device(br, 1 << 20, &id);
	if (vshm_client_set_mem_table(br->c, &ram, &ramfd, 1, NULL) ||
	    vshm_client_set_region_addr(br->c, id, 0, REGION_GA, NULL))
		die("placing guest RAM and the region");
	mmap_payload(m, 0, MAP_LEN, VSHM_VU_MMAP_RW);
	if (call(be, VSHM_VU_BACKEND_SHMEM_MAP, NEED, m, 40, memfd, rbuf))
		die("SHMEM_MAP");
	loop_echo_open(&loop, 1, rbuf, ramfd, -1);
	echo_open(&echo);
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		uint64_t ga = cases[k].region ? REGION_GA : RAM_GA;
		int iters = cases[k].size > 4096 ? 100 : 400;

		for (i = 0; i < ROUNDS; i++) {
			v[i] = mem_rate(be, cases[k].write, ga, cases[k].size, iters,
					wbuf, rbuf);
			u[i] = mem_rate(echo.fd, cases[k].write, ga, cases[k].size,
					iters, wbuf, rbuf);
			w[i] = mem_rate(loop.fd[0], cases[k].write, ga,
					cases[k].size, iters, wbuf, rbuf);
		}
		add_result(b, (struct result){
			.name = cases[k].name, .unit = "MiB/s",
			.vshm = median(v, ROUNDS), .other = median(u, ROUNDS),
			/*
			 * Bulk copies must come close to a bare socket;
			 * small ones pay the fixed cost of one request.
			 */
			.target = cases[k].size > 4096 ? 0.9 : 0.5,
			.kind = T_AT_LEAST },
			"%s %u bytes to %s vs the same payload on a socketpair",
			cases[k].write ? "MEM_WRITE" : "MEM_READ", cases[k].size,
			cases[k].region ? "a region (another device's fallback)" :
					  "guest RAM (memfd)");
		if (cases[k].region || cases[k].size <= 4096)
			continue;
		add_result(b, (struct result){
			.name = cases[k].write ? "loop_floor_write_64k" :
						 "loop_floor_read_64k",
			.unit = "MiB/s", .vshm = median(w, ROUNDS),
			.other = median(u, ROUNDS), .kind = T_INFO },
			"the same %s answered by a one-loop process copying to/from a memfd vs the echo thread",
			cases[k].write ? "MEM_WRITEs" : "MEM_READs");
	}
	peer_close(&echo);
	loop_echo_close(&loop);
	close(be);
	vshm_client_remove_device(br->c, id, NULL);
	vshm_client_set_mem_table(br->c, NULL, NULL, 0, NULL);
	close(ramfd);
	free(wbuf);
}

static double vm_rss_kib(pid_t pid)
{
	uint64_t kib;

	if (proc_status_u64(pid, "VmRSS:", &kib))
		die("/proc/PID/status: VmRSS");
	return (double)kib;
}

/* vshmd's RSS with 16 devices x 10k one-page mappings, against empty. */
static void bench_rss(struct bench *b, int pagefd, uint8_t *rbuf)
{
	uint64_t size = 2ull * RSS_MAPPINGS * PAGE;
	int be[RSS_DEVICES], i;
	unsigned long held = 0;
	double before, after;
	struct broker br;
	uint32_t id, j;
	uint8_t m[40];

	broker_start(b, &br, RSS_MAPPINGS);
	for (i = 0; i < RSS_DEVICES; i++)
		be[i] = add_device(&br, size, &id);
	before = vm_rss_kib(br.pid);
	for (i = 0; i < RSS_DEVICES; i++) {
		for (j = 0; j < RSS_MAPPINGS; j++) {
			mmap_payload(m, 2ull * j * PAGE, PAGE, 0);
			if (call(be[i], VSHM_VU_BACKEND_SHMEM_MAP, NEED, m, 40,
				 pagefd, rbuf))
				break;
			held++;
		}
		if (j < RSS_MAPPINGS)
			break;
	}
	after = vm_rss_kib(br.pid);
	add_result(b, (struct result){
		.name = "broker_rss", .unit = "KiB", .vshm = after, .other = before,
		.kind = T_INFO },
		"%lu of %u mappings held (%s); %.0f bytes per mapping",
		held, RSS_DEVICES * RSS_MAPPINGS,
		held < RSS_DEVICES * RSS_MAPPINGS ?
			"the mmap region mode stops at RLIMIT_NOFILE / vm.max_map_count" :
			"16 devices x 10k",
		held ? (after - before) * 1024 / held : 0);
	add_result(b, (struct result){
		.name = "broker_bytes_per_map", .unit = "bytes",
		.vshm = held ? (after - before) * 1024 / held : 0, .other = 0,
		.target = 48, .kind = T_VALUE_AT_MOST },
		"vshmd's VmRSS growth per one-page mapping held");
	for (i = 0; i < RSS_DEVICES; i++)
		close(be[i]);
	broker_stop(&br);
}

void bench_broker(struct bench *b)
{
	uint8_t *rbuf = malloc(VSHM_PAYLOAD_MAX);
	int memfd = make_memfd(MAP_LEN), pagefd = make_memfd(PAGE);
	struct broker br;

	if (!rbuf)
		die("malloc");
	signal(SIGPIPE, SIG_IGN);
	broker_start(b, &br, 4096);
	bench_map_rtt(b, &br, memfd, rbuf);
	bench_maps_per_s(b, &br, memfd, rbuf);
	bench_two_brokers(b, &br, memfd);
	bench_mem(b, &br, memfd, rbuf);
	broker_stop(&br);
	bench_rss(b, pagefd, rbuf);
	close(memfd);
	close(pagefd);
	free(rbuf);
}
