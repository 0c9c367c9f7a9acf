// SPDX-License-Identifier: GPL-2.0
/* placeholder */
#include "kselftest_harness.h"
#include "broker_util.h"
TEST_HARNESS_MAIN
