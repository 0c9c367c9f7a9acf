#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Proves that the kernel log checks of `make check-debug` catch what the
# debug kernel reports, so that a green debug run means something: a
# program that loads two test-only modules, one with an AB-BA lock order
# (lockdep) and one that reads past a kmalloc() object (KASAN), must fail
# under `scripts/run-selftests --kernel-log`, and `scripts/vm-run` must
# also flag the run.  One boot of the debug kernel.
#
# Needs the debug kernel (scripts/debug-kernel) and the test modules built
# against it: VSHM_DEBUG_KERNEL names its directory, VSHM_DEBUG_MODULES the
# directory holding vshm_selftest_{lockdep,kasan}.ko (scripts/check-debug
# sets both).

set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/common/tap.sh"

tap_plan 5

dk=${VSHM_DEBUG_KERNEL:-}
mods=${VSHM_DEBUG_MODULES:-}
if [ -z "$dk" ] || [ -z "$mods" ] || [ ! -f "$mods/vshm_selftest_lockdep.ko" ]; then
	for i in 1 2 3 4 5; do
		skip_test "log check case $i" "VSHM_DEBUG_KERNEL/VSHM_DEBUG_MODULES unset: run 'make check-debug'"
	done
	totals
	exit 4
fi

"$top/scripts/vm-run" --sysroot "$dk" --timeout 900 --append "${VSHM_DEBUG_APPEND:-no5lvl}" -- \
	env VSHM_LOAD_MODULES="$mods/vshm_selftest_lockdep.ko $mods/vshm_selftest_kasan.ko" \
	"$top/scripts/run-selftests" --kernel-log \
	"$top/selftests/debug-kernel/load_modules.sh" >"$log" 2>&1
rc=$?
check $(( rc != 1 )) "a program whose kernel log has reports fails the in-VM run (exit $rc, want 1)"
grep -q '^not ok - load_modules.sh: the kernel log shows errors' "$log"
check $? "run-selftests --kernel-log fails the program"
grep -qE '^#  .*possible circular locking dependency' "$log"
check $? "run-selftests shows the lockdep report"
grep -qE '^#  .*KASAN: slab-out-of-bounds' "$log"
check $? "run-selftests shows the KASAN report"
grep -qE '^    .*possible circular locking dependency' "$log" &&
	grep -qE '^    .*KASAN: slab-out-of-bounds' "$log"
check $? "vm-run's own log check shows both reports"

totals
