#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Proves that the module suites are drop-in ready for a kernel tree, as a
# kernel CI system (KernelCI, LKFT) builds them:
#  - in the kselftest part of Debian's linux-source-6.1
#    (scripts/kselftest-export, in $BUILD/kselftest-dropin), `make -C
#    selftests dropin` fills tools/testing/selftests/drivers/vshm, and the
#    kernel's own `make -C tools/testing/selftests TARGETS=drivers/vshm
#    install` builds it with lib.mk, with no compiler warning;
#  - the installed tree is the kernel's: run_kselftest.sh, kselftest/,
#    kselftest-list.txt naming exactly selftests/kmod's VM_TESTS as
#    drivers/vshm:NAME, each installed, with `settings` and `config`;
#  - that tree's run_kselftest.sh lists them and refuses an unknown test;
#  - in a VM with vshm.ko, the INSTALLED run_kselftest.sh runs module
#    suites, each passing, none skipped as a whole.
# VSHM_VM_LOCK=FILE serializes the VM boot with others (flock FILE).

set -u
. "$(dirname "$0")/install_lib.sh"

ksrc=$BUILD/kselftest-dropin
ksft_tree kselftest-dropin-install

tap_plan 5

# 1. the drop-in, built by the kernel's Makefile and lib.mk
{
	{ [ -f "$BUILD/kmod/vshm.ko" ] || make -s kmod; } &&
	scripts/kselftest-export "$ksrc" &&
	make -s -C selftests dropin DROPIN_PATH="$ksrc/tools/testing/selftests/drivers/vshm" &&
	make -C "$ksrc/tools/testing/selftests" TARGETS=drivers/vshm \
		KSFT_INSTALL_PATH="$tree" install
} >"$log" 2>&1
rc=$?
grep -i 'warning:' "$log" >"$log.warn" && { cat "$log.warn" >>"$log"; rc=1; }
rm -f "$log.warn"
check $rc "the kernel's 'make -C tools/testing/selftests TARGETS=drivers/vshm install' builds the drop-in, no warning"

# 2. the installed tree
: >"$log"
for f in run_kselftest.sh kselftest/runner.sh kselftest/prefix.pl kselftest/module.sh \
	kselftest-list.txt drivers/vshm/settings drivers/vshm/config; do
	[ -s "$tree/$f" ] || echo "missing: $f" >>"$log"
done
grep -q '^timeout=[0-9]\+$' "$tree/drivers/vshm/settings" 2>/dev/null ||
	echo "settings: no timeout" >>"$log"
grep -q '^CONFIG_' "$tree/drivers/vshm/config" 2>/dev/null || echo "config: no option" >>"$log"
# A program added to tests.mk but not built by the drop-in (or the reverse)
# fails here.
diff <(sed -n 's|^VM_TESTS += kmod/|drivers/vshm:|p' selftests/kmod/tests.mk | sort) \
	<(sort "$tree/kselftest-list.txt") >>"$log" ||
	echo "kselftest-list.txt differs from selftests/kmod/tests.mk's VM_TESTS" >>"$log"
while IFS=: read -r c t; do
	[ -x "$tree/$c/$t" ] || echo "not installed: $c/$t" >>"$log"
done <"$tree/kselftest-list.txt"
[ ! -s "$log" ]
check $? "the installed tree: the kernel's runner, kselftest-list.txt = kmod's VM_TESTS ($(wc -l <"$tree/kselftest-list.txt" 2>/dev/null) programs), settings, config"

# 3. the runner's view of it
ksft_runner_check drivers/vshm:no_such_test
check $? "run_kselftest.sh -l lists the tree; an unknown test is refused"

# 4-5. in the VM, the installed runner (VSHM_KO: the load test unloads and
# reloads the module)
vm_tests=(vshm_load_test vshm_ioctl_test vshm_perm_test vshm_vmops_test vshm_copy_test)
args=()
for t in "${vm_tests[@]}"; do args+=(-t "drivers/vshm:$t"); done
ksft_vm_run "${args[@]}"
rc=$?
[ $rc -eq 0 ] && tap_ok ${#vm_tests[@]} drivers/vshm
check $? "in the VM: the installed run_kselftest.sh runs ${#vm_tests[@]} drivers/vshm programs, all pass (vm-run exit $rc)"
skips=$(kmod_skips)
[ "$skips" -eq 0 ]
check $? "in the VM: none of them skips as a whole ($skips did)"

totals
