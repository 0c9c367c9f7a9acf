// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_guest: VM, memory slots, one vCPU in flat 32-bit mode, exit decoding
 * and the vCPU's binary statistics.  See kvm_guest.h for the API and
 * kvm_guest_code.S for the guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_guest.h"

/* The guest's code, assembled into this program (kvm_guest_code.S). */
extern const unsigned char kg_guest_code_start[];
extern const unsigned char kg_guest_code_end[];

#define KG_CR0_PE	(1U << 0)	/* protected mode */
#define KG_CR0_MP	(1U << 1)	/* with CR0.EM clear: SSE allowed */
#define KG_CR0_ET	(1U << 4)
#define KG_CR4_OSFXSR	(1U << 9)	/* the OS supports SSE state */
#define KG_RFLAGS_FIXED	(1U << 1)	/* bit 1 is always set */

static int kg_ioctl(int fd, unsigned long req, void *arg)
{
	int ret = ioctl(fd, req, arg);

	return ret < 0 ? -errno : ret;
}

int kg_vm_create(struct kg_vm *vm)
{
	size_t code_len = (size_t)(kg_guest_code_end - kg_guest_code_start);
	struct kvm_userspace_memory_region ram_slot = {
		.slot = KG_RAM_SLOT,
		.guest_phys_addr = 0,
		.memory_size = KG_RAM_SIZE,
	};
	int ret;

	vm->vm_fd = -1;
	vm->ram = MAP_FAILED;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return -errno;
	ret = kg_ioctl(vm->kvm_fd, KVM_GET_API_VERSION, NULL);
	if (ret >= 0 && ret != KVM_API_VERSION)
		ret = -EOPNOTSUPP;
	if (ret < 0)
		goto err;
	vm->vm_fd = kg_ioctl(vm->kvm_fd, KVM_CREATE_VM, NULL);
	if (vm->vm_fd < 0) {
		ret = vm->vm_fd;
		goto err;
	}

	vm->ram = mmap(NULL, KG_RAM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (vm->ram == MAP_FAILED) {
		ret = -errno;
		goto err;
	}
	memcpy((char *)vm->ram + KG_CODE_GPA, kg_guest_code_start, code_len);
	ram_slot.userspace_addr = (uintptr_t)vm->ram;
	ret = kg_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &ram_slot);
	if (ret < 0)
		goto err;
	return 0;

err:
	kg_vm_destroy(vm);
	return ret;
}

/* The destroy functions also run on half-built objects: -1 and MAP_FAILED
 * mean unset.
 */
static void kg_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void *kg_unmap(void *addr, size_t len)
{
	if (addr != MAP_FAILED && addr)
		munmap(addr, len);
	return MAP_FAILED;
}

void kg_vm_destroy(struct kg_vm *vm)
{
	kg_close(&vm->vm_fd);
	kg_close(&vm->kvm_fd);
	vm->ram = kg_unmap(vm->ram, KG_RAM_SIZE);
}

int kg_vm_set_slot(struct kg_vm *vm, uint32_t slot, uint64_t gpa, void *hva,
		   uint64_t size, uint32_t flags)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	if (slot == KG_RAM_SLOT || !size)
		return -EINVAL;
	return kg_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

int kg_vm_remove_slot(struct kg_vm *vm, uint32_t slot)
{
	/* A size of zero deletes the slot. */
	struct kvm_userspace_memory_region region = { .slot = slot };

	if (slot == KG_RAM_SLOT)
		return -EINVAL;
	return kg_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

/* A flat segment: base 0, limit 4 GiB, 32-bit. */
static void kg_flat_segment(struct kvm_segment *seg, uint16_t selector,
			    uint8_t type)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = 0;
	seg->limit = 0xffffffff;
	seg->selector = selector;
	seg->type = type;
	seg->present = 1;
	seg->s = 1;	/* code or data, not a system segment */
	seg->db = 1;	/* 32-bit */
	seg->g = 1;	/* limit in 4 KiB units */
}

int kg_vcpu_restart(struct kg_vcpu *vcpu)
{
	struct kvm_regs regs;

	memset(&regs, 0, sizeof(regs));
	regs.rip = KG_CODE_GPA;
	regs.rflags = KG_RFLAGS_FIXED;
	return kg_ioctl(vcpu->fd, KVM_SET_REGS, &regs);
}

static int kg_vcpu_enter_flat_mode(struct kg_vcpu *vcpu)
{
	struct kvm_sregs sregs;
	int ret;

	ret = kg_ioctl(vcpu->fd, KVM_GET_SREGS, &sregs);
	if (ret < 0)
		return ret;
	/* The segment caches are loaded directly: no GDT is needed. */
	kg_flat_segment(&sregs.cs, 0x08, 0xb);	/* execute/read, accessed */
	kg_flat_segment(&sregs.ds, 0x10, 0x3);	/* read/write, accessed */
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	sregs.cr0 = KG_CR0_PE | KG_CR0_MP | KG_CR0_ET;
	sregs.cr4 = KG_CR4_OSFXSR;
	sregs.efer = 0;
	ret = kg_ioctl(vcpu->fd, KVM_SET_SREGS, &sregs);
	if (ret < 0)
		return ret;
	return kg_vcpu_restart(vcpu);
}

/*
 * Find "insn_emulation" in the binary stats: a header, then descriptors
 * of sizeof(struct kvm_stats_desc) + name_size bytes each, then the data.
 */
static int kg_vcpu_find_insn_emulation(struct kg_vcpu *vcpu)
{
	struct kvm_stats_header hdr;
	struct kvm_stats_desc *desc;
	size_t desc_size;
	uint32_t i;
	char *descs;
	int ret = -EOPNOTSUPP;

	if (pread(vcpu->stats_fd, &hdr, sizeof(hdr), 0) != sizeof(hdr))
		return -EIO;
	desc_size = sizeof(*desc) + hdr.name_size;
	descs = calloc(hdr.num_desc, desc_size);
	if (!descs)
		return -ENOMEM;
	if (pread(vcpu->stats_fd, descs, hdr.num_desc * desc_size,
		  hdr.desc_offset) != (ssize_t)(hdr.num_desc * desc_size)) {
		ret = -EIO;
		goto out;
	}
	for (i = 0; i < hdr.num_desc; i++) {
		desc = (struct kvm_stats_desc *)(descs + i * desc_size);
		if (strncmp(desc->name, "insn_emulation", hdr.name_size) == 0 &&
		    desc->size == 1) {
			vcpu->insn_emulation_off = hdr.data_offset + desc->offset;
			ret = 0;
			break;
		}
	}
out:
	free(descs);
	return ret;
}

int kg_vcpu_create(struct kg_vm *vm, struct kg_vcpu *vcpu)
{
	int run_size, ret;

	vcpu->vm = vm;
	vcpu->run = MAP_FAILED;
	vcpu->stats_fd = -1;
	vcpu->insn_emulation_off = -1;
	vcpu->fd = kg_ioctl(vm->vm_fd, KVM_CREATE_VCPU, (void *)0);
	if (vcpu->fd < 0)
		return vcpu->fd;
	run_size = kg_ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (run_size < 0) {
		ret = run_size;
		goto err;
	}
	vcpu->run_size = run_size;
	vcpu->run = mmap(NULL, vcpu->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		ret = -errno;
		goto err;
	}
	ret = kg_vcpu_enter_flat_mode(vcpu);
	if (ret)
		goto err;

	/* Statistics are optional: kg_vcpu_insn_emulation() says so. */
	if (kg_ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
		     (void *)KVM_CAP_BINARY_STATS_FD) > 0) {
		vcpu->stats_fd = kg_ioctl(vcpu->fd, KVM_GET_STATS_FD, NULL);
		if (vcpu->stats_fd >= 0 && kg_vcpu_find_insn_emulation(vcpu))
			kg_close(&vcpu->stats_fd);
	}
	return 0;

err:
	kg_vcpu_destroy(vcpu);
	return ret;
}

void kg_vcpu_destroy(struct kg_vcpu *vcpu)
{
	kg_close(&vcpu->stats_fd);
	vcpu->run = kg_unmap(vcpu->run, vcpu->run_size);
	kg_close(&vcpu->fd);
}

int kg_vcpu_insn_emulation(struct kg_vcpu *vcpu, uint64_t *count)
{
	if (vcpu->stats_fd < 0)
		return -EOPNOTSUPP;
	if (pread(vcpu->stats_fd, count, sizeof(*count),
		  vcpu->insn_emulation_off) != sizeof(*count))
		return -EIO;
	return 0;
}

static void kg_decode_io(const struct kvm_run *run, struct kg_exit *exit)
{
	const uint8_t *data = (const uint8_t *)run + run->io.data_offset;
	uint32_t value = 0;

	exit->port = run->io.port;
	exit->io_write = run->io.direction == KVM_EXIT_IO_OUT;
	memcpy(&value, data, run->io.size < sizeof(value) ? run->io.size : sizeof(value));
	exit->value = value;
	if (exit->io_write && exit->port == KG_PORT_DONE)
		exit->kind = KG_EXIT_DONE;
	else if (exit->io_write && exit->port == KG_PORT_BAD_COMMAND)
		exit->kind = KG_EXIT_BAD_COMMAND;
	else
		exit->kind = KG_EXIT_IO;
}

int kg_vcpu_run(struct kg_vcpu *vcpu, struct kg_exit *exit)
{
	struct kvm_run *run = vcpu->run;
	int ret;

	memset(exit, 0, sizeof(*exit));
	do {
		ret = ioctl(vcpu->fd, KVM_RUN, NULL);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0) {
		exit->kind = KG_EXIT_RUN_ERROR;
		exit->err = errno;
		return 0;
	}

	exit->reason = run->exit_reason;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		kg_decode_io(run, exit);
		break;
	case KVM_EXIT_MMIO:
		exit->kind = KG_EXIT_MMIO;
		exit->gpa = run->mmio.phys_addr;
		exit->len = run->mmio.len;
		exit->mmio_write = run->mmio.is_write;
		memcpy(exit->data, run->mmio.data, sizeof(exit->data));
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		exit->kind = KG_EXIT_INTERNAL_ERROR;
		exit->suberror = run->internal.suberror;
		break;
	default:
		exit->kind = KG_EXIT_OTHER;
		break;
	}
	return 0;
}

void kg_vcpu_mmio_reply(struct kg_vcpu *vcpu, const void *data, uint32_t len)
{
	if (len > sizeof(vcpu->run->mmio.data))
		len = sizeof(vcpu->run->mmio.data);
	memcpy(vcpu->run->mmio.data, data, len);
}

int kg_guest_command(struct kg_vcpu *vcpu, enum kg_cmd cmd, uint64_t gpa,
		     uint32_t value, struct kg_exit *exit)
{
	uint32_t *mailbox = (uint32_t *)((char *)vcpu->vm->ram + KG_MAILBOX_GPA);

	if (gpa > UINT32_MAX)
		return -EINVAL;
	switch (cmd) {
	case KG_CMD_TOUCH_PAGES:
		if (value % KG_GUEST_PAGE)
			return -EINVAL;
		/* fall through */
	case KG_CMD_READ_RANGE:
	case KG_CMD_WRITE_RANGE:
		/* The guest compares 32-bit addresses: the end must fit. */
		if (value % 4 || gpa + value > UINT32_MAX)
			return -EINVAL;
		break;
	default:
		break;
	}
	mailbox[KG_MB_ADDR / 4] = (uint32_t)gpa;
	mailbox[KG_MB_VALUE / 4] = value;
	mailbox[KG_MB_RESULT / 4] = 0;
	mailbox[KG_MB_CMD / 4] = cmd;
	return kg_vcpu_run(vcpu, exit);
}

const char *kg_exit_name(enum kg_exit_kind kind)
{
	switch (kind) {
	case KG_EXIT_DONE:
		return "done";
	case KG_EXIT_BAD_COMMAND:
		return "bad command";
	case KG_EXIT_IO:
		return "port I/O";
	case KG_EXIT_MMIO:
		return "MMIO";
	case KG_EXIT_INTERNAL_ERROR:
		return "internal error";
	case KG_EXIT_RUN_ERROR:
		return "KVM_RUN error";
	case KG_EXIT_OTHER:
		return "other exit";
	}
	return "?";
}

int kg_stat(int fd, const char *name, uint64_t *value)
{
	struct kvm_stats_header hdr;
	struct kvm_stats_desc *desc;
	int stats_fd, ret = -EOPNOTSUPP;
	char *descs = NULL;
	size_t desc_size;
	uint32_t i;

	stats_fd = kg_ioctl(fd, KVM_GET_STATS_FD, NULL);
	if (stats_fd < 0)
		return stats_fd == -ENOTTY || stats_fd == -EINVAL ? -EOPNOTSUPP : stats_fd;
	if (pread(stats_fd, &hdr, sizeof(hdr), 0) != sizeof(hdr)) {
		ret = -EIO;
		goto out;
	}
	desc_size = sizeof(*desc) + hdr.name_size;
	descs = calloc(hdr.num_desc, desc_size);
	if (!descs) {
		ret = -ENOMEM;
		goto out;
	}
	if (pread(stats_fd, descs, hdr.num_desc * desc_size, hdr.desc_offset) !=
	    (ssize_t)(hdr.num_desc * desc_size)) {
		ret = -EIO;
		goto out;
	}
	for (i = 0; i < hdr.num_desc; i++) {
		desc = (struct kvm_stats_desc *)(descs + i * desc_size);
		if (strncmp(desc->name, name, hdr.name_size) || desc->size != 1)
			continue;
		ret = pread(stats_fd, value, sizeof(*value),
			    hdr.data_offset + desc->offset) == sizeof(*value) ? 0 : -EIO;
		break;
	}
out:
	free(descs);
	close(stats_fd);
	return ret;
}
