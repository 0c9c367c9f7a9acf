// SPDX-License-Identifier: GPL-2.0
/* 6.16 removed pfn_t: vmf_insert_pfn_pmd() takes a plain pfn. */
#include <linux/mm.h>
#include <linux/huge_mm.h>

vm_fault_t vshm_probe(struct vm_fault *vmf, unsigned long pfn);
vm_fault_t vshm_probe(struct vm_fault *vmf, unsigned long pfn)
{
	return vmf_insert_pfn_pmd(vmf, pfn, false);
}
