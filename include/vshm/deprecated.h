/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Names that libvshm 1.3 replaced, kept so that code written against 1.2
 * still builds.  Define VSHM_NO_DEPRECATED before including any vshm
 * header to make sure a program uses only the current names (the vshm tree
 * itself builds that way).
 *
 *   before 1.3                      since 1.3
 *   enum vshm_backend_type          enum vshm_region_mode
 *   VSHM_BACKEND_AUTO/KMOD/...      VSHM_REGION_MODE_AUTO/KMOD/...
 *   vshm_region_backend()           vshm_region_mode()
 *   vshm_region_stats.backend       vshm_region_stats.region_mode
 *   struct vshm_mapping             struct vshm_mapping_entry
 *
 * Included by region.h; not meant to be included on its own.
 */
#ifndef VSHM_DEPRECATED_H
#define VSHM_DEPRECATED_H

#ifndef VSHM_NO_DEPRECATED

#include <vshm/region.h>

#ifdef __cplusplus
extern "C" {
#endif

#define vshm_backend_type	vshm_region_mode
#define VSHM_BACKEND_AUTO	VSHM_REGION_MODE_AUTO
#define VSHM_BACKEND_KMOD	VSHM_REGION_MODE_KMOD
#define VSHM_BACKEND_MMAP	VSHM_REGION_MODE_MMAP
#define VSHM_BACKEND_TABLE	VSHM_REGION_MODE_TABLE

/*
 * The kernel module has an internal struct vshm_mapping of its own; the
 * library's is the LIST_MAPPINGS entry.
 */
#define vshm_mapping		vshm_mapping_entry

/* Deprecated: vshm_region_mode(). */
enum vshm_region_mode vshm_region_backend(const struct vshm_region *r)
	__attribute__((deprecated("use vshm_region_mode()")));

#ifdef __cplusplus
}
#endif

#endif /* !VSHM_NO_DEPRECATED */

#endif /* VSHM_DEPRECATED_H */
