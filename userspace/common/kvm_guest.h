/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm_guest: a tiny KVM virtual machine for tests and tools.
 *
 * Code shared by the selftests and userspace/tools; not part of libvshm's
 * public API.  Link it by adding $(KVM_GUEST_SRCS) from
 * userspace/common/common.mk to a program's sources.
 *
 * The VM has one vCPU in flat 32-bit protected mode (paging off, so guest
 * virtual = guest physical, below 4 GiB) and a small RAM slot at
 * guest-physical 0 that holds the guest code and a mailbox.  The guest is a
 * command interpreter (kvm_guest_code.S): the host writes a command into the
 * mailbox, runs the vCPU, and the guest reports the result with one port
 * write to KG_PORT_DONE.  So one guest serves any number of steps:
 *
 *	struct kg_vm vm;  struct kg_vcpu vcpu;  struct kg_exit ex;
 *	kg_vm_create(&vm);
 *	kg_vm_set_slot(&vm, 1, 0x10000000, region_mmap, len, 0);
 *	kg_vcpu_create(&vm, &vcpu);
 *	kg_guest_command(&vcpu, KG_CMD_READ32, 0x10000000, 0, &ex);
 *	if (ex.kind == KG_EXIT_DONE) use ex.value;
 *
 * A command that touches memory KVM cannot back ends in another exit kind
 * (MMIO, KVM_RUN error, internal error).  The caller may then handle it and
 * continue with kg_vcpu_run(), or abandon the command with
 * kg_vcpu_restart(), after which the vCPU takes the next command.
 *
 * Every function returns 0 or -errno.  The structures are owned by the
 * caller; nothing here keeps global state.
 */
#ifndef KVM_GUEST_H
#define KVM_GUEST_H

/* Guest-physical layout of the RAM slot (slot 0): code, then the mailbox. */
#define KG_RAM_SLOT		0
#define KG_RAM_SIZE		0x10000UL
#define KG_CODE_GPA		0x1000UL
#define KG_MAILBOX_GPA		0x8000UL
/* Callers put their own slots at or above this address, below 4 GiB. */
#define KG_FIRST_FREE_GPA	0x100000UL

/* The ports the guest writes to (4-byte OUT). */
#define KG_PORT_DONE		0xf0	/* value: the command's result */
#define KG_PORT_BAD_COMMAND	0xf1	/* value: the unknown command */

/* The mailbox: four 32-bit words at KG_MAILBOX_GPA, written by the host. */
#define KG_MB_CMD		0	/* enum kg_cmd */
#define KG_MB_ADDR		4	/* guest-physical address */
#define KG_MB_VALUE		8	/* value to write */
#define KG_MB_RESULT		12	/* written by the guest */

/* Command numbers, shared with the guest code (see enum kg_cmd). */
#define KG_CMD_NOP_NR		1
#define KG_CMD_READ32_NR	2
#define KG_CMD_WRITE32_NR	3
#define KG_CMD_SSE_WRITE32_NR	4
#define KG_CMD_TOUCH_PAGES_NR	5
#define KG_CMD_READ_RANGE_NR	6
#define KG_CMD_WRITE_RANGE_NR	7
/* The page size the guest's TOUCH_PAGES steps by. */
#define KG_GUEST_PAGE		4096

#ifndef __ASSEMBLER__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/kvm.h>

/*
 * Commands (the mailbox's cmd field).  Addresses are guest-physical and
 * below 4 GiB; accesses are 4 bytes.  The result is reported in
 * struct kg_exit.value: the word read, or 0 for the others.
 */
enum kg_cmd {
	KG_CMD_NOP = KG_CMD_NOP_NR,		/* touch nothing: the baseline of an exit */
	KG_CMD_READ32 = KG_CMD_READ32_NR,	/* result = *(u32 *)addr */
	KG_CMD_WRITE32 = KG_CMD_WRITE32_NR,	/* *(u32 *)addr = value, with a plain mov */
	/*
	 * *(u32 *)addr = value with SSE "movd %xmm0, (addr)", which KVM's
	 * instruction emulator does not implement: if KVM has to emulate the
	 * store (no writable host PTE), the vCPU stops with
	 * KVM_EXIT_INTERNAL_ERROR instead of writing.
	 */
	KG_CMD_SSE_WRITE32 = KG_CMD_SSE_WRITE32_NR,
	/*
	 * The range commands, for benchmarks: the mailbox's value is a
	 * length in bytes, a multiple of 4 (of KG_GUEST_PAGE for
	 * TOUCH_PAGES), and addr + length must not pass 4 GiB.
	 * TOUCH_PAGES reads the first word of each page (first-touch cost);
	 * READ_RANGE reads every word; both report the XOR of the words
	 * read, so the caller can check what the guest saw.  WRITE_RANGE
	 * stores into every word its own guest-physical address, and
	 * reports 0.
	 */
	KG_CMD_TOUCH_PAGES = KG_CMD_TOUCH_PAGES_NR,
	KG_CMD_READ_RANGE = KG_CMD_READ_RANGE_NR,
	KG_CMD_WRITE_RANGE = KG_CMD_WRITE_RANGE_NR,
};

/**
 * struct kg_vm - a VM with its RAM slot
 * @kvm_fd: /dev/kvm.
 * @vm_fd: the VM.
 * @ram: host mapping of the RAM slot (KG_RAM_SIZE bytes).
 */
struct kg_vm {
	int kvm_fd;
	int vm_fd;
	void *ram;
};

/**
 * struct kg_vcpu - the VM's vCPU
 * @vm: its VM.
 * @fd: the vCPU fd.
 * @run: its mmapped struct kvm_run.
 * @run_size: size of that mapping.
 * @stats_fd: binary statistics fd (KVM_GET_STATS_FD), or -1.
 * @insn_emulation_off: file offset of the insn_emulation counter in
 *	@stats_fd.
 */
struct kg_vcpu {
	struct kg_vm *vm;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	int stats_fd;
	off_t insn_emulation_off;
};

/* What stopped the vCPU, decoded from struct kvm_run or KVM_RUN's errno. */
enum kg_exit_kind {
	KG_EXIT_DONE,		/* OUT to KG_PORT_DONE: @value is the result */
	KG_EXIT_BAD_COMMAND,	/* OUT to KG_PORT_BAD_COMMAND: @value */
	KG_EXIT_IO,		/* another port I/O: @port, @value, @io_write */
	KG_EXIT_MMIO,		/* @gpa, @len, @mmio_write, @data */
	KG_EXIT_INTERNAL_ERROR,	/* @suberror (KVM_INTERNAL_ERROR_*) */
	KG_EXIT_RUN_ERROR,	/* KVM_RUN failed with errno @err (EFAULT...) */
	KG_EXIT_OTHER,		/* any other exit: @reason */
};

/**
 * struct kg_exit - a decoded exit
 * @kind: see enum kg_exit_kind.
 * @reason: kvm_run's exit_reason (not set for KG_EXIT_RUN_ERROR).
 * @err: KVM_RUN's errno, for KG_EXIT_RUN_ERROR.
 * @port: I/O port.
 * @io_write: OUT (true) or IN (false).
 * @value: the 4-byte OUT value (the first element of a string OUT).
 * @gpa: MMIO guest-physical address.
 * @len: MMIO length in bytes (1..8).
 * @mmio_write: the guest wrote (true) or read (false).
 * @data: MMIO data written by the guest.
 * @suberror: KVM_INTERNAL_ERROR_* for KG_EXIT_INTERNAL_ERROR.
 */
struct kg_exit {
	enum kg_exit_kind kind;
	uint32_t reason;
	int err;
	uint16_t port;
	bool io_write;
	uint32_t value;
	uint64_t gpa;
	uint32_t len;
	bool mmio_write;
	uint8_t data[8];
	uint32_t suberror;
};

/* Open /dev/kvm, create a VM and its RAM slot, load the guest code. */
int kg_vm_create(struct kg_vm *vm);
/* Close the VM (its vCPU must be destroyed first) and free its RAM. */
void kg_vm_destroy(struct kg_vm *vm);
/*
 * Add or change memory slot @slot (not KG_RAM_SLOT): @size bytes at guest
 * physical @gpa backed by @hva, both page aligned.  @flags: 0 or
 * KVM_MEM_READONLY (guest writes then exit as MMIO).
 */
int kg_vm_set_slot(struct kg_vm *vm, uint32_t slot, uint64_t gpa, void *hva,
		   uint64_t size, uint32_t flags);
/* Remove memory slot @slot: the guest's accesses there become MMIO. */
int kg_vm_remove_slot(struct kg_vm *vm, uint32_t slot);

/* Create the vCPU, in 32-bit flat mode with SSE on, at the command loop. */
int kg_vcpu_create(struct kg_vm *vm, struct kg_vcpu *vcpu);
void kg_vcpu_destroy(struct kg_vcpu *vcpu);
/*
 * Run until the next exit and decode it into @exit.  Returns 0 whenever
 * @exit was filled in, KVM_RUN errors included (KG_EXIT_RUN_ERROR);
 * -errno only if the call itself could not be made.  An interrupted
 * KVM_RUN (EINTR) is retried.  After an MMIO read exit, set the data with
 * kg_vcpu_mmio_reply() before running again.
 */
int kg_vcpu_run(struct kg_vcpu *vcpu, struct kg_exit *exit);
/* Give the data an MMIO read exit returns to the guest (@len bytes). */
void kg_vcpu_mmio_reply(struct kg_vcpu *vcpu, const void *data, uint32_t len);
/*
 * Abandon the command in progress (e.g. after KVM_RUN failed on it): the
 * next run starts at the top of the command loop.
 */
int kg_vcpu_restart(struct kg_vcpu *vcpu);
/*
 * Read the vCPU's "insn_emulation" statistic: instructions KVM emulated.
 * -EOPNOTSUPP if the kernel has no binary stats fd or no such counter.
 */
int kg_vcpu_insn_emulation(struct kg_vcpu *vcpu, uint64_t *count);
/*
 * Read the one-value binary statistic @name of @fd, a VM fd (pages_4k,
 * pages_2m...) or a vCPU fd (pf_taken, pf_fixed...).  -EOPNOTSUPP if the
 * kernel has no binary stats fd or no such statistic.
 */
int kg_stat(int fd, const char *name, uint64_t *value);

/*
 * Post @cmd on @gpa with @value in the mailbox and run to the next exit.
 * @exit is KG_EXIT_DONE with the result in @exit->value if the command
 * completed without other exits.  -EINVAL for a @gpa at or above 4 GiB,
 * and for a range command whose length is misaligned or whose range
 * passes 4 GiB.
 */
int kg_guest_command(struct kg_vcpu *vcpu, enum kg_cmd cmd, uint64_t gpa,
		     uint32_t value, struct kg_exit *exit);

/* A short name for an exit kind, for messages. */
const char *kg_exit_name(enum kg_exit_kind kind);

#endif /* __ASSEMBLER__ */

#endif /* KVM_GUEST_H */
