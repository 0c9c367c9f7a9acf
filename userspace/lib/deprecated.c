// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The exported functions of names that libvshm 1.3 replaced
 * (include/vshm/deprecated.h): kept in the ABI, each a call to its
 * successor.
 */
#undef VSHM_NO_DEPRECATED
#include <vshm/region.h>

enum vshm_region_mode vshm_region_backend(const struct vshm_region *r)
{
	return vshm_region_mode(r);
}
