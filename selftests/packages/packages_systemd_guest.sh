#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The installed units under the trixie root's own systemd.  Run inside the
# VM of packages_test.sh by packages_vm_guest.sh, as root, once its mounts
# are in place: $1 is the root (with /dev, /sys, /proc and tmpfs /run and
# /tmp mounted), $2 the results directory.
#
# The root's systemd runs as PID 1 of a new PID and mount namespace,
# chrooted into the root (container mode), with every generator masked (a
# /dev/null link in /run/systemd/system-generators, which ranks first) and
# one oneshot unit, vshm-check.service in /run/systemd/system, that runs
# this script with --steps against vshmd@pkgsd.socket and .service as the
# packages installed them.  Each step writes NAME.log and NAME.rc; systemd
# powers off (exits) when they are done, and they are copied to
# $2/sd-NAME.log and $2/sd-NAME.rc, with systemd's own output in
# $2/sd-systemd.log.  Nothing is written to the root outside /run.

set -u
check_dir=/run/vshm-check
instance=pkgsd
sock=/run/vshm/$instance/control.sock

if [ "${1:-}" = --steps ]; then
	# Inside the root, under systemd.  $VSHM_VERSION: the packages' version.
	service=vshmd@$instance.service
	socket=vshmd@$instance.socket
	step() { # NAME: run stdin as a script
		bash -x >"$check_dir/$1.log" 2>&1
		echo $? >"$check_dir/$1.rc"
	}
	step socket <<EOS
systemctl is-active $socket && [ "\$(systemctl show -P ActiveState $service)" = inactive ] &&
[ "\$(stat -c '%F %U:%G %a' $sock)" = "socket root:kvm 660" ]
EOS
	# The client connects while the service is not running: systemd starts
	# it from the socket, and vshmd serves the connection systemd queued.
	step activation <<EOS
[ "\$(systemctl show -P ActiveState $service)" = inactive ] &&
timeout 60 vshmctl --socket $sock version | tee $check_dir/version &&
grep -qx "vshmd   $VSHM_VERSION" $check_dir/version &&
systemctl show -p TriggeredBy -p ActiveState $service | tee $check_dir/triggered &&
grep -qx "TriggeredBy=$socket" $check_dir/triggered && grep -qx ActiveState=active $check_dir/triggered
EOS
	step notify <<EOS
systemctl show -p Type -p ActiveState -p SubState -p StatusText -p NotifyAccess $service |
	tee $check_dir/show &&
grep -qx Type=notify $check_dir/show && grep -qx ActiveState=active $check_dir/show &&
grep -qx 'StatusText=Serving $sock, region mode .*' $check_dir/show &&
journalctl --no-pager -u $service | grep 'info: ready'
EOS
	# The unit's sandbox as systemd applied it to the running broker: a
	# dynamic user in the device's group, no capability, no_new_privs, a
	# mount namespace and network of its own.
	step sandbox <<EOS
pid=\$(systemctl show -P MainPID $service) && [ "\$pid" -gt 1 ] &&
grep -E '^(Uid|Gid|Groups|CapEff|CapPrm|CapBnd|NoNewPrivs):' /proc/\$pid/status | tee $check_dir/status &&
uid=\$(awk '/^Uid:/ { print \$2 }' $check_dir/status) && [ "\$uid" -ge 61184 ] && [ "\$uid" -le 65519 ] &&
grep -qP "^Gid:\\t\$(getent group kvm | cut -d: -f3)\\t" $check_dir/status &&
grep -qP '^CapEff:\\t0+\$' $check_dir/status && grep -qP '^CapBnd:\\t0+\$' $check_dir/status &&
grep -qP '^NoNewPrivs:\\t1\$' $check_dir/status &&
[ "\$(readlink /proc/\$pid/ns/mnt)" != "\$(readlink /proc/1/ns/mnt)" ] &&
[ "\$(readlink /proc/\$pid/ns/net)" != "\$(readlink /proc/1/ns/net)" ]
EOS
	# What systemd and the journal say, for the log of a failing check.
	{
		systemctl --no-pager status $socket $service
		journalctl --no-pager -u $service
	} >"$check_dir/status.log" 2>&1
	step stop <<EOS
systemctl stop $service $socket && [ ! -e $sock ] &&
[ "\$(systemctl show -P ActiveState $service)" = inactive ]
EOS
	systemctl --no-block poweroff
	exit 0
fi

root=$1
out=$2
version=$(cat "$(dirname "$0")/../../VERSION")
mkdir -p "$root$check_dir" "$root/run/systemd/system" "$root/run/systemd/system-generators"
cp "$0" "$root$check_dir/steps.sh"
for g in "$root"/usr/lib/systemd/system-generators/*; do
	ln -sf /dev/null "$root/run/systemd/system-generators/${g##*/}"
done
cat >"$root/run/systemd/system/vshm-check.service" <<EOU
[Unit]
Description=vshm package checks under systemd
Wants=vshmd@$instance.socket systemd-journald.socket
After=vshmd@$instance.socket systemd-journald.socket
[Service]
Type=oneshot
Environment=VSHM_VERSION=$version
ExecStart=/bin/bash $check_dir/steps.sh --steps
EOU

# The root is made a mount point of its own, so that systemd's "/" is one
# (it changes the propagation of "/", and sets up each service's namespace
# from it).
# shellcheck disable=SC2016 # expanded by the inner shell
timeout -k 10 300 unshare --pid --fork --kill-child --mount --propagation private sh -c '
	root=$1
	mount --rbind "$root" "$root" &&
	mount -t proc proc "$root/proc" &&
	{ mountpoint -q "$root/sys/fs/cgroup" || mount -t cgroup2 cgroup2 "$root/sys/fs/cgroup"; } &&
	exec chroot "$root" /usr/bin/env -i container=vshm-packages \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		/usr/lib/systemd/systemd --unit=vshm-check.service --show-status=no \
		--log-target=console
' sh "$root" >"$out/sd-systemd.log" 2>&1
echo "systemd exit status $?" >>"$out/sd-systemd.log"
for f in "$root$check_dir"/*.log "$root$check_dir"/*.rc; do
	[ -f "$f" ] && cp "$f" "$out/sd-${f##*/}"
done
exit 0
