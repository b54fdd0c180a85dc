// SPDX-License-Identifier: GPL-2.0
/* Probe: 6.3+ made vma->vm_flags const and added vm_flags_mod(). */
#include <linux/mm.h>

void mrl_probe(struct vm_area_struct *vma);
void mrl_probe(struct vm_area_struct *vma)
{
	vm_flags_mod(vma, VM_DONTEXPAND, VM_MAYWRITE);
}
