# SPDX-License-Identifier: GPL-2.0
#
# vshm: VIRTIO Shared Memory Regions for vhost-user VMMs.
# This Makefile only delegates; each part has its own.

include Makefile.common

KDIR ?= $(shell scripts/find-kdir)
export KDIR BUILD

.PHONY: all kmod userspace selftests check check-qemu check-matrix check-debug check-packages deb demo bench soak clean deps checkpatch help docs
.PHONY: install uninstall dkms-install dkms-uninstall

all: kmod userspace

help:
	@echo "targets: all kmod userspace selftests check check-qemu check-matrix check-debug check-packages deb demo bench soak"
	@echo "         docs clean deps checkpatch"
	@echo "         install uninstall dkms-install dkms-uninstall (DESTDIR, PREFIX, VSHM_GROUP)"
	@echo "KDIR=$(KDIR)"

deps:
	scripts/install-deps

kmod:
	$(MAKE) -C kmod

userspace:
	$(MAKE) -C userspace

# The module, vshmd, vshmctl, libvshm, udev rule, modules-load.d, unit,
# the HTML documentation.  DESTDIR, PREFIX (/usr/local) and the *DIR
# variables of each part; VSHM_GROUP (kvm) owns /dev/vshm.  See
# Documentation/install.rst.
install uninstall:
	$(MAKE) -C kmod $@
	$(MAKE) -C userspace $@
	$(MAKE) -C packaging $@
	$(MAKE) -C Documentation $@

# Documentation/*.rst as HTML in $(BUILD)/out/docs/html (Sphinx; warnings
# are errors).
docs:
	$(MAKE) -C Documentation

# The module's sources under /usr/src/vshm-$(cat VERSION), with `dkms add`.
dkms-install dkms-uninstall:
	$(MAKE) -C packaging $@

selftests: kmod userspace
	$(MAKE) -C selftests

# Every test: native suites (with ASan+UBSan), then the in-VM kselftests.
check:
	scripts/check

# QEMU with vshm's integration (scripts/qemu-build, cached in
# ${VSHM_CACHE:-/var/cache/vshm}/qemu), in the VM: driven over qtest (make
# check runs that part), then booting a Linux guest.
check-qemu:
	scripts/check-qemu

# The module on every supported kernel (6.1, 6.12, 7.3): W=1 build and the
# in-VM selftests on each.  Caches a trixie chroot in $(BUILD)/matrix.
check-matrix:
	scripts/check-matrix

# The module suites, stress, chaos and KVM tests under a debug kernel
# (KASAN, lockdep, DEBUG_VM, ...) built once per machine and cached in
# ${VSHM_CACHE:-/var/cache/vshm}/debug-kernel.  See Documentation/testing.rst.
check-debug:
	scripts/check-debug

# The Debian packages (debian/), built in a copy of the tree: the .debs
# land in $(BUILD)/deb; lintian checks them.  See Documentation/install.rst.
deb:
	scripts/deb

# The packages installed on a clean trixie root (the check-matrix chroot
# under an overlay): DKMS, udev, the unit, pkg-config, purge.
check-packages:
	scripts/check-packages

demo:
	scripts/demo

bench:
	scripts/bench

# The long form of the robustness runs (VSHM_SOAK_SECONDS, default 600).
soak:
	scripts/soak

# checkpatch --strict, W=1 and kernel-doc on the module (also in `make check`).
checkpatch:
	selftests/static/static_checks.sh

# Also removes the check-matrix cache ($(BUILD)/matrix: the trixie chroot
# and its kernels, about 1.5 GB, fetched again by the next check-matrix).
clean:
	$(MAKE) -C kmod clean
	$(MAKE) -C userspace clean
	$(MAKE) -C selftests clean
	$(MAKE) -C Documentation clean
	rm -rf $(BUILD)
