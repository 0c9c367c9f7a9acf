// SPDX-License-Identifier: LGPL-2.1-or-later
/* Region dispatch: common checks and bookkeeping, then the back-end. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

int vshm_region_create(enum vshm_region_mode type, uint64_t size,
		       uint32_t max_mappings, struct vshm_region **out)
{
	return vshm_region_create_flags(type, size, max_mappings, 0, out);
}

int vshm_region_create_flags(enum vshm_region_mode type, uint64_t size,
			     uint32_t max_mappings, uint32_t flags,
			     struct vshm_region **out)
{
	struct vshm_region *r;
	int ret;

	if (type > VSHM_REGION_MODE_TABLE || (flags & ~VSHM_REGION_CREATE_FLAGS_ALL))
		return -EINVAL;
	/* A hole cannot both fault and read zeros. */
	if ((flags & VSHM_REGION_STRICT_HOLES) && (flags & VSHM_REGION_ZERO_HOLES))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fd = -1;
	r->size = size;
	r->max_mappings = max_mappings;
	r->create_flags = flags;
	switch (type) {
	case VSHM_REGION_MODE_AUTO:
		ret = vshmi_region_kmod_init(r);
		if (ret == -ENOENT || ret == -ENODEV || ret == -ENXIO ||
		    ret == -EACCES || ret == -EPERM)
			ret = vshmi_region_mmap_init(r);
		break;
	case VSHM_REGION_MODE_KMOD:
		ret = vshmi_region_kmod_init(r);
		break;
	case VSHM_REGION_MODE_TABLE:
		ret = vshmi_region_table_init(r);
		break;
	default:
		ret = vshmi_region_mmap_init(r);
		break;
	}
	if (ret) {
		free(r);
		return ret;
	}
	*out = r;
	return 0;
}

void vshm_region_destroy(struct vshm_region *r)
{
	if (!r)
		return;
	r->ops->destroy(r);
	vshmi_maptab_free(&r->tab);
	free(r);
}

void vshm_region_forget(struct vshm_region *r)
{
	if (!r)
		return;
	if (r->type == VSHM_REGION_MODE_KMOD)
		vshmi_region_kmod_forget(r);
	else
		r->ops->destroy(r);	/* its mappings live in this process */
	vshmi_maptab_free(&r->tab);
	free(r);
}

enum vshm_region_mode vshm_region_mode(const struct vshm_region *r)
{
	return r->type;
}

uint64_t vshm_region_size(const struct vshm_region *r)
{
	return r->size;
}

int vshm_region_fd(const struct vshm_region *r)
{
	return r->fd >= 0 ? r->fd : -ENODEV;
}

void *vshm_region_addr(const struct vshm_region *r)
{
	return r->base;
}

/*
 * Every region mode's map starts here, with the same checks in the same
 * order: flags, alignment and bounds, then the mappings the range meets,
 * then the source (for kmod, the module's judgement, with the same rules
 * and codes).  The region mode only executes.
 */
int vshm_region_map(struct vshm_region *r, int fd, uint64_t fd_offset,
		    uint64_t shm_offset, uint64_t len, uint32_t flags)
{
	bool replace = flags & VSHM_REGION_REPLACE;
	enum vshmi_src_kind kind;
	size_t first, count;
	int ret;

	if (r->broken)
		return -EIO;
	ret = vshmi_region_check_map(r, fd_offset, shm_offset, len, flags);
	if (ret)
		return ret;
	ret = vshmi_maptab_covered(&r->tab, shm_offset, len, &first, &count);
	if (ret)
		return replace ? -EINVAL : -EEXIST;
	if (count && !replace)
		return -EEXIST;
	kind = VSHMI_SRC_NONE;
	if (!r->ops->judges_sources) {
		ret = vshmi_source_check(fd, fd_offset, len,
					 flags & VSHM_REGION_WRITE, &kind);
		if (ret)
			return ret;
	}
	/* The table entry must be insertable once the region mode succeeded. */
	ret = vshmi_maptab_reserve(&r->tab, 1);
	if (ret)
		return ret;
	ret = r->ops->map(r, fd, fd_offset, shm_offset, len, flags, kind,
			  first, count);
	if (!ret)
		r->maps++;
	return ret;
}

int vshm_region_replace(struct vshm_region *r, int fd, uint64_t fd_offset,
			uint64_t shm_offset, uint64_t len, uint32_t flags)
{
	return vshm_region_map(r, fd, fd_offset, shm_offset, len,
			       flags | VSHM_REGION_REPLACE);
}

int vshm_region_unmap(struct vshm_region *r, uint64_t shm_offset, uint64_t len)
{
	return r->ops->unmap(r, shm_offset, len);
}

int vshm_region_unmap_all(struct vshm_region *r)
{
	return r->ops->unmap_all(r);
}

ssize_t vshm_region_read(struct vshm_region *r, uint64_t offset, void *buf,
			 size_t len)
{
	return r->ops->copy(r, offset, buf, len, false);
}

ssize_t vshm_region_write(struct vshm_region *r, uint64_t offset,
			  const void *buf, size_t len)
{
	return r->ops->copy(r, offset, (void *)buf, len, true);
}

int vshm_region_info(struct vshm_region *r, struct vshm_region_stats *info)
{
	*info = (struct vshm_region_stats){
		.size = r->size,
		.region_mode = r->type,
		.max_mappings = r->max_mappings,
		.nr_mappings = r->tab.n,
		.mapped_bytes = r->tab.bytes,
		.copied_in = r->copied_in,
		.copied_out = r->copied_out,
		.maps = r->maps,
		.unmaps = r->unmaps,
	};
	return r->ops->info(r, info);
}

ssize_t vshm_region_mappings(const struct vshm_region *r, size_t start,
			     struct vshm_mapping_entry *out, size_t max)
{
	size_t i;

	for (i = 0; start + i < r->tab.n && i < max; i++)
		out[i] = r->tab.v[start + i];
	return i;
}

int vshm_region_lookup(const struct vshm_region *r, uint64_t offset,
		       struct vshm_mapping_entry *m)
{
	size_t i = vshmi_maptab_find(&r->tab, offset);

	if (i >= r->tab.n || r->tab.v[i].shm_offset > offset)
		return -ENOENT;
	*m = r->tab.v[i];
	return 0;
}
