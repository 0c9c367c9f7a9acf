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
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
. selftests/install/install_lib.sh
vm_test_start install-vm

[ "$(id -u)" -eq 0 ] || { echo "# needs root (make check runs as root)"; exit 4; }
{
	make -s install DESTDIR="$work/root" &&
	make -s -C packaging install DESTDIR="$work/root-nogroup" VSHM_GROUP=nogroup &&
	cc -O2 -Wall -Wextra -Werror selftests/install/sandbox_exec.c \
		-o "$work/sandbox_exec" -lseccomp
} >"$out" 2>&1 || vm_test_fail "make install DESTDIR=... and the sandbox helper build"

scripts/vm-run --timeout 900 -- env BUILD="$BUILD" selftests/install/install_vm_guest.sh "$work" >"$out" 2>&1
rc=$?
vm_test_report $rc
[ $rc -eq 0 ] || { [ $rc -ne 1 ] && echo "# vm-run exit status $rc (kernel log errors or a hung guest)"; }
exit $rc
