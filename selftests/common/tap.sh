# SPDX-License-Identifier: GPL-2.0
# TAP results for the shell-script selftests (sourced).  Each check's
# output goes to $log; a failing check shows the log's tail.  End the
# script with `totals`, whose "# Totals:" line scripts/run-selftests reads.

n=0 pass=0 fail=0 skip=0
log=$(mktemp /tmp/vshm-selftest-log.XXXXXX)

# check STATUS DESCRIPTION: 0 passes; otherwise the log's tail is shown.
check() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"; pass=$((pass + 1))
	else
		echo "not ok $n $2"; fail=$((fail + 1))
		sed 's/^/#   /' "$log" | tail -n 25
	fi
}

# skip_test DESCRIPTION REASON
skip_test() {
	n=$((n + 1)); skip=$((skip + 1))
	echo "ok $n $1 # SKIP $2"
}

totals() {
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
	rm -f "$log"
	[ $fail -eq 0 ]
}
