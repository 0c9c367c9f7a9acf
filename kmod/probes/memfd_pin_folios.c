// SPDX-License-Identifier: GPL-2.0
/* 6.11 added memfd_pin_folios(): long-term pins of a memfd's pages. */
#include <linux/mm.h>

long vshm_probe(struct file *memfd, struct folio **folios, pgoff_t *offset);
long vshm_probe(struct file *memfd, struct folio **folios, pgoff_t *offset)
{
	long n = memfd_pin_folios(memfd, 0, PAGE_SIZE - 1, folios, 1, offset);

	if (n > 0)
		unpin_folio(folios[0]);
	return n;
}
