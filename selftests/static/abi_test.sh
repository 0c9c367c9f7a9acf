#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Proves that libvshm's ABI is guarded (Documentation/libvshm.rst, "ABI"):
#  - the built libvshm.so matches the committed baseline
#    (userspace/lib/abi/libvshm.abi, abidiff from abigail-tools);
#  - an incompatible change to a public struct, and a removed export, make
#    that check fail and name what changed;
#  - every function declared in include/vshm/*.h is exported, in a named
#    version node (no glob in libvshm.map), and has a man page.

set -u
. "$(dirname "$0")/../common/tap.sh"
tap_workdir abi
version=$(cat VERSION)

tap_plan 5

make -s -C userspace/lib abi-check OUT="$work/out" >"$log" 2>&1
check $? "libvshm.so matches the ABI baseline"

# A copy of the tree with one change; abi-check there must fail, naming it.
changed_tree() {
	rm -rf "$work/tree" "$work/tree-out"
	mkdir "$work/tree"
	git ls-files -z | tar --null -T - -cf - | tar -x -C "$work/tree"
}

changed_tree
sed -i '/^struct vshm_region_stats {/,/^};/s/uint32_t max_mappings;/uint64_t max_mappings;/' \
	"$work/tree/include/vshm/region.h"
make -s -C "$work/tree/userspace/lib" abi-check OUT="$work/tree-out" >"$log" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q 'vshm_region_stats' "$log"
check $? "a changed public struct fails the check, naming vshm_region_stats"

changed_tree
sed -i '/^\t\tvshm_region_size;$/d' "$work/tree/userspace/lib/libvshm.map"
make -s -C "$work/tree/userspace/lib" abi-check OUT="$work/tree-out" >"$log" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q 'vshm_region_size' "$log"
check $? "a removed export fails the check, naming vshm_region_size"

# Declared in a public header <=> exported with a version.
grep -ohE '\bvshm_[a-z0-9_]+\(' include/vshm/*.h include/vshm/*.h.in | tr -d '(' | sort -u >"$work/declared"
nm -D --defined-only "$work/out/lib/libvshm.so.$version" |
	sed -n 's/^[0-9a-f]* T \(vshm_[a-z0-9_]*\)@@LIBVSHM_[0-9.]*$/\1/p' | sort -u >"$work/exported"
diff -u "$work/declared" "$work/exported" >"$log" 2>&1
rc=$?
# The only wildcard is the local catch-all.
grep -n '^[[:space:]]*[a-z_]*\*[a-z_]*;' userspace/lib/libvshm.map |
	grep -v '^[0-9]*:[[:space:]]*\*;$' >>"$log" && rc=1
check $rc "every public function is exported in a named version node"

: >"$log"
rc=0
while read -r fn; do
	[ -f "userspace/lib/man/$fn.3" ] || { echo "no man page for $fn" >>"$log"; rc=1; }
done <"$work/declared"
check $rc "every public function has a man page in userspace/lib/man"

totals
