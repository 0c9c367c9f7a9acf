// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf sources.
 *
 * vshm attaches to the buffer as its misc device (a static importer: the
 * exporter keeps the pages pinned while the attachment is mapped) and maps
 * the attachment to learn the buffer's pages.  The pages of the mapped
 * range are recorded when the mapping is made; faults insert them like any
 * other source's.  Only buffers backed by ordinary struct pages can be
 * mapped: an exporter that hands out I/O memory (no struct page, or device
 * pages) is refused with ENODEV rather than mapped wrongly.
 *
 * The buffer, attachment and mapping are held until the mapping is
 * released, which happens only after its range has been zapped.
 */
#include <linux/dma-buf.h>
#include <linux/dma-direction.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "vshm_compat.h"
#include "vshm_internal.h"

static int vshm_dmabuf_get_page(struct vshm_mapping *map, pgoff_t index,
				struct page **pagep)
{
	if (WARN_ON_ONCE(index >= map->len >> PAGE_SHIFT))
		return -EFAULT;
	*pagep = map->dma_pages[index];
	return 0;
}

static void vshm_dmabuf_release(struct vshm_mapping *map)
{
	if (map->dma_pages) {
		atomic64_sub(map->len >> PAGE_SHIFT, &vshm_totals.pages_held);
		kvfree(map->dma_pages);
		map->dma_pages = NULL;
	}
	if (map->sgt)
		dma_buf_unmap_attachment_unlocked(map->attach, map->sgt,
						  DMA_BIDIRECTIONAL);
	if (map->attach)
		dma_buf_detach(map->dmabuf, map->attach);
	dma_buf_put(map->dmabuf);
	map->dmabuf = NULL;
}

static const struct vshm_source_ops vshm_dmabuf_ops = {
	.name = "dma-buf",
	.get_page = vshm_dmabuf_get_page,
	.release = vshm_dmabuf_release,
};

/* Record the pages of [fd_offset, fd_offset + len) of the attachment. */
static int vshm_dmabuf_collect_pages(struct vshm_mapping *map,
				     struct page **pages)
{
	pgoff_t first = map->fd_offset >> PAGE_SHIFT;
	pgoff_t want = map->len >> PAGE_SHIFT;
	pgoff_t pos = 0, got = 0;
	struct scatterlist *sg;
	unsigned int i, j;

	for_each_sgtable_sg(map->sgt, sg, i) {
		struct page *page = sg_page(sg);
		unsigned int n = sg->length >> PAGE_SHIFT;

		if (got == want)
			break;
		/* I/O memory, or a layout that is not whole pages. */
		if (!page || sg->offset || !PAGE_ALIGNED(sg->length))
			return -ENODEV;
		for (j = 0; j < n && got < want; j++, pos++) {
			struct page *p = vshm_nth_page(page, j);

			if (pos < first)
				continue;
			if (!pfn_valid(page_to_pfn(p)) || is_zone_device_page(p))
				return -ENODEV;
			pages[got++] = p;
		}
	}
	return got == want ? 0 : -EOVERFLOW;
}

/**
 * vshm_dmabuf_open() - make @map a mapping of a dma-buf
 * @map: a new mapping with fd_offset, len and writable set.
 * @dmabuf: the buffer, with a reference that @map takes over (it is put
 *	on failure too).
 *
 * Return: 0; -EOVERFLOW if the range passes the buffer's end; -EACCES for
 * a write mapping of a buffer not exported for writing; -ENODEV if the
 * buffer is not backed by ordinary pages; or the exporter's error.  On
 * failure @map holds nothing of the buffer any more.
 */
int vshm_dmabuf_open(struct vshm_mapping *map, struct dma_buf *dmabuf)
{
	struct page **pages = NULL;
	int ret;

	map->dmabuf = dmabuf;
	map->ops = &vshm_dmabuf_ops;
	if (map->fd_offset + map->len > dmabuf->size) {
		ret = -EOVERFLOW;
		goto err_release;
	}
	if (map->writable && !(dmabuf->file->f_mode & FMODE_WRITE)) {
		ret = -EACCES;
		goto err_release;
	}
	pages = kvcalloc(map->len >> PAGE_SHIFT, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages) {
		ret = -ENOMEM;
		goto err_release;
	}
	map->attach = dma_buf_attach(dmabuf, vshm_dma_device());
	if (IS_ERR(map->attach)) {
		ret = PTR_ERR(map->attach);
		map->attach = NULL;
		goto err_release;
	}
	map->sgt = dma_buf_map_attachment_unlocked(map->attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(map->sgt)) {
		ret = PTR_ERR(map->sgt);
		map->sgt = NULL;
		goto err_release;
	}
	ret = vshm_dmabuf_collect_pages(map, pages);
	if (ret)
		goto err_release;
	map->dma_pages = pages;
	atomic64_add(map->len >> PAGE_SHIFT, &vshm_totals.pages_held);
	return 0;

err_release:
	kvfree(pages);
	vshm_dmabuf_release(map);
	return ret;
}
