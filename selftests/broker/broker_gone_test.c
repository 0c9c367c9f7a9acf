// SPDX-License-Identifier: GPL-2.0
/*
 * What a VMM sees when vshmd goes away (Documentation/protocol.rst, "When
 * the broker goes away"): a request in flight completes with -EPIPE, the
 * event loop's dispatch returns -EPIPE, every later call fails with
 * -EPIPE without blocking, a stopped broker makes a blocking call time
 * out with -ETIMEDOUT and the connection stays usable, a back-end sees
 * its channel close, reconnecting gets -ECONNREFUSED, and (with
 * /dev/vshm) the mappings the VMM holds through its region fds stay.
 */
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "broker_util.h"

struct done_rec {
	int calls;
	int result;
};

static void on_done(struct vshm_client *c, struct vshm_client_done *d,
		    void *opaque)
{
	struct done_rec *r = opaque;

	(void)c;
	r->calls++;
	r->result = d->result;
}

static void kill9(struct broker *b)
{
	kill(b->pid, SIGKILL);
	waitpid(b->pid, NULL, 0);
	b->pid = 0;
}

/* Dispatch until it returns a negative code (at most timeout_ms); that code. */
static int dispatch_until_end(struct vshm_client *c, int timeout_ms,
			      struct vshm_err *err)
{
	return client_pump(c, timeout_ms, false, err);
}

FIXTURE(gone) {
	struct broker b;
	struct tdev t;
};

FIXTURE_SETUP(gone)
{
	ASSERT_EQ(0, broker_start(&self->b, NULL));
	ASSERT_EQ(0, tdev_add(&self->b, &self->t, 1 << 20, 1ull << 32));
}

FIXTURE_TEARDOWN(gone)
{
	tdev_close(&self->t);
	if (broker_stop(&self->b) < 0) {
		/* Killed: broker_stop() only closed the client. */
		unlink(self->b.sock);
		unlink(self->b.log);
		rmdir(self->b.dir);
	}
}

/*
 * Proves: a request the broker never read completes with -EPIPE when it
 * is killed (the socket reset is reported as EPIPE), dispatch returns
 * -EPIPE, and later blocking and queued calls fail with -EPIPE at once.
 */
TEST_F(gone, pending_request_fails_with_epipe)
{
	struct vshm_ctl_dev_ref ref = { .dev_id = VSHM_CTL_ALL_DEVICES };
	struct done_rec rec = { 0 };
	struct vshm_ctl_stats st;
	struct vshm_err err;

	kill(self->b.pid, SIGSTOP);
	ASSERT_EQ(0, vshm_client_submit(self->b.c, VSHM_CTL_GET_STATS, &ref,
					sizeof(ref), NULL, 0, on_done, &rec, NULL));
	EXPECT_EQ(1, vshm_client_inflight(self->b.c));
	/* Let the request reach the broker's socket, unread. */
	EXPECT_EQ(0, vshm_client_dispatch(self->b.c, NULL));
	kill9(&self->b);
	EXPECT_EQ(-EPIPE, dispatch_until_end(self->b.c, T_TIMEOUT_MS, &err));
	EXPECT_EQ(1, rec.calls);
	EXPECT_EQ(-EPIPE, rec.result);
	EXPECT_EQ(0, vshm_client_inflight(self->b.c));
	TH_LOG("dispatch: %s", err.msg);
	EXPECT_NE(0, err.msg[0]);
	EXPECT_EQ(-EPIPE, vshm_client_stats(self->b.c, VSHM_CTL_ALL_DEVICES, &st, &err));
	EXPECT_NE(NULL, strstr(err.msg, "connection to the broker ended"));
	EXPECT_EQ(-EPIPE, vshm_client_submit(self->b.c, VSHM_CTL_GET_STATS, &ref,
					     sizeof(ref), NULL, 0, NULL, NULL, NULL));
	EXPECT_EQ(-EPIPE, vshm_client_dispatch(self->b.c, NULL));
	EXPECT_EQ(-EPIPE, vshm_client_answer(self->b.c, VSHM_CTL_VMM_MAP, 0,
					     NULL, 0, NULL, 0, NULL));
}

/* Proves: a blocking call to a broker killed while idle fails with -EPIPE (EOF, no reset). */
TEST_F(gone, idle_connection_fails_with_epipe)
{
	struct vshm_ctl_stats st;
	struct vshm_err err;

	kill9(&self->b);
	EXPECT_EQ(-EPIPE, vshm_client_stats(self->b.c, VSHM_CTL_ALL_DEVICES, &st, &err));
	TH_LOG("stats: %s", err.msg);
	EXPECT_EQ(-EPIPE, vshm_client_set_region_addr(self->b.c, self->t.id, 0,
						      1ull << 33, NULL));
	/* The back-end's channel closes with the broker. */
	EXPECT_TRUE(closed_by_broker(&self->t));
	/* The socket file is left behind; nobody listens on it. */
	EXPECT_EQ(-ECONNREFUSED, vshm_client_connect(self->b.sock, 1000,
						      &(struct vshm_client *){ NULL },
						      NULL));
}

/* Proves: a broker that stops answering makes a blocking call time out; the connection stays usable. */
TEST_F(gone, stopped_broker_times_out)
{
	struct vshm_ctl_stats st;
	struct vshm_client *c;
	struct vshm_err err;

	ASSERT_EQ(0, vshm_client_connect(self->b.sock, 300, &c, NULL));
	kill(self->b.pid, SIGSTOP);
	EXPECT_EQ(-ETIMEDOUT, vshm_client_stats(c, VSHM_CTL_ALL_DEVICES, &st, &err));
	TH_LOG("stats: %s", err.msg);
	kill(self->b.pid, SIGCONT);
	/* The late reply is dropped; the next call gets its own. */
	EXPECT_EQ(0, vshm_client_stats(c, self->t.id, &st, NULL));
	EXPECT_EQ(1, st.devices);
	vshm_client_close(c);
}

/* Proves: with /dev/vshm, what the VMM mapped through a region fd stays readable after kill -9. */
TEST_F(gone, mappings_survive_kill)
{
	const char msg[] = "still here";
	char *base;
	int mfd;

	if (!self->b.kmod)
		SKIP(return, "region fds exist only with /dev/vshm (the VM suite runs this)");
	base = mmap(NULL, 1 << 20, PROT_READ, MAP_SHARED, self->t.region[0], 0);
	ASSERT_NE(MAP_FAILED, base);
	mfd = memfd_create("gone", MFD_CLOEXEC);
	ASSERT_EQ(0, ftruncate(mfd, PG));
	ASSERT_EQ((ssize_t)sizeof(msg), pwrite(mfd, msg, sizeof(msg), 0));
	ASSERT_EQ(0, do_map(&self->t, 0, mfd, 0, 4 * PG, PG, 0));
	EXPECT_STREQ(msg, base + 4 * PG);
	kill9(&self->b);
	EXPECT_TRUE(closed_by_broker(&self->t));
	EXPECT_STREQ(msg, base + 4 * PG);
	munmap(base, 1 << 20);
	close(mfd);
}

TEST_HARNESS_MAIN
