// SPDX-License-Identifier: GPL-2.0
/*
 * vshmd as a process: SIGTERM drains and exits 0 (socket removed), SIGHUP
 * reopens the log, bad command lines exit 2 naming the wrong argument,
 * --vm NAME serves the socket vshmctl --vm NAME reads, the region mode choice (kmod,
 * mmap, auto with --wait-device) is made and logged as documented, and
 * the device and client limits hold.
 */
#include "kselftest_harness.h"
#include "broker_util.h"

/* Run vshmd to its exit; its stderr into err (when not NULL). */
static int run_vshmd_err(const char *const *args, int timeout_s, char *err,
			 size_t errlen)
{
	char vshmd[PATH_MAX];
	const char *argv[16];
	int i, ret, out;
	ssize_t n;
	pid_t pid;

	vshmd_path(vshmd, sizeof(vshmd));
	argv[0] = vshmd;
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	out = memfd_create("vshmd-stderr", MFD_CLOEXEC);
	if (out < 0)
		return -3;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(err ? out : null, 2);
		execv(vshmd, (char *const *)argv);
		_exit(127);
	}
	ret = wait_exit(pid, timeout_s);
	if (err) {
		n = pread(out, err, errlen - 1, 0);
		err[n > 0 ? n : 0] = '\0';
	}
	close(out);
	return ret;
}

static int run_vshmd(const char *const *args, int timeout_s)
{
	return run_vshmd_err(args, timeout_s, NULL, 0);
}

/* Proves: SIGTERM with clients and devices connected exits 0 and removes the socket. */
TEST(sigterm_drains_and_exits_0)
{
	struct broker b;
	struct tdev t;
	char sock[sizeof(b.sock)];

	ASSERT_EQ(0, broker_start(&b, NULL));
	ASSERT_EQ(0, tdev_add(&b, &t, 1 << 20, 0));
	snprintf(sock, sizeof(sock), "%s", b.sock);
	kill(b.pid, SIGTERM);
	EXPECT_TRUE(closed_by_broker(&t));
	EXPECT_EQ(0, broker_stop(&b));
	EXPECT_NE(0, access(sock, F_OK));
	tdev_close(&t);
}

/* Proves: SIGHUP makes vshmd reopen its log file (rotation). */
TEST(sighup_reopens_log)
{
	struct broker b;
	char rotated[128];
	int i;

	ASSERT_EQ(0, broker_start(&b, NULL));
	snprintf(rotated, sizeof(rotated), "%s.1", b.log);
	ASSERT_EQ(0, rename(b.log, rotated));
	kill(b.pid, SIGHUP);
	for (i = 0; i < 200 && !broker_log_has(&b, "log reopened"); i++)
		usleep(10000);
	EXPECT_TRUE(broker_log_has(&b, "log reopened"));
	EXPECT_TRUE(broker_alive(&b));
	EXPECT_EQ(0, broker_stop(&b));
	unlink(rotated);
}

/* Proves: bad command lines exit 2 without starting. */
TEST(bad_command_lines)
{
	const char *no_socket[] = { "--region-mode", "mmap", NULL };
	const char *bad_region_mode[] = { "--control-socket", "/tmp/x.sock", "--region-mode", "gpu", NULL };
	const char *bad_number[] = { "--control-socket", "/tmp/x.sock", "--max-devices", "0", NULL };
	const char *bad_level[] = { "--control-socket", "/tmp/x.sock", "--log-level", "loud", NULL };
	const char *unknown[] = { "--control-socket", "/tmp/x.sock", "--frobnicate", NULL };
	const char *extra_arg[] = { "--control-socket", "/tmp/x.sock", "extra", NULL };

	EXPECT_EQ(2, run_vshmd(no_socket, 5));
	EXPECT_EQ(2, run_vshmd(bad_region_mode, 5));
	EXPECT_EQ(2, run_vshmd(bad_number, 5));
	EXPECT_EQ(2, run_vshmd(bad_level, 5));
	EXPECT_EQ(2, run_vshmd(unknown, 5));
	EXPECT_EQ(2, run_vshmd(extra_arg, 5));
}

/* Proves: a usage error exits 2 and its message names the wrong argument. */
TEST(usage_errors_name_the_argument)
{
	static const struct {
		const char *args[6];
		const char *says;
	} cases[] = {
		{ { "--vm", "", NULL }, "'' for --vm" },
		{ { "--vm", "a/b", NULL }, "'a/b' for --vm" },
		{ { "--vm", "..", NULL }, "'..' for --vm" },
		{ { "--vm", "vm1", "--control-socket", "/tmp/x.sock", NULL },
		  "--vm 'vm1' and --control-socket '/tmp/x.sock'" },
		{ { "--control-socket", "/tmp/x.sock", "--max-clients", "many", NULL },
		  "'many' for --max-clients" },
		{ { "--vm", "vm1", "--listen-fd", "-1", NULL }, "'-1' for --listen-fd" },
		{ { "--vm", "vm1", "--frobnicate", NULL }, "'--frobnicate'" },
		{ { "--vm", "vm1", "extra", NULL }, "'extra'" },
		{ { "--region-mode", "mmap", NULL }, "--vm NAME, --control-socket PATH or --listen-fd N" },
	};
	char err[4096];
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EXPECT_EQ(2, run_vshmd_err(cases[i].args, 5, err, sizeof(err)));
		EXPECT_NE(NULL, strstr(err, cases[i].says))
			TH_LOG("case %u: stderr \"%s\" does not say \"%s\"", i,
			       err, cases[i].says);
	}
}

/*
 * Proves: --vm NAME serves RUN_DIR/NAME/control.sock, the socket vshmctl
 * --vm NAME reads (RUN_DIR is $VSHM_RUN_DIR here, /run/vshm by default),
 * and removes it on SIGTERM.
 */
TEST(vm_option_names_the_instance_socket)
{
	char dir[] = "/tmp/vshmd-run.XXXXXX", sock[160], log[64], vmdir[64];
	char vshmd[PATH_MAX], vshmctl[PATH_MAX], out[PATH_MAX + 64] = "";
	struct vshm_client *c = NULL;
	FILE *p;
	pid_t pid;
	int i, ret = -1;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(vmdir, sizeof(vmdir), "%s/test-vm", dir);
	snprintf(sock, sizeof(sock), "%s/control.sock", vmdir);
	snprintf(log, sizeof(log), "%s/vshmd.log", dir);
	ASSERT_EQ(0, setenv("VSHM_RUN_DIR", dir, 1));
	vshmd_path(vshmd, sizeof(vshmd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		execl(vshmd, vshmd, "--vm", "test-vm", "--region-mode", "mmap",
		      "--log-file", log, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500 && ret; i++) {
		ret = vshm_client_connect(sock, 1000, &c, NULL);
		if (ret)
			usleep(10000);
	}
	ASSERT_EQ(0, ret) TH_LOG("no broker at %s", sock);
	EXPECT_EQ(VSHM_CTL_REGIONS_BROKER, vshm_client_region_mode(c));
	vshm_client_close(c);

	tools_path(vshmctl, sizeof(vshmctl), "vshmctl");
	snprintf(out, sizeof(out), "%s --vm test-vm version 2>&1", vshmctl);
	p = popen(out, "r");
	ASSERT_NE(NULL, p);
	out[0] = '\0';
	while (fgets(out + strlen(out), sizeof(out) - strlen(out), p))
		;
	EXPECT_EQ(0, pclose(p));
	EXPECT_NE(NULL, strstr(out, "\nvshmd ")) TH_LOG("vshmctl said: %s", out);

	kill(pid, SIGTERM);
	EXPECT_EQ(0, wait_exit(pid, 5));
	EXPECT_NE(0, access(sock, F_OK));
	unsetenv("VSHM_RUN_DIR");
	unlink(log);
	unlink(sock);
	rmdir(vmdir);
	EXPECT_EQ(0, rmdir(dir));
}

/* Proves: --backend, the deprecated name of --region-mode, still selects the region mode. */
TEST(deprecated_backend_option)
{
	const char *old_name[] = { "--backend", "mmap", NULL };	/* deprecated */
	const char *bad_value[] = { "--control-socket", "/tmp/x.sock",
				    "--backend", "gpu", NULL };	/* deprecated */
	struct broker b;

	EXPECT_EQ(2, run_vshmd(bad_value, 5));
	/* Given after --region-mode vmm, the old name wins: the regions are vshmd's own. */
	ASSERT_EQ(0, broker_startv(&b, "vmm", old_name));
	EXPECT_EQ(VSHM_CTL_REGIONS_BROKER, vshm_client_region_mode(b.c));
	EXPECT_EQ(0, broker_stop(&b));
}

/* Proves: a control socket path held by a regular file is refused (exit 1), the file kept. */
TEST(socket_path_not_clobbered)
{
	char path[] = "/tmp/vshmd-notasock.XXXXXX";
	const char *args[] = { "--control-socket", path, "--region-mode", "mmap", NULL };
	int fd = mkstemp(path);

	ASSERT_GE(fd, 0);
	close(fd);
	EXPECT_EQ(1, run_vshmd(args, 5));
	EXPECT_EQ(0, access(path, F_OK));
	unlink(path);
}

/* Proves: --region-mode kmod needs /dev/vshm (exit 1 without; kmod granted with). */
TEST(region_mode_kmod)
{
	struct broker b;

	if (access("/dev/vshm", F_OK)) {
		const char *args[] = { "--control-socket", "/tmp/vshmd-kmod.sock",
				       "--region-mode", "kmod", NULL };

		EXPECT_EQ(1, run_vshmd(args, 5));
		return;
	}
	ASSERT_EQ(0, broker_start(&b, "kmod"));
	EXPECT_TRUE(b.kmod);
	EXPECT_EQ(0, broker_stop(&b));
}

/* Proves: auto waits up to --wait-device, then says in the log that it uses mmap (or picks kmod). */
TEST(region_mode_auto_wait)
{
	const char *extra[] = { "--wait-device", "1", NULL };
	struct timespec t0, t1;
	struct broker b;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, broker_startv(&b, "auto", extra));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (access("/dev/vshm", F_OK)) {
		EXPECT_FALSE(b.kmod);
		EXPECT_GE(t1.tv_sec - t0.tv_sec, 1 - (t1.tv_nsec < t0.tv_nsec));
		EXPECT_TRUE(broker_log_has(&b, "waiting up to 1 s"));
		EXPECT_TRUE(broker_log_has(&b, "using the mmap region mode"));
	} else {
		EXPECT_TRUE(b.kmod);
		EXPECT_TRUE(broker_log_has(&b, "region mode kmod"));
	}
	EXPECT_EQ(0, broker_stop(&b));
}

/* Proves: --max-devices and --max-clients hold. */
TEST(device_and_client_limits)
{
	const char *extra[] = { "--max-devices", "2", "--max-clients", "2", NULL };
	struct vshm_client *c2, *c3;
	struct tdev t[3];
	struct broker b;

	ASSERT_EQ(0, broker_startv(&b, NULL, extra));
	ASSERT_EQ(0, tdev_add(&b, &t[0], PG, UINT64_MAX));
	ASSERT_EQ(0, tdev_add(&b, &t[1], PG, UINT64_MAX));
	EXPECT_EQ(-ENOSPC, tdev_add(&b, &t[2], PG, UINT64_MAX));
	ASSERT_EQ(0, vshm_client_connect(b.sock, T_TIMEOUT_MS, &c2, NULL));
	EXPECT_NE(0, vshm_client_connect(b.sock, 1000, &c3, NULL));
	vshm_client_close(c2);
	tdev_close(&t[0]);
	tdev_close(&t[1]);
	EXPECT_TRUE(broker_alive(&b));
	EXPECT_EQ(0, broker_stop(&b));
}

TEST_HARNESS_MAIN
