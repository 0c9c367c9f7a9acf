// SPDX-License-Identifier: GPL-2.0
/*
 * The mapping table of a region: non-overlapping ranges in an rbtree
 * ordered by start, so that lookup, insert and overlap checks cost
 * O(log n) in the number of mappings and nothing in their lengths.
 *
 * Every function here expects the region lock held: read for lookups,
 * write for changes.  Detached mappings are collected on a list and
 * released by the caller after it has zapped their PTEs, or later by the
 * last copy in flight that still uses one (vshm_mapping_get()).
 */
#include <linux/build_bug.h>
#include <linux/list.h>
#include <linux/rbtree.h>

#include <uapi/linux/vshm.h>

#include "vshm_internal.h"

/*
 * The cost of a mapping that Documentation/kmod.rst ("Limits") states: one
 * kmalloc-96 object on 64-bit, with no page array for one page.
 */
static_assert(!IS_ENABLED(CONFIG_64BIT) || sizeof(struct vshm_mapping) <= 96);

static inline u64 vshm_mapping_end(const struct vshm_mapping *map)
{
	return map->start + map->len;
}

/* The first mapping that ends after @off, or NULL. */
static struct vshm_mapping *vshm_mapping_first_ending_after(struct vshm_region *region,
							    u64 off)
{
	struct rb_node *node = region->mappings.rb_node;
	struct vshm_mapping *found = NULL;

	while (node) {
		struct vshm_mapping *map = rb_entry(node, struct vshm_mapping, node);

		if (vshm_mapping_end(map) > off) {
			found = map;
			node = node->rb_left;
		} else {
			node = node->rb_right;
		}
	}
	return found;
}

static struct vshm_mapping *vshm_mapping_next(struct vshm_mapping *map)
{
	struct rb_node *next = rb_next(&map->node);

	return next ? rb_entry(next, struct vshm_mapping, node) : NULL;
}

/**
 * vshm_mapping_lookup() - find the mapping that contains a region offset
 * @region: the region, lock held.
 * @off: byte offset in the region.
 *
 * Return: the mapping, or NULL if @off lies in a hole.
 */
struct vshm_mapping *vshm_mapping_lookup(struct vshm_region *region, u64 off)
{
	struct vshm_mapping *map = vshm_mapping_first_ending_after(region, off);

	return map && map->start <= off ? map : NULL;
}

/**
 * vshm_mapping_check_range() - may a new mapping go at [start, start + len)?
 * @region: the region, lock held.
 * @start: region offset of the new mapping.
 * @len: its length; @start + @len does not wrap (checked by the caller).
 * @replace: whether mappings inside the range may be replaced.
 * @covered: set to the number of mappings the range covers.
 *
 * Return: 0 if the range is free, or if @replace and every mapping it
 * touches lies wholly inside it; -EEXIST if it overlaps a mapping without
 * @replace; -EINVAL if @replace and it covers a mapping only partly.
 */
int vshm_mapping_check_range(struct vshm_region *region, u64 start, u64 len,
			     bool replace, unsigned int *covered)
{
	struct vshm_mapping *map = vshm_mapping_first_ending_after(region, start);
	u64 end = start + len;

	*covered = 0;
	for (; map && map->start < end; map = vshm_mapping_next(map)) {
		if (!replace)
			return -EEXIST;
		if (map->start < start || vshm_mapping_end(map) > end)
			return -EINVAL;
		(*covered)++;
	}
	return 0;
}

/**
 * vshm_mapping_list() - describe the mappings from a region offset on
 * @region: the region, lock held.
 * @cursor: list the mappings that end after this offset.
 * @out: array that receives up to @max descriptions, in order of offset.
 * @max: entries @out holds; may be 0.
 * @more: set to whether a mapping that ends after @cursor was left out.
 *
 * Takes no lock and sleeps not, so it may run under the region lock; the
 * caller copies @out to user space after dropping it.
 *
 * Return: the entries filled.
 */
unsigned int vshm_mapping_list(struct vshm_region *region, u64 cursor,
			       struct vshm_mapping_info *out, unsigned int max,
			       bool *more)
{
	struct vshm_mapping *map = vshm_mapping_first_ending_after(region, cursor);
	unsigned int n;

	for (n = 0; map && n < max; n++, map = vshm_mapping_next(map)) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].shm_offset = map->start;
		out[n].len = map->len;
		out[n].fd_offset = map->fd_offset;
		out[n].flags = map->writable ? VSHM_MAP_WRITE : 0;
		vshm_source_describe(map, &out[n]);
	}
	*more = map;
	return n;
}

/**
 * vshm_mapping_insert() - add a mapping to the table
 * @region: the region, lock held for write.
 * @map: a mapping whose range vshm_mapping_check_range() found free.
 */
void vshm_mapping_insert(struct vshm_region *region, struct vshm_mapping *map)
{
	struct rb_node **link = &region->mappings.rb_node, *parent = NULL;

	while (*link) {
		struct vshm_mapping *cur = rb_entry(*link, struct vshm_mapping, node);

		parent = *link;
		link = map->start < cur->start ? &parent->rb_left : &parent->rb_right;
	}
	rb_link_node(&map->node, parent, link);
	rb_insert_color(&map->node, &region->mappings);
	/* The table's reference; no one else can see @map before this. */
	refcount_set(&map->users, 1);

	region->nr_mappings++;
	region->mapped_bytes += map->len;
	atomic64_inc(&vshm_totals.mappings);
	atomic64_add(map->len, &vshm_totals.mapped_bytes);
}

/**
 * vshm_mapping_detach() - take a mapping out of the table
 * @region: the region, lock held for write.
 * @map: a mapping in its table.
 * @out: list that receives @map, for vshm_mapping_free_list().
 */
void vshm_mapping_detach(struct vshm_region *region, struct vshm_mapping *map,
			 struct list_head *out)
{
	rb_erase(&map->node, &region->mappings);
	list_add_tail(&map->link, out);

	region->nr_mappings--;
	region->mapped_bytes -= map->len;
	atomic64_inc(&region->unmaps);
	atomic64_dec(&vshm_totals.mappings);
	atomic64_sub(map->len, &vshm_totals.mapped_bytes);
}

/**
 * vshm_mapping_detach_range() - take out every mapping inside a range
 * @region: the region, lock held for write.
 * @start: range start.
 * @len: range length.
 * @out: list that receives the mappings.
 *
 * The caller has checked with vshm_mapping_check_range() that no mapping
 * sticks out of the range.
 */
void vshm_mapping_detach_range(struct vshm_region *region, u64 start, u64 len,
			       struct list_head *out)
{
	struct vshm_mapping *map = vshm_mapping_first_ending_after(region, start);
	u64 end = start + len;

	while (map && map->start < end) {
		struct vshm_mapping *next = vshm_mapping_next(map);

		vshm_mapping_detach(region, map, out);
		map = next;
	}
}

/**
 * vshm_mapping_find_exact() - find the mapping that is exactly a range
 * @region: the region, lock held.
 * @start: range start.
 * @len: range length.
 *
 * Return: the mapping, or NULL if no single mapping is exactly the range.
 */
struct vshm_mapping *vshm_mapping_find_exact(struct vshm_region *region,
					     u64 start, u64 len)
{
	struct vshm_mapping *map = vshm_mapping_lookup(region, start);

	return map && map->start == start && map->len == len ? map : NULL;
}

/**
 * vshm_mapping_detach_all() - empty the table
 * @region: the region, lock held for write.
 * @out: list that receives every mapping.
 */
void vshm_mapping_detach_all(struct vshm_region *region, struct list_head *out)
{
	struct rb_node *node;

	while ((node = rb_first(&region->mappings)))
		vshm_mapping_detach(region, rb_entry(node, struct vshm_mapping, node), out);
}

/**
 * vshm_mapping_free_list() - release detached mappings
 * @list: mappings from the detach functions.
 *
 * Call only once no PTE can point at their pages any more: after the
 * range was zapped with the region lock still held since the detach.
 * Drops the table's reference: a mapping that a copy still uses is
 * released when that copy lets it go.
 */
void vshm_mapping_free_list(struct list_head *list)
{
	struct vshm_mapping *map, *tmp;

	list_for_each_entry_safe(map, tmp, list, link) {
		list_del(&map->link);
		vshm_mapping_put(map);
	}
}

/**
 * vshm_mapping_get() - keep a mapping alive after the region lock is dropped
 * @map: a mapping in the region's table, region lock held.
 *
 * The mapping, and what it holds of its source, stays valid until the
 * matching vshm_mapping_put(), even if it is unmapped meanwhile.
 */
void vshm_mapping_get(struct vshm_mapping *map)
{
	refcount_inc(&map->users);
}

/**
 * vshm_mapping_put() - drop a reference on a mapping
 * @map: the mapping; released with its source if this was the last
 *	reference, which can only be once it is out of the table and zapped.
 *
 * May sleep.
 */
void vshm_mapping_put(struct vshm_mapping *map)
{
	if (refcount_dec_and_test(&map->users))
		vshm_source_close(map);
}
