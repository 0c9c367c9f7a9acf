#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Proves that the Debian packaging (debian/) follows the tree's one sources
# of truth (Documentation/install.rst, "Debian packages"):
#  - debian/changelog's upstream version is VERSION (debian/rules also
#    refuses to build otherwise);
#  - debian/libvshm1.symbols lists exactly the symbols of libvshm.map, each
#    in its version node, with the release of that node (LIBVSHM_X.Y ->
#    X.Y.0) as its minimal version;
#  - no version node of libvshm.map is newer than VERSION: a node names
#    the release that adds its symbols, and the packages would claim a
#    release that does not exist yet (lintian refuses the symbols file).

set -u
. "$(dirname "$0")/../common/tap.sh"

tap_plan 3

changelog=$(dpkg-parsechangelog -l debian/changelog -S Version 2>"$log")
upstream=${changelog%-*}
upstream=${upstream#*:}
echo "debian/changelog: $changelog, VERSION: $(cat VERSION)" >>"$log"
[ -n "$upstream" ] && [ "$upstream" = "$(cat VERSION)" ]
check $? "debian/changelog's upstream version is VERSION"

# "symbol@NODE minver" for every symbol of libvshm.map, and each node itself.
from_map() {
	awk '
		/^[A-Z0-9_.]+ *\{/ { node = $1; print node "@" node; next }
		/^\}/ { node = ""; next }
		node != "" && /^[ \t]+[a-z_][a-z0-9_]*;/ {
			sub(/^[ \t]+/, ""); sub(/;.*/, ""); print $0 "@" node
		}' userspace/lib/libvshm.map |
	while read -r s; do
		v=${s##*@LIBVSHM_}
		echo "$s $v.0"
	done | sort
}
from_symbols() {
	sed -n 's/^ \([^ ]*@LIBVSHM_[0-9.]*\) \([^ ]*\)$/\1 \2/p' debian/libvshm1.symbols | sort
}
expected=$(from_map)
[ -n "$expected" ] && diff -u <(echo "$expected") <(from_symbols) >"$log" 2>&1
check $? "debian/libvshm1.symbols matches libvshm.map: every symbol, its node, the node's release"

# X.Y of VERSION, against every LIBVSHM_X.Y node (sort -V: 1.10 > 1.9).
release=$(cut -d. -f1,2 VERSION)
newer=$(sed -n 's/^LIBVSHM_\([0-9.]*\) *{.*/\1/p' userspace/lib/libvshm.map |
	while read -r node; do
		[ "$(printf '%s\n%s\n' "$node" "$release" | sort -V | tail -n 1)" = "$node" ] &&
			[ "$node" != "$release" ] && echo "LIBVSHM_$node"
	done)
echo "VERSION $(cat VERSION); nodes newer than $release: ${newer:-none}" >>"$log"
[ -z "$newer" ]
check $? "no version node of libvshm.map is newer than VERSION's release"

totals
