#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the VM (systemd_vm_test.sh boots it), as root.  The VM has
# no init system: this starts systemd as PID 1 of a new PID namespace
# (container mode), with vshmd's units in /run/systemd/system (ExecStart
# pointing at the build tree) and a oneshot unit running the steps below
# (--unit=), which write their output and status to $work; systemd exits
# when they are done, and the results are checked here.

set -u
. "$(dirname "$0")/install_lib.sh"
work=$1
units=/run/systemd/system

if [ "${2:-}" = --steps ]; then
	# Inside systemd: one file of output and one of status per step.
	vshmctl=$BUILD/out/tools/vshmctl
	sock=/run/vshm/vm1/control.sock
	step() { # NAME: run stdin as a script
		bash -x >"$work/$1.log" 2>&1
		echo $? >"$work/$1.rc"
	}
	step socket <<EOS
systemctl is-active vshmd@vm1.socket && ! systemctl is-active vshmd@vm1.service &&
[ "\$(stat -c '%U:%G %a' $sock)" = "root:kvm 660" ]
EOS
	step activation <<EOS
$vshmctl --socket $sock stats && systemctl is-active vshmd@vm1.service &&
$vshmctl --vm vm1 stats
EOS
	step notify <<EOS
systemctl show -p Type -p ActiveState -p StatusText vshmd@vm1.service | tee $work/show
grep -qx Type=notify $work/show && grep -qx ActiveState=active $work/show &&
grep -qx 'StatusText=Serving $sock, region mode .*' $work/show
EOS
	step journal <<EOS
journalctl --no-pager -u vshmd@vm1.service -o verbose | grep -E '^ +(PRIORITY|MESSAGE)=' | tee $work/verbose
grep -B1 'MESSAGE=info: ready: control socket $sock' $work/verbose | grep -qx ' *PRIORITY=6' &&
journalctl --no-pager -u vshmd@vm1.service -p info | grep -q 'info: ready' &&
! journalctl --no-pager -u vshmd@vm1.service -p warning | grep -q 'info: '
EOS
	step second <<EOS
$BUILD/out/broker/vshmd --control-socket $sock --region-mode mmap
[ \$? = 1 ] && $vshmctl --socket $sock stats &&
{ $BUILD/out/broker/vshmd --vm vm1 --region-mode mmap; [ \$? = 1 ]; }
EOS
	step restart <<EOS
systemctl restart vshmd@vm1.service && systemctl is-active vshmd@vm1.service &&
[ "\$(systemctl show -P NRestarts vshmd@vm1.service)" = 0 ] && $vshmctl --socket $sock stats
EOS
	step stop <<EOS
systemctl stop vshmd@vm1.service vshmd@vm1.socket && [ ! -e $sock ]
EOS
	systemctl --no-block poweroff
	exit 0
fi

mkdir -p "$units"
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 cgroup2 /sys/fs/cgroup
# The service's sandbox hides /tmp (PrivateTmp) and /home and /root
# (ProtectHome), where the clone may live: it runs a copy of vshmd, with
# the libvshm.so.1 its run path ($ORIGIN/../lib) finds, from /run.
inst=/run/vshm-units
mkdir -p "$inst/sbin" "$inst/lib"
cp "$BUILD/out/broker/vshmd" "$inst/sbin/"
cp -P "$BUILD"/out/lib/libvshm.so* "$inst/lib/"
for f in service socket; do
	sed -e 's|@VSHM_GROUP@|kvm|g' -e "s|@SBINDIR@|$inst/sbin|g" \
		packaging/systemd/vshmd@.$f.in >"$units/vshmd@.$f"
done
cat >"$units/vshm-check.service" <<EOU
[Unit]
Description=vshmd unit checks
Wants=vshmd@vm1.socket systemd-journald.socket
After=vshmd@vm1.socket systemd-journald.socket
[Service]
Type=oneshot
Environment=BUILD=$BUILD
ExecStart=$top/selftests/install/systemd_vm_guest.sh $work --steps
EOU
timeout -k 10 300 unshare --pid --fork --kill-child --mount --mount-proc env container=vshm-vm \
	/lib/systemd/systemd --unit=vshm-check.service --show-status=no >"$log" 2>&1
rc=$?
echo "systemd exit status $rc" >>"$log"
# After systemd's console lines (its shutdown), which go around $log.
tap_plan 8
[ -f "$work/stop.rc" ]
check $? "systemd runs as PID 1 of a PID namespace and the checks finish"
result() { # NAME DESCRIPTION
	cp "$work/$1.log" "$log" 2>/dev/null || echo "no output" >"$log"
	check "$(cat "$work/$1.rc" 2>/dev/null || echo 1)" "$2"
}
result socket "vshmd@vm1.socket listens at /run/vshm/vm1/control.sock, root:kvm 0660; the service waits"
result activation "the first connection starts vshmd@vm1.service, which serves it (vshmctl --vm vm1 too)"
result notify "Type=notify: active after READY=1, StatusText 'Serving ...'"
result journal "journal priorities: 'info: ready' has PRIORITY=6, -p warning hides info lines"
result second "a second vshmd on the unit's socket (--control-socket, or --vm vm1) exits 1, the unit's broker keeps serving"
result restart "systemctl restart: active again, the socket kept, served"
result stop "stopping the units removes the socket"
totals
