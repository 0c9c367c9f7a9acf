/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VIRTIO Shared Memory Region modes behind one interface.
 *
 * kmod: a region is a /dev/vshm region fd (see include/uapi/linux/vshm.h);
 *       the VMM mmaps vshm_region_fd() once.
 * mmap: the region is a PROT_NONE reservation in this process; mappings are
 *       placed with MAP_FIXED and unmapping re-reserves PROT_NONE (or zero
 *       pages that take writes: VSHM_REGION_ZERO_HOLES).
 * table: nothing is mapped anywhere by the region itself: it checks every
 *       rule, keeps the table and a duplicate of each source fd, and copies
 *       through those (pread/pwrite; a transient mmap of the source for
 *       dma-bufs and hugetlbfs writes).  For a broker whose VMM places the
 *       mappings itself (vshmd --region-mode vmm); vshm_region_addr() is NULL.
 *
 * Both follow the module's rules: offsets and lengths are page multiples; a
 * map over any existing mapping fails with EEXIST unless VSHM_REGION_REPLACE
 * is given and the range covers every mapping it touches entirely (else
 * EINVAL); an unmap must name exactly one whole mapping (else ENOENT); a
 * failed call leaves the region as it was.  Copy-in/out go mapping by
 * mapping: a range starting in a hole fails with ENXIO, one that reaches a
 * hole or the region's end later returns a short count, one starting at or
 * past the end reads 0 bytes (end of file) and fails to write with ENOSPC,
 * writing a read-only mapping fails with
 * EACCES (or stops short there).
 *
 * Copies never raise SIGBUS in the caller when a memfd source is truncated
 * under its mapping: kmod keeps the old pages; mmap copies memfds with
 * pread/pwrite on the source (never growing it) and returns a short count,
 * or EIO if nothing could be copied.  To do so the mmap region mode keeps one
 * file descriptor per memfd or hugetlbfs mapping (a map fails with EMFILE
 * when none is left).  Its remaining limits: hugetlbfs sources are written
 * with memcpy after a size check (hugetlbfs has no write()), and dma-bufs
 * are copied with memcpy (their size is fixed), so a hugetlbfs truncation
 * racing a copy-in, or an exporter that fails a fault, can still raise
 * SIGBUS; use the kmod region mode where that matters.
 */
#ifndef VSHM_REGION_H
#define VSHM_REGION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <vshm/error.h>
#include <vshm/control.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vshm_region_mode {
	VSHM_REGION_MODE_AUTO = 0,	/* kmod if /dev/vshm can be opened, else mmap */
	VSHM_REGION_MODE_KMOD = 1,
	VSHM_REGION_MODE_MMAP = 2,
	VSHM_REGION_MODE_TABLE = 3,	/* no window: the table and source handles only */
};

/* vshm_region_map() flags (same values as the uapi VSHM_MAP_*). */
#define VSHM_REGION_WRITE	0x1u
#define VSHM_REGION_REPLACE	0x2u
/*
 * A hint (since 1.4): enter the new mapping's pages ahead of the first
 * touch, which then takes no fault; it never makes a map fail.  kmod:
 * VSHM_MAP_POPULATE, into every mmap of the region that exists at the time
 * (the VMM's); a module older than that flag refuses it with EINVAL, and
 * the region then maps without it from that call on (checked once per
 * region).  mmap: MAP_POPULATE on the mapping placed in this process (the
 * one the guest sees when the VMM embeds the region); a hole of a sparse
 * memfd is then allocated.  table: accepted, no effect (nothing is mapped).
 */
#define VSHM_REGION_POPULATE	0x4u
#define VSHM_REGION_FLAGS_ALL	(VSHM_REGION_WRITE | VSHM_REGION_REPLACE | \
				 VSHM_REGION_POPULATE)

/* The mmap region mode's mapping limit when max_mappings is 0. */
#define VSHM_MMAP_DEFAULT_MAX_MAPPINGS	4096u

/* Counters and state of a region (for kmod, from VSHM_IOC_REGION_INFO). */
struct vshm_region_stats {
	uint64_t size;
#ifdef VSHM_NO_DEPRECATED
	uint32_t region_mode;	/* enum vshm_region_mode actually used */
#else
	union {
		uint32_t region_mode;	/* enum vshm_region_mode actually used */
		uint32_t backend;	/* deprecated name of region_mode */
	};
#endif
	uint32_t max_mappings;
	uint64_t nr_mappings;
	uint64_t mapped_bytes;
	uint64_t faults;	/* kmod only; 0 for mmap */
	uint64_t copied_in;
	uint64_t copied_out;
	uint64_t maps;
	uint64_t unmaps;
};

struct vshm_region;

/*
 * Creation flags.  kmod regions have the safe hole policy unless
 * VSHM_REGION_STRICT_HOLES: holes (offsets where nothing is mapped) read as
 * zeros and discard writes.  Strict: touching a hole through the VMM's
 * mmap raises SIGBUS (KVM_RUN fails with EFAULT).  mmap regions ignore it:
 * their holes are PROT_NONE (SIGSEGV; KVM_RUN fails with EFAULT) unless
 * VSHM_REGION_ZERO_HOLES makes them private anonymous memory that reads
 * zeros and takes writes, the safe policy as a guest sees it (what a VMM
 * reserving regions for vshmd --region-mode vmm asks for, unless its device is
 * strict).  kmod accepts ZERO_HOLES (its default); both together: EINVAL.
 */
#define VSHM_REGION_STRICT_HOLES	0x1u
#define VSHM_REGION_ZERO_HOLES		0x2u
#define VSHM_REGION_CREATE_FLAGS_ALL	(VSHM_REGION_STRICT_HOLES | VSHM_REGION_ZERO_HOLES)

/* Create a region of size bytes (page multiple) holding at most max_mappings (0: default). */
int vshm_region_create(enum vshm_region_mode type, uint64_t size,
		       uint32_t max_mappings, struct vshm_region **out);
/* vshm_region_create() with creation flags VSHM_REGION_STRICT_HOLES or _ZERO_HOLES. */
int vshm_region_create_flags(enum vshm_region_mode type, uint64_t size,
			     uint32_t max_mappings, uint32_t flags,
			     struct vshm_region **out);
/*
 * Drop every mapping, then free the region (kmod: UNMAP_ALL, then close the
 * region fd, so a VMM still holding the fd sees holes, never the sources).
 */
void vshm_region_destroy(struct vshm_region *r);
/*
 * Take over a live /dev/vshm region from its fd (a broker restarting
 * while the VMM kept the region): the region uses a duplicate of
 * region_fd (the caller keeps its own), and its table is the module's
 * listing (VSHM_IOC_LIST_MAPPINGS), so lookups, iteration and info see
 * every mapping an earlier owner made.  Size and mapping limit are the
 * module's; flags is the hole policy the caller expects
 * (VSHM_REGION_STRICT_HOLES or 0).  Nothing is remapped.  0, or -EBADF
 * (not an open fd), -ENOTTY (not a vshm region fd), -EINVAL (unknown flags,
 * or the region's hole policy is the other one), -ENOMEM, -EMFILE.
 */
int vshm_region_adopt(int region_fd, uint32_t flags, struct vshm_region **out);
/*
 * Free the handle and leave the mappings be: a kmod region's stay for
 * whoever holds its fd (vshm_region_destroy() drops them first).  An mmap
 * or table region lives in this process only: the same as destroy.
 */
void vshm_region_forget(struct vshm_region *r);
/* The region mode in use (never VSHM_REGION_MODE_AUTO). */
enum vshm_region_mode vshm_region_mode(const struct vshm_region *r);
/* The region size in bytes. */
uint64_t vshm_region_size(const struct vshm_region *r);
/* kmod: the region fd (still owned by the region); mmap: -ENODEV. */
int vshm_region_fd(const struct vshm_region *r);
/* mmap: the reservation's base address in this process; kmod: NULL. */
void *vshm_region_addr(const struct vshm_region *r);
/* Map len bytes of fd at fd_offset to shm_offset; flags VSHM_REGION_*. */
int vshm_region_map(struct vshm_region *r, int fd, uint64_t fd_offset,
		    uint64_t shm_offset, uint64_t len, uint32_t flags);
/* Atomically replace the mappings the range fully covers (map with VSHM_REGION_REPLACE). */
int vshm_region_replace(struct vshm_region *r, int fd, uint64_t fd_offset,
			uint64_t shm_offset, uint64_t len, uint32_t flags);
/* Remove exactly one whole mapping. */
int vshm_region_unmap(struct vshm_region *r, uint64_t shm_offset, uint64_t len);
/* Remove every mapping (device reset). */
int vshm_region_unmap_all(struct vshm_region *r);
/* Copy len bytes at offset out of the mapped sources; returns bytes copied. */
ssize_t vshm_region_read(struct vshm_region *r, uint64_t offset, void *buf,
			 size_t len);
/* Copy len bytes into the mapped sources at offset; returns bytes copied. */
ssize_t vshm_region_write(struct vshm_region *r, uint64_t offset,
			  const void *buf, size_t len);
/* Fill *info. */
int vshm_region_info(struct vshm_region *r, struct vshm_region_stats *info);
/* Copy up to max mappings from index start into out (sorted by offset); returns the count. */
ssize_t vshm_region_mappings(const struct vshm_region *r, size_t start,
			     struct vshm_mapping_entry *out, size_t max);
/* Find the mapping containing offset: 0 and *m, or -ENOENT. */
int vshm_region_lookup(const struct vshm_region *r, uint64_t offset,
		       struct vshm_mapping_entry *m);

/* Kinds of source vshm_kmod_list_mappings() reports (the uapi VSHM_SOURCE_*). */
#define VSHM_KMOD_SOURCE_SHMEM		1u	/* a memfd or another tmpfs file */
#define VSHM_KMOD_SOURCE_HUGETLBFS	2u	/* a hugetlbfs memfd or file */
#define VSHM_KMOD_SOURCE_DMABUF		3u	/* a dma-buf */

/* One mapping of a /dev/vshm region, as the module reports it. */
struct vshm_kmod_mapping {
	uint64_t shm_offset;
	uint64_t len;
	uint64_t fd_offset;
	uint32_t flags;		/* VSHM_REGION_WRITE or 0 */
	uint32_t source_kind;	/* VSHM_KMOD_SOURCE_* */
	uint64_t source_dev;	/* the source's st_dev, as fstat() gives it */
	uint64_t source_ino;	/* the source's st_ino */
};

/*
 * List the mappings of the /dev/vshm region behind region_fd that end
 * after *cursor, in order, up to max of them, and move *cursor past them;
 * returns the count (0: none left) or a negative error code.  For a broker
 * that restarts while its regions live on (the fd kept by a supervisor),
 * to rebuild its table and match the sources it holds by device and inode.
 */
ssize_t vshm_kmod_list_mappings(int region_fd, uint64_t *cursor,
				struct vshm_kmod_mapping *out, size_t max);

#ifdef __cplusplus
}
#endif

#include <vshm/deprecated.h>

#endif /* VSHM_REGION_H */
