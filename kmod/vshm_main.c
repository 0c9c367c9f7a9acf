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
#include <linux/mutex.h>
#include <linux/pseudo_fs.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>

#include <uapi/linux/vshm.h>

#include "vshm_compat.h"
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

static unsigned int max_dmabufs = 256;
module_param(max_dmabufs, uint, 0644);
MODULE_PARM_DESC(max_dmabufs,
		 "Most distinct dma-bufs one region may have attached at once (default 256)");

struct vshm_totals vshm_totals;

static struct dentry *vshm_debugfs;

/*
 * The internal mount that region inodes live on exists only while a region
 * does: the first region mounts it and the last one's release unmounts it.
 * vshm_fs_type has an owner, so its superblock holds a module reference from
 * sget_fc() until deactivate_locked_super() has run kill_sb.  Whatever
 * outlives the last region on that mount (an O_PATH fd on a region's
 * dentry, with the dentry, inode and mount it holds) thus keeps vshm.ko
 * loaded, and rmmod works again once nothing is left.  A mount held from
 * init to exit could not do both: its superblock would pin the module for
 * good.
 */
static DEFINE_MUTEX(vshm_mnt_lock);
static struct vfsmount *vshm_mnt;	/* under vshm_mnt_lock */
static unsigned long vshm_mnt_users;	/* under vshm_mnt_lock */

static int vshm_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, VSHM_FS_MAGIC) ? 0 : -ENOMEM;
}

/* Never registered: it exists only for the kern_mount below. */
static struct file_system_type vshm_fs_type = {
	.owner = THIS_MODULE,
	.name = "vshm",
	.init_fs_context = vshm_init_fs_context,
	.kill_sb = kill_anon_super,
};

/**
 * vshm_mount_get() - the internal mount, for a new region
 *
 * Mounts it if no region exists.  Every successful call is paired with one
 * vshm_mount_put(), when the region is released.
 *
 * Return: the mount, valid until the matching vshm_mount_put(), or an
 * ERR_PTR() if it cannot be mounted.
 */
struct vfsmount *vshm_mount_get(void)
{
	struct vfsmount *mnt;

	mutex_lock(&vshm_mnt_lock);
	if (!vshm_mnt_users) {
		mnt = kern_mount(&vshm_fs_type);
		if (IS_ERR(mnt))
			goto out_unlock;
		vshm_mnt = mnt;
	}
	vshm_mnt_users++;
	mnt = vshm_mnt;
out_unlock:
	mutex_unlock(&vshm_mnt_lock);
	return mnt;
}

/**
 * vshm_mount_put() - a region no longer needs the internal mount
 *
 * The last user unmounts it; the superblock (and with it the module
 * reference) goes when the last path on it is put.  Sleeps.
 */
void vshm_mount_put(void)
{
	struct vfsmount *last = NULL;

	mutex_lock(&vshm_mnt_lock);
	if (!WARN_ON_ONCE(!vshm_mnt_users) && !--vshm_mnt_users) {
		last = vshm_mnt;
		vshm_mnt = NULL;
	}
	mutex_unlock(&vshm_mnt_lock);
	/* kern_unmount() waits for an RCU grace period: not under the mutex. */
	if (last)
		kern_unmount(last);
}

/**
 * vshm_max_dmabufs() - the dma-buf limit for a region created now
 *
 * Return: the max_dmabufs module parameter.
 */
unsigned int vshm_max_dmabufs(void)
{
	return READ_ONCE(max_dmabufs);
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

static int vshm_stats_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "regions %lld\n", atomic64_read(&vshm_totals.regions));
	seq_printf(m, "mappings %lld\n", atomic64_read(&vshm_totals.mappings));
	seq_printf(m, "mapped_bytes %lld\n", atomic64_read(&vshm_totals.mapped_bytes));
	seq_printf(m, "pages_held %lld\n", atomic64_read(&vshm_totals.pages_held));
	seq_printf(m, "dmabuf_attachments %lld\n",
		   atomic64_read(&vshm_totals.dmabuf_attachments));
	seq_printf(m, "faults %lld\n", atomic64_read(&vshm_totals.faults));
	seq_printf(m, "pmd_faults %lld\n", atomic64_read(&vshm_totals.pmd_faults));
	seq_printf(m, "copied_in %lld\n", atomic64_read(&vshm_totals.copied_in));
	seq_printf(m, "copied_out %lld\n", atomic64_read(&vshm_totals.copied_out));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vshm_stats);

static int __init vshm_init(void)
{
	int ret;

	ret = misc_register(&vshm_misc);
	if (ret)
		return ret;
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
	return ret;
}

static void __exit vshm_exit(void)
{
	debugfs_remove_recursive(vshm_debugfs);
	misc_deregister(&vshm_misc);
}

module_init(vshm_init);
module_exit(vshm_exit);

VSHM_IMPORT_NS(DMA_BUF);
MODULE_DESCRIPTION("VIRTIO Shared Memory Regions for vhost-user VMMs");
MODULE_AUTHOR("The vshm authors");
MODULE_LICENSE("GPL");
