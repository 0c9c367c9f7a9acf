// SPDX-License-Identifier: GPL-2.0
/*
 * QEMU's vhost-user-vshm-pci, without a guest CPU: QEMU runs with the qtest
 * accelerator and this program plays the guest over the qtest protocol
 * (PCI config cycles on ports 0xcf8/0xcfc, memory reads and writes).
 *
 * It starts vshmd, a separate vhost-user back-end process built on
 * libvshm's back-end API (qemu_util.h), and QEMU from $VSHM_QEMU with the
 * device, twice: vshmd in the kmod region mode (vshm.ko serves the region
 * fd QEMU maps once), then with --region-mode vmm (forwarding mode: QEMU
 * places each map vshmd approved in its own reservation).  The back-end
 * maps memfds into the region with SHMEM_MAP; the "guest" programs the
 * BAR and reads and writes them through it.  Checks: the bytes are there, a write reaches
 * the memfd, vshmd knows the BAR's and the RAM's guest addresses
 * (MEM_READ), a hole and an unmapped range read as zeros and QEMU
 * survives, a read-only map keeps the memfd unchanged, a remap shows the
 * new bytes.
 *
 * Skips (exit 4) without $VSHM_QEMU or /dev/vshm, saying which.
 */
#include "qemu_util.h"
#include "kselftest.h"

#define BAR_GPA		0xc0000000ull
#define RAM_MIB		128
#define RAM_PROBE_GPA	0x200000ull
#define CHECKS_PER_MODE	13

/* Send one command and return its "OK ..." reply line (NULL if none). */
static const char *qt_cmd(struct line_conn *q, const char *fmt, ...)
{
	const char *line;
	va_list ap;
	bool sent;

	va_start(ap, fmt);
	sent = line_vsend(q, fmt, ap);
	va_end(ap);
	if (!sent)
		return NULL;
	do
		line = line_next(q, TIMEOUT_MS);
	while (line && !strncmp(line, "IRQ", 3));
	return line && !strncmp(line, "OK", 2) ? line : NULL;
}

static bool qt_value(struct line_conn *q, uint64_t *v, const char *fmt, ...)
{
	char cmd[256];
	const char *r;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = qt_cmd(q, "%s", cmd);
	return r && sscanf(r, "OK 0x%" SCNx64, v) == 1;
}

static uint32_t cfg_addr(int dev, int reg)
{
	return 0x80000000u | (uint32_t)dev << 11 | (uint32_t)reg;
}

static bool cfg_read32(struct line_conn *q, int dev, int reg, uint32_t *v)
{
	uint64_t x;

	if (!qt_cmd(q, "outl 0xcf8 0x%x", cfg_addr(dev, reg)) || !qt_value(q, &x, "inl 0xcfc"))
		return false;
	*v = x;
	return true;
}

static bool cfg_write32(struct line_conn *q, int dev, int reg, uint32_t v)
{
	return qt_cmd(q, "outl 0xcf8 0x%x", cfg_addr(dev, reg)) &&
	       qt_cmd(q, "outl 0xcfc 0x%x", v);
}

/* 8 bytes of guest memory as a string (little-endian readq). */
static bool guest_read8(struct line_conn *q, uint64_t gpa, char out[9])
{
	uint64_t v;

	if (!qt_value(q, &v, "readq 0x%" PRIx64, gpa))
		return false;
	memcpy(out, &v, 8);
	out[8] = 0;
	return true;
}

static bool guest_write8(struct line_conn *q, uint64_t gpa, const char *s)
{
	uint64_t v;

	memcpy(&v, s, 8);
	return qt_cmd(q, "writeq 0x%" PRIx64 " 0x%" PRIx64, gpa, v) != NULL;
}

static bool guest_reads(struct line_conn *q, uint64_t gpa, const char *want)
{
	char got[9];

	if (!guest_read8(q, gpa, got))
		return false;
	ksft_print_msg("guest reads 0x%" PRIx64 ": \"%s\"\n", gpa, got);
	return !memcmp(got, want, 8);
}

struct run {
	struct qemu_stack st;
	const char *mode;
	struct line_conn q;
};

static pid_t start_qemu(struct run *r, const char *qemu)
{
	char ram[64], chr[160], dev[256], qtarg[128];
	const char *argv[] = {
		qemu, "-L", "/usr/share/qemu", "-L", "/usr/share/seabios", "-machine", "pc,accel=qtest,memory-backend=ram",
		"-m", "128M",
		"-object", ram, "-qtest", qtarg, "-display", "none", "-nodefaults",
		"-serial", "none", "-monitor", "none", "-chardev", chr, "-device", dev,
		"-D", r->st.log, "-d", "guest_errors", NULL,
	};

	snprintf(ram, sizeof(ram), "memory-backend-memfd,id=ram,size=%dM,share=on", RAM_MIB);
	snprintf(qtarg, sizeof(qtarg), "unix:%s", r->st.test_sock);
	snprintf(chr, sizeof(chr), "socket,id=vu,path=%s", r->st.be_sock);
	qemu_device_arg(dev, sizeof(dev), &r->st);
	return qemu_spawn(qemu, argv, r->st.log);
}

/* Find the device on bus 0 and put its BAR 4 at BAR_GPA; the slot or -1. */
static int program_bar(struct line_conn *q)
{
	uint32_t id, cmd;
	int dev;

	for (dev = 0; dev < 32; dev++) {
		if (!cfg_read32(q, dev, 0, &id))
			return -1;
		if (id == (0x1af4u | (0x1040u + VIRTIO_ID) << 16))
			break;
	}
	if (dev == 32)
		return -1;
	if (!cfg_write32(q, dev, 0x20, (uint32_t)BAR_GPA) ||
	    !cfg_write32(q, dev, 0x24, (uint32_t)(BAR_GPA >> 32)) ||
	    !cfg_read32(q, dev, 0x04, &cmd) || !cfg_write32(q, dev, 0x04, cmd | 0x2))
		return -1;
	return dev;
}

static void checks(struct run *r)
{
	struct script_msg m;
	char got[9];
	int s = r->st.script;

	ksft_test_result(program_bar(&r->q) >= 0,
			 "%s: the device is on PCI bus 0; BAR 4 programmed at 0x%llx\n", r->mode, BAR_GPA);

	ksft_test_result(script(s, OP_MAP, 0, MAP_OFF, &m) == 0,
			 "%s: back-end: SHMEM_MAP of a memfd (read-write) acknowledged\n", r->mode);
	ksft_test_result(guest_reads(&r->q, BAR_GPA + MAP_OFF, "rw-bytes"),
			 "%s: the guest reads the memfd's bytes through the BAR\n", r->mode);
	ksft_test_result(guest_write8(&r->q, BAR_GPA + MAP_OFF + 8, "guest-wr") &&
			 peek_is(s, 0, 8, "guest-wr"),
			 "%s: the guest's write through the BAR reaches the memfd\n", r->mode);
	ksft_test_result(script(s, OP_MEM_READ, 0, BAR_GPA + MAP_OFF + 8, &m) == 0 &&
			 !memcmp(m.data, "guest-wr", 8),
			 "%s: MEM_READ at the BAR's guest address: vshmd got SET_REGION_ADDR\n",
			 r->mode);
	ksft_test_result(guest_write8(&r->q, RAM_PROBE_GPA, "ram-word") &&
			 script(s, OP_MEM_READ, 0, RAM_PROBE_GPA, &m) == 0 &&
			 !memcmp(m.data, "ram-word", 8),
			 "%s: MEM_READ of guest RAM: vshmd got the RAM table\n", r->mode);

	ksft_test_result(guest_read8(&r->q, BAR_GPA, got) && !memcmp(got, "\0\0\0\0\0\0\0\0", 8) &&
			 guest_write8(&r->q, BAR_GPA, "to-hole!") && qemu_alive(r->st.qemu),
			 "%s: a hole reads as zeros, a write there is dropped, QEMU survives\n",
			 r->mode);

	ksft_test_result(script(s, OP_UNMAP, 0, MAP_OFF, &m) == 0,
			 "%s: back-end: SHMEM_UNMAP acknowledged\n", r->mode);
	ksft_test_result(guest_read8(&r->q, BAR_GPA + MAP_OFF, got) &&
			 !memcmp(got, "\0\0\0\0\0\0\0\0", 8) && qemu_alive(r->st.qemu),
			 "%s: after the unmap the guest reads zeros and QEMU survives\n", r->mode);

	ksft_test_result(script(s, OP_MAP, 1, RO_OFF, &m) == 0 &&
			 guest_reads(&r->q, BAR_GPA + RO_OFF, "ro-bytes"),
			 "%s: a read-only map: the guest reads its bytes\n", r->mode);
	ksft_test_result(guest_write8(&r->q, BAR_GPA + RO_OFF, "smashed!") && qemu_alive(r->st.qemu) &&
			 peek_is(s, 1, 0, "ro-bytes") &&
			 guest_reads(&r->q, BAR_GPA + RO_OFF, "ro-bytes"),
			 "%s: a read-only map refuses the guest's write; QEMU survives\n", r->mode);

	ksft_test_result(script(s, OP_MAP, 2, MAP_OFF, &m) == 0 &&
			 guest_reads(&r->q, BAR_GPA + MAP_OFF, "remapped"),
			 "%s: a remap at the unmapped offset shows the new bytes\n", r->mode);
	ksft_test_result(qemu_alive(r->st.qemu) && qt_cmd(&r->q, "readq 0x%llx", BAR_GPA),
			 "%s: QEMU is still running and answering\n", r->mode);
}

/* One mode: vshmd with --region-mode mode, the back-end, QEMU; the checks. */
static void run_mode(const char *qemu, const char *mode)
{
	struct run r = { .q.fd = -1, .mode = mode };
	const char *what;
	int i, ret;

	ksft_print_msg("vshmd --region-mode %s\n", mode);
	ret = qemu_stack_start(&r.st, mode, "qtest.sock", &what);
	if (ret) {
		ksft_print_msg("%s: %s\n", what, strerror(-ret));
		goto skip_all;
	}
	r.st.qemu = start_qemu(&r, qemu);
	r.q.fd = accept_within(&r.st.test_listen, 60000);
	if (r.q.fd < 0) {
		show_log(r.st.log);
		ksft_print_msg("QEMU did not come up with vhost-user-vshm-pci (log above)\n");
		goto skip_all;
	}
	ksft_print_msg("QEMU %s is up with vhost-user-vshm-pci (qtest accelerator)\n", qemu);
	checks(&r);
	if (ksft_get_fail_cnt())
		show_log(r.st.log);
	close(r.q.fd);		/* qtest: QEMU exits when its socket closes */
	qemu_stack_stop(&r.st, 10000);
	return;

skip_all:
	for (i = 0; i < CHECKS_PER_MODE; i++)
		ksft_test_result_fail("%s: not run, the setup failed\n", mode);
	qemu_stack_stop(&r.st, 1000);
}

int main(void)
{
	const char *qemu = getenv("VSHM_QEMU");

	ksft_print_header();
	if (!qemu || access(qemu, X_OK))
		ksft_exit_skip("set VSHM_QEMU to a qemu-system-x86_64 built by scripts/qemu-build\n");
	if (access("/dev/vshm", F_OK))
		ksft_exit_skip("no /dev/vshm: load vshm.ko (scripts/check-qemu runs this in the VM)\n");
	ksft_set_plan(2 * CHECKS_PER_MODE);
	run_mode(qemu, "kmod");
	run_mode(qemu, "vmm");
	ksft_finished();
}
