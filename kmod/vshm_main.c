// SPDX-License-Identifier: GPL-2.0
/*
 * vshm: VIRTIO Shared Memory Regions for vhost-user VMMs.
 *
 * /dev/vshm creates regions (vshm_region.c).  This file holds the module
 * parameters, the misc device, the pseudo filesystem that gives each region
 * its own inode and address_space, and the debugfs totals.
 */
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>

#include <uapi/linux/vshm.h>

#include "vshm_internal.h"

/* Magic of the region pseudo filesystem ("vshm" in ASCII). */
#define VSHM_FS_MAGIC	0x7673686d

static unsigned long long max_region_size = 64ULL * SZ_1G;
module_param(max_region_size, ullong, 0644);
MODULE_PARM_DESC(max_region_size,
		 "Largest region VSHM_IOC_CREATE_REGION accepts, in bytes (default 64 GiB)");

static unsigned int max_mappings = 65536;
module_param(max_mappings, uint, 0644);
MODULE_PARM_DESC(max_mappings,
		 "Most mappings one region may hold; regions may ask for fewer (default 65536)");

struct vshm_totals vshm_totals;

static struct vfsmount *vshm_mnt;
static struct dentry *vshm_debugfs;

/**
 * vshm_mount() - the internal mount that region inodes live on
 *
 * Return: the mount, valid from module init to exit.
 */
struct vfsmount *vshm_mount(void)
{
	return vshm_mnt;
}

static long vshm_ioctl_create_region(void __user *uarg)
{
	struct vshm_region_create arg;
	u64 size_limit = READ_ONCE(max_region_size);
	u32 mapping_limit = READ_ONCE(max_mappings);
	size_t i;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (arg.flags & ~VSHM_CREATE_FLAGS_ALL)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(arg.reserved); i++)
		if (arg.reserved[i])
			return -EINVAL;
	if (!arg.size || !PAGE_ALIGNED(arg.size))
		return -EINVAL;
	if (arg.size > size_limit || arg.size > MAX_LFS_FILESIZE)
		return -EFBIG;
	if (arg.max_mappings > mapping_limit)
		return -EINVAL;

	return vshm_region_create_fd(arg.size, arg.flags,
				     arg.max_mappings ?: mapping_limit);
}

static long vshm_dev_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	switch (cmd) {
	case VSHM_IOC_GET_API_VERSION:
		return VSHM_API_VERSION;
	case VSHM_IOC_CREATE_REGION:
		return vshm_ioctl_create_region((void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations vshm_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = vshm_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice vshm_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vshm",
	.fops = &vshm_dev_fops,
	.mode = 0660,
};

/**
 * vshm_dma_device() - the device vshm attaches to dma-bufs as
 *
 * Return: the misc device's struct device, valid from module init to exit.
 */
struct device *vshm_dma_device(void)
{
	return vshm_misc.this_device;
}

static int vshm_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, VSHM_FS_MAGIC) ? 0 : -ENOMEM;
}

/* Never registered: it exists only for the kern_mount below. */
static struct file_system_type vshm_fs_type = {
	.name = "vshm",
	.init_fs_context = vshm_init_fs_context,
	.kill_sb = kill_anon_super,
};

static int vshm_stats_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "regions %lld\n", atomic64_read(&vshm_totals.regions));
	seq_printf(m, "mappings %lld\n", atomic64_read(&vshm_totals.mappings));
	seq_printf(m, "mapped_bytes %lld\n", atomic64_read(&vshm_totals.mapped_bytes));
	seq_printf(m, "pages_held %lld\n", atomic64_read(&vshm_totals.pages_held));
	seq_printf(m, "faults %lld\n", atomic64_read(&vshm_totals.faults));
	seq_printf(m, "copied_in %lld\n", atomic64_read(&vshm_totals.copied_in));
	seq_printf(m, "copied_out %lld\n", atomic64_read(&vshm_totals.copied_out));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vshm_stats);

static int __init vshm_init(void)
{
	int ret;

	vshm_mnt = kern_mount(&vshm_fs_type);
	if (IS_ERR(vshm_mnt))
		return PTR_ERR(vshm_mnt);

	ret = misc_register(&vshm_misc);
	if (ret)
		goto err_unmount;
	/*
	 * Exporters DMA-map their buffers for the attaching device; vshm only
	 * reads the CPU pages, so any address will do.
	 */
	ret = dma_coerce_mask_and_coherent(vshm_misc.this_device, DMA_BIT_MASK(64));
	if (ret)
		goto err_deregister;

	/* debugfs is optional: failures leave the module fully working. */
	vshm_debugfs = debugfs_create_dir("vshm", NULL);
	debugfs_create_file("stats", 0444, vshm_debugfs, NULL, &vshm_stats_fops);
	return 0;

err_deregister:
	misc_deregister(&vshm_misc);
err_unmount:
	kern_unmount(vshm_mnt);
	return ret;
}

static void __exit vshm_exit(void)
{
	debugfs_remove_recursive(vshm_debugfs);
	misc_deregister(&vshm_misc);
	kern_unmount(vshm_mnt);
}

module_init(vshm_init);
module_exit(vshm_exit);

/* The string form works on every kernel; 6.13 made the macro take one. */
MODULE_INFO(import_ns, "DMA_BUF");
MODULE_DESCRIPTION("VIRTIO Shared Memory Regions for vhost-user VMMs");
MODULE_AUTHOR("The vshm authors");
MODULE_LICENSE("GPL");
