# SPDX-License-Identifier: GPL-2.0
# TAP results for the shell-script selftests (sourced, as
# `. "$(dirname "$0")/../common/tap.sh"`).  Sourcing it sets $top, the top
# of the tree, and makes it the working directory.  Each check's output
# goes to $log; a failing check shows the log's tail.  End the script with
# `totals`, whose "# Totals:" line scripts/run-selftests reads.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top" || exit 1

n=0 pass=0 fail=0 skip=0
log=$(mktemp /tmp/vshm-selftest-log.XXXXXX)

# tap_plan N: the TAP header of a script that runs N checks.
tap_plan() {
	echo "TAP version 13"
	echo "1..$1"
}

# tap_workdir NAME: work=a new directory under /tmp, removed on exit.
tap_workdir() {
	work=$(mktemp -d "/tmp/vshm-$1.XXXXXX")
	trap 'rm -rf "$work"' EXIT
}

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
