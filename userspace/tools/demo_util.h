/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the two walkthroughs behind `make demo` share: the step/check
 * narration with its pass/fail count and starting vshmd.  vshm-vmm (a KVM
 * guest) and vshm-vmm-sim (no KVM).
 */
#ifndef VSHM_DEMO_UTIL_H
#define VSHM_DEMO_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libvshm.h>

/* Shared with the selftests (userspace/common): vgem_open(), vgem_dmabuf(),
 * path_near_self(), reads_zero_in_child(). */
#include "self_path.h"
#include "touch_probe.h"
#include "vgem_util.h"

/* The checks of one walkthrough. */
struct demo_tally {
	int passed, failed;
};

static inline void demo_step(const char *what)
{
	printf("\n== %s\n", what);
}

static inline void demo_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void demo_note(const char *fmt, ...)
{
	va_list ap;

	printf("   ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static inline bool demo_check(struct demo_tally *t, bool ok, const char *what)
{
	printf("   [%s] %s\n", ok ? "ok" : "FAILED", what);
	if (ok)
		t->passed++;
	else
		t->failed++;
	return ok;
}

/* vshmd's path: given, else $VSHMD, else ../broker/vshmd next to this program. */
static inline void demo_find_vshmd(char *out, size_t len, const char *given)
{
	if (given) {
		snprintf(out, len, "%s", given);
		return;
	}
	path_near_self(out, len, "../broker/vshmd", "VSHMD");
}

/* A vshmd started by a walkthrough, in its own temporary directory. */
struct demo_broker {
	char dir[32];
	char sock[64];
	char log[64];
	pid_t pid;
};

/* How long vshmd may take to serve its first HELLO. */
#define DEMO_START_TIMEOUT_MS	60000

/* Print vshmd's log, if it wrote one. */
static inline void demo_print_log(const struct demo_broker *b)
{
	char line[512];
	FILE *f = fopen(b->log, "r");

	if (!f)
		return;
	demo_step("vshmd's log");
	while (fgets(line, sizeof(line), f))
		printf("   | %s", line);
	fclose(f);
}

/* A listening Unix stream socket at path (close-on-exec), or -errno. */
static inline int demo_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/*
 * Start vshmd with --region-mode region_mode and connect to it as the VMM.  The
 * VMM binds the control socket and passes it as fd 3 (--listen-fd 3), so
 * its connection waits in the backlog until vshmd serves it: nothing to
 * poll for.  If vshmd dies first, the socket dies with it and HELLO fails.
 */
static inline int demo_start_vshmd(struct demo_broker *b, const char *vshmd,
				   const char *region_mode, int timeout_ms,
				   struct vshm_client **vmm)
{
	struct vshm_err err;
	int lfd, ret;

	snprintf(b->dir, sizeof(b->dir), "/tmp/vshm-demo.XXXXXX");
	if (!mkdtemp(b->dir))
		return -errno;
	snprintf(b->sock, sizeof(b->sock), "%s/vshmd.sock", b->dir);
	snprintf(b->log, sizeof(b->log), "%s/vshmd.log", b->dir);
	lfd = demo_listen(b->sock);
	if (lfd < 0)
		return lfd;
	b->pid = fork();
	if (b->pid < 0) {
		ret = -errno;
		close(lfd);
		return ret;
	}
	if (b->pid == 0) {
		/* dup2() onto itself would keep close-on-exec. */
		if ((lfd == 3 ? fcntl(3, F_SETFD, 0) : dup2(lfd, 3)) < 0)
			_exit(126);
		execl(vshmd, "vshmd", "--control-socket", b->sock,
		      "--listen-fd", "3", "--region-mode", region_mode,
		      "--log-level", "info", "--log-file", b->log, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", vshmd, strerror(errno));
		_exit(127);
	}
	close(lfd);
	/*
	 * The first HELLO waits for vshmd to start (slow under emulation, or
	 * behind --wait-device); then the VMM's own connection, with its
	 * timeout for every request.
	 */
	ret = vshm_client_connect(b->sock, DEMO_START_TIMEOUT_MS, vmm, &err);
	if (!ret) {
		vshm_client_close(*vmm);
		ret = vshm_client_connect(b->sock, timeout_ms, vmm, &err);
	}
	if (ret) {
		int status;

		printf("HELLO on %s: %s\n", b->sock, err.msg);
		/* Exited on its own (its log says why), or hung: stop it. */
		kill(b->pid, SIGTERM);
		waitpid(b->pid, &status, 0);
		b->pid = 0;
		demo_print_log(b);
		if (WIFEXITED(status))
			return -ECHILD;
	}
	return ret;
}

/* SIGTERM vshmd: did it exit 0?  Then print its log and remove its directory. */
static inline bool demo_stop_vshmd(struct demo_broker *b)
{
	int status = -1;

	if (b->pid > 0) {
		kill(b->pid, SIGTERM);
		waitpid(b->pid, &status, 0);
	}
	demo_print_log(b);
	unlink(b->sock);
	unlink(b->log);
	rmdir(b->dir);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

#endif /* VSHM_DEMO_UTIL_H */
