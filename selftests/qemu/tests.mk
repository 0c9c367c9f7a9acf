# SPDX-License-Identifier: GPL-2.0
# QEMU's vhost-user-vshm-pci (integrations/qemu): built by `make qemu` here,
# run by scripts/check-qemu in the VM with the QEMU from scripts/qemu-build.
# qemu_qtest_test drives QEMU over qtest; qemu_guest_test boots a Linux
# guest whose initramfs (make-initramfs) holds qemu_guest, a static program
# without libvshm or sanitizers.
QEMU_TESTS := qemu/qemu_qtest_test qemu/qemu_guest_test
$(foreach t,$(QEMU_TESTS),$(eval $(t)_LDLIBS := $(LIBVSHM_A)))
$(foreach t,$(QEMU_TESTS),$(eval $(t)_DEPS := $(LIBVSHM_A) qemu/qemu_util.h))

QEMU_GUEST := $(SDIR)/qemu/qemu_guest
qemu: $(QEMU_GUEST)
$(QEMU_GUEST): qemu/qemu_guest.c
	@mkdir -p $(dir $@)
	$(CC) -static -O2 -g -std=gnu11 $(VSHM_WARNINGS) -D_GNU_SOURCE $< -o $@
