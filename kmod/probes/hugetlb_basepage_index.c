// SPDX-License-Identifier: GPL-2.0
/*
 * Before 6.7, hugetlbfs page cache indices counted huge pages and
 * hugetlb_basepage_index() converted them; 6.7 made them count base pages
 * and removed the helper with the special case.
 */
#include <linux/pagemap.h>

pgoff_t vshm_probe(struct page *page);
pgoff_t vshm_probe(struct page *page)
{
	return hugetlb_basepage_index(page);
}
