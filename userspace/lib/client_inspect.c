// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VMM client of the vshmd control socket: what the broker says about
 * itself (its version, from HELLO) and the inspection requests behind
 * vshmctl.  A broker that did not grant VSHM_CTL_FEAT_BROKER_INFO (before
 * vshm 1.2) would close the connection on these request numbers, so they
 * are refused here with EOPNOTSUPP before anything is sent.
 */
#include <errno.h>

#include "client_internal.h"

int vshm_client_broker_version(const struct vshm_client *c,
			       struct vshm_ctl_broker_info *out)
{
	if (!c->has_broker_info)
		return -EOPNOTSUPP;
	*out = c->broker_info;
	return 0;
}

/* Send one inspection request and copy up to max entries of its list reply. */
static ssize_t list_call(struct vshm_client *c, uint32_t request,
			 const void *payload, size_t plen, void *out,
			 size_t esize, size_t max, uint32_t *total,
			 struct vshm_err *err)
{
	if (!(c->features & VSHM_CTL_FEAT_BROKER_INFO))
		return vshmi_fail(err, EOPNOTSUPP,
				  "the broker does not answer %s: it predates vshm 1.2 (it did not grant VSHM_CTL_FEAT_BROKER_INFO in HELLO)",
				  vshmi_ctl_name(request));
	return vshmi_client_list_call(c, request, payload, plen, out, esize,
				      max, total, err);
}

ssize_t vshm_client_list_regions(struct vshm_client *c, uint32_t dev_id,
				 uint32_t start,
				 struct vshm_ctl_region_entry *out, size_t max,
				 uint32_t *total, struct vshm_err *err)
{
	struct vshm_ctl_list_regions req = { .dev_id = dev_id, .start = start };

	return list_call(c, VSHM_CTL_LIST_REGIONS, &req, sizeof(req), out,
			 sizeof(*out), max, total, err);
}

ssize_t vshm_client_list_ram(struct vshm_client *c,
			     struct vshm_ctl_ram_range *out, size_t max,
			     uint32_t *total, struct vshm_err *err)
{
	return list_call(c, VSHM_CTL_LIST_RAM, NULL, 0, out, sizeof(*out), max,
			 total, err);
}

ssize_t vshm_client_list_shared_objects(struct vshm_client *c, uint32_t start,
					struct vshm_ctl_shared_object_entry *out,
					size_t max, uint32_t *total,
					struct vshm_err *err)
{
	struct vshm_ctl_list_start req = { .start = start };

	return list_call(c, VSHM_CTL_LIST_SHARED_OBJECTS, &req, sizeof(req),
			 out, sizeof(*out), max, total, err);
}

ssize_t vshm_client_list_clients(struct vshm_client *c, uint32_t start,
				 struct vshm_ctl_client_entry *out, size_t max,
				 uint32_t *total, struct vshm_err *err)
{
	struct vshm_ctl_list_start req = { .start = start };

	return list_call(c, VSHM_CTL_LIST_CLIENTS, &req, sizeof(req), out,
			 sizeof(*out), max, total, err);
}

ssize_t vshm_client_limits(struct vshm_client *c, struct vshm_ctl_limit *out,
			   size_t max, uint32_t *total, struct vshm_err *err)
{
	return list_call(c, VSHM_CTL_GET_LIMITS, NULL, 0, out, sizeof(*out), max,
			 total, err);
}
