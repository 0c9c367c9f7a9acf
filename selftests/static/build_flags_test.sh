#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Proves that the userspace build behaves as a distribution packager
# expects (Makefile.common):
#  - with dpkg-buildflags exported, CPPFLAGS, CFLAGS and LDFLAGS reach every
#    compile and link, and hardening-check (devscripts) passes on vshmd,
#    vshmctl and libvshm.so;
#  - -Werror is on in a git checkout and off in a release tree unless
#    WERROR=1, and WERROR=0 turns it off in a checkout;
#  - the programs link libvshm.so by default and libvshm.a with STATIC=1,
#    and RPATH= leaves no run-time search path in them.

set -u
. "$(dirname "$0")/../common/tap.sh"
tap_workdir buildflags

tap_plan 6

# 1-2. Debian's flags, as dpkg-buildpackage exports them.
out=$work/dpkg
(
	eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
	make -C userspace OUT="$out" RPATH= WERROR=0
) >"$log" 2>&1
rc=$?
# Every compiler call carries the fortify define and the stack protector.
grep -E '^(cc|gcc) ' "$log" >"$work/calls"
[ -s "$work/calls" ] || rc=1
grep -v -e '-D_FORTIFY_SOURCE=2' "$work/calls" >>"$log" && rc=1
grep -v -e '-fstack-protector-strong' "$work/calls" >>"$log" && rc=1
check $rc "dpkg-buildflags' CPPFLAGS, CFLAGS and LDFLAGS reach every compile and link"

# Bookworm's dpkg-buildflags does not ask for -fcf-protection (trixie's
# does): require control-flow protection only where the flags ask for it.
cfi=()
DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get CFLAGS |
	grep -q -e '-fcf-protection' || cfi=(--nocfprotection)
hardening-check "${cfi[@]}" "$out/broker/vshmd" "$out/tools/vshmctl" \
	"$out/lib/libvshm.so.$(cat VERSION)" >"$log" 2>&1
check $? "hardening-check passes on vshmd, vshmctl and libvshm.so"

# 3-4. -Werror: developers and CI yes, release trees no.
make -n -B -C userspace/lib OUT="$work/n" >"$log" 2>&1
grep -q -e '-Werror' "$log"
check $? "a build in a git checkout uses -Werror"
mkdir "$work/tree"
git ls-files -z | tar --null -T - -cf - | tar -x -C "$work/tree"
make -n -B -C "$work/tree/userspace/lib" OUT="$work/n" >"$log" 2>&1
rc=0
grep -q -e '-Werror' "$log" && rc=1
make -n -B -C "$work/tree/userspace/lib" OUT="$work/n" WERROR=1 >>"$log" 2>&1
grep -q -e '-Werror' "$log" || rc=1
check $rc "a release tree builds without -Werror unless WERROR=1"

# 5-6. shared by default, static on request, no RPATH for packages.
{
	readelf -d "$out/broker/vshmd"
	readelf -d "$out/tools/vshmctl"
} >"$log" 2>&1
rc=0
[ "$(grep -c 'NEEDED.*libvshm.so.1' "$log")" -eq 2 ] || rc=1
grep -q 'RPATH\|RUNPATH' "$log" && rc=1
check $rc "vshmd and vshmctl link libvshm.so.1, with no RPATH when RPATH is empty"

make -C userspace OUT="$work/static" STATIC=1 >"$log" 2>&1 &&
	readelf -d "$work/static/broker/vshmd" >>"$log" 2>&1 &&
	! grep -q 'NEEDED.*libvshm' "$log" &&
	"$work/static/broker/vshmd" --help >>"$log" 2>&1
check $? "STATIC=1 links libvshm.a into the programs"

totals
