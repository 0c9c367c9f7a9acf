// SPDX-License-Identifier: GPL-2.0
/*
 * The reference VMM's real KVM guest, with and without the module: runs
 * vshm-vmm (userspace/tools) with --mode kmod (vshmd --region-mode kmod,
 * vshm.ko maps) and with --mode forward (vshmd --region-mode vmm: the VMM maps
 * what vshmd approved, in its own reservation), for each hole policy.
 * Proves that every check of the walkthrough passes in both modes (the
 * guest reads a back-end's memfd, its stores reach it, MEM_READ/WRITE,
 * holes, an unmap, a remap under the same memslot, a dma-buf) and that the
 * guest read exactly the same bytes in both: the "guest reads" lines of
 * the two runs are compared.  With the module it also runs with
 * --restart-broker: vshmd is killed under the guest and a new one adopts
 * the devices, and every check still passes.  And with --populate
 * (VSHM_CTL_DEV_POPULATE on both devices): the guest's first read of a
 * back-end's mapping takes no fault in vshm.ko.
 *
 * Needs /dev/kvm (in the VM: kvm_amd, nested under TCG) and, for the kmod
 * mode, /dev/vshm; natively there is usually no /dev/kvm and it skips.
 * vshm-vmm is <test dir>/../../tools/vshm-vmm, vshmd as the other broker
 * tests find it ($VSHMD, else <test dir>/../../broker/vshmd).
 */
#include "kselftest_harness.h"
#include "broker_util.h"

#define OUT_MAX		(64 << 10)
#define RUN_SECONDS	300

/* A run of vshm-vmm: its exit status and the lines it printed. */
struct vmm_run {
	int status;		/* exit status, or -1 */
	char out[OUT_MAX];
	char reads[OUT_MAX];	/* its "guest reads" lines, in order */
	int nreads;
};

/* Run vshm-vmm --mode mode [--strict-holes] extra; collect its output. */
static void run_vmm(const char *path, const char *mode, bool strict,
		    const char *extra, struct vmm_run *r)
{
	size_t used = 0, rused = 0;
	char cmd[3 * PATH_MAX], vshmd[PATH_MAX];
	char *line, *save;
	FILE *f;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	vshmd_path(vshmd, sizeof(vshmd));
	snprintf(cmd, sizeof(cmd), "exec '%s' --vshmd '%s' --mode %s%s %s 2>&1", path,
		 vshmd, mode, strict ? " --strict-holes" : "", extra);
	f = popen(cmd, "r");
	if (!f)
		return;
	while (used < sizeof(r->out) - 1) {
		size_t n = fread(r->out + used, 1, sizeof(r->out) - 1 - used, f);

		if (!n)
			break;
		used += n;
	}
	r->out[used] = 0;
	r->status = pclose(f);
	if (r->status >= 0 && WIFEXITED(r->status))
		r->status = WEXITSTATUS(r->status);
	else
		r->status = -1;
	/* Split a copy: out stays whole for the log. */
	{
		char copy[OUT_MAX];

		memcpy(copy, r->out, used + 1);
		for (line = strtok_r(copy, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			if (!strstr(line, "guest reads "))
				continue;
			rused += snprintf(r->reads + rused, sizeof(r->reads) - rused,
					  "%s\n", line);
			r->nreads++;
			if (rused >= sizeof(r->reads))
				break;
		}
	}
}

/* Print a run's output to the log (kselftest comments). */
static void log_run(const char *mode, const struct vmm_run *r)
{
	char copy[OUT_MAX], *line, *save;

	memcpy(copy, r->out, sizeof(copy));
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		printf("# [%s] %s\n", mode, line);
	/* The harness ends a test with _exit(): nothing may stay buffered. */
	fflush(stdout);
}

FIXTURE(guest) {
	char path[PATH_MAX];
	struct vmm_run kmod, forward;
};

FIXTURE_VARIANT(guest) {
	bool strict;
};

FIXTURE_VARIANT_ADD(guest, safe_holes) {
	.strict = false,
};

FIXTURE_VARIANT_ADD(guest, strict_holes) {
	.strict = true,
};

FIXTURE_SETUP(guest)
{
	tools_path(self->path, sizeof(self->path), "vshm-vmm");
	ASSERT_EQ(0, access(self->path, X_OK))
		TH_LOG("%s: %s (build userspace first)", self->path, strerror(errno));
}

FIXTURE_TEARDOWN(guest)
{
}

/*
 * Whether the CPU offers hardware virtualization (the vmx or svm flag).
 * Without it a /dev/kvm can still exist, e.g. KVM's PVM flavour
 * (kvm_pvm, shadow paging with no VMX/SVM), but then guest accesses take
 * other paths (instruction emulation, different exits), and the
 * walkthrough's checks, written for KVM with nested paging, do not apply.
 */
static bool cpu_has_hw_virt(void)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5))
			found = strstr(line, " vmx") || strstr(line, " svm");
	fclose(f);
	return found;
}

/*
 * Proves: with the module and without it (forwarding mode), the reference
 * VMM passes every check of its walkthrough and its guest reads the same
 * bytes, for this variant's hole policy.
 */
TEST_F_TIMEOUT(guest, same_bytes_both_modes, 2 * RUN_SECONDS)
{
	bool have_kmod = access("/dev/vshm", R_OK | W_OK) == 0;

	if (access("/dev/kvm", R_OK | W_OK))
		SKIP(return, "no usable /dev/kvm here (%s): the VM run covers it (kvm_amd, nested under TCG)",
		     strerror(errno));
	if (!cpu_has_hw_virt())
		SKIP(return, "/dev/kvm here runs without hardware virtualization "
		     "(no vmx or svm CPU flag, e.g. kvm_pvm): the VM run covers it "
		     "(kvm_amd with nested paging)");
	run_vmm(self->path, "forward", variant->strict, "", &self->forward);
	log_run("forward", &self->forward);
	ASSERT_EQ(0, self->forward.status) TH_LOG("vshm-vmm --mode forward failed");
	EXPECT_LE(6, self->forward.nreads);
	EXPECT_NE(NULL, strstr(self->forward.out, "mode forward"));
	if (!have_kmod)
		SKIP(return, "forwarding mode passed; no /dev/vshm for the kmod mode (the VM run has it)");
	run_vmm(self->path, "kmod", variant->strict, "", &self->kmod);
	log_run("kmod", &self->kmod);
	ASSERT_EQ(0, self->kmod.status) TH_LOG("vshm-vmm --mode kmod failed");
	EXPECT_NE(NULL, strstr(self->kmod.out, "mode kmod"));
	EXPECT_EQ(self->kmod.nreads, self->forward.nreads);
	EXPECT_STREQ(self->kmod.reads, self->forward.reads)
		TH_LOG("the guest read different bytes with and without the module");
}

/*
 * Proves: vshmd killed with SIGKILL under a running KVM guest, and a new
 * one handed the devices with ADOPT_DEVICE: every check of the walkthrough
 * still passes (the guest reads the same bytes before, during and after;
 * the new broker serves MEM_READ and unmaps what the old one mapped), for
 * this variant's hole policy.
 */
TEST_F_TIMEOUT(guest, kmod_restart_broker, RUN_SECONDS)
{
	if (access("/dev/kvm", R_OK | W_OK))
		SKIP(return, "no usable /dev/kvm here (%s): the VM run covers it (kvm_amd, nested under TCG)",
		     strerror(errno));
	if (access("/dev/vshm", R_OK | W_OK))
		SKIP(return, "no /dev/vshm: only the module's regions outlive vshmd (the VM run has it)");
	run_vmm(self->path, "kmod", variant->strict, "--restart-broker", &self->kmod);
	log_run("kmod restart", &self->kmod);
	ASSERT_EQ(0, self->kmod.status) TH_LOG("vshm-vmm --mode kmod --restart-broker failed");
	EXPECT_NE(NULL, strstr(self->kmod.out, "the new vshmd took device A over"));
	EXPECT_NE(NULL, strstr(self->kmod.out, "the new vshmd took device B over"));
	EXPECT_NE(NULL, strstr(self->kmod.out, "PASSED"));
}

FIXTURE(populated) {
	char path[PATH_MAX];
	struct vmm_run run;
};

FIXTURE_SETUP(populated)
{
	tools_path(self->path, sizeof(self->path), "vshm-vmm");
	ASSERT_EQ(0, access(self->path, X_OK))
		TH_LOG("%s: %s (build userspace first)", self->path, strerror(errno));
}

FIXTURE_TEARDOWN(populated)
{
}

/*
 * Proves: devices added with VSHM_CTL_DEV_POPULATE (vshm-vmm --populate)
 * pass the whole walkthrough, and the guest's first read of what back-end
 * A mapped takes no fault in vshm.ko: vshmd's map populated the VMM's
 * view, which KVM then finds present.
 */
TEST_F_TIMEOUT(populated, kmod_guest_first_read_takes_no_fault, RUN_SECONDS)
{
	if (access("/dev/kvm", R_OK | W_OK))
		SKIP(return, "no usable /dev/kvm here (%s): the VM run covers it (kvm_amd, nested under TCG)",
		     strerror(errno));
	if (!cpu_has_hw_virt())
		SKIP(return, "/dev/kvm here runs without hardware virtualization: the VM run covers it");
	if (access("/dev/vshm", R_OK | W_OK))
		SKIP(return, "no /dev/vshm: populating the VMM's view is the module's (the VM run has it)");
	run_vmm(self->path, "kmod", false, "--populate", &self->run);
	log_run("kmod populate", &self->run);
	ASSERT_EQ(0, self->run.status) TH_LOG("vshm-vmm --mode kmod --populate failed");
	EXPECT_NE(NULL, strstr(self->run.out, "populated maps (VSHM_CTL_DEV_POPULATE): devices A and B"));
	EXPECT_NE(NULL, strstr(self->run.out, "[ok] the guest's first read took no fault in vshm.ko"))
		TH_LOG("the populate check did not pass");
	EXPECT_NE(NULL, strstr(self->run.out, "PASSED"));
}

TEST_HARNESS_MAIN
