// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU's vhost-user-vshm-pci with a real Linux guest: QEMU (from
 * $VSHM_QEMU) boots Debian's kernel ($VSHM_GUEST_KERNEL, default this
 * machine's /boot/vmlinuz-<release>) under TCG with the initramfs
 * selftests/qemu/make-initramfs built ($VSHM_GUEST_INITRD): busybox and
 * qemu_guest, which finds the device's shared memory BAR in sysfs, mmaps
 * its resourceN and reads and writes it on this program's word, over the
 * guest's second serial port (ttyS1, a socket chardev here).
 *
 * Two boots: vshmd in the kmod region mode (vshm.ko loaded:
 * scripts/check-qemu runs this in the VM), then in forwarding mode
 * (--region-mode vmm: QEMU places the maps itself); the back-end is a
 * separate process built on libvshm's back-end API (qemu_util.h).
 * Checks: the guest finds the region, reads the bytes a SHMEM_MAP
 * placed, its writes reach the memfd, vshmd knows where the guest's BIOS
 * put the BAR (MEM_READ), a hole and an unmapped range read as zeros and
 * QEMU survives, a read-only map refuses the guest's write (QEMU drops it:
 * the memfd keeps its bytes), a remap shows the new bytes, and the guest
 * powers off with QEMU exiting cleanly.  A nested boot under TCG takes a few minutes.
 *
 * Skips (exit 4) without $VSHM_QEMU, $VSHM_GUEST_INITRD or the kernel,
 * saying which; without /dev/vshm the kmod boot's checks skip.
 */
#include <sys/utsname.h>

#include "qemu_util.h"
#include "kselftest.h"

#define RAM_MIB		256
#define BOOT_TIMEOUT_S	600
#define GUEST_TIMEOUT_MS	60000
#define CHECKS_PER_MODE	12

struct run {
	struct qemu_stack st;
	const char *mode;
	char console[96];
	struct line_conn ctl;	/* the guest's ttyS1 */
	uint64_t region_addr;	/* guest-physical, from the guest's sysfs */
};

static pid_t start_qemu(struct run *r, const char *qemu, const char *kernel, const char *initrd)
{
	char ram[80], chr[160], ctl[160], con[128], dev[256];
	const char *argv[] = {
		qemu, "-L", "/usr/share/qemu", "-L", "/usr/share/seabios",
		"-machine", "pc,accel=tcg,memory-backend=ram", "-m", "256M", "-object", ram,
		"-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 rdinit=/init quiet",
		"-display", "none", "-nodefaults", "-no-reboot", "-monitor", "none",
		"-serial", con, "-chardev", ctl, "-serial", "chardev:ctl",
		"-chardev", chr, "-device", dev,
		"-D", r->st.log, "-d", "guest_errors", NULL,
	};

	snprintf(ram, sizeof(ram), "memory-backend-memfd,id=ram,size=%dM,share=on", RAM_MIB);
	snprintf(con, sizeof(con), "file:%s", r->console);
	snprintf(ctl, sizeof(ctl), "socket,id=ctl,path=%s", r->st.test_sock);
	snprintf(chr, sizeof(chr), "socket,id=vu,path=%s", r->st.be_sock);
	qemu_device_arg(dev, sizeof(dev), &r->st);
	return qemu_spawn(qemu, argv, r->st.log);
}

static const char *guest_cmd(struct run *r, const char *fmt, ...)
{
	va_list ap;
	bool sent;

	va_start(ap, fmt);
	sent = line_vsend(&r->ctl, fmt, ap);
	va_end(ap);
	return sent ? line_next(&r->ctl, GUEST_TIMEOUT_MS) : NULL;
}

/* The guest's 64-bit load at region offset off, as 8 bytes. */
static bool guest_read8(struct run *r, uint64_t off, char out[9])
{
	const char *l = guest_cmd(r, "r %" PRIx64, off);
	unsigned int x;
	int i;

	if (!l || strncmp(l, "ok ", 3) || strlen(l) != 3 + 16)
		return false;
	for (i = 0; i < 8; i++) {
		if (sscanf(l + 3 + 2 * i, "%2x", &x) != 1)
			return false;
		out[i] = (char)x;
	}
	out[8] = 0;
	return true;
}

static bool guest_write8(struct run *r, uint64_t off, const char *s)
{
	const char *l = guest_cmd(r, "w %" PRIx64 " %02x%02x%02x%02x%02x%02x%02x%02x", off,
				  (uint8_t)s[0], (uint8_t)s[1], (uint8_t)s[2], (uint8_t)s[3],
				  (uint8_t)s[4], (uint8_t)s[5], (uint8_t)s[6], (uint8_t)s[7]);

	return l && !strcmp(l, "ok");
}

static bool guest_reads(struct run *r, uint64_t off, const char *want)
{
	char got[9];
	bool same;
	int i;

	if (!guest_read8(r, off, got))
		return false;
	same = !memcmp(got, want, 8);
	for (i = 0; i < 8; i++)
		if (got[i] < 0x20 || got[i] > 0x7e)
			got[i] = '.';
	ksft_print_msg("guest reads region offset 0x%" PRIx64 ": \"%s\"\n", off, got);
	return same;
}

/* Boot: the guest's first line is "ready ..." once it mapped the BAR. */
static bool guest_ready(struct run *r)
{
	unsigned long long off = 0, len = 0, addr = 0;
	unsigned int bar;
	const char *l = line_next(&r->ctl, BOOT_TIMEOUT_S * 1000);

	if (!l)
		return false;
	ksft_print_msg("guest: %s\n", l);
	if (sscanf(l, "ready bar=%u offset=%llx length=%llx addr=%llx", &bar, &off, &len, &addr) != 4)
		return false;
	r->region_addr = addr + off;
	return bar == 4 && len == REGION_SIZE && addr;
}

static void checks(struct run *r)
{
	static const char zeros[8];
	struct script_msg m;
	int s = r->st.script;
	uint64_t off;

	ksft_test_result(guest_ready(r),
			 "%s: the guest booted and mmapped the shared memory BAR found in sysfs (BAR 4, region size)\n",
			 r->mode);

	ksft_test_result(script(s, OP_MAP, 0, MAP_OFF, &m) == 0,
			 "%s: back-end: SHMEM_MAP of a memfd (read-write) acknowledged\n", r->mode);
	ksft_test_result(guest_reads(r, MAP_OFF, "rw-bytes"),
			 "%s: the guest reads the memfd's bytes through the BAR\n", r->mode);
	ksft_test_result(guest_write8(r, MAP_OFF + 8, "guest-wr") && peek_is(s, 0, 8, "guest-wr"),
			 "%s: the guest's write through the BAR reaches the memfd\n", r->mode);
	ksft_test_result(script(s, OP_MEM_READ, 0, r->region_addr + MAP_OFF + 8, &m) == 0 &&
			 !memcmp(m.data, "guest-wr", 8),
			 "%s: MEM_READ at the BAR's address the guest's BIOS chose: vshmd got SET_REGION_ADDR\n",
			 r->mode);

	off = 0;
	ksft_test_result(guest_reads(r, off, zeros) && guest_write8(r, off, "to-hole!") &&
			 guest_reads(r, off, zeros) && qemu_alive(r->st.qemu),
			 "%s: a hole reads as zeros, the guest's write there is dropped, QEMU survives\n",
			 r->mode);

	ksft_test_result(script(s, OP_UNMAP, 0, MAP_OFF, &m) == 0,
			 "%s: back-end: SHMEM_UNMAP acknowledged\n", r->mode);
	ksft_test_result(guest_reads(r, MAP_OFF, zeros) && guest_reads(r, MAP_OFF + 8, zeros) &&
			 qemu_alive(r->st.qemu),
			 "%s: after the unmap the guest reads zeros (safe holes) and QEMU survives\n",
			 r->mode);

	ksft_test_result(script(s, OP_MAP, 1, RO_OFF, &m) == 0 && guest_reads(r, RO_OFF, "ro-bytes"),
			 "%s: a read-only map: the guest reads its bytes\n", r->mode);
	ksft_test_result(guest_write8(r, RO_OFF, "smashed!") && qemu_alive(r->st.qemu) &&
			 peek_is(s, 1, 0, "ro-bytes") && guest_reads(r, RO_OFF, "ro-bytes"),
			 "%s: a read-only map refuses the guest's write (dropped, the memfd unchanged); QEMU survives\n",
			 r->mode);

	ksft_test_result(script(s, OP_MAP, 2, MAP_OFF, &m) == 0 && guest_reads(r, MAP_OFF, "remapped"),
			 "%s: a remap at the unmapped offset shows the new bytes\n", r->mode);
}

/*
 * The guest quits, /init says so on the console and powers off, QEMU
 * (-no-reboot) exits with 0.  A guest panic would also end QEMU with 0,
 * hence the console line.
 */
static bool guest_powers_off(struct run *r)
{
	int status;

	if (send(r->ctl.fd, "q\n", 2, MSG_NOSIGNAL) != 2)
		return false;
	status = wait_for(r->st.qemu, GUEST_TIMEOUT_MS);
	r->st.qemu = 0;
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	       file_has(r->console, "qemu_guest: exit status 0");
}

static bool kernel_path(char *buf, size_t len)
{
	const char *k = getenv("VSHM_GUEST_KERNEL");
	struct utsname u;

	if (k)
		snprintf(buf, len, "%s", k);
	else if (uname(&u) == 0)
		snprintf(buf, len, "/boot/vmlinuz-%s", u.release);
	else
		return false;
	return access(buf, R_OK) == 0;
}

/* One boot: vshmd with --region-mode mode, the back-end, QEMU and its guest. */
static void run_mode(const char *qemu, const char *kernel, const char *initrd, const char *mode)
{
	struct run r = { .ctl.fd = -1, .mode = mode };
	const char *what;
	int ret, i;

	ret = qemu_stack_start(&r.st, mode, "ttyS1.sock", &what);
	snprintf(r.console, sizeof(r.console), "%s/console.log", r.st.b.dir);
	if (ret) {
		ksft_print_msg("%s: %s\n", what, strerror(-ret));
		goto fail_all;
	}
	ksft_print_msg("vshmd --region-mode %s: booting %s with %s under TCG (a few minutes)\n",
		       mode, kernel, initrd);
	r.st.qemu = start_qemu(&r, qemu, kernel, initrd);
	r.ctl.fd = accept_within(&r.st.test_listen, 60000);
	if (r.ctl.fd < 0) {
		show_log(r.st.log);
		ksft_print_msg("QEMU did not come up (log above)\n");
		goto fail_all;
	}
	checks(&r);
	ksft_test_result(guest_powers_off(&r),
			 "%s: the guest program exits 0, the guest powers off and QEMU exits with status 0\n",
			 mode);
	if (ksft_get_fail_cnt()) {
		show_log(r.st.log);
		ksft_print_msg("the guest's console:\n");
		show_log(r.console);
	}
	close(r.ctl.fd);
	goto out;

fail_all:
	for (i = 0; i < CHECKS_PER_MODE; i++)
		ksft_test_result_fail("%s: not run, the setup failed\n", mode);
out:
	qemu_stack_stop(&r.st, 10000);
	unlink(r.console);
}

int main(void)
{
	const char *qemu = getenv("VSHM_QEMU"), *initrd = getenv("VSHM_GUEST_INITRD");
	char kernel[PATH_MAX];
	int i;

	ksft_print_header();
	if (!qemu || access(qemu, X_OK))
		ksft_exit_skip("set VSHM_QEMU to a qemu-system-x86_64 built by scripts/qemu-build\n");
	if (!initrd || access(initrd, R_OK))
		ksft_exit_skip("set VSHM_GUEST_INITRD to the initramfs of selftests/qemu/make-initramfs\n");
	if (!kernel_path(kernel, sizeof(kernel)))
		ksft_exit_skip("no guest kernel %s (set VSHM_GUEST_KERNEL)\n", kernel);
	ksft_set_plan(2 * CHECKS_PER_MODE);
	if (access("/dev/vshm", F_OK)) {
		for (i = 0; i < CHECKS_PER_MODE; i++)
			ksft_test_result_skip("kmod: no /dev/vshm (scripts/check-qemu loads vshm.ko in the VM)\n");
	} else {
		run_mode(qemu, kernel, initrd, "kmod");
	}
	run_mode(qemu, kernel, initrd, "vmm");
	ksft_finished();
}
