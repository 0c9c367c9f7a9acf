#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the VM (install_vm_test.sh boots it), as root, with the
# `make install DESTDIR=$1/root` tree.  Proves:
#  - systemd-udevd with the installed 60-vshm.rules gives /dev/vshm
#    root:kvm 0660 when the installed vshm.ko is loaded, and
#    VSHM_GROUP=nogroup gives root:nogroup;
#  - a non-root user in the kvm group (no other group) can open it, one
#    outside cannot, and such a user runs vshmd and the whole demo;
#  - vshmd started as root with --user/--group drops to them and serves
#    the demo with the kmod region mode;
#  - vshmd run as vshmd@.service specifies: its ExecStart line, user and
#    group, Type=notify, the socket of vshmd@.socket (root:kvm 0660, here
#    bound by vshmd itself), no capability, NoNewPrivileges,
#    PrivateNetwork and PrivateTmp (namespaces),
#    SystemCallFilter=@system-service ~@privileged and
#    RestrictAddressFamilies=AF_UNIX (seccomp, any other call kills it):
#    serves the demo, and a VMM in the kvm group reaches its socket.
# What only systemd itself can apply (DevicePolicy, ProtectSystem and the
# other mount and cgroup settings) is in Documentation/install.rst.

set -u
. "$(dirname "$0")/install_lib.sh"
work=$1
root=$work/root
sandbox=$work/sandbox_exec
sim=$BUILD/out/tools/vshm-vmm-sim
vshmd=$root/usr/local/sbin/vshmd
vshmctl=$root/usr/local/bin/vshmctl
unit=$root/usr/local/lib/systemd/system/vshmd@.service
nobody=65534 vmm=65533
# udevadm ignores control, trigger and settle requests in a chroot otherwise.
export SYSTEMD_IGNORE_CHROOT=1
gid=$(getent group kvm | cut -d: -f3)
nogroup=$(getent group nogroup | cut -d: -f3)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -f "$log"' EXIT

tap_plan 12
if [ -z "$gid" ]; then
	echo "# no kvm group on this host: the rule's default group cannot be tested"
	echo "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0"
	exit 4
fi
# As systemd would run it: no inherited capability, no new privileges.
as_user() { # UID GID CMD...
	local u=$1 g=$2; shift 2
	setpriv --reuid "$u" --regid "$g" --clear-groups --inh-caps=-all \
		--bounding-set=-all --no-new-privs "$@"
}

# 1-2. udev
mkdir -p /run/udev/rules.d
cp "$root/usr/local/lib/udev/rules.d/60-vshm.rules" /run/udev/rules.d/
/lib/systemd/systemd-udevd --daemon >"$log" 2>&1
rc=$?
udevadm settle -t 30 >>"$log" 2>&1 || rc=1
check $rc "systemd-udevd runs with the installed rule in /run/udev/rules.d"
insmod "$root"/lib/modules/*/extra/vshm.ko >"$log" 2>&1
rc=$?
udevadm settle -t 30 >>"$log" 2>&1
stat -c '%F %U:%G %a' /dev/vshm >>"$log" 2>&1
grep -qx "character special file root:kvm 660" "$log" || rc=1
check $rc "insmod of the installed vshm.ko: udev makes /dev/vshm root:kvm 0660"

# 3. the group is configurable
cp "$work/root-nogroup/usr/local/lib/udev/rules.d/60-vshm.rules" /run/udev/rules.d/
{
	udevadm control --reload &&
	udevadm trigger --action=add --subsystem-match=misc --sysname-match=vshm &&
	udevadm settle -t 30 && stat -c '%U:%G %a' /dev/vshm
} >"$log" 2>&1
grep -qx "root:nogroup 660" "$log"
check $? "with VSHM_GROUP=nogroup the same event gives root:nogroup 0660"
cp "$root/usr/local/lib/udev/rules.d/60-vshm.rules" /run/udev/rules.d/
udevadm control --reload
udevadm trigger --action=add --subsystem-match=misc --sysname-match=vshm
udevadm settle -t 30
stat -c '%U:%G %a' /dev/vshm | grep -qx "root:kvm 660" || echo "# /dev/vshm not back to root:kvm"

# 4. group access
{
	as_user $nobody "$gid" sh -c 'exec 3<>/dev/vshm' &&
	! as_user $nobody "$nogroup" sh -c 'exec 3<>/dev/vshm'
} >"$log" 2>&1
check $? "uid $nobody in group kvm opens /dev/vshm read-write; in nogroup it cannot"

# 5. the demo as a non-root member of kvm, VMM and vshmd alike
as_user $nobody "$gid" env VSHMD="$vshmd" "$sim" --region-mode kmod >"$log" 2>&1
rc=$?
grep -q 'kmod (/dev/vshm)' "$log" || rc=1
check $rc "uid $nobody gid kvm runs the installed vshmd and the demo passes (kmod region mode)"

# 6-7. root with --user/--group
mkdir -p /run/vshm-test && chmod 0755 /run/vshm-test
sock=/run/vshm-test/control.sock
"$vshmd" --control-socket "$sock" --region-mode kmod --user $nobody --group kvm \
	--log-file /run/vshm-test/vshmd.log &
pid=$!
pids+=("$pid")
for _ in $(seq 100); do grep -q ready /run/vshm-test/vshmd.log 2>/dev/null && break; sleep 0.1; done
grep -E '^(Uid|Gid|Groups|Cap...|NoNewPrivs):' "/proc/$pid/status" >"$log" 2>&1
{
	grep -qP "^Uid:\t$nobody\t$nobody\t$nobody\t$nobody$" "$log" &&
	grep -qP "^Gid:\t$gid\t$gid\t$gid\t$gid$" "$log" &&
	[ "$(grep -c '^Cap...:.0000000000000000$' "$log")" = 5 ] &&
	grep -qP '^NoNewPrivs:\t1$' "$log" &&
	as_user $vmm "$gid" "$vshmctl" --socket "$sock" stats >>"$log" 2>&1
}
check $? "root with --user $nobody --group kvm (kmod): ids, no capability, no_new_privs; a kvm VMM connects"
kill -TERM "$pid"; wait "$pid"
vshmd_wrapper "$work/vshmd-as-user" "$vshmd" --user $nobody --group kvm
VSHMD=$work/vshmd-as-user "$sim" --region-mode kmod >"$log" 2>&1
rc=$?
grep -q "running as uid $nobody gid $gid" "$log" || rc=1
check $rc "the demo passes with vshmd started as root, running as $nobody:kvm (kmod)"

# 8-12. the unit, as far as it can be applied without systemd as PID 1.
# Its ExecStart names /usr/local/sbin/vshmd: the install is bound there in
# the unit's own mount namespace.
syscall_group @system-service >"$work/allow"
syscall_group @privileged >"$work/deny"
exec_start=$(unit_field "$unit" ExecStart)
inst=demo
cmd=${exec_start//%i/$inst}
{
	echo "ExecStart: $cmd"
	[ "$(unit_field "$unit" DynamicUser)" = yes ] &&
	[ "$(unit_field "$unit" Group)" = kvm ] &&
	[ "$(unit_field "$unit" Type)" = notify ] &&
	[ "$(unit_field "$unit" Requires)" = "vshmd@%i.socket" ] &&
	[ "$(unit_field "${unit%.service}.socket" ListenStream)" = "/run/vshm/%i/control.sock" ] &&
	[ "$(unit_field "${unit%.service}.socket" SocketGroup)" = kvm ] &&
	[ "$(unit_field "${unit%.service}.socket" SocketMode)" = 0660 ] &&
	[ "$(unit_field "$unit" CapabilityBoundingSet)" = "" ] &&
	[ "$(unit_field "$unit" NoNewPrivileges)" = yes ] &&
	[ "$(unit_field "$unit" PrivateNetwork)" = yes ] &&
	[ "$(unit_field "$unit" RestrictAddressFamilies)" = AF_UNIX ] &&
	grep -qx 'SystemCallFilter=@system-service' "$unit" &&
	grep -qx 'SystemCallFilter=~@privileged' "$unit" &&
	grep -qx 'DeviceAllow=/dev/vshm rw' "$unit" &&
	[ -s "$work/allow" ] && [ -s "$work/deny" ]
} >"$log" 2>&1
check $? "the unit: dynamic user in kvm, Type=notify, its socket unit, the sandbox settings tested below"
# The unit's sandbox around CMD (root starts it, as systemd does): its own
# network and /tmp, the install bound at /usr/local, the unit's ids, no
# capability, its seccomp filter.  $work stays reachable even when the
# build tree lives under /tmp (it is moved back over the fresh /tmp).
cat >"$work/unit-sandbox" <<EOS
#!/bin/sh
exec unshare --net --mount sh -c '
	mount --bind "$root/usr/local" /usr/local &&
	mkdir -p /run/.vshm-keep && mount --bind "$work" /run/.vshm-keep &&
	mount -t tmpfs -o mode=1777 tmpfs /tmp &&
	mkdir -p "$work" && mount --move /run/.vshm-keep "$work" &&
	exec "\$@"' sh \
	setpriv --reuid $nobody --regid $gid --clear-groups --inh-caps=-all \
	--bounding-set=-all --no-new-privs \
	"$sandbox" --allow "$work/allow" --deny "$work/deny" --af-unix -- "\$@"
EOS
chmod +x "$work/unit-sandbox"
as_unit() { "$work/unit-sandbox" "$@"; }
{
	as_unit grep -E '^(Seccomp|NoNewPrivs|CapBnd):' /proc/self/status &&
	! as_unit chroot / true &&
	! as_unit python3 -c 'import socket; socket.socket(socket.AF_INET)'
} >"$log" 2>&1
rc=$?
grep -qP '^Seccomp:\t2$' "$log" && grep -qP '^CapBnd:\t0+$' "$log" &&
	grep -q 'Address family not supported' "$log" || rc=1
check $rc "the sandbox is real: seccomp on, chroot() kills, AF_INET sockets refused"
rundir=/run/vshm/$inst
mkdir -p "$rundir" && chown $nobody:"$gid" "$rundir" && chmod 0750 "$rundir"
# The unit names its socket with --vm NAME (/run/vshm/NAME/control.sock);
# the demo's VMM gives its own path.
# shellcheck disable=SC2016 # "$2" is the wrapper's own argument, expanded when it runs
cmd_passed=${cmd//"--vm $inst"/'--control-socket "$2"'}
cat >"$work/vshmd-as-unit" <<EOS
#!/bin/sh
# The demo's VMM starts this as vshmd with --control-socket PATH --listen-fd 3:
# run the unit's ExecStart instead, in its sandbox, given fd 3 as systemd
# gives vshmd@.socket's socket (LISTEN_FDS, LISTEN_PID: every step execs),
# its path in place of the unit's.
exec 2>>"\${2%/*}/vshmd.log"
export LISTEN_FDS=1 LISTEN_PID=\$\$
exec "$work/unit-sandbox" $cmd_passed
EOS
chmod +x "$work/vshmd-as-unit"
if [ "$cmd_passed" = "$cmd" ]; then
	echo "the unit's ExecStart has no '--vm $inst' to replace: $cmd" >"$log"
	rc=1
else
	VSHMD=$work/vshmd-as-unit "$sim" --region-mode kmod >"$log" 2>&1
	rc=$?
fi
grep -q 'kmod (/dev/vshm)' "$log" && grep -q "running as uid $nobody gid $gid" "$log" || rc=1
check $rc "vshmd run as the unit's ExecStart, in its sandbox, serves the demo (kmod)"
(as_unit $cmd 2>"$work/unit.log") &
pid=$!
pids+=("$pid")
for _ in $(seq 100); do [ -S "$rundir/control.sock" ] && break; sleep 0.1; done
{
	stat -c '%U:%G %a' "$rundir/control.sock" &&
	as_user $vmm "$gid" "$vshmctl" --socket "$rundir/control.sock" stats &&
	! as_user $vmm $vmm "$vshmctl" --socket "$rundir/control.sock" stats
} >"$log" 2>&1
grep -qx "nobody:kvm 660" "$log"
check $? "its socket /run/vshm/$inst/control.sock: a VMM in kvm connects, others cannot"
pkill -TERM -P "$pid" 2>/dev/null
kill -TERM "$pid" 2>/dev/null
sleep 1
cat "$work/unit.log" >"$log"
[ ! -e "$rundir/control.sock" ] && grep -q stopped "$log"
check $? "on SIGTERM it stops cleanly and removes its socket"

totals
