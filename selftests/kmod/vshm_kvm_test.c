// SPDX-License-Identifier: GPL-2.0
/*
 * A KVM guest is the region's first user: a VM whose memory slot is a
 * region's mmap, driven through userspace/common/kvm_guest (a tiny guest
 * that reads and writes guest-physical addresses on command).
 *
 * Proves that the guest sees the sources' bytes and writes into them, that
 * back-end pwrite()s reach the guest, that a guest write needs no
 * instruction emulation after a guest read or an mprotect RO->RW cycle
 * (KVM finds writable host PTEs), that unmaps, holes and UNMAP_ALL fail
 * KVM_RUN cleanly without killing the vCPU (strict hole policy), that
 * remaps and replaces reach the guest (MMU notifier), that a read-only
 * mapping turns guest writes into MMIO exits, and that under the safe hole
 * policy the guest reads zeros from holes and unmapped ranges, its writes
 * there are dropped, and it runs on; that the guest's range commands,
 * which the guest benchmarks use, cover exactly their range; and that a
 * region backed by hugetlbfs gets 2 MiB stage-2 mappings where the host
 * kernel maps PMDs (6.12 on), with KVM's refusal of huge pages' tail pages
 * before 6.13 asserted as documented.
 *
 * Runs in the VM with vshm.ko and kvm_amd (or kvm_intel) loaded; skips with
 * the kernel log's reason if no KVM module loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "kvm_guest.h"
#include "vshm_test.h"

#define P		VT_PAGE
#define NPAGES		8
#define SRC_PAGES	4
#define REGION_SLOT	1
#define REGION_GPA	0x10000000UL
#define RO_SLOT		2
#define RO_GPA		0x20000000UL
#define SAFE_SLOT	3
#define SAFE_GPA	0x30000000UL
#define SEED_A		11
#define SEED_B		12
#define SEED_C		13

/* The kernel's last lines about KVM, for a skip message. */
static void kvm_kernel_reason(char *buf, size_t len)
{
	char log[16384], *line, *save;
	int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof(log) - 1);

	snprintf(buf, len, "no kernel log line about KVM");
	if (n <= 0)
		return;
	log[n] = '\0';
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, "kvm") || strstr(line, "SVM") || strstr(line, "VMX"))
			snprintf(buf, len, "%s", line);
}

/* The VM and vCPU of a fixture, each destroyed in its teardown if made. */
struct test_vm {
	struct kg_vm vm;
	struct kg_vcpu vcpu;
	bool have_vm, have_vcpu;
};

/*
 * Create the fixture's VM, or skip the test where this host has no usable
 * KVM.  A macro, for the harness's SKIP() and ASSERT_EQ().
 */
#define TEST_VM_CREATE(t)						\
	do {								\
		char reason_[256];					\
		int ret_ = kg_vm_create(&(t)->vm);			\
									\
		if (ret_ == -ENOENT || ret_ == -ENXIO || ret_ == -ENODEV) { \
			kvm_kernel_reason(reason_, sizeof(reason_));	\
			SKIP(return, "no /dev/kvm (%s): %s",		\
			     strerror(-ret_), reason_);			\
		}							\
		ASSERT_EQ(0, ret_);					\
		(t)->have_vm = true;					\
	} while (0)

static int test_vm_add_vcpu(struct test_vm *t)
{
	int ret = kg_vcpu_create(&t->vm, &t->vcpu);

	t->have_vcpu = !ret;
	return ret;
}

static void test_vm_destroy(struct test_vm *t)
{
	if (t->have_vcpu)
		kg_vcpu_destroy(&t->vcpu);
	if (t->have_vm)
		kg_vm_destroy(&t->vm);
}

/* The pattern's 32-bit word at @off (4-byte aligned). */
static uint32_t word32(unsigned int seed, uint64_t off)
{
	return (uint32_t)(vt_word(seed, off & ~7ULL) >> ((off & 4) * 8));
}

static uint32_t pread32(int fd, uint64_t off)
{
	uint32_t v = 0;

	if (pread(fd, &v, sizeof(v), off) != sizeof(v))
		return 0xdeadbeef;
	return v;
}

/*
 * Region of 8 pages: source A (4 pages, read-write) at pages 0-3, holes at
 * pages 4-7.  The region's mmap is slot 1 at REGION_GPA.  A second region
 * with safe holes has the same layout (A again) and is slot 3 at SAFE_GPA.
 */
FIXTURE(kvm) {
	int region;
	int safe_region;
	int a;
	uint8_t *map;
	uint8_t *safe_map;
	struct test_vm kvm;
};

FIXTURE_SETUP(kvm)
{
	self->region = -1;
	self->safe_region = -1;
	self->a = -1;
	self->map = NULL;
	self->safe_map = NULL;
	TEST_VM_CREATE(&self->kvm);
	vt_install_fault_handler();

	self->a = vt_memfd(SRC_PAGES * P, SEED_A, 0);
	ASSERT_LE(0, self->a);
	self->region = vt_create_region(NPAGES * P, 0);
	ASSERT_LE(0, self->region);
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, SRC_PAGES * P));
	self->map = vt_mmap(self->region, NPAGES * P, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, self->map);
	ASSERT_EQ(0, kg_vm_set_slot(&self->kvm.vm, REGION_SLOT, REGION_GPA, self->map,
				    NPAGES * P, 0));

	self->safe_region = vt_create_region_flags(NPAGES * P, VSHM_REGION_SAFE_HOLES);
	ASSERT_LE(0, self->safe_region);
	ASSERT_EQ(0, vt_map(self->safe_region, self->a, VSHM_MAP_WRITE, 0, 0,
			    SRC_PAGES * P));
	self->safe_map = vt_mmap(self->safe_region, NPAGES * P,
				 PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, self->safe_map);
	ASSERT_EQ(0, kg_vm_set_slot(&self->kvm.vm, SAFE_SLOT, SAFE_GPA, self->safe_map,
				    NPAGES * P, 0));
	ASSERT_EQ(0, test_vm_add_vcpu(&self->kvm));
}

FIXTURE_TEARDOWN(kvm)
{
	test_vm_destroy(&self->kvm);
	vt_drop_region(&self->region, &self->map, NPAGES * P);
	vt_drop_region(&self->safe_region, &self->safe_map, NPAGES * P);
	if (self->a >= 0)
		close(self->a);
}

/* Run one command; return the exit kind and the result in *value. */
static enum kg_exit_kind guest(struct kg_vcpu *vcpu, enum kg_cmd cmd,
			       uint64_t gpa, uint32_t value, struct kg_exit *ex)
{
	if (kg_guest_command(vcpu, cmd, gpa, value, ex))
		return KG_EXIT_OTHER;
	return ex->kind;
}

#define EXPECT_DONE(ex, kind) \
	EXPECT_EQ(KG_EXIT_DONE, kind) { \
		TH_LOG("exit: %s (errno %d, suberror %u, gpa %#llx)", \
		       kg_exit_name(kind), (ex).err, (ex).suberror, \
		       (unsigned long long)(ex).gpa); \
	}

/* The guest's read of region offset @off; ~0 if the command failed. */
static uint32_t guest_read(struct kg_vcpu *vcpu, uint64_t off)
{
	struct kg_exit ex;

	if (guest(vcpu, KG_CMD_READ32, REGION_GPA + off, 0, &ex) != KG_EXIT_DONE)
		return ~0U;
	return ex.value;
}

/*
 * Instructions KVM emulated for one command, less those of a command that
 * touches nothing (without nrip_save, KVM emulates every exit it skips).
 * Sets *kind to the command's exit.
 */
static long emulated_by(struct kg_vcpu *vcpu, enum kg_cmd cmd, uint64_t gpa,
			uint32_t value, enum kg_exit_kind *kind)
{
	uint64_t c0, c1, c2;
	struct kg_exit ex;

	if (kg_vcpu_insn_emulation(vcpu, &c0) ||
	    guest(vcpu, KG_CMD_NOP, 0, 0, &ex) != KG_EXIT_DONE ||
	    kg_vcpu_insn_emulation(vcpu, &c1))
		return -1000;
	*kind = guest(vcpu, cmd, gpa, value, &ex);
	if (kg_vcpu_insn_emulation(vcpu, &c2))
		return -1000;
	return (long)(c2 - c1) - (long)(c1 - c0);
}

/* The guest reads the source's bytes, and its writes reach the source. */
TEST_F(kvm, guest_reads_and_writes_the_source)
{
	struct kg_exit ex;
	enum kg_exit_kind kind;

	EXPECT_EQ(word32(SEED_A, 0), guest_read(&self->kvm.vcpu, 0));
	EXPECT_EQ(word32(SEED_A, 3 * P + 64), guest_read(&self->kvm.vcpu, 3 * P + 64));

	kind = guest(&self->kvm.vcpu, KG_CMD_WRITE32, REGION_GPA + P + 8, 0x12345678, &ex);
	EXPECT_DONE(ex, kind);
	EXPECT_EQ(0x12345678U, pread32(self->a, P + 8));
	kind = guest(&self->kvm.vcpu, KG_CMD_SSE_WRITE32, REGION_GPA + 2 * P + 16,
		     0x9abcdef0, &ex);
	EXPECT_DONE(ex, kind);
	EXPECT_EQ(0x9abcdef0U, pread32(self->a, 2 * P + 16));
	EXPECT_EQ(0x9abcdef0U, *(uint32_t *)(self->map + 2 * P + 16));
}

/* A back-end pwrite() on the source, and one on the region fd, reach the guest. */
TEST_F(kvm, backend_pwrite_is_seen_by_the_guest)
{
	uint32_t v1 = 0xa1a2a3a4, v2 = 0xb1b2b3b4;

	EXPECT_EQ(word32(SEED_A, 40), guest_read(&self->kvm.vcpu, 40));
	ASSERT_EQ(sizeof(v1), pwrite(self->a, &v1, sizeof(v1), 40));
	EXPECT_EQ(v1, guest_read(&self->kvm.vcpu, 40));

	EXPECT_EQ(word32(SEED_A, P + 80), guest_read(&self->kvm.vcpu, P + 80));
	ASSERT_EQ(sizeof(v2), pwrite(self->region, &v2, sizeof(v2), P + 80));
	EXPECT_EQ(v2, guest_read(&self->kvm.vcpu, P + 80));
	EXPECT_EQ(v2, pread32(self->a, P + 80));
}

/*
 * A guest write after a guest read of the same page is not emulated: the
 * read already made KVM map a writable host PTE.  The SSE store, which
 * KVM's emulator cannot do, completes.
 */
TEST_F(kvm, write_after_read_is_not_emulated)
{
	enum kg_exit_kind kind;
	uint64_t count;
	struct kg_exit ex;
	long emulated;

	if (kg_vcpu_insn_emulation(&self->kvm.vcpu, &count))
		SKIP(return, "no insn_emulation statistic (binary stats fd)");
	EXPECT_EQ(word32(SEED_A, 2 * P), guest_read(&self->kvm.vcpu, 2 * P));
	emulated = emulated_by(&self->kvm.vcpu, KG_CMD_WRITE32, REGION_GPA + 2 * P + 4,
			       0x55aa55aa, &kind);
	EXPECT_EQ(KG_EXIT_DONE, kind);
	EXPECT_EQ(0, emulated);
	EXPECT_EQ(0x55aa55aaU, pread32(self->a, 2 * P + 4));

	EXPECT_EQ(word32(SEED_A, 3 * P), guest_read(&self->kvm.vcpu, 3 * P));
	kind = guest(&self->kvm.vcpu, KG_CMD_SSE_WRITE32, REGION_GPA + 3 * P + 4,
		     0x66bb66bb, &ex);
	EXPECT_DONE(ex, kind);
	EXPECT_EQ(0x66bb66bbU, pread32(self->a, 3 * P + 4));
}

/*
 * The same after mprotect(PROT_READ) then mprotect(PROT_READ|PROT_WRITE) of
 * the region's VMA: PTEs faulted before the cycle must not stay read-only,
 * or KVM emulates the write and the SSE store kills the vCPU.
 */
TEST_F(kvm, write_after_mprotect_cycle_is_not_emulated)
{
	enum kg_exit_kind kind;
	struct kg_exit ex;
	uint64_t count;
	long emulated;

	if (kg_vcpu_insn_emulation(&self->kvm.vcpu, &count))
		SKIP(return, "no insn_emulation statistic (binary stats fd)");
	/* Fault every source page in, from the host and from the guest. */
	EXPECT_EQ(word32(SEED_A, 0), *(uint64_t *)self->map & 0xffffffff);
	EXPECT_EQ(word32(SEED_A, 0), guest_read(&self->kvm.vcpu, 0));
	EXPECT_EQ(word32(SEED_A, P), guest_read(&self->kvm.vcpu, P));
	ASSERT_EQ(0, mprotect(self->map, NPAGES * P, PROT_READ));
	ASSERT_EQ(0, mprotect(self->map, NPAGES * P, PROT_READ | PROT_WRITE));

	EXPECT_EQ(word32(SEED_A, 0), guest_read(&self->kvm.vcpu, 0));
	emulated = emulated_by(&self->kvm.vcpu, KG_CMD_WRITE32, REGION_GPA + 8,
			       0x77cc77cc, &kind);
	EXPECT_EQ(KG_EXIT_DONE, kind);
	EXPECT_EQ(0, emulated);
	EXPECT_EQ(0x77cc77ccU, pread32(self->a, 8));

	EXPECT_EQ(word32(SEED_A, P), guest_read(&self->kvm.vcpu, P));
	kind = guest(&self->kvm.vcpu, KG_CMD_SSE_WRITE32, REGION_GPA + P + 8,
		     0x88dd88dd, &ex);
	EXPECT_DONE(ex, kind);
	EXPECT_EQ(0x88dd88ddU, pread32(self->a, P + 8));
}

/* KVM_RUN failed with EFAULT; restarting the loop gives a working vCPU. */
static void expect_efault_then_usable(struct __test_metadata *_metadata,
				      struct kg_vcpu *vcpu, enum kg_cmd cmd,
				      uint64_t off)
{
	enum kg_exit_kind kind;
	struct kg_exit ex;

	kind = guest(vcpu, cmd, REGION_GPA + off, 1, &ex);
	EXPECT_EQ(KG_EXIT_RUN_ERROR, kind) {
		TH_LOG("offset %#llx: exit %s", (unsigned long long)off,
		       kg_exit_name(kind));
	}
	EXPECT_EQ(EFAULT, ex.err);
	ASSERT_EQ(0, kg_vcpu_restart(vcpu));
	kind = guest(vcpu, KG_CMD_NOP, 0, 0, &ex);
	EXPECT_DONE(ex, kind);
}

/*
 * Strict holes: an unmapped range, a hole and UNMAP_ALL make KVM_RUN fail
 * with EFAULT, and the vCPU runs on after that (the VMM may carry on).
 */
TEST_F(kvm, strict_unmap_and_holes_fail_kvm_run_cleanly)
{
	EXPECT_EQ(word32(SEED_A, 0), guest_read(&self->kvm.vcpu, 0));
	EXPECT_EQ(word32(SEED_A, 2 * P), guest_read(&self->kvm.vcpu, 2 * P));

	expect_efault_then_usable(_metadata, &self->kvm.vcpu, KG_CMD_READ32, 5 * P);
	expect_efault_then_usable(_metadata, &self->kvm.vcpu, KG_CMD_WRITE32, 6 * P);

	ASSERT_EQ(0, vt_unmap(self->region, 0, SRC_PAGES * P));
	expect_efault_then_usable(_metadata, &self->kvm.vcpu, KG_CMD_READ32, 0);
	expect_efault_then_usable(_metadata, &self->kvm.vcpu, KG_CMD_WRITE32, 2 * P);

	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, 2 * P));
	EXPECT_EQ(word32(SEED_A, 0), guest_read(&self->kvm.vcpu, 0));
	ASSERT_EQ(0, vt_unmap_all(self->region));
	expect_efault_then_usable(_metadata, &self->kvm.vcpu, KG_CMD_READ32, 0);
	EXPECT_EQ(word32(SEED_A, 0), pread32(self->a, 0));
}

/* A remap and a VSHM_MAP_REPLACE are seen by the guest (MMU notifier). */
TEST_F(kvm, remap_and_replace_are_seen_by_the_guest)
{
	int b = vt_memfd(SRC_PAGES * P, SEED_B, 0);
	int c = vt_memfd(SRC_PAGES * P, SEED_C, 0);

	ASSERT_LE(0, b);
	ASSERT_LE(0, c);
	EXPECT_EQ(word32(SEED_A, P + 16), guest_read(&self->kvm.vcpu, P + 16));

	ASSERT_EQ(0, vt_unmap(self->region, 0, SRC_PAGES * P));
	ASSERT_EQ(0, vt_map(self->region, b, VSHM_MAP_WRITE, 0, 0, SRC_PAGES * P));
	EXPECT_EQ(word32(SEED_B, P + 16), guest_read(&self->kvm.vcpu, P + 16));

	ASSERT_EQ(0, vt_map(self->region, c, VSHM_MAP_WRITE | VSHM_MAP_REPLACE, 0, 0,
			    SRC_PAGES * P));
	EXPECT_EQ(word32(SEED_C, P + 16), guest_read(&self->kvm.vcpu, P + 16));
	close(b);
	close(c);
}

/*
 * A read-only mapping behind a read-only memory slot: the guest reads the
 * source, its write is an MMIO exit the VMM sees, and the source is
 * unchanged after the vCPU runs on.  Through a read-write slot, a write
 * after a read also ends up as MMIO, never in the source.
 */
TEST_F(kvm, read_only_mapping_gives_mmio_exit)
{
	int b = vt_memfd(SRC_PAGES * P, SEED_B, 0);
	enum kg_exit_kind kind;
	struct kg_exit ex;
	int ro_region;
	void *ro_map;

	ASSERT_LE(0, b);
	ro_region = vt_create_region(2 * P, 0);
	ASSERT_LE(0, ro_region);
	ASSERT_EQ(0, vt_map(ro_region, b, 0, 0, 0, 2 * P));
	ro_map = vt_mmap(ro_region, 2 * P, PROT_READ, 0);
	ASSERT_NE(NULL, ro_map);
	ASSERT_EQ(0, kg_vm_set_slot(&self->kvm.vm, RO_SLOT, RO_GPA, ro_map, 2 * P,
				    KVM_MEM_READONLY));

	kind = guest(&self->kvm.vcpu, KG_CMD_READ32, RO_GPA + P + 4, 0, &ex);
	EXPECT_DONE(ex, kind);
	EXPECT_EQ(word32(SEED_B, P + 4), ex.value);
	kind = guest(&self->kvm.vcpu, KG_CMD_WRITE32, RO_GPA + P + 4, 0x01020304, &ex);
	ASSERT_EQ(KG_EXIT_MMIO, kind);
	EXPECT_TRUE(ex.mmio_write);
	EXPECT_EQ(RO_GPA + P + 4, ex.gpa);
	EXPECT_EQ(4U, ex.len);
	ASSERT_EQ(0, kg_vcpu_run(&self->kvm.vcpu, &ex));
	EXPECT_EQ(KG_EXIT_DONE, ex.kind);
	EXPECT_EQ(word32(SEED_B, P + 4), pread32(b, P + 4));

	/* The same source read-only in the read-write slot, at page 4. */
	ASSERT_EQ(0, vt_map(self->region, b, 0, 0, 4 * P, P));
	EXPECT_EQ(word32(SEED_B, 0), guest_read(&self->kvm.vcpu, 4 * P));
	kind = guest(&self->kvm.vcpu, KG_CMD_WRITE32, REGION_GPA + 4 * P, 0x05060708, &ex);
	EXPECT_EQ(KG_EXIT_MMIO, kind) {
		TH_LOG("exit %s errno %d", kg_exit_name(kind), ex.err);
	}
	if (kind == KG_EXIT_MMIO) {
		ASSERT_EQ(0, kg_vcpu_run(&self->kvm.vcpu, &ex));
		EXPECT_EQ(KG_EXIT_DONE, ex.kind);
	}
	EXPECT_EQ(word32(SEED_B, 0), pread32(b, 0));

	ASSERT_EQ(0, kg_vm_remove_slot(&self->kvm.vm, RO_SLOT));
	munmap(ro_map, 2 * P);
	close(ro_region);
	close(b);
}

/* The guest's command at safe-region offset @off; the exit kind. */
static enum kg_exit_kind safe_cmd(struct kg_vcpu *vcpu, enum kg_cmd cmd,
				  uint64_t off, uint32_t value, uint32_t *result)
{
	struct kg_exit ex;
	enum kg_exit_kind kind = guest(vcpu, cmd, SAFE_GPA + off, value, &ex);

	*result = ex.value;
	return kind;
}

/*
 * Safe holes: the guest reads zeros from a hole, its plain and SSE writes
 * there complete and are dropped (also a write after a read, which KVM
 * emulates through the zero page), it runs on, and a source mapped there
 * later shows its own bytes, not what the guest wrote.
 */
TEST_F(kvm, safe_holes_read_zeros_and_drop_guest_writes)
{
	int c = vt_memfd(2 * P, SEED_C, 0);
	uint32_t v;

	ASSERT_LE(0, c);
	EXPECT_EQ(KG_EXIT_DONE, safe_cmd(&self->kvm.vcpu, KG_CMD_READ32, 5 * P + 8, 0, &v));
	EXPECT_EQ(0U, v);
	EXPECT_EQ(KG_EXIT_DONE, safe_cmd(&self->kvm.vcpu, KG_CMD_WRITE32, 5 * P + 8,
					 0xdead0001, &v));
	EXPECT_EQ(KG_EXIT_DONE, safe_cmd(&self->kvm.vcpu, KG_CMD_SSE_WRITE32, 6 * P + 8,
					 0xdead0002, &v));
	EXPECT_EQ(KG_EXIT_DONE, safe_cmd(&self->kvm.vcpu, KG_CMD_READ32, 4 * P, 0, &v));
	EXPECT_EQ(0U, v);
	EXPECT_EQ(KG_EXIT_DONE, safe_cmd(&self->kvm.vcpu, KG_CMD_NOP, 0, 0, &v));

	/* A later mapping over the written holes shows only its source. */
	ASSERT_EQ(0, vt_map(self->safe_region, c, VSHM_MAP_WRITE, 0, 5 * P, 2 * P));
	EXPECT_EQ(KG_EXIT_DONE, safe_cmd(&self->kvm.vcpu, KG_CMD_READ32, 5 * P + 8, 0, &v));
	EXPECT_EQ(word32(SEED_C, 8), v);
	EXPECT_EQ(KG_EXIT_DONE, safe_cmd(&self->kvm.vcpu, KG_CMD_READ32, P + 8 + 5 * P, 0, &v));
	EXPECT_EQ(word32(SEED_C, P + 8), v);
	EXPECT_EQ(word32(SEED_C, 8), pread32(c, 8));
	EXPECT_EQ(word32(SEED_C, P + 8), pread32(c, P + 8));
	EXPECT_EQ(-1, vt_check(self->safe_map + 5 * P, 2 * P, SEED_C, 0));
	close(c);
}

/*
 * Safe holes after UNMAP and UNMAP_ALL: the guest reads zeros where the
 * source was, its writes there never reach the source, it runs on, and a
 * remap shows the source again.
 */
TEST_F(kvm, safe_holes_survive_unmap_and_unmap_all)
{
	uint32_t v;

	EXPECT_EQ(KG_EXIT_DONE, safe_cmd(&self->kvm.vcpu, KG_CMD_READ32, 2 * P, 0, &v));
	EXPECT_EQ(word32(SEED_A, 2 * P), v);
	ASSERT_EQ(0, vt_unmap(self->safe_region, 0, SRC_PAGES * P));
	EXPECT_EQ(KG_EXIT_DONE, safe_cmd(&self->kvm.vcpu, KG_CMD_READ32, 2 * P, 0, &v));
	EXPECT_EQ(0U, v);
	EXPECT_EQ(KG_EXIT_DONE, safe_cmd(&self->kvm.vcpu, KG_CMD_WRITE32, 2 * P,
					 0xdead0003, &v));
	EXPECT_EQ(KG_EXIT_DONE, safe_cmd(&self->kvm.vcpu, KG_CMD_SSE_WRITE32, 3 * P,
					 0xdead0004, &v));
	EXPECT_EQ(word32(SEED_A, 2 * P), pread32(self->a, 2 * P));
	EXPECT_EQ(word32(SEED_A, 3 * P), pread32(self->a, 3 * P));

	ASSERT_EQ(0, vt_map(self->safe_region, self->a, VSHM_MAP_WRITE, 0, 0,
			    SRC_PAGES * P));
	EXPECT_EQ(KG_EXIT_DONE, safe_cmd(&self->kvm.vcpu, KG_CMD_READ32, 3 * P, 0, &v));
	EXPECT_EQ(word32(SEED_A, 3 * P), v);

	ASSERT_EQ(0, vt_unmap_all(self->safe_region));
	EXPECT_EQ(KG_EXIT_DONE, safe_cmd(&self->kvm.vcpu, KG_CMD_READ32, 3 * P, 0, &v));
	EXPECT_EQ(0U, v);
	EXPECT_EQ(KG_EXIT_DONE, safe_cmd(&self->kvm.vcpu, KG_CMD_SSE_WRITE32, P,
					 0xdead0005, &v));
	EXPECT_EQ(word32(SEED_A, P), pread32(self->a, P));
	EXPECT_EQ(KG_EXIT_DONE, safe_cmd(&self->kvm.vcpu, KG_CMD_NOP, 0, 0, &v));
}

/*
 * The guest's range commands, which the guest benchmarks (vshm-bench
 * --guest) rely on: TOUCH_PAGES and READ_RANGE fold exactly the source's
 * words, WRITE_RANGE's stores reach the source, and ranges the guest
 * could not walk are refused before it runs.
 */
TEST_F(kvm, guest_range_commands_cover_exactly_the_range)
{
	uint32_t touched = 0, all = 0, expect_write;
	enum kg_exit_kind kind;
	struct kg_exit ex;
	uint64_t off;

	for (off = 0; off < SRC_PAGES * P; off += 4) {
		all ^= word32(SEED_A, off);
		if (!(off % KG_GUEST_PAGE))
			touched ^= word32(SEED_A, off);
	}
	kind = guest(&self->kvm.vcpu, KG_CMD_TOUCH_PAGES, REGION_GPA, SRC_PAGES * P, &ex);
	EXPECT_DONE(ex, kind);
	EXPECT_EQ(touched, ex.value);
	kind = guest(&self->kvm.vcpu, KG_CMD_READ_RANGE, REGION_GPA, SRC_PAGES * P, &ex);
	EXPECT_DONE(ex, kind);
	EXPECT_EQ(all, ex.value);

	/* Pages 1-2 only: page 0 and page 3 keep the pattern. */
	kind = guest(&self->kvm.vcpu, KG_CMD_WRITE_RANGE, REGION_GPA + P, 2 * P, &ex);
	EXPECT_DONE(ex, kind);
	EXPECT_EQ(word32(SEED_A, P - 4), pread32(self->a, P - 4));
	EXPECT_EQ((uint32_t)(REGION_GPA + P), pread32(self->a, P));
	EXPECT_EQ((uint32_t)(REGION_GPA + 3 * P - 4), pread32(self->a, 3 * P - 4));
	EXPECT_EQ(word32(SEED_A, 3 * P), pread32(self->a, 3 * P));
	expect_write = 0;
	for (off = P; off < 3 * P; off += 4)
		expect_write ^= (uint32_t)(REGION_GPA + off);
	kind = guest(&self->kvm.vcpu, KG_CMD_READ_RANGE, REGION_GPA + P, 2 * P, &ex);
	EXPECT_DONE(ex, kind);
	EXPECT_EQ(expect_write, ex.value);

	EXPECT_EQ(-EINVAL, kg_guest_command(&self->kvm.vcpu, KG_CMD_TOUCH_PAGES,
					    REGION_GPA, P + 4, &ex));
	EXPECT_EQ(-EINVAL, kg_guest_command(&self->kvm.vcpu, KG_CMD_READ_RANGE,
					    REGION_GPA, 6, &ex));
	EXPECT_EQ(-EINVAL, kg_guest_command(&self->kvm.vcpu, KG_CMD_WRITE_RANGE,
					    0xfffff000UL, 2 * P, &ex));
	/* The vCPU still takes commands after the refusals. */
	EXPECT_EQ(word32(SEED_A, 0), guest_read(&self->kvm.vcpu, 0));
}

/*
 * A region backed by a hugetlbfs memfd (2 huge pages, mapped whole) as
 * slot 4 at HUGE_GPA, in a VM of its own.  Reserves the huge pages through
 * /proc/sys/vm/nr_hugepages and restores the old value afterwards.
 */
#define HUGE_SLOT	4
#define HUGE_GPA	0x40000000UL
#define NR_HUGE		"/proc/sys/vm/nr_hugepages"
#define HUGE_RESERVE	2
#define SEED_H		14

FIXTURE(kvm_huge) {
	uint64_t old_nr;
	bool reserved;
	size_t hps;
	int region;
	int h;
	uint8_t *map;
	struct test_vm kvm;
};

FIXTURE_SETUP(kvm_huge)
{
	uint64_t nr = 0;
	long kb;

	self->region = -1;
	self->h = -1;
	self->map = NULL;
	TEST_VM_CREATE(&self->kvm);
	kb = vt_proc_field("/proc/meminfo", "Hugepagesize");
	if (kb * 1024UL != VT_PMD_SIZE)
		SKIP(return, "huge pages of %ld kB, not the PMD size", kb);
	self->hps = VT_PMD_SIZE;
	ASSERT_EQ(0, vt_read_u64_file(NR_HUGE, &self->old_nr));
	ASSERT_EQ(0, vt_write_u64_file(NR_HUGE, self->old_nr + HUGE_RESERVE));
	self->reserved = true;
	if (vt_read_u64_file(NR_HUGE, &nr) || nr < self->old_nr + HUGE_RESERVE)
		SKIP(return, "could reserve only %" PRIu64 " of %d huge pages",
		     nr - self->old_nr, HUGE_RESERVE);

	self->h = vt_memfd(2 * self->hps, SEED_H, MFD_HUGETLB);
	ASSERT_LE(0, self->h);
	self->region = vt_create_region(2 * self->hps, 0);
	ASSERT_LE(0, self->region);
	ASSERT_EQ(0, vt_map(self->region, self->h, VSHM_MAP_WRITE, 0, 0, 2 * self->hps));
	self->map = vt_mmap(self->region, 2 * self->hps, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, self->map);
	ASSERT_EQ(0, kg_vm_set_slot(&self->kvm.vm, HUGE_SLOT, HUGE_GPA, self->map,
				    2 * self->hps, 0));
	ASSERT_EQ(0, test_vm_add_vcpu(&self->kvm));
}

FIXTURE_TEARDOWN(kvm_huge)
{
	test_vm_destroy(&self->kvm);
	vt_drop_region(&self->region, &self->map, 2 * self->hps);
	if (self->h >= 0)
		close(self->h);
	if (self->reserved)
		vt_write_u64_file(NR_HUGE, self->old_nr);
}

/*
 * The guest's 4-byte access at @off of the huge slot: 0 if it completed
 * (the word read in *@value), else KVM_RUN's errno (-1 for any other exit),
 * with the vCPU made ready for the next command.
 */
static int huge_cmd(struct kg_vcpu *vcpu, enum kg_cmd cmd, uint64_t off,
		    uint32_t value, uint32_t *result)
{
	struct kg_exit ex;
	int kind = guest(vcpu, cmd, HUGE_GPA + off, value, &ex);

	*result = ex.value;
	if (kind == KG_EXIT_DONE)
		return 0;
	kg_vcpu_restart(vcpu);
	return kind == KG_EXIT_RUN_ERROR ? ex.err : -1;
}

/*
 * What a guest sees of a hugetlbfs source, per kernel (Documentation/
 * kmod.rst, "What KVM sees"):
 * - from 6.12, where the region gives PMD entries, KVM maps the slot with
 *   2 MiB stage-2 entries: its pages_2m statistic grows;
 * - KVM before 6.13 takes a reference on the exact page a PFN map's entry
 *   points at, which fails on a huge page's tail pages (refcount 0): the
 *   guest's first access to a huge page through a tail page makes KVM_RUN
 *   fail with EFAULT, while one through the head page works and, with a
 *   PMD entry, maps the whole 2 MiB, tail pages included;
 * - from 6.13 every access works.
 * The vCPU runs on after an EFAULT, and the guest's writes reach the
 * source.
 */
TEST_F(kvm_huge, stage2_pages_and_tail_pages)
{
	const size_t h = self->hps;
	bool kvm_refs_tails = !vt_kernel_at_least(6, 13);
	uint64_t before = 0, after = 0;
	const char *why;
	uint32_t v = 0;
	bool pmds;
	int err;

	pmds = vt_pmds_expected(self->region, &why);
	TH_LOG("PMD entries %sexpected%s%s; KVM %s tail pages", pmds ? "" : "not ",
	       pmds ? "" : ": ", why, kvm_refs_tails ? "refuses" : "maps");
	ASSERT_EQ(0, kg_stat(self->kvm.vm.vm_fd, "pages_2m", &before));

	/* A first touch of the second huge page through a tail page. */
	err = huge_cmd(&self->kvm.vcpu, KG_CMD_READ32, h + 7 * P + 8, 0, &v);
	if (kvm_refs_tails) {
		EXPECT_EQ(EFAULT, err);
	} else {
		EXPECT_EQ(0, err);
		EXPECT_EQ(word32(SEED_H, h + 7 * P + 8), v);
	}

	/* The first huge page through its head page: always works. */
	EXPECT_EQ(0, huge_cmd(&self->kvm.vcpu, KG_CMD_READ32, 16, 0, &v));
	EXPECT_EQ(word32(SEED_H, 16), v);
	ASSERT_EQ(0, kg_stat(self->kvm.vm.vm_fd, "pages_2m", &after));
	TH_LOG("KVM pages_2m: %" PRIu64 " before, %" PRIu64 " after", before, after);
	if (pmds) {
		EXPECT_LE(before + (kvm_refs_tails ? 1 : 2), after);
	} else {
		EXPECT_EQ(before, after);
	}

	/* Its tail pages: through the 2 MiB stage-2 entry, or refused. */
	err = huge_cmd(&self->kvm.vcpu, KG_CMD_READ32, 9 * P + 4, 0, &v);
	if (pmds || !kvm_refs_tails) {
		EXPECT_EQ(0, err);
		EXPECT_EQ(word32(SEED_H, 9 * P + 4), v);
		EXPECT_EQ(0, huge_cmd(&self->kvm.vcpu, KG_CMD_SSE_WRITE32, 300 * P + 4,
				      0xfeed0001, &v));
		EXPECT_EQ(0xfeed0001, pread32(self->h, 300 * P + 4));
	} else {
		EXPECT_EQ(EFAULT, err);
	}
	EXPECT_EQ(0, huge_cmd(&self->kvm.vcpu, KG_CMD_WRITE32, 32, 0xfeed0002, &v));
	EXPECT_EQ(0xfeed0002, pread32(self->h, 32));
	EXPECT_EQ(0, huge_cmd(&self->kvm.vcpu, KG_CMD_NOP, 0, 0, &v));
}

TEST_HARNESS_MAIN
