// SPDX-License-Identifier: GPL-2.0
/*
 * A test-only dma-buf exporter; never part of vshm.ko or of an installed
 * build.  vshm_dmabuf_import_test loads it to check vshm's import policy:
 * a buffer from an exporter vshm does not know is refused, and so is one
 * that claims a known exporter's name but whose pages are TTM-style
 * (non-compound higher-order blocks with refcount-0 tail pages).
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vshm_selftest_exporter.h"

struct vshm_selftest_buf {
	struct page **pages;
	unsigned long nr_pages;
	unsigned int order;
};

static struct sg_table *vshm_selftest_map(struct dma_buf_attachment *attach,
					  enum dma_data_direction dir)
{
	struct vshm_selftest_buf *buf = attach->dmabuf->priv;
	struct sg_table *sgt;
	int ret;

	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table_from_pages(sgt, buf->pages, buf->nr_pages, 0,
					buf->nr_pages << PAGE_SHIFT, GFP_KERNEL);
	if (ret)
		goto err_free;
	ret = dma_map_sgtable(attach->dev, sgt, dir, 0);
	if (ret)
		goto err_table;
	return sgt;

err_table:
	sg_free_table(sgt);
err_free:
	kfree(sgt);
	return ERR_PTR(ret);
}

static void vshm_selftest_unmap(struct dma_buf_attachment *attach,
				struct sg_table *sgt, enum dma_data_direction dir)
{
	dma_unmap_sgtable(attach->dev, sgt, dir, 0);
	sg_free_table(sgt);
	kfree(sgt);
}

static void vshm_selftest_free(struct vshm_selftest_buf *buf)
{
	unsigned long i;

	for (i = 0; i < buf->nr_pages; i += 1UL << buf->order)
		if (buf->pages[i])
			__free_pages(buf->pages[i], buf->order);
	kvfree(buf->pages);
	kfree(buf);
}

static void vshm_selftest_release(struct dma_buf *dmabuf)
{
	vshm_selftest_free(dmabuf->priv);
}

static const struct dma_buf_ops vshm_selftest_ops = {
	.map_dma_buf = vshm_selftest_map,
	.unmap_dma_buf = vshm_selftest_unmap,
	.release = vshm_selftest_release,
};

static int vshm_selftest_export(struct vshm_selftest_export *arg)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct vshm_selftest_buf *buf;
	struct dma_buf *dmabuf;
	unsigned long i, j;
	int fd;

	if (!arg->size || arg->size > SZ_64M || !IS_ALIGNED(arg->size, 2 * PAGE_SIZE))
		return -EINVAL;
	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	buf->nr_pages = arg->size >> PAGE_SHIFT;
	switch (arg->kind) {
	case VSHM_SELFTEST_UNKNOWN_EXPORTER:
		break;
	case VSHM_SELFTEST_NAMED_UDMABUF:
		exp_info.exp_name = "udmabuf";
		break;
	case VSHM_SELFTEST_TTM_TAILS:
		exp_info.exp_name = "udmabuf";
		buf->order = 1;
		break;
	default:
		kfree(buf);
		return -EINVAL;
	}
	buf->pages = kvcalloc(buf->nr_pages, sizeof(*buf->pages), GFP_KERNEL);
	if (!buf->pages)
		goto err_nomem;
	for (i = 0; i < buf->nr_pages; i += 1UL << buf->order) {
		/* Deliberately without __GFP_COMP, as TTM's pool does. */
		struct page *page = alloc_pages(GFP_KERNEL | __GFP_ZERO, buf->order);

		if (!page)
			goto err_nomem;
		for (j = 0; j < 1UL << buf->order; j++)
			buf->pages[i + j] = page + j;
	}

	exp_info.ops = &vshm_selftest_ops;
	exp_info.size = arg->size;
	exp_info.flags = O_RDWR;
	exp_info.priv = buf;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		vshm_selftest_free(buf);
		return PTR_ERR(dmabuf);
	}
	fd = dma_buf_fd(dmabuf, O_CLOEXEC);
	if (fd < 0) {
		dma_buf_put(dmabuf);	/* frees @buf */
		return fd;
	}
	arg->fd = fd;
	return 0;

err_nomem:
	vshm_selftest_free(buf);
	return -ENOMEM;
}

static long vshm_selftest_ioctl(struct file *file, unsigned int cmd,
				unsigned long uarg)
{
	struct vshm_selftest_export arg;
	int ret;

	if (cmd != VSHM_SELFTEST_EXPORT)
		return -ENOTTY;
	if (copy_from_user(&arg, (void __user *)uarg, sizeof(arg)))
		return -EFAULT;
	ret = vshm_selftest_export(&arg);
	if (ret)
		return ret;
	/* The fd stays installed: the test closes it whatever happens. */
	if (copy_to_user((void __user *)uarg, &arg, sizeof(arg)))
		return -EFAULT;
	return 0;
}

static const struct file_operations vshm_selftest_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = vshm_selftest_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice vshm_selftest_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vshm_selftest_exporter",
	.fops = &vshm_selftest_fops,
	.mode = 0600,
};

module_misc_device(vshm_selftest_misc);
MODULE_INFO(import_ns, "DMA_BUF");
MODULE_DESCRIPTION("vshm selftest: a dma-buf exporter vshm must refuse");
MODULE_LICENSE("GPL");
