// SPDX-License-Identifier: GPL-2.0
/* 6.18 removed nth_page(): an sg entry's pages are contiguous in memmap. */
#include <linux/mm.h>

struct page *vshm_probe(struct page *page);
struct page *vshm_probe(struct page *page)
{
	return nth_page(page, 1);
}
