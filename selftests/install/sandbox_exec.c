// SPDX-License-Identifier: GPL-2.0
/*
 * sandbox_exec: run a command under the system call filter that a systemd
 * unit's SystemCallFilter= and RestrictAddressFamilies=AF_UNIX would give
 * it, so that the install tests can run vshmd the way vshmd@.service does
 * on hosts where systemd is not PID 1.
 *
 *   sandbox_exec --allow FILE [--deny FILE] [--af-unix] -- CMD [ARGS...]
 *
 * FILE lists system call names, one per line (the expanded output of
 * `systemd-analyze syscall-filter @group`).  Calls in --allow and not in
 * --deny are allowed; any other call kills the process (SIGSYS), which is
 * stricter than the unit's SystemCallErrorNumber=EPERM.  --af-unix makes
 * socket() fail with EAFNOSUPPORT for any family but AF_UNIX.  Names this
 * libseccomp does not know are skipped, as systemd does.  Sets
 * no_new_privs (NoNewPrivileges=yes).
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_NAMES 2048

static int read_names(const char *path, char **names, int n)
{
	char line[128];
	FILE *f = fopen(path, "r");

	if (!f) {
		perror(path);
		exit(2);
	}
	while (fgets(line, sizeof(line), f) && n < MAX_NAMES) {
		line[strcspn(line, " \t\r\n")] = 0;
		if (line[0] && line[0] != '#')
			names[n++] = strdup(line);
	}
	fclose(f);
	return n;
}

static int listed(char **names, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	static char *allow[MAX_NAMES], *deny[MAX_NAMES];
	int nallow = 0, ndeny = 0, af_unix = 0, i, nr, ret;
	scmp_filter_ctx ctx;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--allow") && i + 1 < argc)
			nallow = read_names(argv[++i], allow, nallow);
		else if (!strcmp(argv[i], "--deny") && i + 1 < argc)
			ndeny = read_names(argv[++i], deny, ndeny);
		else if (!strcmp(argv[i], "--af-unix"))
			af_unix = 1;
		else if (!strcmp(argv[i], "--"))
			break;
		else
			break;
	}
	if (i >= argc - 1 || strcmp(argv[i], "--") || !nallow) {
		fprintf(stderr, "usage: %s --allow FILE [--deny FILE] [--af-unix] -- CMD [ARGS...]\n",
			argv[0]);
		return 2;
	}
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return 2;
	for (int k = 0; k < nallow; k++) {
		if (listed(deny, ndeny, allow[k]))
			continue;
		nr = seccomp_syscall_resolve_name(allow[k]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		if (af_unix && nr == SCMP_SYS(socket))
			continue;
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (ret && ret != -EEXIST) {
			fprintf(stderr, "seccomp_rule_add %s: %s\n", allow[k], strerror(-ret));
			return 2;
		}
	}
	if (af_unix && listed(allow, nallow, "socket") && !listed(deny, ndeny, "socket")) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
		if (!ret)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket),
					       1, SCMP_A0(SCMP_CMP_NE, AF_UNIX));
		if (ret) {
			fprintf(stderr, "seccomp_rule_add socket: %s\n", strerror(-ret));
			return 2;
		}
	}
	ret = seccomp_load(ctx);
	if (ret) {
		fprintf(stderr, "seccomp_load: %s\n", strerror(-ret));
		return 2;
	}
	seccomp_release(ctx);
	execvp(argv[i + 1], argv + i + 1);
	fprintf(stderr, "exec %s: %s\n", argv[i + 1], strerror(errno));
	return 127;
}
