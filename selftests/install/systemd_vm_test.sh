#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vshmd's units under a real systemd: boots the VM (scripts/vm-run), where
# systemd_vm_guest.sh starts systemd as PID 1 of a PID namespace with
# vshmd@.socket and vshmd@.service from packaging/systemd.  Proves socket
# activation, Type=notify (READY=1, STATUS=), journal priorities, one
# broker per socket and the socket's removal when its unit stops.

set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
export BUILD=${BUILD:-$top/build}
work=$BUILD/systemd-vm
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
[ -x /lib/systemd/systemd ] || {
	echo "# /lib/systemd/systemd missing (Debian package systemd, scripts/install-deps)"; exit 4; }
make -s kmod userspace >"$out" 2>&1 || fail_all "the module and userspace builds"

scripts/vm-run --timeout 900 --module build/kmod/vshm.ko -- \
	env BUILD="$BUILD" selftests/install/systemd_vm_guest.sh "$work" >"$out" 2>&1
rc=$?
sed -n '/^TAP version 13/,/^# Totals:/p' "$out" | tr -d '\r'
grep -q '^# Totals:' "$out" || fail_all "the guest script did not finish (vm-run exit $rc)"
exit $rc
