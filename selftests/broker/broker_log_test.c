// SPDX-License-Identifier: GPL-2.0
/*
 * A log nobody reads stalls nothing (Documentation/broker.rst, "Logs"):
 * vshmd logs to stderr, and stderr is
 *
 *  - pipe:    a pipe the test fills and then leaves unread,
 *  - journal: a stream socket, as journald's, filled and unread, with
 *             JOURNAL_STREAM naming it (lines carry "<N>" priorities),
 *  - tty:     a pseudo-terminal whose output is stopped, as by ^S.
 *
 * While the log cannot take a byte, vshmd is made to log many lines
 * (malformed frames from one back-end, a control connection per round at
 * --log-level debug) and a second device's SHMEM_MAP and SHMEM_UNMAP must
 * all be answered (within T_TIMEOUT_MS each; a broker blocked in write()
 * answers none).  Then the log is read: it says how many lines were
 * dropped, every line in it is whole, and the stderr description the test
 * shares with vshmd is still blocking (vshmd never set O_NONBLOCK on it).
 * Where stderr cannot be opened again (a pty master, a FIFO without its
 * reader), vshmd writes to it as before and says so once.
 */
#include <ctype.h>
#include <termios.h>

#include "kselftest_harness.h"
#include "broker_util.h"

#define GOOD_GA		0x100000000ull
#define RSZ		(1ull << 20)
#define ROUNDS		20
#define MISTAKES	50
#define LOG_MAX		(4u << 20)
#define DROPPED_NOTE	" log lines dropped: the log would have blocked"

enum sink_kind { SINK_PIPE, SINK_JOURNAL, SINK_TTY };

FIXTURE(logsink) {
	struct broker b;
	struct tdev good, evil;
	int mfd;
	int err_fd;	/* the test's copy of vshmd's stderr description */
	int read_fd;	/* where the test reads what vshmd wrote */
	char *log;
	size_t log_len;
};

FIXTURE_VARIANT(logsink) {
	enum sink_kind kind;
};

FIXTURE_VARIANT_ADD(logsink, pipe) { .kind = SINK_PIPE };
FIXTURE_VARIANT_ADD(logsink, journal) { .kind = SINK_JOURNAL };
FIXTURE_VARIANT_ADD(logsink, tty) { .kind = SINK_TTY };

/* vshmd with err_fd as its stderr and no --log-file; 0 once HELLO worked. */
static int start_logging_to(struct broker *b, int err_fd, bool journal)
{
	char vshmd[PATH_MAX], stream[64];
	const char *argv[] = { vshmd, "--control-socket", b->sock,
			       "--region-mode", test_region_mode(),
			       "--log-level", "debug", NULL };
	struct stat st;
	int i;

	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "/tmp/vshmd-test.XXXXXX");
	if (!mkdtemp(b->dir))
		return -errno;
	snprintf(b->sock, sizeof(b->sock), "%s/ctl.sock", b->dir);
	vshmd_path(vshmd, sizeof(vshmd));
	if (fstat(err_fd, &st) < 0)
		return -errno;
	snprintf(stream, sizeof(stream), "%llu:%llu",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	b->pid = fork();
	if (b->pid < 0)
		return -errno;
	if (b->pid == 0) {
		if (dup2(err_fd, STDERR_FILENO) < 0)
			_exit(126);
		if (journal)
			setenv("JOURNAL_STREAM", stream, 1);
		else
			unsetenv("JOURNAL_STREAM");
		for (i = 3; i < 1024; i++)
			close(i);
		execv(vshmd, (char *const *)argv);
		_exit(127);
	}
	return broker_wait_ready(b);
}

/* Fill fd's pipe or socket with empty lines until it takes no more. */
static int fill(int fd, bool socket)
{
	char path[64], nl[4096];
	size_t chunk = sizeof(nl);
	ssize_t n;
	int wfd = fd;

	memset(nl, '\n', sizeof(nl));
	if (!socket) {
		/* Our own non-blocking description: vshmd's stays blocking. */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (wfd < 0)
			return -errno;
	}
	for (;;) {
		n = socket ? send(wfd, nl, chunk, MSG_DONTWAIT | MSG_NOSIGNAL) :
			     write(wfd, nl, chunk);
		if (n > 0)
			continue;
		if (n < 0 && errno != EAGAIN)
			break;
		if (chunk == 1)
			break;
		chunk = 1;
	}
	if (!socket)
		close(wfd);
	return n < 0 && errno != EAGAIN ? -errno : 0;
}

FIXTURE_SETUP(logsink)
{
	int sv[2], ptm;

	signal(SIGPIPE, SIG_IGN);
	self->good.be = self->good.fw = -1;
	self->evil.be = self->evil.fw = -1;
	self->mfd = -1;
	self->log = calloc(1, LOG_MAX + 1);
	ASSERT_NE(NULL, self->log);
	switch (variant->kind) {
	case SINK_PIPE:
		ASSERT_EQ(0, pipe2(sv, O_CLOEXEC));
		self->read_fd = sv[0];
		self->err_fd = sv[1];
		break;
	case SINK_JOURNAL:
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
					sv));
		self->read_fd = sv[0];
		self->err_fd = sv[1];
		break;
	case SINK_TTY:
		ptm = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		ASSERT_LE(0, ptm);
		ASSERT_EQ(0, grantpt(ptm));
		ASSERT_EQ(0, unlockpt(ptm));
		self->read_fd = ptm;
		self->err_fd = open(ptsname(ptm), O_RDWR | O_NOCTTY | O_CLOEXEC);
		ASSERT_LE(0, self->err_fd);
		break;
	}
	ASSERT_EQ(0, start_logging_to(&self->b, self->err_fd,
				      variant->kind == SINK_JOURNAL));
	ASSERT_EQ(0, tdev_add(&self->b, &self->good, RSZ, GOOD_GA));
	ASSERT_EQ(0, tdev_add(&self->b, &self->evil, PG * 16, UINT64_MAX));
	self->mfd = memfd_filled(64 << 10, 0x5a);
	ASSERT_LE(0, self->mfd);
}

FIXTURE_TEARDOWN(logsink)
{
	tdev_close(&self->good);
	tdev_close(&self->evil);
	if (self->mfd >= 0)
		close(self->mfd);
	if (variant->kind == SINK_TTY)
		tcflow(self->err_fd, TCOON);
	broker_stop(&self->b);
	close(self->err_fd);
	close(self->read_fd);
	free(self->log);
}

/* Make the log take nothing more. */
static void block_log(struct __test_metadata *_metadata,
		      FIXTURE_DATA(logsink) *self, enum sink_kind kind)
{
	if (kind == SINK_TTY) {
		ASSERT_EQ(0, tcflow(self->err_fd, TCOOFF));
	} else {
		ASSERT_EQ(0, fill(self->err_fd, kind == SINK_JOURNAL));
	}
}

/* Let the log flow again and read it until s appears (5 s at most). */
static bool read_log_until(FIXTURE_DATA(logsink) *self, enum sink_kind kind,
			   const char *s)
{
	struct pollfd p = { .fd = self->read_fd, .events = POLLIN };
	ssize_t n;
	int i;

	if (kind == SINK_TTY)
		tcflow(self->err_fd, TCOON);
	for (i = 0; i < T_TIMEOUT_MS / 10; i++) {
		if (poll(&p, 1, 10) <= 0)
			continue;
		n = read(self->read_fd, self->log + self->log_len,
			 LOG_MAX - self->log_len);
		if (n <= 0)
			return false;
		self->log_len += n;
		self->log[self->log_len] = 0;
		/* The filler: empty lines; what vshmd wrote follows it. */
		if (strstr(self->log + strspn(self->log, "\n"), s))
			return true;
	}
	return false;
}

/* Is every line vshmd wrote whole, with its prefix? */
static bool lines_whole(char *log, enum sink_kind kind)
{
	char *line, *save = NULL;

	for (line = strtok_r(log, "\r\n", &save); line;
	     line = strtok_r(NULL, "\r\n", &save)) {
		if (kind == SINK_JOURNAL) {
			if (line[0] != '<' || !isdigit(line[1]) || line[2] != '>')
				return false;
		} else if (strlen(line) < 31 || strncmp(line + 23, " vshmd[", 7)) {
			/* "YYYY-MM-DD HH:MM:SS.mmm vshmd[PID]: " */
			return false;
		}
	}
	return true;
}

TEST_F_TIMEOUT(logsink, blocked_log_stalls_nothing, 60)
{
	struct vshm_client *c;
	unsigned long dropped = 0;
	const char *note;
	int i;

	block_log(_metadata, self, variant->kind);
	/* Unexpected replies: each dropped and logged (rate-limited). */
	for (i = 0; i < MISTAKES; i++)
		ASSERT_EQ(0, send_frame(self->evil.be, VSHM_VU_BACKEND_VRING_CALL,
					VSHM_HDR_VERSION | VSHM_HDR_REPLY, 8,
					"\0\0\0\0\0\0\0\0", 8, NULL, 0));
	usleep(100000);
	for (i = 0; i < ROUNDS; i++) {
		ASSERT_EQ(0, do_map(&self->good, 0, self->mfd, 0, 0, PG, 1));
		ASSERT_EQ(0, do_unmap(&self->good, 0, 0, PG));
		/* "control client connected": one more line at debug. */
		ASSERT_EQ(0, vshm_client_connect(self->b.sock, T_TIMEOUT_MS, &c,
						 NULL));
		vshm_client_close(c);
	}
	/* vshmd's writes went around it: its stderr is as it was given. */
	EXPECT_EQ(0, fcntl(self->err_fd, F_GETFL) & O_NONBLOCK);
	ASSERT_TRUE(read_log_until(self, variant->kind, DROPPED_NOTE));
	note = strstr(self->log + strspn(self->log, "\n"), DROPPED_NOTE);
	while (note > self->log && isdigit(note[-1]))
		note--;
	dropped = strtoul(note, NULL, 10);
	TH_LOG("%lu log lines dropped", dropped);
	/* At least a connection per round and the first mistakes. */
	EXPECT_LE(ROUNDS + 5, dropped);
	if (variant->kind == SINK_JOURNAL)
		EXPECT_NE(NULL, strstr(self->log, "<4>warning: "));
	EXPECT_EQ(NULL, strstr(self->log, "written blocking"));
	EXPECT_TRUE(lines_whole(self->log, variant->kind));
	EXPECT_TRUE(broker_alive(&self->b));
	/* SIGTERM: a clean exit (and, under ASan, no report). */
	EXPECT_EQ(0, broker_stop(&self->b));
}

static int count_of(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s += strlen(what);
	}
	return n;
}

/*
 * A pty master cannot be opened again (that would make a new pty): vshmd
 * writes to it as before, blocking, and says so once at start-up.
 */
TEST(unreopenable_stderr_said_once)
{
	struct vshm_client *c;
	struct termios tio;
	struct broker b;
	char buf[1 << 16];
	size_t len = 0;
	ssize_t n;
	int ptm, pts, i;

	ptm = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ASSERT_LE(0, ptm);
	ASSERT_EQ(0, grantpt(ptm));
	ASSERT_EQ(0, unlockpt(ptm));
	pts = open(ptsname(ptm), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, pts);
	/* Raw: what vshmd writes arrives as written, and is not echoed. */
	ASSERT_EQ(0, tcgetattr(pts, &tio));
	cfmakeraw(&tio);
	ASSERT_EQ(0, tcsetattr(pts, TCSANOW, &tio));
	ASSERT_EQ(0, start_logging_to(&b, ptm, false));
	/* More lines after the start: the warning still comes once. */
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, vshm_client_connect(b.sock, T_TIMEOUT_MS, &c, NULL));
		vshm_client_close(c);
	}
	for (i = 0; i < 100; i++) {
		struct pollfd p = { .fd = pts, .events = POLLIN };

		if (poll(&p, 1, 10) <= 0)
			continue;
		n = read(pts, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = 0;
	EXPECT_EQ(0, broker_stop(&b));
	close(pts);
	close(ptm);
	ASSERT_NE(NULL, strstr(buf, "control client connected"));
	EXPECT_NE(NULL, strstr(buf, "stderr is a terminal that cannot be opened again non-blocking"));
	EXPECT_EQ(1, count_of(buf, "written blocking"));
}

/*
 * A FIFO whose reader is gone cannot be opened again for writing (ENXIO):
 * vshmd falls back, and the EPIPE of its warning does not kill it.
 */
TEST(readerless_fifo_kills_nothing)
{
	char dir[] = "/tmp/vshm-log-XXXXXX", fifo[64];
	struct broker b;
	int rd, wr;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ASSERT_EQ(0, mkfifo(fifo, 0600));
	rd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, rd);
	wr = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, wr);
	close(rd);
	/* vshmd gets a blocking stderr, as a shell would give it. */
	ASSERT_EQ(0, fcntl(wr, F_SETFL, fcntl(wr, F_GETFL) & ~O_NONBLOCK));
	EXPECT_EQ(0, start_logging_to(&b, wr, false));
	EXPECT_TRUE(broker_alive(&b));
	EXPECT_EQ(0, broker_stop(&b));
	close(wr);
	unlink(fifo);
	rmdir(dir);
}

TEST_HARNESS_MAIN
