#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages of `make deb` installed on a clean Debian 13 (trixie)
# root: the check-matrix root ($BUILD/matrix/trixie, never modified) under
# a writable overlay.  `make check-packages` runs it.  Proves:
#  1. `apt-get install ./<the five>.deb` works from the Debian mirror, and
#     DKMS (vshm-dkms's postinst) builds and installs vshm.ko for trixie's
#     6.12 kernel (the only one whose headers the root keeps);
#  2. booted under QEMU (scripts/vm-run --sysroot), that kernel loads the
#     DKMS-built module through the installed modules-load.d entry
#     (modprobe in the root), and the root's own systemd-udevd with the
#     installed rule makes /dev/vshm root:kvm 0660;
#  3. vshmd@.service's ExecStart, run in the root as the unit's user and
#     group, starts vshmd on /dev/vshm, and vshm-tools' vshmctl reaches it;
#  4. a VMM built out of the tree against libvshm-dev with
#     `pkg-config --cflags --libs libvshm` (the demo's vshm-vmm-sim.c) runs
#     the demo scenario with the installed vshmd, natively (mmap region mode)
#     and in that VM (kmod region mode);
#  5. in that VM, the root's own systemd (257) runs as PID 1 of a PID
#     namespace in a chroot of the root (packages_systemd_guest.sh), with
#     the installed vshmd@.socket and vshmd@.service unchanged:
#     the socket unit listens (root:kvm 0660) with the service stopped;
#     a client that connects then makes systemd start the service from
#     the socket, and gets vshmd's HELLO reply; the service is active
#     through Type=notify (READY=1, STATUS=), runs in the unit's sandbox
#     (dynamic uid, no capability, own namespaces); stopping removes the
#     socket;
#  6. `apt-get purge` of the five packages leaves no file behind: the
#     root's file list equals the one before the install, apart from apt's
#     caches and logs and what the packages apt pulled in (dkms) own.
# What this does not show (systemd-modules-load at boot) is in
# Documentation/testing.rst.
#
# Environment: VSHM_DEB_DIR (default $BUILD/deb), VSHM_TRIXIE_ROOT
# (default $BUILD/matrix/trixie); VSHM_VM_LOCK=FILE holds `flock FILE`
# around the VM boot (only there: the chroot parts take minutes).

set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
export BUILD=${BUILD:-$top/build}

[ "$(id -u)" -eq 0 ] || { echo "# needs root (overlay mounts, chroot)"; exit 4; }
# The overlay lives in a private mount namespace and vanishes with it.
if [ -z "${VSHM_PACKAGES_NS:-}" ]; then
	VSHM_PACKAGES_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi

. selftests/common/tap.sh
. scripts/trixie-root.sh
debs=${VSHM_DEB_DIR:-$BUILD/deb}
lower=${VSHM_TRIXIE_ROOT:-$BUILD/matrix/trixie}
work=$BUILD/packages
version=$(cat VERSION)
packages="vshm-dkms vshmd vshm-tools libvshm1 libvshm-dev"

tap_plan 11

bail() {
	echo "Bail out! $*"
	sed 's/^/#   /' "$log" | tail -n 30
	exit 1
}
[ -f "$lower/.vshm-matrix-ready" ] || bail "no trixie root in $lower (make check-packages makes it)"
for p in $packages; do
	ls "$debs/${p}_${version}"-*.deb >/dev/null 2>&1 || bail "no $p .deb for $version in $debs (make deb)"
done

# The overlay's mount point is outside the repository so that the VM sees
# it through the host root's 9p export (which keeps mounts apart).
rm -rf "$work"
mkdir -p "$work/upper" "$work/ovl-work" "$work/vm"
root=$(mktemp -d /var/tmp/vshm-packages-root.XXXXXX)
trap 'umount -l "$root" 2>/dev/null; rmdir "$root"; rm -f "$log"' EXIT
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$work/upper,workdir=$work/ovl-work" "$root" ||
	bail "overlay mount on $lower"
in_new() { in_root "$root" "$@"; }

# The file list of the root, without the repository's mount point and the
# directories above it (in_root makes them),
# apt's and dpkg's own state, caches and logs.
file_list() {
	(cd "$root" && find . -xdev \( -path ./proc -o -path ./var/cache -o -path ./var/log \
		-o -path ./var/lib/apt -o -path ./var/lib/dpkg -o -path ./tmp \) -prune -o -print) |
		awk -v top="$top" '{ p = substr($0, 2) } p == "" || index(top "/", p "/") != 1' |
		grep -v "^\.${top}/" | sort
}

# What the test itself needs in the root, installed before the "before"
# list: pkg-config and libdrm-dev to build the demo, udev for its
# systemd-udevd (a booted Debian system has it), util-linux for setpriv.
# The root as a plain trixie host: only its own 6.12 kernel has headers
# (check-matrix's backports kernel keeps its image, so DKMS skips it).
kver=$(cd "$lower/lib/modules" && ls -d 6.12.* | sort -V | tail -n 1)
{
	in_new apt-get update -q &&
	in_new apt-get install -y -q --no-install-recommends pkgconf libdrm-dev udev util-linux &&
	in_new sh -c "apt-get purge -y -q \$(dpkg-query -W -f '\${db:Status-Status} \${Package}\n' \
		'linux-headers-*' | awk '\$1 == \"installed\" { print \$2 }' |
		grep -v -e '-$kver\$' -e '-${kver%-amd64}-common\$')"
} >"$log" 2>&1 || bail "apt-get install of the test's own tools in the trixie root"
file_list >"$work/files-before"
in_new dpkg-query -W -f '${Package}\n' | sort >"$work/packages-before"

# 1. install, DKMS
mkdir -p "$root/var/tmp/debs"
for p in $packages; do cp "$debs/${p}_${version}"-*.deb "$root/var/tmp/debs/"; done
{
	in_new sh -c 'apt-get install -y -q --no-install-recommends /var/tmp/debs/*.deb' &&
	in_new dkms status -m vshm -v "$version" -k "$kver" &&
	in_new dkms status -m vshm -v "$version" -k "$kver" | grep -q ': installed' &&
	ls "$root/lib/modules/$kver/updates/dkms/"vshm.ko*
} >"$log" 2>&1
check $? "apt-get install of the five packages: DKMS builds and installs vshm.ko for $kver"

# 4a. the demo, built against the installed libvshm-dev, natively
{
	in_new sh -c "cc -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -I$top/userspace/common -o /var/tmp/vmm-sim $top/userspace/tools/vshm-vmm-sim.c \
		$top/userspace/common/self_path.c $top/userspace/common/touch_probe.c \
		\$(pkg-config --cflags --libs libvshm libdrm)" &&
	in_new ldd /var/tmp/vmm-sim | tee "$work/demo-ldd" &&
	grep -q 'libvshm.so.1 => /.*/x86_64-linux-gnu/libvshm.so.1' "$work/demo-ldd" &&
	in_new env VSHMD=/usr/sbin/vshmd /var/tmp/vmm-sim --region-mode mmap
} >"$work/demo-native.log" 2>&1
demo_native=$?

# 2-4. in a VM booting the root's 6.12 kernel
lock=()
[ -n "${VSHM_VM_LOCK:-}" ] && lock=(flock "$VSHM_VM_LOCK")
"${lock[@]}" scripts/vm-run --sysroot "$root" --kdir "/lib/modules/$kver/build" --timeout 900 -- \
	selftests/packages/packages_vm_guest.sh "$root" "$work/vm" >"$work/vm.log" 2>&1
vm_rc=$?
guest_check() { # N DESCRIPTION: the guest's result for check N, with its log
	local rc=1
	[ -f "$work/vm/$1.rc" ] && rc=$(cat "$work/vm/$1.rc")
	{ cat "$work/vm/$1.log" 2>/dev/null; [ -f "$work/vm/$1.rc" ] || tail -n 20 "$work/vm.log"; } >"$log"
	check "$rc" "$2"
}
guest_check 2 "the 6.12 kernel loads the DKMS-built module (modules-load.d); the root's udevd makes /dev/vshm root:kvm 0660"
guest_check 3 "vshmd@.service's ExecStart, as its user and group, starts vshmd (kmod); vshmctl reaches it"
rc=1
if [ $demo_native -eq 0 ] && [ -f "$work/vm/4.rc" ]; then rc=$(cat "$work/vm/4.rc"); fi
{ tail -n 5 "$work/demo-native.log"; cat "$work/vm/4.log" 2>/dev/null; } >"$log"
check "$rc" "a VMM built with pkg-config libvshm runs the demo: natively (mmap) and in the VM (kmod)"

# 5. the units under the root's systemd
sd_check() { # NAME DESCRIPTION: a step of packages_systemd_guest.sh
	local rc=1
	[ -f "$work/vm/sd-$1.rc" ] && rc=$(cat "$work/vm/sd-$1.rc")
	{
		cat "$work/vm/sd-$1.log" 2>/dev/null || echo "no output"
		[ "$rc" = 0 ] || cat "$work/vm/sd-status.log" 2>/dev/null
	} >"$log"
	check "$rc" "$2"
}
sd_version=$(in_new dpkg-query -W -f '${Version}' systemd 2>/dev/null)
# A PID namespace's init that powers off (reboot(2), RB_POWER_OFF) ends as
# if killed by SIGINT: 128 + 2 from unshare.  systemd logs to the console
# (vm.log).
rc=1
[ -f "$work/vm/sd-stop.rc" ] && grep -q '^systemd exit status 130$' "$work/vm/sd-systemd.log" && rc=0
{ cat "$work/vm/sd-systemd.log"; grep -v '^\[' "$work/vm.log" | head -n 60; } >"$log" 2>/dev/null
check $rc "the root's systemd ($sd_version) runs as PID 1 of a PID namespace in the root, the checks finish"
sd_check socket "vshmd@pkgsd.socket listens at /run/vshm/pkgsd/control.sock, root:kvm 0660; the service is not started"
sd_check activation "a client connecting starts vshmd@pkgsd.service from the socket; it gets vshmd's HELLO reply"
sd_check notify "Type=notify: the service is active after READY=1, with its STATUS= text"
sd_check sandbox "the unit's sandbox applied: a dynamic uid in group kvm, no capability, no_new_privs, own mount and network namespaces"
sd_check stop "stopping the units removes the socket"
[ $vm_rc -eq 0 ] || echo "# vm-run exit status $vm_rc (see $work/vm.log)"

# 6. purge
in_new apt-get purge -y -q $packages >"$log" 2>&1
rc=$?
rm -rf "$root/var/tmp/debs" "$root/var/tmp/vmm-sim"
file_list >"$work/files-after"
in_new dpkg-query -W -f '${Package}\n' | sort >"$work/packages-after"
# Files of the packages apt pulled in (dkms and its dependencies) and
# DKMS's own state (its signing key) are theirs, not leftovers.
comm -13 "$work/packages-before" "$work/packages-after" | while read -r p; do
	in_new dpkg -L "$p" 2>/dev/null
done | sed 's|^/|./|' | sort -u >"$work/pulled-in"
# Their update-alternatives links (xz-utils' lzma and the like) too:
# these packages register none.
comm -13 "$work/files-before" "$work/files-after" | comm -23 - "$work/pulled-in" |
	grep -vx -e './var/lib/dkms' -e './var/lib/dkms/mok.key' -e './var/lib/dkms/mok.pub' \
		-e './etc/alternatives/.*' |
	while read -r f; do
		case "$(readlink "$root/$f")" in /etc/alternatives/*) ;; *) echo "$f" ;; esac
	done >"$work/left-behind"
{
	echo "left behind:"; cat "$work/left-behind"
	echo "removed by the purge:"; comm -23 "$work/files-before" "$work/files-after"
} >>"$log"
[ $rc -eq 0 ] && [ ! -s "$work/left-behind" ] && [ -z "$(comm -23 "$work/files-before" "$work/files-after")" ]
check $? "apt-get purge of the five packages leaves nothing behind"

totals
