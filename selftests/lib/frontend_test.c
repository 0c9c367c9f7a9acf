// SPDX-License-Identifier: GPL-2.0
/*
 * libvshm's vhost-user main-channel helpers: a front-end (vshm_fe_*) set up
 * against a back-end (vshm_be_main_*) in another process over a
 * socketpair, then each end fed malformed or refusing frames by hand.
 * Every test checks that no fd is left behind.
 */
#include <errno.h>
#include <poll.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define T_MS		5000
#define BIT(n)		(1ull << (n))
#define ALL_PF		(VSHM_FE_PROTOCOL_WANTED | BIT(0) | BIT(1))

FIXTURE(fe) {
	int sv[2];		/* [0] front-end's main channel, [1] back-end's */
	struct vshm_chan *fe, *be;
	struct vshm_msg *m;
	struct vshm_err err;
	int fds0;
};

FIXTURE_SETUP(fe)
{
	self->fds0 = count_open_fds();
	ASSERT_EQ(0, chan_pair(VSHM_PROTO_FRONTEND, 0, VSHM_CHAN_OWN_FD, self->sv,
			       &self->fe, &self->be));
	self->m = new_msg();
	ASSERT_NE(NULL, self->m);
	memset(&self->err, 0, sizeof(self->err));
}

FIXTURE_TEARDOWN(fe)
{
	vshm_chan_free(self->fe);
	vshm_chan_free(self->be);
	free(self->m);
	EXPECT_EQ(self->fds0, count_open_fds());
}

static void offer(struct vshm_be_main *st, uint64_t pf)
{
	memset(st, 0, sizeof(*st));
	st->features = BIT(32);
	st->protocol_features = pf;
	st->config.nregions = 2;
	st->config.memory_sizes[0] = 1 << 20;
	st->config.memory_sizes[1] = 64 << 10;
	vshm_be_main_init(st);
}

/*
 * The back-end in a child: serve the setup, then send SHMEM_UNMAP on the
 * backend channel it received, so the parent can see that channel works.
 */
static int run_backend(struct vshm_chan *ch, uint64_t pf)
{
	struct vshm_be_main st;
	struct vshm_chan *bch;
	int ret;

	offer(&st, pf);
	ret = vshm_be_main_serve(&st, ch, T_MS, NULL);
	if (ret)
		return 10;
	if (!st.owned || st.acked_protocol_features != (pf & VSHM_FE_PROTOCOL_WANTED))
		return 11;
	if (vshm_chan_new(st.backend_fd, VSHM_PROTO_BACKEND, VSHM_CHAN_OWN_FD, &bch))
		return 12;
	ret = vshm_be_shmem_unmap(bch, 1, 4096, 4096, 0, T_MS, NULL);
	vshm_chan_free(bch);
	return ret ? 13 : 0;
}

static pid_t spawn_backend(struct __test_metadata *_metadata, FIXTURE_DATA(fe) *self,
			   uint64_t pf)
{
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (pid == 0)
		_exit(run_backend(self->be, pf));
	return pid;
}

static int child_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/*
 * Proves the whole front-end sequence against the back-end helpers: the
 * wanted protocol features are negotiated, the shmem config arrives intact,
 * and the returned fd is the live other end of the back-end's channel.
 */
TEST_F(fe, setup_roundtrip)
{
	struct vshm_fe_shmem sh;
	struct vshm_chan *bch;
	struct vshm_vu_mmap mm;
	pid_t pid = spawn_backend(_metadata, self, ALL_PF);

	ASSERT_EQ(0, vshm_fe_setup_shmem(self->fe, &sh, T_MS, &self->err)) TH_LOG("%s", self->err.msg);
	EXPECT_EQ(BIT(32) | BIT(VSHM_VU_F_PROTOCOL_FEATURES), sh.features);
	EXPECT_EQ(VSHM_FE_PROTOCOL_WANTED, sh.protocol_features);
	EXPECT_EQ(2u, sh.config.nregions);
	EXPECT_EQ(1u << 20, sh.config.memory_sizes[0]);
	EXPECT_EQ(64u << 10, sh.config.memory_sizes[1]);
	EXPECT_EQ(0u, sh.config.memory_sizes[2]);
	ASSERT_GE(sh.backend_fd, 0);
	ASSERT_EQ(0, vshm_chan_new(sh.backend_fd, VSHM_PROTO_BACKEND, VSHM_CHAN_OWN_FD, &bch));
	ASSERT_EQ(0, vshm_chan_recv_wait(bch, self->m, T_MS, &self->err));
	ASSERT_EQ(0, vshm_decode_mmap(self->m, &mm, &self->err));
	EXPECT_EQ(VSHM_VU_BACKEND_SHMEM_UNMAP, self->m->hdr.request);
	EXPECT_EQ(1, mm.shmid);
	vshm_chan_free(bch);
	EXPECT_EQ(0, child_status(pid));
}

/* Proves a back-end without REPLY_ACK is still set up, with no acks asked or sent. */
TEST_F(fe, setup_without_reply_ack)
{
	struct vshm_fe_shmem sh;
	pid_t pid = spawn_backend(_metadata, self, ALL_PF & ~BIT(VSHM_VU_PROTOCOL_F_REPLY_ACK));

	ASSERT_EQ(0, vshm_fe_setup_shmem(self->fe, &sh, T_MS, &self->err)) TH_LOG("%s", self->err.msg);
	EXPECT_EQ(VSHM_FE_PROTOCOL_WANTED & ~BIT(VSHM_VU_PROTOCOL_F_REPLY_ACK), sh.protocol_features);
	close(sh.backend_fd);
	/* the child's SHMEM_UNMAP finds its peer closed or queued: it exits either way */
	EXPECT_GE(child_status(pid), 0);
}

/* Proves a back-end that lacks SHMEM (or BACKEND_REQ) is refused with EPROTONOSUPPORT and no fd. */
TEST_F(fe, setup_needs_shmem_and_backend_req)
{
	uint64_t missing[] = { BIT(VSHM_VU_PROTOCOL_F_SHMEM), BIT(VSHM_VU_PROTOCOL_F_BACKEND_REQ) };
	struct vshm_fe_shmem sh;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		pid_t pid = spawn_backend(_metadata, self, ALL_PF & ~missing[i]);

		EXPECT_EQ(-EPROTONOSUPPORT, vshm_fe_setup_shmem(self->fe, &sh, T_MS, &self->err));
		EXPECT_EQ(-1, sh.backend_fd);
		kill(pid, SIGKILL);
		child_status(pid);
	}
}

/* Queue a raw frame from the back-end's side (the front-end reads it as its reply). */
static int raw(int fd, uint32_t req, uint32_t flags, const void *p, uint32_t size,
	       int with_fd)
{
	struct vshm_hdr h = { req, flags, size };
	uint8_t buf[12 + 2100];
	struct iovec iov = { buf, 12 + size };
	int nfd = -1, ret;

	memcpy(buf, &h, 12);
	if (size)
		memcpy(buf + 12, p, size);
	if (with_fd)
		nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ret = send_with_fds(fd, &iov, 1, &nfd, with_fd ? 1 : 0);
	if (nfd >= 0)
		close(nfd);
	return ret;
}

/* Drain whatever the front-end sent, so the next test step starts clean. */
static void drain(int fd)
{
	char buf[4096];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

#define R (VSHM_HDR_VERSION | VSHM_HDR_REPLY)

/*
 * Proves the front-end refuses malformed replies: short, long, another
 * request's, not flagged as a reply, with an fd (closed by the library),
 * and a GET_SHMEM_CONFIG with non-zero padding or odd sizes.
 */
TEST_F(fe, malformed_replies)
{
	int bfd = vshm_chan_fd(self->be);
	uint8_t p[2056] = { 0 };
	struct vshm_vu_shmem_config cfg;
	uint64_t v;

	ASSERT_EQ(0, raw(bfd, VSHM_VU_GET_FEATURES, R, p, 4, 0));
	EXPECT_EQ(-VSHM_ESIZE, vshm_fe_get_features(self->fe, &v, T_MS, &self->err));
	ASSERT_EQ(0, raw(bfd, VSHM_VU_GET_FEATURES, R, p, 16, 0));
	EXPECT_EQ(-VSHM_ESIZE, vshm_fe_get_features(self->fe, &v, T_MS, &self->err));
	ASSERT_EQ(0, raw(bfd, VSHM_VU_GET_PROTOCOL_FEATURES, R, p, 8, 0));
	EXPECT_EQ(-VSHM_EREPLY, vshm_fe_get_features(self->fe, &v, T_MS, &self->err));
	ASSERT_EQ(0, raw(bfd, VSHM_VU_GET_FEATURES, VSHM_HDR_VERSION, p, 0, 0));
	EXPECT_EQ(-VSHM_EREPLY, vshm_fe_get_features(self->fe, &v, T_MS, &self->err));
	ASSERT_EQ(0, raw(bfd, VSHM_VU_GET_FEATURES, R, p, 8, 1));
	EXPECT_EQ(-VSHM_EFDEXTRA, vshm_fe_get_features(self->fe, &v, T_MS, &self->err));
	EXPECT_EQ(self->fds0 + 2, count_open_fds());

	p[4] = 1;
	ASSERT_EQ(0, raw(bfd, VSHM_VU_GET_SHMEM_CONFIG, R, p, 2056, 0));
	EXPECT_EQ(-VSHM_EPADDING, vshm_fe_get_shmem_config(self->fe, &cfg, T_MS, &self->err));
	p[4] = 0;
	p[8] = 1;
	ASSERT_EQ(0, raw(bfd, VSHM_VU_GET_SHMEM_CONFIG, R, p, 2056, 0));
	EXPECT_EQ(-VSHM_EFIELD, vshm_fe_get_shmem_config(self->fe, &cfg, T_MS, &self->err));
	p[8] = 0;
	ASSERT_EQ(0, raw(bfd, VSHM_VU_GET_SHMEM_CONFIG, R, p, 2048, 0));
	EXPECT_EQ(-VSHM_ESIZE, vshm_fe_get_shmem_config(self->fe, &cfg, T_MS, &self->err));
	/* a good one still decodes after all that */
	p[0] = 1;
	p[9] = 0x10;
	ASSERT_EQ(0, raw(bfd, VSHM_VU_GET_SHMEM_CONFIG, R, p, 2056, 0));
	ASSERT_EQ(0, vshm_fe_get_shmem_config(self->fe, &cfg, T_MS, &self->err));
	EXPECT_EQ(1u, cfg.nregions);
	EXPECT_EQ(0x1000u, cfg.memory_sizes[0]);
	drain(bfd);
}

/* Proves a non-zero REPLY_ACK becomes -errno, and a non-errno status -EREMOTEIO. */
TEST_F(fe, refused_ack)
{
	int bfd = vshm_chan_fd(self->be);
	uint64_t st = EBUSY;

	ASSERT_EQ(0, raw(bfd, VSHM_VU_SET_OWNER, R, &st, 8, 0));
	EXPECT_EQ(-EBUSY, vshm_fe_set_owner(self->fe, true, T_MS, &self->err));
	st = 1ull << 40;
	ASSERT_EQ(0, raw(bfd, VSHM_VU_SET_OWNER, R, &st, 8, 0));
	EXPECT_EQ(-EREMOTEIO, vshm_fe_set_owner(self->fe, true, T_MS, &self->err));
	EXPECT_EQ(-EBADF, vshm_fe_set_backend_req_fd(self->fe, -1, true, T_MS, &self->err));
	drain(bfd);
}

/* Wait for the back-end's u64 answer to req on the front-end side. */
static int64_t fe_u64(struct vshm_chan *fe, struct vshm_msg *m, uint32_t req)
{
	int64_t ret = -1;

	if (vshm_chan_recv_wait(fe, m, T_MS, NULL) == 0) {
		if (m->hdr.request == req && m->hdr.size == 8 && (m->hdr.flags & VSHM_HDR_REPLY))
			memcpy(&ret, m->payload, 8);
		vshm_msg_release(m);
	}
	return ret;
}

/* Feed one raw frame to the back-end helper and return vshm_be_main_handle's result. */
static int be_feed(FIXTURE_DATA(fe) *self, struct vshm_be_main *st, uint32_t req,
		   uint32_t flags, const void *p, uint32_t size, int fd)
{
	struct vshm_hdr h = { req, flags, size };
	uint8_t buf[12 + 8];
	int ret;

	memcpy(buf, &h, 12);
	if (size)
		memcpy(buf + 12, p, size);
	ret = (int)vshm_msg_parse(VSHM_PROTO_FRONTEND, buf, 12 + size, &fd, fd >= 0,
				  self->m, &self->err);
	if (ret < 0)
		return ret;
	return vshm_be_main_handle(st, self->be, self->m, T_MS, &self->err);
}

/*
 * Proves the back-end side refuses what a front-end must not do: features
 * it did not offer, a second SET_OWNER, GET_SHMEM_CONFIG before SHMEM, a
 * backend fd that is not a stream socket or comes twice (each refused fd
 * closed), and that requests it does not serve are left to the caller.
 */
TEST_F(fe, backend_refusals)
{
	const uint32_t NR = VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY;
	struct vshm_be_main st;
	uint64_t v = BIT(40);
	int pfd[2], sp[2];

	offer(&st, ALL_PF);
	EXPECT_EQ(-EPROTO, be_feed(self, &st, VSHM_VU_GET_SHMEM_CONFIG, VSHM_HDR_VERSION, NULL, 0, -1));
	EXPECT_EQ(-EINVAL, be_feed(self, &st, VSHM_VU_SET_PROTOCOL_FEATURES, NR, &v, 8, -1));
	EXPECT_EQ(EINVAL, fe_u64(self->fe, self->m, VSHM_VU_SET_PROTOCOL_FEATURES));
	EXPECT_EQ(-EINVAL, be_feed(self, &st, VSHM_VU_SET_BACKEND_REQ_FD, NR, NULL, 0,
				   socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)));
	EXPECT_EQ(EINVAL, fe_u64(self->fe, self->m, VSHM_VU_SET_BACKEND_REQ_FD));
	v = ALL_PF;
	EXPECT_EQ(1, be_feed(self, &st, VSHM_VU_SET_PROTOCOL_FEATURES, VSHM_HDR_VERSION, &v, 8, -1));
	EXPECT_EQ(1, be_feed(self, &st, VSHM_VU_SET_OWNER, NR, NULL, 0, -1));
	EXPECT_EQ(0, fe_u64(self->fe, self->m, VSHM_VU_SET_OWNER));
	EXPECT_EQ(-EBUSY, be_feed(self, &st, VSHM_VU_SET_OWNER, NR, NULL, 0, -1));
	EXPECT_EQ(EBUSY, fe_u64(self->fe, self->m, VSHM_VU_SET_OWNER));
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	close(pfd[1]);
	EXPECT_EQ(-EINVAL, be_feed(self, &st, VSHM_VU_SET_BACKEND_REQ_FD, NR, NULL, 0, pfd[0]));
	EXPECT_EQ(EINVAL, fe_u64(self->fe, self->m, VSHM_VU_SET_BACKEND_REQ_FD));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
	EXPECT_EQ(1, be_feed(self, &st, VSHM_VU_SET_BACKEND_REQ_FD, NR, NULL, 0, sp[1]));
	EXPECT_EQ(0, fe_u64(self->fe, self->m, VSHM_VU_SET_BACKEND_REQ_FD));
	EXPECT_EQ(sp[1], st.backend_fd);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pfd));
	close(pfd[0]);
	EXPECT_EQ(-EINVAL, be_feed(self, &st, VSHM_VU_SET_BACKEND_REQ_FD, NR, NULL, 0, pfd[1]));
	EXPECT_EQ(EINVAL, fe_u64(self->fe, self->m, VSHM_VU_SET_BACKEND_REQ_FD));
	/* SET_BACKEND_REQ_FD without its fd never reaches the helper */
	EXPECT_EQ(-VSHM_EFDMISSING, be_feed(self, &st, VSHM_VU_SET_BACKEND_REQ_FD, NR, NULL, 0, -1));
	/* a request the helper does not serve stays with the caller */
	EXPECT_EQ(0, be_feed(self, &st, 5 /* SET_MEM_TABLE */, VSHM_HDR_VERSION, NULL, 0, -1));
	vshm_msg_release(self->m);
	EXPECT_EQ(1, be_feed(self, &st, VSHM_VU_GET_SHMEM_CONFIG, VSHM_HDR_VERSION, NULL, 0, -1));
	EXPECT_TRUE(st.config_sent);
	close(sp[0]);
	close(st.backend_fd);
	drain(vshm_chan_fd(self->fe));
}

TEST_HARNESS_MAIN
