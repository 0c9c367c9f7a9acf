// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-address routing for MEM_READ / MEM_WRITE.  The guest physical
 * space the broker knows is the guest RAM table (SET_MEM_TABLE) plus every
 * device's regions whose base the VMM set (SET_REGION_ADDR), whichever
 * device they belong to: a back-end that cannot translate an address in
 * another device's region reaches it here (the review thread's copy
 * fallback).  Areas never overlap: the control requests that place them
 * refuse overlaps.
 *
 * An access must lie inside one area.  Failures, as positive errno in the
 * reply:
 *   EFAULT  the start is in no area, or the access runs past its area (into
 *           a hole or another area)
 *   ENXIO   inside a region, the range is not entirely mapped
 *   EACCES  MEM_WRITE to a read-only mapping
 *   EIO     the RAM or source file could not be read or written in full
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vshmd.h"

static bool within(uint64_t base, uint64_t size, uint64_t ga, uint64_t len)
{
	return ga >= base && ga - base < size && len <= size - (ga - base);
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

bool vd_route_overlaps(struct vshmd *d, uint64_t ga, uint64_t len,
		       const struct vd_region *skip)
{
	struct vd_device *dev;
	uint32_t i;

	for (i = 0; i < d->nram; i++)
		if (overlap(ga, len, d->ram[i].guest_addr, d->ram[i].size))
			return true;
	for (dev = d->devices; dev; dev = dev->next) {
		if (dev->dead)
			continue;
		for (i = 0; i < dev->nregions; i++) {
			struct vd_region *reg = &dev->regions[i];

			if (reg != skip && reg->r && reg->has_addr &&
			    overlap(ga, len, reg->guest_addr, reg->size))
				return true;
		}
	}
	return false;
}

/* Full pread/pwrite or -EIO. */
static int file_io(int fd, uint64_t off, void *buf, uint32_t len, bool write)
{
	uint32_t done = 0;

	while (done < len) {
		ssize_t n = write ? pwrite(fd, (uint8_t *)buf + done, len - done,
					   (off_t)(off + done)) :
				    pread(fd, (uint8_t *)buf + done, len - done,
					  (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		done += n;
	}
	return 0;
}

/*
 * Is every byte of [off, off + len) mapped (and writable, for a write)?
 * Checked whole before a MEM_WRITE copies anything: a range that runs into
 * a hole or a read-only mapping leaves the guest's memory as it was.  The
 * mappings are libvshm's (vshm_region_lookup()): the broker has no table.
 */
static int region_check(const struct vd_region *reg, uint64_t off,
			uint32_t len, bool write)
{
	uint64_t pos = off, end = off + len;
	struct vshm_mapping_entry m;

	while (pos < end) {
		if (vshm_region_lookup(reg->r, pos, &m))
			return -ENXIO;
		if (write && !(m.flags & VSHM_REGION_WRITE))
			return -EACCES;
		pos = m.shm_offset + m.len;
	}
	return 0;
}

/*
 * Copy through a region, mapping by mapping.  libvshm never faults on a
 * source that shrank under its mapping (mmap: pread/pwrite on the source;
 * kmod: the module's copy path); it returns EIO or a short count instead.
 */
static int region_io(struct vd_region *reg, uint64_t off, void *buf,
		     uint32_t len, bool write)
{
	uint32_t done = 0;
	int ret;

	ret = region_check(reg, off, len, write);
	if (ret)
		return ret;
	while (done < len) {
		uint64_t pos = off + done, chunk;
		struct vshm_mapping_entry m;
		ssize_t n;

		if (vshm_region_lookup(reg->r, pos, &m))
			return -ENXIO;	/* checked above: cannot happen */
		chunk = m.shm_offset + m.len - pos;
		if (chunk > len - done)
			chunk = len - done;
		n = write ? vshm_region_write(reg->r, pos, (uint8_t *)buf + done,
					      chunk) :
			    vshm_region_read(reg->r, pos, (uint8_t *)buf + done,
					     chunk);
		if (n < 0)
			return n == -EACCES || n == -ENXIO ? (int)n : -EIO;
		/* The whole chunk is mapped: short means the source shrank. */
		if ((uint64_t)n != chunk)
			return -EIO;
		done += chunk;
	}
	return 0;
}

static int route(struct vshmd *d, uint64_t ga, void *buf, uint32_t len,
		 bool write)
{
	struct vd_device *dev;
	uint32_t i;

	for (i = 0; i < d->nram; i++) {
		struct vd_ram *r = &d->ram[i];

		if (ga < r->guest_addr || ga - r->guest_addr >= r->size)
			continue;
		if (!within(r->guest_addr, r->size, ga, len))
			return -EFAULT;
		return file_io(r->fd, r->fd_offset + (ga - r->guest_addr), buf,
			       len, write);
	}
	for (dev = d->devices; dev; dev = dev->next) {
		if (dev->dead)
			continue;
		for (i = 0; i < dev->nregions; i++) {
			struct vd_region *reg = &dev->regions[i];

			if (!reg->r || !reg->has_addr || ga < reg->guest_addr ||
			    ga - reg->guest_addr >= reg->size)
				continue;
			if (!within(reg->guest_addr, reg->size, ga, len))
				return -EFAULT;
			return region_io(reg, ga - reg->guest_addr, buf, len,
					 write);
		}
	}
	return -EFAULT;
}

int vd_route_read(struct vshmd *d, uint64_t ga, void *buf, uint32_t len)
{
	return route(d, ga, buf, len, false);
}

int vd_route_write(struct vshmd *d, uint64_t ga, const void *buf, uint32_t len)
{
	return route(d, ga, (void *)buf, len, true);
}

void vd_ram_clear(struct vshmd *d)
{
	uint32_t i;

	for (i = 0; i < d->nram; i++)
		close(d->ram[i].fd);
	d->nram = 0;
}

/* Replace the RAM table; takes ownership of fds[0..n) on success only. */
int vd_ram_set(struct vshmd *d, const struct vshm_ctl_ram_range *r,
	       const int *fds, uint32_t n)
{
	struct vd_ram old[VSHM_CTL_MAX_RAM_RANGES];
	uint32_t i, j, nold = d->nram;
	struct stat st;
	uint64_t end;

	for (i = 0; i < n; i++) {
		if (__builtin_add_overflow(r[i].fd_offset, r[i].size, &end) ||
		    r[i].fd_offset > INT64_MAX || end > INT64_MAX)
			return -EOVERFLOW;
		if (fstat(fds[i], &st) < 0 || !S_ISREG(st.st_mode))
			return -EBADF;
		for (j = 0; j < i; j++)
			if (overlap(r[i].guest_addr, r[i].size, r[j].guest_addr,
				    r[j].size))
				return -EEXIST;
	}
	/* Check against the regions with the old table out of the way. */
	memcpy(old, d->ram, sizeof(old));
	d->nram = 0;
	for (i = 0; i < n; i++) {
		if (vd_route_overlaps(d, r[i].guest_addr, r[i].size, NULL)) {
			d->nram = nold;
			return -EEXIST;
		}
	}
	for (i = 0; i < nold; i++)
		close(old[i].fd);
	for (i = 0; i < n; i++)
		d->ram[i] = (struct vd_ram){
			.guest_addr = r[i].guest_addr, .size = r[i].size,
			.fd_offset = r[i].fd_offset, .fd = fds[i],
		};
	d->nram = n;
	return 0;
}
