// SPDX-License-Identifier: GPL-2.0
/* 6.3: vma->vm_flags became read-only behind vm_flags_mod() and friends. */
#include <linux/mm.h>

void vshm_probe(struct vm_area_struct *vma);
void vshm_probe(struct vm_area_struct *vma)
{
	vm_flags_mod(vma, VM_IO, 0);
}
