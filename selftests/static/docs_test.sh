#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Proves that the documentation builds as users read it (make docs: Sphinx,
# warnings are errors):
#  - Documentation/*.rst builds to HTML without a warning, and every page
#    is reachable from the index (Sphinx warns about any that is not);
#  - the build can fail: a copy with a page left out of the index, and a
#    copy with a malformed title, both fail it;
#  - the man pages list (Documentation/manpages.rst) names every man page
#    of the sources.

set -u
. "$(dirname "$0")/../common/tap.sh"

tap_workdir docs

tap_plan 4

if ! command -v sphinx-build >/dev/null; then
	echo "# sphinx-build missing: scripts/install-deps installs python3-sphinx"
	exit 1
fi

make -s -C Documentation OUT="$work/out" >"$log" 2>&1
rc=$?
for f in Documentation/*.rst; do
	page=$(basename "$f" .rst).html
	[ -f "$work/out/docs/html/$page" ] || { echo "no $page" >>"$log"; rc=1; }
done
check $rc "make docs builds every Documentation/*.rst with -W ($(printf '%s\n' Documentation/*.rst | wc -l) pages)"

# A copy of the pages (conf.py reads ../VERSION), broken one way each.
broken_build() {
	rm -rf "$work/tree"
	mkdir -p "$work/tree"
	cp -R Documentation VERSION "$work/tree/"
	"$@"
	make -s -C Documentation OUT="$work/broken" DOCS_SRC="$work/tree/Documentation" >"$log" 2>&1
}
orphan_page() {
	printf '=====\nStray\n=====\n\nIn no toctree.\n' >"$work/tree/Documentation/stray.rst"
}
short_underline() {
	printf '\nA title longer than its underline\n====\n\nText.\n' >>"$work/tree/Documentation/install.rst"
}
broken_build orphan_page
rc=$?
[ $rc -ne 0 ] && grep -q "isn't included in any toctree" "$log"
check $? "a page missing from the index fails the build"
broken_build short_underline
rc=$?
[ $rc -ne 0 ] && grep -q "underline too short" "$log"
check $? "a malformed title fails the build"

: >"$log"
for f in userspace/lib/man/*.3 userspace/broker/vshmd.8 userspace/tools/vshmctl.8; do
	head -n 3 "$f" | grep -q '^\.so ' && continue	# an alias of another page
	name=$(basename "$f")
	grep -q "^\`\`${name%.*}(${name##*.})\`\`$" Documentation/manpages.rst ||
		echo "Documentation/manpages.rst does not list $name" >>"$log"
done
[ ! -s "$log" ]
check $? "Documentation/manpages.rst lists every man page"

totals
