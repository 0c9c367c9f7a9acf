# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by check-matrix and check-packages (which set $top, the
# repository, and $BUILD): the Debian 13 (trixie) root both use, made once
# with debootstrap and cached, and a way to run a command inside a root.
#
# The cached root holds what kbuild needs (gcc, make, libc6-dev, perl for
# kernel-doc) and two kernels with their headers: 6.12 from trixie and the
# newest from trixie-backports.  Remove the directory to fetch newer ones.

# Run CMD inside ROOT, with the repository ($top) and $BUILD (if it lies
# outside it) at the same paths and /proc mounted (objtool reads it).  The
# mounts live in a private mount namespace and vanish with the command.
# in_root ROOT CMD...
in_root() {
	local root=$1 env=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
		DEBIAN_FRONTEND=noninteractive) v
	shift

	# apt in the root goes through the same proxy as the host, if any.
	for v in http_proxy https_proxy no_proxy; do
		[ -z "${!v:-}" ] || env+=("$v=${!v}")
	done
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private sh -euc '
		top=$1 build=$2 root=$3; shift 3
		mkdir -p "$root$top" "$root/proc"
		mount --bind "$top" "$root$top"
		case "$build/" in
		"$top"/*) ;;
		*) mkdir -p "$root$build"; mount --bind "$build" "$root$build" ;;
		esac
		mount -t proc proc "$root/proc"
		exec chroot "$root" env -i "$@"
	' in-root "${top:?}" "${BUILD:?}" "$root" "${env[@]}" "$@"
}

# Make the trixie root in DIR unless it is there already (DIR/.vshm-matrix-ready).
# trixie_root_ensure DIR MIRROR
trixie_root_ensure() {
	local dir=$1 mirror=$2 tmp=$1.tmp

	[ -f "$dir/.vshm-matrix-ready" ] && return 0
	rm -rf "$tmp" "$dir"
	mkdir -p "$(dirname "$dir")"
	debootstrap --variant=minbase --include=gcc,make,libc6-dev,perl \
		trixie "$tmp" "$mirror" || return 1
	echo "deb $mirror trixie-backports main" >"$tmp/etc/apt/sources.list.d/backports.list"
	in_root "$tmp" apt-get update -q || return 1
	# 6.12 from trixie, then the newest from backports: the versioned
	# packages of both stay installed, side by side.
	in_root "$tmp" apt-get install -y -q --no-install-recommends \
		linux-headers-amd64 linux-image-amd64 || return 1
	in_root "$tmp" apt-get install -y -q --no-install-recommends -t trixie-backports \
		linux-headers-amd64 linux-image-amd64 || return 1
	in_root "$tmp" apt-get clean
	date -u >"$tmp/.vshm-matrix-ready"
	mv "$tmp" "$dir"
}
