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
export BUILD=${BUILD:-$top/build}
work=$BUILD/install-vm
rm -rf "$work"
mkdir -p "$work"
out=$work/vm.log

fail_all() {
	echo "TAP version 13"
	echo "1..1"
	echo "not ok 1 $1"
	sed 's/^/#   /' "$out" | tail -n 30
	echo "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0"
	exit 1
}

[ "$(id -u)" -eq 0 ] || { echo "# needs root (make check runs as root)"; exit 4; }
{
	make -s install DESTDIR="$work/root" &&
	make -s -C packaging install DESTDIR="$work/root-nogroup" VSHM_GROUP=nogroup &&
	cc -O2 -Wall -Wextra -Werror selftests/install/sandbox_exec.c \
		-o "$work/sandbox_exec" -lseccomp
} >"$out" 2>&1 || fail_all "make install DESTDIR=... and the sandbox helper build"

scripts/vm-run --timeout 900 -- env BUILD="$BUILD" selftests/install/install_vm_guest.sh "$work" >"$out" 2>&1
rc=$?
# The guest's lines, without the console noise around them.
sed -n '/^TAP version 13/,/^# Totals:/p' "$out" | tr -d '\r'
grep -q '^# Totals:' "$out" || fail_all "the guest script did not finish (vm-run exit $rc)"
[ $rc -eq 0 ] || { [ $rc -ne 1 ] && echo "# vm-run exit status $rc (kernel log errors or a hung guest)"; }
exit $rc
