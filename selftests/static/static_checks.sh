#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Static checks on the module, as kselftest-style results: checkpatch.pl
# --strict is clean, the W=1 build has no warnings, kernel-doc finds
# nothing to complain about in the uapi header and the module sources, and
# every non-static function of the module has a kernel-doc comment.
# checkpatch.pl and kernel-doc come from Debian's linux-source-6.1.

set -u
. "$(dirname "$0")/../common/tap.sh"
tools=$(scripts/kernel-tools) || exit 1

shopt -s nullglob
sources=(kmod/*.c kmod/*.h kmod/probes/*.c include/uapi/linux/vshm.h)
tap_plan 4

"$tools/scripts/checkpatch.pl" --no-tree --strict --terse --show-types -f "${sources[@]}" \
	2>&1 | grep -E 'ERROR|WARNING|CHECK' >"$log"
check $(( $(wc -l <"$log") != 0 )) "checkpatch --strict is clean on the module and uapi"

make -s -C kmod clean >/dev/null 2>&1
make -C kmod W=1 >"$log" 2>&1
rc=$?
grep -q 'warning:' "$log" && rc=1
check $rc "the module builds with W=1 and no warnings"

"$tools/scripts/kernel-doc" -none "${sources[@]}" >"$log" 2>&1
check $(( $(grep -c . "$log") != 0 )) "kernel-doc comments are well-formed"

# A definition starts in column 0 with a type, is not static, and is not a
# macro invocation; the line before it must close a /** comment.
awk '
	FNR == 1 { in_doc = 0; doc_ended = 0 }
	/^\/\*\*/ { in_doc = 1 }
	in_doc && /\*\// { in_doc = 0; doc_ended = FNR; next }
	/^[a-z_][a-z0-9_ *]*[ *][a-z_][a-z0-9_]*\(/ && !/^static/ && !/;$/ &&
	!/^(module_|MODULE_|DEFINE_|EXPORT_)/ {
		if (doc_ended != FNR - 1)
			printf "%s:%d: no kernel-doc: %s\n", FILENAME, FNR, $0
	}
' kmod/*.c >"$log"
check $(( $(grep -c . "$log") != 0 )) "every non-static module function has kernel-doc"

totals
