#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vshmd's units under a real systemd: boots the VM (scripts/vm-run), where
# systemd_vm_guest.sh starts systemd as PID 1 of a PID namespace with
# vshmd@.socket and vshmd@.service from packaging/systemd.  Proves socket
# activation, Type=notify (READY=1, STATUS=), journal priorities, one
# broker per socket and the socket's removal when its unit stops.

set -u
. "$(dirname "$0")/install_lib.sh"
vm_test_start systemd-vm

[ -x /lib/systemd/systemd ] || {
	echo "# /lib/systemd/systemd missing (Debian package systemd, scripts/install-deps)"; exit 4; }
make -s kmod userspace >"$out" 2>&1 || vm_test_fail "the module and userspace builds"

vm_test_run --timeout 900 --module build/kmod/vshm.ko -- \
	env BUILD="$BUILD" selftests/install/systemd_vm_guest.sh "$work"
