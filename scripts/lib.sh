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
