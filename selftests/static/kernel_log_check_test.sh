#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Proves that scripts/kernel-log-check, which every in-VM run
# (run-selftests --kernel-log) ends with, fails a log holding any of the
# reports it is meant to catch, and passes a clean one with the expected
# out-of-tree module noise.

set -u
. "$(dirname "$0")/../common/tap.sh"

reports=(
	"[   12.3] BUG: unable to handle page fault for address: ffff888000000000"
	"[   12.3] WARNING: CPU: 1 PID: 99 at mm/memory.c:2250 insert_pmd+0x1c/0x80"
	"[   12.3] Oops: 0000 [#1] PREEMPT SMP NOPTI"
	"[   12.3] BUG: KASAN: slab-use-after-free in vshm_vm_fault+0x10/0x20 [vshm]"
	"[   12.3] possible circular locking dependency detected"
	"[   12.3] BUG: sleeping function called from invalid context at mm/memory.c:1"
	"[   12.3] Huh VM_FAULT_OOM leaked out to the #PF handler. Retrying PF"
	"[   12.3] INFO: task vshmd:42 blocked for more than 120 seconds."
)
clean="[    1.0] vshm: loading out-of-tree module taints kernel.
[    1.0] vshm: module verification failed: signature and/or required key missing - tainting kernel
[    2.0] page dumped because: unmovable page"

tap_plan $((${#reports[@]} + 1))
for line in "${reports[@]}"; do
	printf '%s\n%s\n' "$clean" "$line" | scripts/kernel-log-check >"$log" 2>&1
	check $(( $? != 1 )) "caught: ${line#*] }"
done
printf '%s\n' "$clean" | scripts/kernel-log-check >"$log" 2>&1
check $? "a log with only the module's taint notices passes"
totals
