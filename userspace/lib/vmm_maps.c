// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The VMM's side of the forwarding mode (no /dev/vshm): the broker has
 * validated a SHMEM_MAP / SHMEM_UNMAP / device reset and asks the VMM to
 * execute it in its own reservation of the region.  The reservation is a
 * libvshm mmap region (region_mmap.c): PROT_NONE, MAP_PRIVATE |
 * MAP_ANONYMOUS | MAP_NORESERVE; a map is mmap(MAP_FIXED | MAP_SHARED) of
 * the source into it, an unmap puts PROT_NONE back over the range (never a
 * gap that an unrelated mmap could take), a reset does that over the whole
 * region.  The region checks every rule again, so a broker that asks for
 * something invalid gets an error answer, never a stray mapping.
 */
#include <errno.h>
#include <string.h>

#include "client_internal.h"

uint32_t vshm_client_region_mode(const struct vshm_client *c)
{
	if (c->features & VSHM_CTL_FEAT_KMOD)
		return VSHM_CTL_REGIONS_KMOD;
	if (c->features & VSHM_CTL_FEAT_VMM_MAPS)
		return VSHM_CTL_REGIONS_VMM;
	return VSHM_CTL_REGIONS_BROKER;
}

static int vmm_map(struct vshm_msg *msg, vshm_vmm_lookup_fn lookup,
		   void *opaque)
{
	struct vshm_ctl_vmm_map v;
	struct vshm_region *r;

	memcpy(&v, msg->payload, sizeof(v));
	r = lookup(v.dev_id, v.shmid, opaque);
	if (!r)
		return -ENOENT;
	if (msg->hdr.request == VSHM_CTL_VMM_UNMAP)
		return vshm_region_unmap(r, v.shm_offset, v.len);
	return vshm_region_map(r, msg->fds[0], v.fd_offset, v.shm_offset, v.len,
			       (v.flags & VSHM_CTL_VMM_WRITE) ? VSHM_REGION_WRITE : 0);
}

static int vmm_reset(struct vshm_msg *msg, vshm_vmm_lookup_fn lookup,
		     void *opaque)
{
	struct vshm_ctl_vmm_reset v;
	struct vshm_region *r;
	uint32_t i;
	int ret = 0, e;

	memcpy(&v, msg->payload, sizeof(v));
	for (i = 0; i < v.nregions; i++) {
		r = lookup(v.dev_id, i, opaque);
		if (!r)
			continue;
		e = vshm_region_unmap_all(r);
		if (e && !ret)
			ret = e;
	}
	return ret;
}

int vshm_vmm_serve(struct vshm_client *c, struct vshm_msg *msg,
		   vshm_vmm_lookup_fn lookup, void *opaque, struct vshm_err *err)
{
	int ret;

	switch (msg->hdr.request) {
	case VSHM_CTL_VMM_MAP:
	case VSHM_CTL_VMM_UNMAP:
		ret = vmm_map(msg, lookup, opaque);
		break;
	case VSHM_CTL_VMM_RESET:
		ret = vmm_reset(msg, lookup, opaque);
		break;
	default:
		return vshmi_fail(err, EOPNOTSUPP,
				  "request %u is not a forwarding-mode request",
				  msg->hdr.request);
	}
	/* Library codes are not errno values: the broker gets EINVAL. */
	if (ret <= -VSHM_ERR_BASE)
		ret = -EINVAL;
	vshm_client_answer(c, msg->hdr.request, -ret, NULL, 0, NULL, 0, err);
	return ret;
}
