// SPDX-License-Identifier: GPL-2.0
/*
 * A test-only module that raises one kernel WARNING when loaded.
 *
 * It is never part of vshm.ko or of an installed build.  The VM runner's
 * self-test loads it to prove that a WARNING in the kernel log fails a run
 * whose command itself succeeded.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init vshm_selftest_warn_init(void)
{
	WARN_ONCE(1, "vshm_selftest_warn: deliberate warning for the log check\n");
	return 0;
}

static void __exit vshm_selftest_warn_exit(void)
{
}

module_init(vshm_selftest_warn_init);
module_exit(vshm_selftest_warn_exit);
MODULE_DESCRIPTION("vshm selftest: raise a WARNING on load");
MODULE_LICENSE("GPL");
