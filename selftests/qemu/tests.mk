# SPDX-License-Identifier: GPL-2.0
# QEMU's vhost-user-vshm-pci (integrations/qemu): built by `make qemu` here,
# run by scripts/check-qemu in the VM with the QEMU from scripts/qemu-build.
QEMU_TESTS := qemu/qemu_qtest_test
$(foreach t,$(QEMU_TESTS),$(eval $(t)_LDLIBS := $(LIBVSHM_A)))
$(foreach t,$(QEMU_TESTS),$(eval $(t)_DEPS := $(LIBVSHM_A) qemu/qemu_util.h))
