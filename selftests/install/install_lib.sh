# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the install tests (sourced): TAP results (tap.sh), the files
# `make install` puts in place, and systemd's system call groups.

. "$(dirname "${BASH_SOURCE[0]}")/../common/tap.sh"

# The release of the kernel in KDIR, as kbuild installs modules for it.
kernel_release() {
	sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$1/include/generated/utsrelease.h"
}

# expected_files PREFIX LIBDIR MODULESLOADDIR KVER: every file of an install
# (after it: the HTML list comes from the build).
expected_files() {
	local p=$1 l=$2 m=$3 k=$4 h version
	version=$(cat "$top/VERSION")
	echo "/lib/modules/$k/extra/vshm.ko"
	echo "$p/sbin/vshmd"
	echo "$p/bin/vshmctl"
	echo "$l/libvshm.a"
	echo "$l/libvshm.so"
	echo "$l/libvshm.so.${version%%.*}"
	echo "$l/libvshm.so.$version"
	echo "$l/pkgconfig/libvshm.pc"
	for h in "$top"/include/vshm/*.h; do echo "$p/include/vshm/$(basename "$h")"; done
	echo "$p/include/vshm/version.h"
	echo "$p/include/linux/vshm.h"
	for h in "$top"/userspace/lib/man/*.3; do echo "$p/share/man/man3/$(basename "$h")"; done
	echo "$p/share/man/man8/vshmd.8"
	echo "$p/share/man/man8/vshmctl.8"
	# The HTML documentation, as Sphinx built it (its theme's files vary).
	(cd "$BUILD/out/docs/html" && find . ! -type d ! -name .buildinfo) |
		sed "s|^\.|$p/share/doc/vshm/html|"
	echo "$p/lib/udev/rules.d/60-vshm.rules"
	echo "$p/lib/systemd/system/vshmd@.service"
	echo "$p/lib/systemd/system/vshmd@.socket"
	echo "$m/vshm.conf"
}

# The system calls of a systemd group (@name), nested groups expanded.
syscall_group() {
	systemd-analyze syscall-filter "$1" | sed -n '2,$p' | sed 's/^ *//' |
	while read -r s; do
		case "$s" in
		''|'#'*) ;;
		@*) syscall_group "$s" ;;
		*) echo "$s" ;;
		esac
	done
}

# A field of the installed unit file: unit_field FILE KEY (last value).
unit_field() {
	sed -n "s/^$2=//p" "$1" | tail -n 1
}
