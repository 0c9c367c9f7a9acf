// SPDX-License-Identifier: GPL-2.0
/*
 * vshmd as a process: SIGTERM drains and exits 0 (socket removed), SIGHUP
 * reopens the log, bad command lines exit 2, the region mode choice (kmod,
 * mmap, auto with --wait-device) is made and logged as documented, and
 * the device and client limits hold.
 */
#include "kselftest_harness.h"
#include "broker_util.h"

static int run_vshmd(const char *const *args, int timeout_s)
{
	char vshmd[PATH_MAX];
	const char *argv[16];
	pid_t pid;
	int i;

	vshmd_path(vshmd, sizeof(vshmd));
	argv[0] = vshmd;
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execv(vshmd, (char *const *)argv);
		_exit(127);
	}
	return wait_exit(pid, timeout_s);
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
