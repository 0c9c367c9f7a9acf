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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vshm/vshm.h>

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

/* Start vshmd with --backend backend and connect to it as the VMM. */
static inline int demo_start_vshmd(struct demo_broker *b, const char *vshmd,
				   const char *backend, int timeout_ms,
				   struct vshm_client **vmm)
{
	int i;

	snprintf(b->dir, sizeof(b->dir), "/tmp/vshm-demo.XXXXXX");
	if (!mkdtemp(b->dir))
		return -errno;
	snprintf(b->sock, sizeof(b->sock), "%s/vshmd.sock", b->dir);
	snprintf(b->log, sizeof(b->log), "%s/vshmd.log", b->dir);
	b->pid = fork();
	if (b->pid < 0)
		return -errno;
	if (b->pid == 0) {
		execl(vshmd, "vshmd", "--control-socket", b->sock, "--backend",
		      backend, "--log-level", "info", "--log-file", b->log,
		      (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", vshmd, strerror(errno));
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		struct vshm_err err;

		if (vshm_client_connect(b->sock, timeout_ms, vmm, &err) == 0)
			return 0;
		if (waitpid(b->pid, NULL, WNOHANG) == b->pid) {
			b->pid = 0;
			return -ECHILD;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/* SIGTERM vshmd: did it exit 0?  Then print its log and remove its directory. */
static inline bool demo_stop_vshmd(struct demo_broker *b)
{
	char line[512];
	int status = -1;
	FILE *f;

	if (b->pid > 0) {
		kill(b->pid, SIGTERM);
		waitpid(b->pid, &status, 0);
	}
	f = fopen(b->log, "r");
	if (f) {
		demo_step("vshmd's log");
		while (fgets(line, sizeof(line), f))
			printf("   | %s", line);
		fclose(f);
	}
	unlink(b->sock);
	unlink(b->log);
	rmdir(b->dir);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

#endif /* VSHM_DEMO_UTIL_H */
