#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Proves that `make -C selftests install INSTALL_PATH=DIR` makes a kselftest
# tree that the kernel's own runner runs, as a kernel CI system would:
#  - the tree has the kernel's run_kselftest.sh and kselftest/ runner,
#    kselftest-list.txt naming every program it holds (COLLECTION:TEST),
#    and a `settings` with a timeout and a `config` in each collection;
#    every program of NATIVE_TESTS and VM_TESTS is there;
#  - `run_kselftest.sh -l` lists them, and an unknown test is refused;
#  - natively, `-c vshm/lib` runs that collection with TAP output, and a
#    broker suite runs the vshmd and vshmctl installed beside it;
#  - in a VM with vshm.ko loaded, the installed tree's run_kselftest.sh
#    runs module suites of drivers/vshm and the library's kmod region mode.
# The tree goes under $BUILD, which the VM sees (its /tmp is its own).
# VSHM_VM_LOCK=FILE serializes the VM boot with others (flock FILE).

set -u
. "$(dirname "$0")/install_lib.sh"

ksft_tree kselftest-install

tap_plan 7

{ [ -f "$BUILD/kmod/vshm.ko" ] || make -s kmod; } >"$log" 2>&1 &&
	make -s -C selftests install INSTALL_PATH="$tree" >>"$log" 2>&1
check $? "make -C selftests install INSTALL_PATH=DIR"

: >"$log"
for f in run_kselftest.sh kselftest/runner.sh kselftest/prefix.pl kselftest-list.txt; do
	[ -s "$tree/$f" ] || echo "missing: $f" >>"$log"
done
collections=$(cut -d: -f1 "$tree/kselftest-list.txt" | uniq)
for c in $collections; do
	grep -q '^timeout=[0-9]\+$' "$tree/$c/settings" || echo "$c/settings: no timeout" >>"$log"
	grep -q '^CONFIG_' "$tree/$c/config" || echo "$c/config: no option" >>"$log"
	# Every program there is listed, and every listed one is there.
	diff <(cd "$tree/$c" && printf '%s\n' ./*_test | sed "s|^\./|$c:|" | sort) \
		<(grep "^$c:" "$tree/kselftest-list.txt" | sort) >>"$log" ||
		echo "$c: programs and kselftest-list.txt differ" >>"$log"
done
echo "$collections" | grep -qx 'drivers/vshm' || echo "no drivers/vshm collection" >>"$log"
# Every program of NATIVE_TESTS and VM_TESTS is in the tree (a new suite
# directory without a collection in selftests/Makefile would be left out).
diff <(cat "$BUILD/out/selftests/native.list" "$BUILD/out/selftests/vm.list" |
	xargs -n 1 basename | sort -u) <(cut -d: -f2 "$tree/kselftest-list.txt" | sort -u) >>"$log" ||
	echo "NATIVE_TESTS and VM_TESTS differ from kselftest-list.txt" >>"$log"
[ ! -s "$log" ]
check $? "the tree: runner, list, settings and config of each collection ($(paste -sd' ' <<<"$collections"))"

ksft_runner_check vshm/lib:no_such_test
check $? "run_kselftest.sh -l lists $(wc -l <"$tree/kselftest-list.txt") tests; an unknown test is refused"

nlib=$(grep -c '^vshm/lib:' "$tree/kselftest-list.txt")
"$tree/run_kselftest.sh" -c vshm/lib >"$log" 2>&1
tap_ok "$nlib"
check $? "natively: run_kselftest.sh -c vshm/lib ($nlib programs, TAP)"

# The build tree's vshmd is not where the installed test would look for
# it ($tree/broker): it must find the one beside it.
"$tree/run_kselftest.sh" -t vshm/broker:broker_lifecycle_test >"$log" 2>&1
tap_ok 1
check $? "natively: a broker suite runs the installed vshmd and vshmctl"

# In the VM: the module suites need vshm.ko loaded (VSHM_KO: the load test
# unloads and reloads it).
ksft_vm_run -t drivers/vshm:vshm_load_test -t drivers/vshm:vshm_ioctl_test \
	-t drivers/vshm:vshm_copy_test -t vshm/lib:region_conformance_test
rc=$?
[ $rc -eq 0 ] && tap_ok 4
check $? "in the VM: run_kselftest.sh runs drivers/vshm and the kmod region mode (vm-run exit $rc)"
skips=$(kmod_skips)
[ "$skips" -eq 0 ]
check $? "in the VM: no drivers/vshm program skips as a whole ($skips did), the kmod region mode variants run"

totals
