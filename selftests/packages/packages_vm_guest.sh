#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the VM that packages_test.sh boots with the trixie root's
# 6.12 kernel, as root.  $1 is the trixie root with the packages installed
# (read-only here), $2 a writable directory for the results: N.rc and
# N.log for checks 2-4 of packages_test.sh, which prints them.  The root's
# own programs run in it (chroot) with /dev, /proc, /sys and fresh /run
# and /tmp: its modprobe, its systemd-udevd and the installed vshmd; then
# its systemd (packages_systemd_guest.sh: the sd-* results).

set -u
root=$1
out=$2
mount_log=$out/guest.log
export SYSTEMD_IGNORE_CHROOT=1
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done' EXIT
# result N STATUS: record check N (its log is $out/N.log)
result() { echo "$2" >"$out/$1.rc"; }
in_root() { chroot "$root" "$@"; }

{
	mount -t tmpfs tmpfs "$root/run" &&
	mount -t tmpfs -o mode=1777 tmpfs "$root/tmp" &&
	mount --rbind /dev "$root/dev" &&
	mount --rbind /sys "$root/sys" &&
	mount -t proc proc "$root/proc"
} >"$mount_log" 2>&1 || { echo "guest: mounts in $root failed"; cat "$mount_log"; exit 1; }

# 2. modules-load.d, udev
{
	uname -r
	in_root /usr/lib/systemd/systemd-udevd --daemon &&
	in_root udevadm settle -t 30 &&
	conf=$(ls "$root"/usr/lib/modules-load.d/vshm.conf) &&
	for m in $(grep -v '^#' "$conf"); do in_root modprobe -v "$m" || exit 1; done &&
	in_root udevadm settle -t 30 &&
	in_root modinfo -F filename vshm &&
	grep -q '^vshm ' /proc/modules &&
	node=$(in_root stat -c '%F %U:%G %a' /dev/vshm) &&
	echo "/dev/vshm: $node" &&
	[ "$node" = 'character special file root:kvm 660' ]
} >"$out/2.log" 2>&1
result 2 $?

# 3. the unit's ExecStart, as its user (dynamic: any unprivileged uid) and group
unit=$(ls "$root"/usr/lib/systemd/system/vshmd@.service)
exec_start=$(sed -n 's/^ExecStart=//p' "$unit" | tail -n 1)
cmd=${exec_start//%i/pkgtest}
group=$(sed -n 's/^Group=//p' "$unit" | tail -n 1)
gid=$(in_root getent group "$group" | cut -d: -f3)
sock=/run/vshm/pkgtest/control.sock
{
	echo "ExecStart: $cmd; group $group ($gid)"
	[ -n "$gid" ] &&
	mkdir -p "$root/run/vshm/pkgtest" && chown 61234:"$gid" "$root/run/vshm/pkgtest" &&
	chmod 0750 "$root/run/vshm/pkgtest"
} >"$out/3.log" 2>&1
as_unit() {
	in_root setpriv --reuid 61234 --regid "$gid" --clear-groups --inh-caps=-all \
		--bounding-set=-all --no-new-privs "$@"
}
# shellcheck disable=SC2086 # the unit's command line, split as systemd does
(as_unit $cmd 2>>"$out/3.log") &
pids+=($!)
for _ in $(seq 100); do [ -S "$root$sock" ] && break; sleep 0.2; done
{
	pgrep -a vshmd &&
	as_unit vshmctl --socket "$sock" stats
} >>"$out/3.log" 2>&1
result 3 $?

# 4. the demo VMM built against libvshm-dev, kmod region mode
as_unit env VSHMD=/usr/sbin/vshmd TMPDIR=/tmp /var/tmp/vmm-sim --region-mode kmod >"$out/4.log" 2>&1
rc=$?
grep -q 'kmod (/dev/vshm)' "$out/4.log" || rc=1
result 4 $rc

# 5-8. the units under the root's systemd, once the broker of check 3 is
# gone (sd-*.rc and sd-*.log)
for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
pids=()
"$(dirname "$0")/packages_systemd_guest.sh" "$root" "$out"
exit 0
