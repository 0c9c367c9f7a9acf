// SPDX-License-Identifier: LGPL-2.1-or-later
/* Sorted table of non-overlapping mappings, shared by both back-ends. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

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
	struct vshm_mapping *v;
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
	t->cap = cap;
	return 0;
}

void vshmi_maptab_replace(struct vshmi_maptab *t, size_t first, size_t count,
			  const struct vshm_mapping *m)
{
	size_t i;

	for (i = first; i < first + count; i++)
		t->bytes -= t->v[i].len;
	if (m) {
		if (count != 1)
			memmove(&t->v[first + 1], &t->v[first + count],
				(t->n - first - count) * sizeof(*t->v));
		t->v[first] = *m;
		t->bytes += m->len;
		t->n = t->n - count + 1;
	} else {
		memmove(&t->v[first], &t->v[first + count],
			(t->n - first - count) * sizeof(*t->v));
		t->n -= count;
	}
}

void vshmi_maptab_clear(struct vshmi_maptab *t)
{
	t->n = 0;
	t->bytes = 0;
}

void vshmi_maptab_free(struct vshmi_maptab *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}
