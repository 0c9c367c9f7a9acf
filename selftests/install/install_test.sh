#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Proves, natively (as root, leaving the host as it was):
#  - `make install DESTDIR=...` puts exactly the expected files in place,
#    with the default PREFIX and with PREFIX=/usr (multiarch LIBDIR) and
#    VSHM_GROUP
#    set, and `make uninstall` removes every one of them;
#  - the installed man pages name HTML pages that are installed;
#  - the installed library, headers and pkg-config file build and run a
#    program, and `systemd-analyze verify` passes on vshmd@.service and
#    vshmd@.socket (both
#    in a private mount namespace where the install is /usr/local);
#  - `dkms build` of the `make dkms-install` tree works against Debian's
#    installed headers (in temporary DKMS trees);
#  - vshmd started as root with --user/--group ends with those ids, no
#    supplementary group, no capability in any set and no_new_privs; its
#    control socket is for that group only; it refuses --user when not
#    root; and it serves the demo scenario (mmap region mode).
# The in-VM half (udev rule, /dev/vshm, the unit's sandbox) is
# install_vm_test.sh.

set -u
. "$(dirname "$0")/install_lib.sh"

work=$(mktemp -d /tmp/vshm-install.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

tap_plan 18

if [ "$(id -u)" -ne 0 ]; then
	echo "# the install tests run as root (make check does)"
	exit 4
fi
KDIR=$(scripts/find-kdir) || exit 1
export KDIR
kver=$(kernel_release "$KDIR")
gid=$(getent group kvm | cut -d: -f3)
[ -n "$gid" ] || gid=65534		# no kvm group: nogroup stands in
nobody=65534 vmm=65533

# 1-3. default PREFIX
d=$work/root
make -s install DESTDIR="$d" >"$log" 2>&1
check $? "make install DESTDIR=... (PREFIX=/usr/local) succeeds"
expected_files /usr/local /usr/local/lib /etc/modules-load.d "$kver" | sort >"$work/want"
(cd "$d" && find . ! -type d | sed 's/^\.//' | sort) >"$work/got"
diff -u "$work/want" "$work/got" >"$log"
check $? "it installs exactly the expected files"
{
	stat -c '%a %n' "$d/usr/local/sbin/vshmd" "$d/usr/local/bin/vshmctl" \
		"$d/usr/local/lib/udev/rules.d/60-vshm.rules" \
		"$d/usr/local/lib/systemd/system/vshmd@.service" \
		"$d/usr/local/lib/systemd/system/vshmd@.socket"
	grep -H . "$d/usr/local/lib/udev/rules.d/60-vshm.rules" "$d/etc/modules-load.d/vshm.conf"
	grep -H '^ExecStart=\|^Group=\|^Type=\|^Requires=' "$d/usr/local/lib/systemd/system/vshmd@.service"
	grep -H '^ListenStream=\|^Socket' "$d/usr/local/lib/systemd/system/vshmd@.socket"
} >"$log" 2>&1
grep -q '^755 .*/sbin/vshmd$' "$log" && grep -q '^644 .*60-vshm.rules$' "$log" &&
	grep -q 'SUBSYSTEM=="misc", KERNEL=="vshm", OWNER="root", GROUP="kvm", MODE="0660"' "$log" &&
	grep -q 'vshm.conf:vshm$' "$log" &&
	grep -q 'ExecStart=/usr/local/sbin/vshmd --vm %i ' "$log" &&
	grep -q 'Group=kvm$' "$log" && grep -q 'service:Type=notify$' "$log" &&
	grep -q 'service:Requires=vshmd@%i.socket$' "$log" &&
	grep -q '^644 .*vshmd@.socket$' "$log" &&
	grep -q 'socket:ListenStream=/run/vshm/%i/control.sock$' "$log" &&
	grep -q 'socket:SocketGroup=kvm$' "$log" && grep -q 'socket:SocketMode=0660$' "$log"
check $? "modes and contents: udev rule root:kvm 0660, modules-load.d, unit paths, Type=notify, the socket unit"
# Every HTML page a man page names is installed, and they name some.
pages=$(grep -ho '/usr/local/share/doc/vshm/html/[a-z-]*\.html' \
	"$d"/usr/local/share/man/man*/* | sort -u)
rc=0
[ -n "$pages" ] || rc=1
: >"$log"
for f in $pages; do [ -f "$d$f" ] || { echo "missing: $f" >>"$log"; rc=1; }; done
grep -l '@HTMLDIR@\|Documentation/' "$d"/usr/local/share/man/man*/* >>"$log" && rc=1
check $rc "the man pages name the installed HTML documentation ($(echo $pages | wc -w) pages)"

# 4-6. the install as it would be seen at /usr/local
cat >"$work/hello.c" <<'EOC'
#include <stdio.h>
#include <string.h>
#include <libvshm.h>
#include <linux/vshm.h>
int main(void)
{
	puts(vshm_strerror(0));
	/* The header and the library are the same release. */
	if (strcmp(vshm_version(), VSHM_VERSION_STRING) ||
	    !vshm_check_version(VSHM_VERSION_MAJOR, VSHM_VERSION_MINOR))
		return 1;
	return strcmp(VSHM_DEVICE_PATH, "/dev/vshm") != 0;
}
EOC
unshare -m --propagation private sh -c '
	mount --bind "$1/usr/local" /usr/local || exit 1
	cc $(pkg-config --cflags libvshm) "$2/hello.c" -o "$2/hello" $(pkg-config --libs libvshm) &&
	LD_LIBRARY_PATH=/usr/local/lib "$2/hello" &&
	readelf -d "$2/hello" | grep -q "NEEDED.*libvshm.so.1"' sh "$d" "$work" >"$log" 2>&1
check $? "a program builds with pkg-config libvshm and runs against the installed libvshm.so.1"
unshare -m --propagation private sh -c '
	mount --bind "$1/usr/local" /usr/local || exit 1
	for p in /usr/local/sbin/vshmd /usr/local/bin/vshmctl; do
		readelf -d "$p" | grep -q "NEEDED.*libvshm.so.1" || exit 1
		"$p" --help >/dev/null 2>&1 || exit 1
	done' sh "$d" >"$log" 2>&1
check $? "the installed vshmd and vshmctl link libvshm.so.1 and run"
unshare -m --propagation private sh -c '
	mount --bind "$1/usr/local" /usr/local || exit 1
	systemd-analyze verify vshmd@vm1.socket vshmd@vm1.service' sh "$d" >"$log" 2>&1
rc=$?
[ -s "$log" ] && rc=1		# verify prints every problem it finds
check $rc "systemd-analyze verify vshmd@vm1.socket vshmd@vm1.service passes"

# 7. uninstall
make -s uninstall DESTDIR="$d" >"$log" 2>&1
rc=$?
find "$d" ! -type d >>"$log"
[ $rc -eq 0 ] && [ -z "$(find "$d" ! -type d)" ]
check $? "make uninstall DESTDIR=... removes every installed file"

# 8-9. PREFIX=/usr: the multiarch LIBDIR by default; another group
d=$work/usr-root
multi=/usr/lib/$(gcc -print-multiarch)
make -s install DESTDIR="$d" PREFIX=/usr VSHM_GROUP=vshmtest >"$log" 2>&1
rc=$?
expected_files /usr $multi /usr/lib/modules-load.d "$kver" | sort >"$work/want"
(cd "$d" && find . ! -type d | sed 's/^\.//' | sort) >"$work/got"
diff -u "$work/want" "$work/got" >>"$log" || rc=1
grep -q 'GROUP="vshmtest"' "$d/usr/lib/udev/rules.d/60-vshm.rules" || rc=1
grep -q '^Group=vshmtest$' "$d/usr/lib/systemd/system/vshmd@.service" || rc=1
grep -q '^SocketGroup=vshmtest$' "$d/usr/lib/systemd/system/vshmd@.socket" || rc=1
grep -q '^ExecStart=/usr/sbin/vshmd ' "$d/usr/lib/systemd/system/vshmd@.service" || rc=1
grep -q "^libdir=$multi\$" "$d$multi/pkgconfig/libvshm.pc" || rc=1
check $rc "PREFIX=/usr VSHM_GROUP=vshmtest: the library in $multi, /usr/lib paths, the group substituted"
make -s uninstall DESTDIR="$d" PREFIX=/usr >"$log" 2>&1
rc=$?
[ -z "$(find "$d" ! -type d | tee -a "$log")" ] || rc=1
check $rc "make uninstall with the same variables removes every file"

# 10. DKMS, in temporary trees (signing key included) so the host is untouched
dk=$work/dkms
mkdir -p "$dk/src" "$dk/tree" "$dk/install"
ver=$(cat VERSION)
dkms_flags="--sourcetree $dk/src --dkmstree $dk/tree --installtree $dk/install"
before=$(ls -d /usr/src/vshm-* /var/lib/dkms/vshm /var/lib/dkms/mok.key 2>/dev/null)
{
	make -s dkms-install DKMS_SOURCE_TREE="$dk/src" DKMS_FLAGS="$dkms_flags" &&
	mok_signing_key=$dk/mok.key mok_certificate=$dk/mok.pub \
		dkms $dkms_flags build -m vshm -v "$ver" -k "$kver" &&
	modinfo "$dk/tree/vshm/$ver/$kver/$(uname -m)/module/vshm.ko" &&
	dkms $dkms_flags status -m vshm &&
	dkms $dkms_flags remove -m vshm -v "$ver" --all &&
	make -s dkms-uninstall DKMS_SOURCE_TREE="$dk/src" DKMS_FLAGS="$dkms_flags"
} >"$log" 2>&1
rc=$?
grep -q "^vermagic: *$kver " "$log" || rc=1
grep -q "vshm/$ver, $kver, .*: built" "$log" || rc=1
[ -z "$(ls -A "$dk/src")" ] || rc=1
after=$(ls -d /usr/src/vshm-* /var/lib/dkms/vshm /var/lib/dkms/mok.key 2>/dev/null)
[ "$before" = "$after" ] || { echo "host DKMS state changed: '$before' -> '$after'" >>"$log"; rc=1; }
check $rc "dkms build -m vshm -v $ver -k $kver works against the installed headers"

# 11-14. privileges: root with --user/--group
vshmd=$BUILD/out/broker/vshmd
vshmctl=$BUILD/out/tools/vshmctl
mkdir -p "$work/run"
chmod 0755 "$work" "$work/run"	# only the socket's own mode decides
sock=$work/run/control.sock
"$vshmd" --control-socket "$sock" --region-mode mmap --user $nobody --group "$gid" \
	--log-file "$work/vshmd.log" &
pid=$!
pids+=("$pid")
for _ in $(seq 100); do [ -S "$sock" ] && grep -q ready "$work/vshmd.log" && break; sleep 0.1; done
grep -E '^(Uid|Gid|Groups|Cap...|NoNewPrivs):' "/proc/$pid/status" >"$log" 2>&1
{
	grep -qP "^Uid:\t$nobody\t$nobody\t$nobody\t$nobody$" "$log" &&
	grep -qP "^Gid:\t$gid\t$gid\t$gid\t$gid$" "$log" &&
	grep -qP '^Groups:\s*$' "$log" &&
	[ "$(grep -c '^Cap...:.0000000000000000$' "$log")" = 5 ] &&
	grep -qP '^NoNewPrivs:\t1$' "$log"
}
check $? "root with --user $nobody --group $gid: those ids, no groups, CapInh/Prm/Eff/Bnd/Amb 0, NoNewPrivs 1"
stat -c '%u %g %a' "$sock" >"$log"
grep -qx "$nobody $gid 660" "$log"
check $? "the control socket is $nobody:$gid 0660"
{
	setpriv --reuid $vmm --regid "$gid" --clear-groups "$vshmctl" --socket "$sock" stats &&
	! setpriv --reuid $vmm --regid $vmm --clear-groups "$vshmctl" --socket "$sock" stats
} >"$log" 2>&1
check $? "a VMM in group $gid can use the socket, one outside it cannot"
kill -TERM "$pid"
wait "$pid"
rc=$?
cat "$work/vshmd.log" >"$log"
[ $rc -eq 0 ] && grep -q "running as uid $nobody gid $gid, no capabilities" "$log"
check $? "it logs its identity and exits 0 on SIGTERM"

# 15. --user by name, group from the passwd entry
pw_gid=$(getent passwd nobody | cut -d: -f4)
"$vshmd" --control-socket "$work/run/byname.sock" --region-mode mmap --user nobody \
	--log-file "$work/byname.log" &
pid=$!
pids+=("$pid")
for _ in $(seq 100); do [ -S "$work/run/byname.sock" ] && break; sleep 0.1; done
sleep 0.2
grep -E '^(Uid|Gid):' "/proc/$pid/status" >"$log" 2>&1
kill -TERM "$pid"; wait "$pid"
grep -qP "^Gid:\t$pw_gid\t" "$log" && grep -qP "^Uid:\t$nobody\t" "$log"
check $? "--user nobody takes the group of its passwd entry ($pw_gid)"

# 16. not root: --user is refused, with a reason, before serving anything
mkdir "$work/nobody" && chown $nobody "$work/nobody"
setpriv --reuid $nobody --regid $nobody --clear-groups \
	"$vshmd" --control-socket "$work/nobody/s.sock" --region-mode mmap --user $vmm --group $vmm \
	>"$log" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q 'need root' "$log"
check $? "without root, --user fails (exit $rc, want 1) and says why"

# 17. the demo scenario with vshmd dropping to $nobody:$gid
vshmd_wrapper "$work/vshmd-as-user" "$vshmd" --user $nobody --group $gid
VSHMD=$work/vshmd-as-user "$BUILD/out/tools/vshm-vmm-sim" --region-mode mmap >"$log" 2>&1
rc=$?
grep -q "running as uid $nobody gid $gid" "$log" || rc=1
check $rc "the demo scenario passes with vshmd running as $nobody:$gid (mmap region mode)"

totals
