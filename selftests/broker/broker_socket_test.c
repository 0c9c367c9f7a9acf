// SPDX-License-Identifier: GPL-2.0
/*
 * vshmd's control socket and its life as a system daemon: one broker per
 * socket (a second one on a live path exits 1 and leaves it alone, a
 * stale socket is replaced, a stopping broker removes only the socket it
 * bound), a socket passed with --listen-fd (fd 0 too; anything else at
 * that fd refused, saying what it is) or by systemd socket
 * activation (systemd-socket-activate), fds 0-2 closed by the caller
 * (given /dev/null), readiness (READY=1 on
 * $NOTIFY_SOCKET once the socket accepts), syslog priority prefixes when
 * stderr is the journal, and --version in every program.
 */
#include "kselftest_harness.h"
#include "broker_util.h"

#define SOCKET_ACTIVATE	"/usr/bin/systemd-socket-activate"

/* What a spawned vshmd gets besides its arguments. */
struct spawn {
	const char *out;	/* stdout and stderr to this file, else /dev/null */
	int pass_fd;		/* becomes fd 3 in the child, -1: none */
	bool on_stdin;		/* pass_fd becomes fd 0 instead */
	const char *env[4];	/* NAME=VALUE, NULL-terminated */
	bool journal;		/* JOURNAL_STREAM= the output file's dev:ino */
	bool closed_std;	/* fds 0, 1 and 2 closed at exec */
};

static pid_t spawn(const char *const *argv, const struct spawn *sp)
{
	pid_t pid = fork();
	int i, fd, to;

	if (pid)
		return pid;
	fd = open(sp->out ? sp->out : "/dev/null",
		  O_WRONLY | O_CREAT | O_APPEND, 0600);
	dup2(fd, 1);
	dup2(fd, 2);
	if (sp->journal) {
		struct stat st;
		char v[64];

		fstat(2, &st);
		snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", v, 1);
	}
	/* dup2() onto itself would keep close-on-exec. */
	to = sp->on_stdin ? 0 : 3;
	if (sp->pass_fd >= 0 &&
	    (sp->pass_fd == to ? fcntl(to, F_SETFD, 0) : dup2(sp->pass_fd, to)) < 0)
		_exit(126);
	for (i = 4; i < 1024; i++)
		close(i);
	for (i = 0; sp->env[i]; i++)
		putenv((char *)sp->env[i]);
	if (sp->closed_std)
		for (i = 0; i < 3; i++)
			close(i);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

static int stop(pid_t pid)
{
	kill(pid, SIGTERM);
	return wait_exit(pid, 5);
}

/* A Unix stream socket bound at path; listening if backlog > 0. */
static int bound_socket(const char *path, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (backlog && listen(fd, backlog))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) ? 0 : st.st_ino;
}

/*
 * Run argv (systemd-socket-activate first, with --listen=path) and wait
 * until it listens on path; its pid.
 */
static pid_t socket_activate(const char *const *argv, const struct spawn *sp,
			     const char *path)
{
	pid_t pid = spawn(argv, sp);
	int i;

	for (i = 0; i < 500 && !inode_of(path); i++)
		usleep(10000);
	return pid;
}

/* HELLO works on path within T_TIMEOUT_MS, without retrying. */
static bool serves(const char *path)
{
	struct vshm_client *c;

	if (vshm_client_connect(path, T_TIMEOUT_MS, &c, NULL))
		return false;
	vshm_client_close(c);
	return true;
}

FIXTURE(sock)
{
	char dir[64];
	char path[96];
	char log[96];
	char out[96];
	char vshmd[PATH_MAX];
};

FIXTURE_SETUP(sock)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/vshmd-sock.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/ctl.sock", self->dir);
	snprintf(self->log, sizeof(self->log), "%s/vshmd.log", self->dir);
	snprintf(self->out, sizeof(self->out), "%s/out", self->dir);
	vshmd_path(self->vshmd, sizeof(self->vshmd));
}

FIXTURE_TEARDOWN(sock)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

/* vshmd on self->path (mmap region mode), logging to self->log. */
static pid_t start_on_path(struct __test_metadata *_metadata,
			   FIXTURE_DATA(sock) *self, const struct spawn *sp)
{
	const char *argv[] = { self->vshmd, "--control-socket", self->path,
			       "--region-mode", "mmap", "--log-file", self->log,
			       NULL };
	struct spawn none = { .pass_fd = -1 };
	pid_t pid = spawn(argv, sp ? sp : &none);
	int i;

	for (i = 0; i < 500 && !file_has(self->log, "ready:"); i++)
		usleep(10000);
	EXPECT_TRUE(file_has(self->log, "ready:"));
	return pid;
}

/*
 * The broker pid serves a socket it was handed on self->path, again and
 * again, logs that path as its own, stops on SIGTERM and leaves the path
 * to whoever bound it.
 */
static void expect_served_not_owned(struct __test_metadata *_metadata,
				    FIXTURE_DATA(sock) *self, pid_t pid)
{
	EXPECT_TRUE(serves(self->path));
	EXPECT_TRUE(file_has(self->log, "ready: control socket "));
	EXPECT_TRUE(file_has(self->log, self->path));
	EXPECT_TRUE(serves(self->path));
	EXPECT_EQ(0, stop(pid));
	EXPECT_NE(0, inode_of(self->path));
}

/* Proves: a second vshmd on a live broker's path exits 1, says why, and the first keeps its socket. */
TEST_F(sock, second_broker_refused)
{
	const char *argv[] = { self->vshmd, "--control-socket", self->path,
			       "--region-mode", "mmap", NULL };
	struct spawn sp = { .out = self->out, .pass_fd = -1 };
	pid_t first = start_on_path(_metadata, self, NULL);
	ino_t ino = inode_of(self->path);

	ASSERT_NE(0, ino);
	EXPECT_EQ(1, wait_exit(spawn(argv, &sp), 5));
	EXPECT_TRUE(file_has(self->out, "another vshmd (pid "));
	EXPECT_TRUE(file_has(self->out, "one broker per socket"));
	EXPECT_EQ(ino, inode_of(self->path));
	EXPECT_TRUE(serves(self->path));
	EXPECT_EQ(0, stop(first));
	EXPECT_EQ(0, inode_of(self->path));
}

/* Does /proc/PID/fd/FD name /dev/null? */
static bool fd_is_dev_null(pid_t pid, int fd)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = 0;
	return !strcmp(target, "/dev/null");
}

/*
 * Proves: started with fds 0, 1 and 2 closed, vshmd puts /dev/null there
 * before it opens anything, so its log file, epoll and devices' sockets
 * get other numbers and nothing meant for stderr reaches them.
 */
TEST_F(sock, closed_std_fds_get_dev_null)
{
	struct spawn sp = { .pass_fd = -1, .closed_std = true };
	pid_t pid = start_on_path(_metadata, self, &sp);
	int fd;

	EXPECT_TRUE(serves(self->path));
	for (fd = 0; fd < 3; fd++)
		EXPECT_TRUE(fd_is_dev_null(pid, fd))
			TH_LOG("vshmd's fd %d is not /dev/null", fd);
	EXPECT_EQ(0, stop(pid));
}

/* Proves: a socket nobody listens on (a crashed broker's) is replaced. */
TEST_F(sock, stale_socket_replaced)
{
	int fd = bound_socket(self->path, 0);
	pid_t pid;

	ASSERT_GE(fd, 0);
	close(fd);
	pid = start_on_path(_metadata, self, NULL);
	EXPECT_TRUE(file_has(self->log, "replacing the stale socket"));
	EXPECT_TRUE(serves(self->path));
	EXPECT_EQ(0, stop(pid));
}

/* Proves: the same after kill -9: its socket and lock file are left, the next broker starts. */
TEST_F(sock, restart_after_kill)
{
	pid_t pid = start_on_path(_metadata, self, NULL);

	kill(pid, SIGKILL);
	EXPECT_EQ(-1, wait_exit(pid, 5));
	EXPECT_NE(0, inode_of(self->path));
	unlink(self->log);
	pid = start_on_path(_metadata, self, NULL);
	EXPECT_TRUE(serves(self->path));
	EXPECT_EQ(0, stop(pid));
}

/* Proves: a socket someone else listens on (no lock: systemd, --listen-fd) is refused, not replaced. */
TEST_F(sock, foreign_listener_refused)
{
	const char *argv[] = { self->vshmd, "--control-socket", self->path,
			       "--region-mode", "mmap", NULL };
	struct spawn sp = { .out = self->out, .pass_fd = -1 };
	int fd = bound_socket(self->path, 4);
	ino_t ino = inode_of(self->path);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(1, wait_exit(spawn(argv, &sp), 5));
	EXPECT_TRUE(file_has(self->out, "is in use"));
	EXPECT_EQ(ino, inode_of(self->path));
	close(fd);
}

/* Proves: a stopping broker leaves a socket at its path that is not the one it bound. */
TEST_F(sock, stop_keeps_successor_socket)
{
	pid_t pid = start_on_path(_metadata, self, NULL);
	ino_t ino;
	int fd;

	ASSERT_EQ(0, unlink(self->path));
	fd = bound_socket(self->path, 4);
	ASSERT_GE(fd, 0);
	ino = inode_of(self->path);
	EXPECT_EQ(0, stop(pid));
	EXPECT_EQ(ino, inode_of(self->path));
	close(fd);
}

/* Proves: the socket's missing directories are created (the README's commands). */
TEST_F(sock, creates_socket_directory)
{
	pid_t pid;

	snprintf(self->path, sizeof(self->path), "%s/vm1/x/ctl.sock", self->dir);
	pid = start_on_path(_metadata, self, NULL);
	EXPECT_TRUE(serves(self->path));
	EXPECT_EQ(0, stop(pid));
}

/* Proves: --listen-fd serves the VMM's socket at once (no polling) and leaves its path to the VMM. */
TEST_F(sock, listen_fd)
{
	const char *argv[] = { self->vshmd, "--listen-fd", "3", "--region-mode",
			       "mmap", "--log-file", self->log, NULL };
	int fd = bound_socket(self->path, 4);
	struct spawn sp = { .pass_fd = fd };
	char lock[128];
	pid_t pid;

	ASSERT_GE(fd, 0);
	pid = spawn(argv, &sp);
	close(fd);
	/* Connected before vshmd even runs: the backlog holds it. */
	EXPECT_TRUE(serves(self->path));
	EXPECT_TRUE(file_has(self->log, self->path));
	EXPECT_EQ(0, stop(pid));
	EXPECT_NE(0, inode_of(self->path));
	snprintf(lock, sizeof(lock), "%s.lock", self->path);
	EXPECT_NE(0, access(lock, F_OK));
}

/* Proves: --listen-fd refuses an fd that is not a listening Unix stream socket. */
TEST_F(sock, listen_fd_not_a_socket)
{
	const char *argv[] = { self->vshmd, "--listen-fd", "3", "--region-mode",
			       "mmap", NULL };
	int fd = bound_socket(self->path, 0);	/* bound, not listening */
	struct spawn sp = { .out = self->out, .pass_fd = fd };

	ASSERT_GE(fd, 0);
	EXPECT_EQ(1, wait_exit(spawn(argv, &sp), 5));
	EXPECT_TRUE(file_has(self->out, "not a listening Unix stream socket"));
	EXPECT_TRUE(file_has(self->out, "fd 3 is not"));
	EXPECT_TRUE(file_has(self->out, "it does not listen"));
	close(fd);
	unlink(self->out);
	sp.pass_fd = open("/dev/null", O_RDONLY);
	EXPECT_EQ(1, wait_exit(spawn(argv, &sp), 5));
	EXPECT_TRUE(file_has(self->out, "it is a character device"));
	close(sp.pass_fd);
}

/*
 * Proves: --listen-fd 0 serves a socket on stdin (an inetd-style wrapper's,
 * or one dup'ed there): fd 0 is a socket like any other, not "no fd".
 */
TEST_F(sock, listen_fd_stdin)
{
	const char *argv[] = { self->vshmd, "--listen-fd", "0", "--region-mode",
			       "mmap", "--log-file", self->log, NULL };
	int fd = bound_socket(self->path, 4);
	struct spawn sp = { .pass_fd = fd, .on_stdin = true };
	pid_t pid;

	ASSERT_GE(fd, 0);
	pid = spawn(argv, &sp);
	close(fd);
	expect_served_not_owned(_metadata, self, pid);
}

/* vshmd --listen-fd 0 with fd on its stdin exits 1, saying why (says). */
static void refused_on_stdin(struct __test_metadata *_metadata,
			     FIXTURE_DATA(sock) *self, int fd, const char *says)
{
	const char *argv[] = { self->vshmd, "--listen-fd", "0", "--region-mode",
			       "mmap", NULL };
	struct spawn sp = { .out = self->out, .pass_fd = fd, .on_stdin = true };

	ASSERT_GE(fd, 0);
	unlink(self->out);
	EXPECT_EQ(1, wait_exit(spawn(argv, &sp), 5));
	EXPECT_TRUE(file_has(self->out, "--listen-fd: fd 0 is not a listening Unix stream socket"));
	EXPECT_TRUE(file_has(self->out, says))
		TH_LOG("the refusal does not say \"%s\"", says);
	close(fd);
}

/* Proves: --listen-fd 0 refuses a stdin that is no listening Unix stream socket, saying what it is. */
TEST_F(sock, listen_fd_stdin_not_a_socket)
{
	char file[128];
	int p[2];

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	refused_on_stdin(_metadata, self, p[0], "it is a pipe");
	close(p[1]);
	snprintf(file, sizeof(file), "%s/plain", self->dir);
	refused_on_stdin(_metadata, self,
			 open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600),
			 "it is a regular file");
	refused_on_stdin(_metadata, self,
			 socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0),
			 "it is a Unix datagram socket");
	refused_on_stdin(_metadata, self,
			 socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
			 "not AF_UNIX");
	refused_on_stdin(_metadata, self, bound_socket(self->path, 0),
			 "it does not listen");
	EXPECT_NE(0, inode_of(self->path));
}

/* Proves: --listen-fd N with nothing open at N exits 1 naming the fd, before vshmd's own fds can take N. */
TEST_F(sock, listen_fd_not_open)
{
	const char *argv[] = { self->vshmd, "--listen-fd", "7", "--region-mode",
			       "mmap", NULL };
	struct spawn sp = { .out = self->out, .pass_fd = -1 };

	EXPECT_EQ(1, wait_exit(spawn(argv, &sp), 5));
	EXPECT_TRUE(file_has(self->out, "--listen-fd 7: fd 7 is not open"));
	EXPECT_TRUE(file_has(self->out, "expected the listening Unix stream socket"));
}

/* Proves: systemd socket activation (systemd-socket-activate, LISTEN_FDS): served, path left to systemd. */
TEST_F(sock, socket_activation)
{
	char listen_opt[128];
	const char *argv[] = { SOCKET_ACTIVATE, listen_opt, self->vshmd,
			       "--region-mode", "mmap", "--log-file", self->log,
			       NULL };
	struct spawn sp = { .out = self->out, .pass_fd = -1 };
	pid_t pid;

	if (access(SOCKET_ACTIVATE, X_OK))
		SKIP(return, SOCKET_ACTIVATE " missing (Debian package systemd, scripts/install-deps)");
	snprintf(listen_opt, sizeof(listen_opt), "--listen=%s", self->path);
	pid = socket_activate(argv, &sp, self->path);
	/* The first connection starts vshmd, which gets the socket as fd 3. */
	expect_served_not_owned(_metadata, self, pid);
}

/* Proves: socket activation with a --control-socket naming another path exits 1. */
TEST_F(sock, socket_activation_path_mismatch)
{
	char listen_opt[128];
	const char *argv[] = { SOCKET_ACTIVATE, listen_opt, self->vshmd,
			       "--control-socket", "/tmp/elsewhere.sock",
			       "--region-mode", "mmap", NULL };
	struct spawn sp = { .out = self->out, .pass_fd = -1 };
	struct vshm_client *c;
	pid_t pid;

	if (access(SOCKET_ACTIVATE, X_OK))
		SKIP(return, SOCKET_ACTIVATE " missing (Debian package systemd, scripts/install-deps)");
	snprintf(listen_opt, sizeof(listen_opt), "--listen=%s", self->path);
	pid = socket_activate(argv, &sp, self->path);
	EXPECT_NE(0, vshm_client_connect(self->path, 2000, &c, NULL));
	EXPECT_EQ(1, wait_exit(pid, 5));
	EXPECT_TRUE(file_has(self->out, "but --control-socket says /tmp/elsewhere.sock"));
	EXPECT_EQ(0, access(self->path, F_OK));
}

/* Proves: READY=1 reaches $NOTIFY_SOCKET once the socket accepts, STOPPING=1 on SIGTERM. */
TEST_F(sock, readiness_notification)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct spawn sp = { .pass_fd = -1 };
	char env[160], msg[512];
	struct pollfd pfd;
	ssize_t n;
	pid_t pid;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", self->dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s", sa.sun_path);
	sp.env[0] = env;
	pid = start_on_path(_metadata, self, &sp);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, T_TIMEOUT_MS));
	n = recv(fd, msg, sizeof(msg) - 1, 0);
	ASSERT_GT(n, 0);
	msg[n] = 0;
	TH_LOG("notification: %s", msg);
	EXPECT_NE(NULL, strstr(msg, "READY=1"));
	EXPECT_NE(NULL, strstr(msg, "STATUS=Serving "));
	/* Ready means ready: the first connection attempt is served. */
	EXPECT_TRUE(serves(self->path));
	kill(pid, SIGTERM);
	ASSERT_EQ(1, poll(&pfd, 1, T_TIMEOUT_MS));
	n = recv(fd, msg, sizeof(msg) - 1, 0);
	ASSERT_GT(n, 0);
	msg[n] = 0;
	EXPECT_NE(NULL, strstr(msg, "STOPPING=1"));
	EXPECT_EQ(0, wait_exit(pid, 5));
	close(fd);
}

/* Proves: with stderr the journal, lines carry <N> priorities; otherwise the usual time stamps. */
TEST_F(sock, journal_priority_prefixes)
{
	const char *argv[] = { self->vshmd, "--control-socket", self->path,
			       "--region-mode", "mmap", NULL };
	struct spawn sp = { .out = self->out, .pass_fd = -1, .journal = true };
	pid_t pid = spawn(argv, &sp);
	int i;

	for (i = 0; i < 500 && !file_has(self->out, "ready:"); i++)
		usleep(10000);
	EXPECT_TRUE(file_has(self->out, "<6>info: ready: control socket"));
	EXPECT_TRUE(file_has(self->out, "<4>warning: running as root") ||
		    getuid() != 0);
	EXPECT_FALSE(file_has(self->out, " vshmd["));
	EXPECT_EQ(0, stop(pid));
	unlink(self->out);
	/* JOURNAL_STREAM naming another file: plain lines. */
	sp.journal = false;
	sp.env[0] = "JOURNAL_STREAM=1:1";
	pid = spawn(argv, &sp);
	for (i = 0; i < 500 && !file_has(self->out, "ready:"); i++)
		usleep(10000);
	EXPECT_TRUE(file_has(self->out, " vshmd["));
	EXPECT_FALSE(file_has(self->out, "<6>"));
	EXPECT_EQ(0, stop(pid));
}

/* Proves: every program prints "NAME VERSION" for --version and exits 0. */
TEST_F(sock, version_everywhere)
{
	static const char *const tools[] = {
		"vshmctl", "vshm-vmm", "vshm-vmm-sim", "vshm-demo", "vshm-bench",
	};
	char path[PATH_MAX], want[64];
	const char *argv[3] = { NULL, "--version", NULL };
	struct spawn sp = { .out = self->out, .pass_fd = -1 };
	unsigned int i;

	argv[0] = self->vshmd;
	EXPECT_EQ(0, wait_exit(spawn(argv, &sp), 5));
	snprintf(want, sizeof(want), "vshmd %s\n", VSHM_VERSION_STRING);
	EXPECT_TRUE(file_has(self->out, want));
	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		unlink(self->out);
		tools_path(path, sizeof(path), tools[i]);
		argv[0] = path;
		EXPECT_EQ(0, wait_exit(spawn(argv, &sp), 5));
		snprintf(want, sizeof(want), "%s %s\n", tools[i], VSHM_VERSION_STRING);
		if (!file_has(self->out, want))
			TH_LOG("%s --version did not print '%s'", path, want);
		EXPECT_TRUE(file_has(self->out, want));
	}
}

TEST_HARNESS_MAIN
