#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Inside the VM: insmod each module of $VSHM_LOAD_MODULES (blank-separated),
# in order, for log_check_test.sh.
[ -n "${VSHM_LOAD_MODULES:-}" ] || { echo "VSHM_LOAD_MODULES is empty"; exit 1; }
for m in $VSHM_LOAD_MODULES; do
	insmod "$m" || exit 1
done
