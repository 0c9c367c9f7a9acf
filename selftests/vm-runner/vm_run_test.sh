#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Proves scripts/vm-run does its job: the command's exit status comes back,
# --add files reach the guest, a kernel WARNING fails a run whose command
# succeeded (and the WARNING line is shown), --timeout kills a hung
# guest, and scripts/kvm-keeper creates its KVM VM with the other vCPU
# offline, brings it back and stays.  Each case boots its own VM.

set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
vm_run=$top/scripts/vm-run
warn_ko=${BUILD:-$top/build}/out/kmod-warn/vshm_selftest_warn.ko
. "$top/selftests/common/tap.sh"
added=$(mktemp /tmp/vm-run-test.XXXXXX)
trap 'rm -f "$added"' EXIT

tap_plan 6

echo "payload $$" >"$added"
"$vm_run" --timeout 120 --add "$added" -- \
	sh -c 'grep -qx "payload '$$'" "$VSHM_VM_FILES/$(basename '"$added"')" && exit 7' >"$log" 2>&1
check $(( $? != 7 )) "the command's exit status and --add files come through"

"$vm_run" --timeout 120 -- true >"$log" 2>&1
check $? "a clean run of a passing command exits 0"

[ -f "$warn_ko" ] || { echo "# $warn_ko missing: run 'make -C selftests modules'"; }
"$vm_run" --timeout 120 --module "$warn_ko" -- true >"$log" 2>&1
rc=$?
check $(( rc != 126 )) "a WARNING in the kernel log fails a passing command (exit $rc, want 126)"
grep -q 'WARNING:.*vshm_selftest_warn' "$log"
check $? "the WARNING line is printed"

start=$(date +%s)
"$vm_run" --timeout 30 -- sleep 600 >"$log" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
check $(( rc != 124 || took > 90 )) "--timeout kills a hung guest (exit $rc after ${took}s, want 124)"

# The guest exits 7 once all holds; 11-14 say which part did not.
"$vm_run" --timeout 300 --kmod kvm_amd -- sh -c '
	"'"$top"'/scripts/kvm-keeper" >/tmp/keeper.out 2>&1 &
	keeper=$!
	for i in $(seq 120); do grep -qx ready /tmp/keeper.out && break; sleep 1; done
	grep -qx ready /tmp/keeper.out || { cat /tmp/keeper.out; exit 11; }
	dmesg | grep -q "CPU 1 is now offline" || exit 12
	[ "$(cat /sys/devices/system/cpu/online)" = 0-1 ] || exit 13
	kill -0 $keeper || exit 14
	exit 7' >"$log" 2>&1
rc=$?
check $(( rc != 7 )) "kvm-keeper creates its VM with vCPU 1 offline, brings it back online and stays (exit $rc, want 7)"

totals
