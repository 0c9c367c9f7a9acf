#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Proves scripts/vm-run does its job: the command's exit status comes back,
# --add files reach the guest, a kernel WARNING fails a run whose command
# succeeded (and the WARNING line is shown), and --timeout kills a hung
# guest.  Each case boots its own VM.

set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
vm_run=$top/scripts/vm-run
warn_ko=${BUILD:-$top/build}/out/kmod-warn/vshm_selftest_warn.ko
. "$top/selftests/common/tap.sh"
added=$(mktemp /tmp/vm-run-test.XXXXXX)
trap 'rm -f "$added"' EXIT

tap_plan 5

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

totals
