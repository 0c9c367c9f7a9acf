// SPDX-License-Identifier: GPL-2.0
/*
 * 6.12: PFN maps may hold PMD entries.  The same release let the fault
 * path call ->huge_fault() on VM_PFNMAP VMAs (before, VM_NO_KHUGEPAGED
 * ruled them out) and gave PMDs a special bit; the architecture says so
 * with CONFIG_ARCH_SUPPORTS_PMD_PFNMAP, which needs THP.
 */
#include <linux/mm.h>
#include <linux/huge_mm.h>

#if !defined(CONFIG_ARCH_SUPPORTS_PMD_PFNMAP) || !defined(CONFIG_TRANSPARENT_HUGEPAGE)
#error "no PMD entries in PFN maps"
#endif

vm_fault_t vshm_probe(struct vm_fault *vmf, unsigned int order);
vm_fault_t vshm_probe(struct vm_fault *vmf, unsigned int order)
{
	static const struct vm_operations_struct ops = {
		.huge_fault = vshm_probe,
	};

	return ops.huge_fault == vshm_probe && order == PMD_ORDER &&
	       pmd_special(*vmf->pmd) ? VM_FAULT_NOPAGE : VM_FAULT_FALLBACK;
}
