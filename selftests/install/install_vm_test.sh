#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The in-VM half of the install tests (boots one VM with scripts/vm-run).
# On the host: `make install DESTDIR=$BUILD/install-vm/root` and the
# sandbox_exec helper.  In the VM, install_vm_guest.sh starts
# systemd-udevd with the installed 60-vshm.rules, insmods the installed
# vshm.ko, and checks /dev/vshm, vshmd as a non-root member of the kvm
# group serving the demo, and vshmd run as vshmd@.service specifies.
# Its TAP output and totals are this test's.

set -u
. "$(dirname "$0")/install_lib.sh"
vm_test_start install-vm

{
	make -s install DESTDIR="$work/root" &&
	make -s -C packaging install DESTDIR="$work/root-nogroup" VSHM_GROUP=nogroup &&
	cc -O2 -Wall -Wextra -Werror selftests/install/sandbox_exec.c \
		-o "$work/sandbox_exec" -lseccomp
} >"$out" 2>&1 || vm_test_fail "make install DESTDIR=... and the sandbox helper build"

vm_test_run --timeout 900 -- env BUILD="$BUILD" selftests/install/install_vm_guest.sh "$work"
