// SPDX-License-Identifier: LGPL-2.1-or-later
/* Sorted table of non-overlapping mappings, shared by both region modes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "internal.h"

size_t vshmi_maptab_find(const struct vshmi_maptab *t, uint64_t offset)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].shm_offset + t->v[mid].len <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

ssize_t vshmi_maptab_exact(const struct vshmi_maptab *t, uint64_t off, uint64_t len)
{
	size_t i = vshmi_maptab_find(t, off);

	if (i < t->n && t->v[i].shm_offset == off && t->v[i].len == len)
		return i;
	return -ENOENT;
}

int vshmi_maptab_covered(const struct vshmi_maptab *t, uint64_t off,
			 uint64_t len, size_t *first, size_t *count)
{
	size_t i = vshmi_maptab_find(t, off);
	uint64_t end = off + len;

	*first = i;
	*count = 0;
	for (; i < t->n && t->v[i].shm_offset < end; i++) {
		if (t->v[i].shm_offset < off ||
		    t->v[i].shm_offset + t->v[i].len > end)
			return -EINVAL;
		(*count)++;
	}
	return 0;
}

int vshmi_maptab_reserve(struct vshmi_maptab *t, size_t extra)
{
	struct vshm_mapping_entry *v;
	struct vshmi_src *src;
	size_t cap;

	if (t->n + extra <= t->cap)
		return 0;
	cap = t->cap ? t->cap * 2 : 16;
	while (cap < t->n + extra)
		cap *= 2;
	v = realloc(t->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	t->v = v;
	src = realloc(t->src, cap * sizeof(*src));
	if (!src)
		return -ENOMEM;	/* v is merely larger than needed */
	t->src = src;
	t->cap = cap;
	return 0;
}

static void src_close(struct vshmi_src *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

void vshmi_maptab_replace(struct vshmi_maptab *t, size_t first, size_t count,
			  const struct vshm_mapping_entry *m,
			  const struct vshmi_src *src)
{
	size_t i, tail = t->n - first - count;

	for (i = first; i < first + count; i++) {
		t->bytes -= t->v[i].len;
		src_close(&t->src[i]);
	}
	if (m) {
		if (count != 1) {
			memmove(&t->v[first + 1], &t->v[first + count],
				tail * sizeof(*t->v));
			memmove(&t->src[first + 1], &t->src[first + count],
				tail * sizeof(*t->src));
		}
		t->v[first] = *m;
		t->src[first] = src ? *src : (struct vshmi_src){ .fd = -1 };
		t->bytes += m->len;
		t->n = t->n - count + 1;
	} else {
		memmove(&t->v[first], &t->v[first + count], tail * sizeof(*t->v));
		memmove(&t->src[first], &t->src[first + count],
			tail * sizeof(*t->src));
		t->n -= count;
	}
}

void vshmi_maptab_clear(struct vshmi_maptab *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		src_close(&t->src[i]);
	t->n = 0;
	t->bytes = 0;
}

void vshmi_maptab_free(struct vshmi_maptab *t)
{
	vshmi_maptab_clear(t);
	free(t->v);
	free(t->src);
	memset(t, 0, sizeof(*t));
}
