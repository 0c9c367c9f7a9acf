# SPDX-License-Identifier: GPL-2.0
# Sourced by the scripts that run suites (check, check-matrix, soak, .ci/run
# and the like): the step banner and the closing "N passed, N failed" line.
#
# Result files hold one "passed failed skipped" triple per line
# (scripts/run-selftests --results appends them).

# A banner between the steps of a run.
step() { printf '\n==== %s ====\n' "$*"; }

# Seconds since the epoch, for timing steps.
now() { date +%s; }

# Print "passed failed skipped" added up over the result files given.
sum_results() {
	cat "$@" 2>/dev/null | awk '{p += $1; f += $2; s += $3} END {print p + 0, f + 0, s + 0}'
}

# The closing line for PASSED FAILED SKIPPED: ", N skipped" only when any.
closing_line() {
	if [ "$3" -gt 0 ]; then
		echo "$1 passed, $2 failed, $3 skipped"
	else
		echo "$1 passed, $2 failed"
	fi
}

# Count a step as one pass or one failure in RESULT_FILE: record_step
# RESULT_FILE NAME COMMAND... runs COMMAND and prints ok/not ok NAME.
record_step() {
	local file=$1 name=$2
	shift 2
	if "$@"; then
		echo "ok - $name"
		echo "1 0 0" >>"$file"
	else
		echo "not ok - $name"
		echo "0 1 0" >>"$file"
	fi
}

# A vm-run that exited non-zero while its programs reported no failure
# (a hung or crashed guest, kernel log errors) counts as one failure in
# RESULT_FILE: vm_status_check RESULT_FILE STATUS WHAT.
vm_status_check() {
	local file=$1 status=$2 what=$3 failed=0
	[ "$status" -eq 0 ] && return 0
	[ -f "$file" ] && read -r _ failed _ < <(sum_results "$file")
	if [ "$failed" -eq 0 ]; then
		echo "not ok - $what: vm-run exited with status $status (hung guest, crash or kernel log errors)"
		echo "0 1 0" >>"$file"
	fi
}

# Print the closing line for every result file in DIR and return non-zero
# if anything failed.
finish() {
	local passed failed skipped
	read -r passed failed skipped < <(sum_results "$1"/*)
	closing_line "$passed" "$failed" "$skipped"
	[ "$failed" -eq 0 ]
}

# The kernel command line of the boots that run the module suites: the
# function tracer on security_mmap_file from boot, for vshm_perm_test.  Set
# up at run time, it patches kernel text while the other vCPUs run, and
# QEMU's multi-threaded TCG once hung on that (a soft lockup in the test);
# at boot nothing else runs yet, and the test then only turns tracing on
# and off, which patches nothing.
vm_suite_append="ftrace=function ftrace_filter=security_mmap_file"

# kvm_keeper_in_vm FILE: a shell snippet for a VM command that runs several
# KVM programs one after another: it starts scripts/kvm-keeper (output to
# FILE) where /dev/kvm exists and waits until its VM is open, so that the
# scheduler is patched once, before the first program (see kvm-keeper).
# The snippet fails if the keeper cannot open its VM; the VM's poweroff
# ends the keeper.
kvm_keeper_in_vm() {
	printf '%s' "{ rm -f $1; if [ -c /dev/kvm ]; then
		{ $PWD/scripts/kvm-keeper >$1 & }
		for i in \$(seq 300); do grep -q ready $1 && break; sleep 1; done
		grep -q ready $1; fi; }"
}
