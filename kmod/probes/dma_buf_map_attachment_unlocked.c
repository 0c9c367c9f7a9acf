// SPDX-License-Identifier: GPL-2.0
/*
 * Upstream 6.2, and backported to Debian's 6.1: map an attachment without
 * holding the buffer's reservation lock.  vshm requires it.
 */
#include <linux/dma-buf.h>

struct sg_table *vshm_probe(struct dma_buf_attachment *attach);
struct sg_table *vshm_probe(struct dma_buf_attachment *attach)
{
	return dma_buf_map_attachment_unlocked(attach, DMA_BIDIRECTIONAL);
}
