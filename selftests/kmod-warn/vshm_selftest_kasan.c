// SPDX-License-Identifier: GPL-2.0
/*
 * A test-only module that reads one byte past a kmalloc() object when
 * loaded.
 *
 * Under CONFIG_KASAN that read is reported as "KASAN: slab-out-of-bounds";
 * `make check-debug` loads it to prove that its kernel log check catches
 * KASAN reports.  The object's size is a module parameter so that the
 * compiler cannot see, and refuse, the out-of-bounds index.  Without KASAN
 * the read lands in the slab's padding and is harmless.  Never part of
 * vshm.ko or an installed build.
 */
#include <linux/module.h>
#include <linux/slab.h>

static unsigned int size = 24;
module_param(size, uint, 0444);
MODULE_PARM_DESC(size, "size of the object read one byte past its end");

static int __init vshm_selftest_kasan_init(void)
{
	char *obj = kmalloc(size, GFP_KERNEL);

	if (!obj)
		return -ENOMEM;
	pr_info("vshm_selftest_kasan: read past the end: %d\n", READ_ONCE(obj[size]));
	kfree(obj);
	return 0;
}

static void __exit vshm_selftest_kasan_exit(void)
{
}

module_init(vshm_selftest_kasan_init);
module_exit(vshm_selftest_kasan_exit);
MODULE_DESCRIPTION("vshm selftest: an out-of-bounds read for KASAN to report");
MODULE_LICENSE("GPL");
