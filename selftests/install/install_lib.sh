# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the install tests (sourced, as
# `. "$(dirname "$0")/install_lib.sh"`): TAP results
# (tap.sh), the files `make install` puts in place, systemd's system call
# groups, VM runs, and the checks of an installed kselftest tree.

. "$(dirname "${BASH_SOURCE[0]}")/../common/tap.sh"
. "$top/scripts/lib.sh"
export BUILD=${BUILD:-$top/build}

# The release of the kernel in KDIR, as kbuild installs modules for it.
kernel_release() {
	sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$1/include/generated/utsrelease.h"
}

# expected_files PREFIX LIBDIR MODULESLOADDIR KVER: every file of an install
# (after it: the HTML list comes from the build).
expected_files() {
	local p=$1 l=$2 m=$3 k=$4 h version
	version=$(cat "$top/VERSION")
	echo "/lib/modules/$k/extra/vshm.ko"
	echo "$p/sbin/vshmd"
	echo "$p/bin/vshmctl"
	echo "$l/libvshm.a"
	echo "$l/libvshm.so"
	echo "$l/libvshm.so.${version%%.*}"
	echo "$l/libvshm.so.$version"
	echo "$l/pkgconfig/libvshm.pc"
	for h in "$top"/include/vshm/*.h; do echo "$p/include/vshm/$(basename "$h")"; done
	echo "$p/include/vshm/version.h"
	echo "$p/include/vshm/vshm.h"
	echo "$p/include/libvshm.h"
	echo "$p/include/linux/vshm.h"
	for h in "$top"/userspace/lib/man/*.3; do echo "$p/share/man/man3/$(basename "$h")"; done
	echo "$p/share/man/man8/vshmd.8"
	echo "$p/share/man/man8/vshmctl.8"
	# The HTML documentation, as Sphinx built it (its theme's files vary).
	(cd "$BUILD/out/docs/html" && find . ! -type d ! -name .buildinfo) |
		sed "s|^\.|$p/share/doc/vshm/html|"
	echo "$p/lib/udev/rules.d/60-vshm.rules"
	echo "$p/lib/systemd/system/vshmd@.service"
	echo "$p/lib/systemd/system/vshmd@.socket"
	echo "$m/vshm.conf"
}

# The system calls of a systemd group (@name), nested groups expanded.
syscall_group() {
	systemd-analyze syscall-filter "$1" | sed -n '2,$p' | sed 's/^ *//' |
	while read -r s; do
		case "$s" in
		''|'#'*) ;;
		@*) syscall_group "$s" ;;
		*) echo "$s" ;;
		esac
	done
}

# A field of the installed unit file: unit_field FILE KEY (last value).
unit_field() {
	sed -n "s/^$2=//p" "$1" | tail -n 1
}

# vshmd_wrapper PATH VSHMD ARGS...: a script at PATH that runs VSHMD with the
# arguments it is given, then ARGS: what the demo's VMM starts as $VSHMD.
vshmd_wrapper() {
	local path=$1 vshmd=$2
	shift 2
	printf '#!/bin/sh\nexec "%s" "$@" %s\n' "$vshmd" "$*" >"$path"
	chmod +x "$path"
}

# The host half of a test whose checks run in a VM (scripts/vm-run), by a
# guest script that prints TAP; the guest's results are the test's.
#
# vm_test_start NAME: work=$BUILD/NAME, emptied; out=$work/vm.log holds the
# build steps' and the VM's output.
# The test needs root (make check runs as root).
vm_test_start() {
	work=$BUILD/$1
	rm -rf "$work"
	mkdir -p "$work"
	out=$work/vm.log
	rm -f "$log"
	log=$out
	[ "$(id -u)" -eq 0 ] || { echo "# needs root (make check runs as root)"; exit 4; }
}

# vm_test_fail WHAT: the whole test as one failure, with the end of $out.
vm_test_fail() {
	tap_plan 1
	echo "not ok 1 $1"
	sed 's/^/#   /' "$out" | tail -n 30
	echo "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0"
	exit 1
}

# vm_test_report RC: the guest's TAP lines out of the console output in
# $out; a guest that did not finish is one failure.  RC: vm-run's status.
vm_test_report() {
	sed -n '/^TAP version 13/,/^# Totals:/p' "$out" | tr -d '\r'
	grep -q '^# Totals:' "$out" || vm_test_fail "the guest script did not finish (vm-run exit $1)"
}

# vm_test_run VM-RUN-ARGS...: boot the VM (output in $out), print the
# guest's TAP lines and exit with vm-run's status.
vm_test_run() {
	local rc
	vm_run "$@" >"$out" 2>&1
	rc=$?
	vm_test_report $rc
	[ $rc -eq 0 ] || [ $rc -eq 1 ] ||
		echo "# vm-run exit status $rc (kernel log errors or a hung guest)"
	exit $rc
}

# vm_run ARGS...: scripts/vm-run ARGS; under flock $VSHM_VM_LOCK if it is
# set, which serializes VM boots with others.
vm_run() {
	if [ -n "${VSHM_VM_LOCK:-}" ]; then
		flock "$VSHM_VM_LOCK" scripts/vm-run "$@"
	else
		scripts/vm-run "$@"
	fi
}

# An installed kselftest tree ($BUILD/NAME), as the kernel's runner sees it.
#
# ksft_tree NAME: tree=$BUILD/NAME, emptied now and removed on exit.
ksft_tree() {
	tree=$BUILD/$1
	rm -rf "$tree"
	trap 'rm -rf "$tree"' EXIT
}

# ksft_runner_check UNKNOWN: run_kselftest.sh -l lists exactly
# kselftest-list.txt, and -t UNKNOWN is refused.
ksft_runner_check() {
	local rc
	"$tree/run_kselftest.sh" -l >"$log.list" 2>"$log" &&
		diff -u "$tree/kselftest-list.txt" "$log.list" >>"$log"
	rc=$?
	rm -f "$log.list"
	"$tree/run_kselftest.sh" -t "$1" >>"$log" 2>&1 && rc=1
	return $rc
}

# ksft_vm_run ARGS...: in a VM with vshm.ko, run_kselftest.sh ARGS
# (VSHM_KO: the load test unloads and reloads the module); its output,
# without CRs, in $log.  Returns vm-run's status.  The boot sets up
# vshm_perm_test's tracer, as `make check`'s does (vm_suite_append): set
# up at run time it patches kernel text, which hung TCG here twice.
ksft_vm_run() {
	local rc
	vm_run --timeout 900 --append "$vm_suite_append" --module "$BUILD/kmod/vshm.ko" -- \
		env VSHM_KO="$BUILD/kmod/vshm.ko" "$tree/run_kselftest.sh" "$@" >"$log" 2>&1
	rc=$?
	tr -d '\r' <"$log" >"$log.vm" && mv "$log.vm" "$log"
	return $rc
}

# tap_ok N [COLLECTION]: the runner's output in $log has TAP plans (one a
# collection) for N programs in all, N "ok" lines (of COLLECTION's
# programs, if given) and no "not ok".
tap_ok() {
	[ "$(awk -F'[.][.]' '/^1[.][.][0-9]+$/ { n += $2 } END { print n + 0 }' "$log")" -eq "$1" ] &&
		[ "$(grep -c "^ok [0-9]* selftests: ${2:+$2: }" "$log")" -eq "$1" ] &&
		! grep -q '^not ok' "$log"
}

# kmod_skips: how many drivers/vshm programs in $log skipped as a whole,
# one more if a program found no /dev/vshm.
kmod_skips() {
	local s
	s=$(grep -c '^ok [0-9]* selftests: drivers/vshm: .* # SKIP' "$log")
	grep -q '/dev/vshm is missing' "$log" && s=$((s + 1))
	echo "$s"
}
