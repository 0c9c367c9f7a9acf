// SPDX-License-Identifier: GPL-2.0
/*
 * A test-only module that takes two mutexes in both orders when loaded.
 *
 * It never deadlocks (one thread, the locks are released in between), but
 * under CONFIG_PROVE_LOCKING lockdep reports "possible circular locking
 * dependency detected".  `make check-debug` loads it to prove that its
 * kernel log check catches lockdep reports: a green debug run means
 * nothing if it does not.  Never part of vshm.ko or an installed build.
 */
#include <linux/module.h>
#include <linux/mutex.h>

static DEFINE_MUTEX(vshm_selftest_lock_a);
static DEFINE_MUTEX(vshm_selftest_lock_b);

static int __init vshm_selftest_lockdep_init(void)
{
	mutex_lock(&vshm_selftest_lock_a);
	mutex_lock(&vshm_selftest_lock_b);
	mutex_unlock(&vshm_selftest_lock_b);
	mutex_unlock(&vshm_selftest_lock_a);

	mutex_lock(&vshm_selftest_lock_b);
	mutex_lock(&vshm_selftest_lock_a);
	mutex_unlock(&vshm_selftest_lock_a);
	mutex_unlock(&vshm_selftest_lock_b);
	return 0;
}

static void __exit vshm_selftest_lockdep_exit(void)
{
}

module_init(vshm_selftest_lockdep_init);
module_exit(vshm_selftest_lockdep_exit);
MODULE_DESCRIPTION("vshm selftest: an AB-BA lock order for lockdep to report");
MODULE_LICENSE("GPL");
