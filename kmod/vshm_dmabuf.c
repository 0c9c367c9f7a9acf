// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf sources.
 *
 * vshm attaches to the buffer as its misc device (a static importer: the
 * exporter keeps the pages pinned while the attachment is mapped) and maps
 * the attachment to learn the buffer's pages.  A region attaches to each
 * buffer once, however many of its mappings use it (struct
 * vshm_dmabuf_import), and a module parameter caps the buffers one region
 * may have attached.
 *
 * The dma-buf rules do not let an importer use the struct pages of its
 * sg_table, nor take references on them (TTM hands out higher-order pages
 * whose tail pages have a refcount of 0).  vshm needs the pages, to insert
 * their PFNs and to copy, so it maps buffers only from exporters known to
 * hand out ordinary, refcounted system pages (the allow-list below), checks
 * every page on top of that, and never touches a page's refcount: the
 * attachment keeps the pages pinned, and a mapping keeps the attachment
 * for as long as a PTE or a copy may use its pages.  A kernel built with
 * CONFIG_DMABUF_DEBUG scrambles the pages of every importer's sg_table on
 * purpose; there, no dma-buf is mapped at all.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-buf.h>
#include <linux/dma-direction.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "vshm_compat.h"
#include "vshm_internal.h"

/**
 * struct vshm_dmabuf_import - a region's attachment to one dma-buf
 * @node: in the region's @dmabufs list.
 * @region: that region.
 * @dmabuf: the buffer, with a reference.
 * @attach: vshm's attachment to @dmabuf.
 * @sgt: the attachment's mapping; the exporter keeps the pages pinned
 *	while it exists.
 * @pages: every page of the buffer, in order.
 * @nr_pages: entries in @pages.
 * @users: the region's mappings of the buffer; under the region's
 *	dmabuf_lock.
 */
struct vshm_dmabuf_import {
	struct list_head node;
	struct vshm_region *region;
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
	struct page **pages;
	unsigned long nr_pages;
	unsigned int users;
};

/**
 * struct vshm_dmabuf_exporter - an exporter whose pages vshm may map
 * @exp_name: the buffer's exp_name.
 * @owner: the module that must own the buffer, for an exp_name that
 *	several exporters share; NULL if @exp_name alone names the exporter.
 */
struct vshm_dmabuf_exporter {
	const char *exp_name;
	const char *owner;
};

/*
 * Exporters whose buffers are ordinary system pages with a refcount of
 * their own: shmem-backed GEM objects (vgem; virtio-gpu, whose host-memory
 * blobs have no struct page and fail the page checks), udmabuf (memfd
 * pages) and the system dma-heap (compound pages).  Every GEM driver that
 * uses the PRIME helpers exports as "drm", TTM drivers included, so for
 * "drm" the driver module must be vgem itself: a built-in driver (no owner)
 * cannot be told apart and is refused.
 */
static const struct vshm_dmabuf_exporter vshm_dmabuf_exporters[] = {
	{ .exp_name = "drm", .owner = "vgem" },
	{ .exp_name = "virtio_gpu" },
	{ .exp_name = "udmabuf" },
	{ .exp_name = "system" },
};

static const char *vshm_dmabuf_owner(struct dma_buf *dmabuf)
{
	return dmabuf->owner ? module_name(dmabuf->owner) : "built-in";
}

/* Refuse @dmabuf for @why, saying so (rate limited), with ENODEV. */
static int vshm_dmabuf_refuse(struct dma_buf *dmabuf, const char *why)
{
	pr_notice_ratelimited("dma-buf of exporter \"%s\" (module %s) refused: %s\n",
			      dmabuf->exp_name ?: "", vshm_dmabuf_owner(dmabuf),
			      why);
	return -ENODEV;
}

static bool vshm_dmabuf_exporter_known(struct dma_buf *dmabuf)
{
	const struct vshm_dmabuf_exporter *exp;
	size_t i;

	if (!dmabuf->exp_name)
		return false;
	for (i = 0; i < ARRAY_SIZE(vshm_dmabuf_exporters); i++) {
		exp = &vshm_dmabuf_exporters[i];
		if (strcmp(dmabuf->exp_name, exp->exp_name))
			continue;
		if (!exp->owner)
			return true;
		return dmabuf->owner &&
		       !strcmp(module_name(dmabuf->owner), exp->owner);
	}
	return false;
}

/*
 * An ordinary system page with a refcount: not I/O memory, not a device or
 * reserved page, and not the refcount-0 tail of a higher-order page that
 * is not compound (TTM's pool allocates those).  Compound tails count
 * with their head's refcount.
 */
static bool vshm_dmabuf_page_ordinary(struct page *page)
{
	return pfn_valid(page_to_pfn(page)) && !is_zone_device_page(page) &&
	       !PageReserved(page) && page_count(page) > 0;
}

/* Record every page of the attachment, checking each. */
static int vshm_dmabuf_collect_pages(struct vshm_dmabuf_import *imp)
{
	unsigned long got = 0;
	struct scatterlist *sg;
	unsigned int i, j;

	for_each_sgtable_sg(imp->sgt, sg, i) {
		struct page *first = sg_page(sg);
		unsigned int n = sg->length >> PAGE_SHIFT;

		if (!first || !PAGE_ALIGNED(sg->offset) || !PAGE_ALIGNED(sg->length))
			return vshm_dmabuf_refuse(imp->dmabuf,
						  "not backed by whole struct pages");
		for (j = 0; j < n && got < imp->nr_pages; j++) {
			struct page *page = vshm_nth_page(first,
							  (sg->offset >> PAGE_SHIFT) + j);

			if (!vshm_dmabuf_page_ordinary(page))
				return vshm_dmabuf_refuse(imp->dmabuf,
							  "a page is not an ordinary refcounted system page");
			imp->pages[got++] = page;
		}
	}
	if (got != imp->nr_pages)
		return vshm_dmabuf_refuse(imp->dmabuf,
					  "its scatterlist is shorter than the buffer");
	return 0;
}

/* Undo vshm_dmabuf_attach(): @imp is on no list. */
static void vshm_dmabuf_detach(struct vshm_dmabuf_import *imp)
{
	if (imp->sgt)
		dma_buf_unmap_attachment_unlocked(imp->attach, imp->sgt,
						  DMA_BIDIRECTIONAL);
	if (imp->attach)
		dma_buf_detach(imp->dmabuf, imp->attach);
	dma_buf_put(imp->dmabuf);
	kvfree(imp->pages);
	kfree(imp);
}

/* A new attachment of @region to @dmabuf, taking over the caller's reference. */
static struct vshm_dmabuf_import *vshm_dmabuf_attach(struct vshm_region *region,
						     struct dma_buf *dmabuf)
{
	struct vshm_dmabuf_import *imp;
	int ret;

	imp = kzalloc(sizeof(*imp), GFP_KERNEL_ACCOUNT);
	if (!imp) {
		dma_buf_put(dmabuf);
		return ERR_PTR(-ENOMEM);
	}
	imp->region = region;
	imp->dmabuf = dmabuf;
	imp->nr_pages = dmabuf->size >> PAGE_SHIFT;
	/* A buffer too big for the table fails with ENOMEM, without a warning. */
	imp->pages = kvcalloc(imp->nr_pages, sizeof(*imp->pages),
			      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!imp->pages) {
		ret = -ENOMEM;
		goto err_detach;
	}
	imp->attach = dma_buf_attach(dmabuf, vshm_dma_device());
	if (IS_ERR(imp->attach)) {
		ret = PTR_ERR(imp->attach);
		imp->attach = NULL;
		goto err_detach;
	}
	imp->sgt = dma_buf_map_attachment_unlocked(imp->attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(imp->sgt)) {
		ret = PTR_ERR(imp->sgt);
		imp->sgt = NULL;
		goto err_detach;
	}
	ret = vshm_dmabuf_collect_pages(imp);
	if (ret)
		goto err_detach;
	return imp;

err_detach:
	vshm_dmabuf_detach(imp);
	return ERR_PTR(ret);
}

/*
 * The region's attachment to @dmabuf, made if it has none yet, with one
 * more user.  Takes over the caller's reference on @dmabuf.
 */
static struct vshm_dmabuf_import *vshm_dmabuf_import_get(struct vshm_region *region,
							 struct dma_buf *dmabuf)
{
	struct vshm_dmabuf_import *imp;

	mutex_lock(&region->dmabuf_lock);
	list_for_each_entry(imp, &region->dmabufs, node) {
		if (imp->dmabuf == dmabuf) {
			imp->users++;
			mutex_unlock(&region->dmabuf_lock);
			dma_buf_put(dmabuf);
			return imp;
		}
	}
	if (region->nr_dmabufs >= region->max_dmabufs) {
		mutex_unlock(&region->dmabuf_lock);
		dma_buf_put(dmabuf);
		return ERR_PTR(-ENOSPC);
	}
	/* Attached under the lock, so that two maps never attach twice. */
	imp = vshm_dmabuf_attach(region, dmabuf);
	if (!IS_ERR(imp)) {
		imp->users = 1;
		list_add(&imp->node, &region->dmabufs);
		region->nr_dmabufs++;
		atomic64_inc(&vshm_totals.dmabuf_attachments);
		atomic64_add(imp->nr_pages, &vshm_totals.pages_held);
	}
	mutex_unlock(&region->dmabuf_lock);
	return imp;
}

static void vshm_dmabuf_import_put(struct vshm_dmabuf_import *imp)
{
	struct vshm_region *region = imp->region;
	bool last;

	mutex_lock(&region->dmabuf_lock);
	last = !--imp->users;
	if (last) {
		list_del(&imp->node);
		region->nr_dmabufs--;
	}
	mutex_unlock(&region->dmabuf_lock);
	if (!last)
		return;
	atomic64_sub(imp->nr_pages, &vshm_totals.pages_held);
	atomic64_dec(&vshm_totals.dmabuf_attachments);
	vshm_dmabuf_detach(imp);
}

static int vshm_dmabuf_get_page(struct vshm_mapping *map, pgoff_t index,
				struct page **pagep)
{
	pgoff_t first = map->fd_offset >> PAGE_SHIFT;

	if (WARN_ON_ONCE(index >= map->len >> PAGE_SHIFT))
		return -EFAULT;
	*pagep = map->import->pages[first + index];
	return 0;
}

static int vshm_dmabuf_begin_cpu_access(struct vshm_mapping *map, bool write)
{
	return dma_buf_begin_cpu_access(map->import->dmabuf,
					write ? DMA_TO_DEVICE : DMA_FROM_DEVICE);
}

static void vshm_dmabuf_end_cpu_access(struct vshm_mapping *map, bool write)
{
	dma_buf_end_cpu_access(map->import->dmabuf,
			       write ? DMA_TO_DEVICE : DMA_FROM_DEVICE);
}

static void vshm_dmabuf_release(struct vshm_mapping *map)
{
	if (map->import)
		vshm_dmabuf_import_put(map->import);
	map->import = NULL;
}

/**
 * vshm_dmabuf_file() - the file of the dma-buf a mapping maps
 * @map: a dma-buf mapping, alive (in a table or with a reference held).
 *
 * Return: the dma-buf's file, which lives as long as the mapping.
 */
struct file *vshm_dmabuf_file(const struct vshm_mapping *map)
{
	return map->import->dmabuf->file;
}

static const struct vshm_source_ops vshm_dmabuf_ops = {
	.name = "dma-buf",
	.get_page = vshm_dmabuf_get_page,
	.begin_cpu_access = vshm_dmabuf_begin_cpu_access,
	.end_cpu_access = vshm_dmabuf_end_cpu_access,
	.release = vshm_dmabuf_release,
};

/**
 * vshm_dmabuf_open() - make @map a mapping of a dma-buf
 * @region: the region @map is for; its attachment to @dmabuf is shared.
 * @map: a new mapping with fd_offset, len and writable set.
 * @dmabuf: the buffer, with a reference that @map takes over (it is put
 *	on failure too).
 *
 * Return: 0; -EOVERFLOW if the range passes the buffer's end; -EACCES for
 * a write mapping of a buffer not exported for writing; -EOPNOTSUPP on a
 * kernel with CONFIG_DMABUF_DEBUG; -ENODEV for an exporter vshm does not
 * know to hand out ordinary pages, or a buffer with a page that is not;
 * -ENOSPC if the region has max_dmabufs other buffers attached; or the
 * exporter's error.  On failure @map holds nothing of the buffer any more.
 */
int vshm_dmabuf_open(struct vshm_region *region, struct vshm_mapping *map,
		     struct dma_buf *dmabuf)
{
	struct vshm_dmabuf_import *imp;
	int ret;

	map->ops = &vshm_dmabuf_ops;
	if (map->fd_offset + map->len > dmabuf->size) {
		ret = -EOVERFLOW;
		goto err_put;
	}
	if (map->writable && !(dmabuf->file->f_mode & FMODE_WRITE)) {
		ret = -EACCES;
		goto err_put;
	}
	if (IS_ENABLED(CONFIG_DMABUF_DEBUG)) {
		pr_notice_ratelimited("dma-buf of exporter \"%s\" refused: this kernel has CONFIG_DMABUF_DEBUG, which hides every buffer's pages from importers\n",
				      dmabuf->exp_name ?: "");
		ret = -EOPNOTSUPP;
		goto err_put;
	}
	if (!vshm_dmabuf_exporter_known(dmabuf)) {
		ret = vshm_dmabuf_refuse(dmabuf,
					 "not an exporter of ordinary system pages that vshm knows");
		goto err_put;
	}
	if (!PAGE_ALIGNED(dmabuf->size)) {
		ret = vshm_dmabuf_refuse(dmabuf, "its size is not whole pages");
		goto err_put;
	}
	imp = vshm_dmabuf_import_get(region, dmabuf);
	if (IS_ERR(imp))
		return PTR_ERR(imp);
	map->import = imp;
	return 0;

err_put:
	dma_buf_put(dmabuf);
	return ret;
}
