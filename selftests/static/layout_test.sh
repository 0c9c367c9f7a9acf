#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Proves that the tree keeps the layout rules of Documentation/conventions.rst:
#  - no two tracked source files share a basename, so a name in a log, a
#    backtrace or a review says which file it is;
#  - every Makefile of the tree includes Makefile.common, so the output
#    paths, flags, version and install directories have one definition
#    (the *.mk fragments are included by a Makefile that does).

set -u
. "$(dirname "$0")/../common/tap.sh"

tap_plan 2

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	skip_test "no two source files share a basename" "not a git checkout (a release tree lists no tracked files)"
	skip_test "every Makefile includes Makefile.common" "not a git checkout"
	totals
	exit 0
fi

git ls-files | grep -E '\.(c|h|S|sh|py)$' | xargs -n1 basename | sort | uniq -d >"$log"
check $(( $(grep -c . "$log") != 0 )) "no two source files share a basename ($(git ls-files | grep -cE '\.(c|h|S|sh|py)$') files)"

: >"$log"
for m in $(git ls-files | grep -E '(^|/)Makefile$'); do
	grep -qE '^include .*Makefile\.common$' "$m" || echo "$m does not include Makefile.common" >>"$log"
done
check $(( $(grep -c . "$log") != 0 )) "every Makefile includes Makefile.common"

totals
