/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vshm: VIRTIO Shared Memory Regions served from the kernel.
 *
 * /dev/vshm creates region objects.  Each region is a file descriptor that a
 * VMM mmaps once (one VMA, MAP_SHARED) and registers as guest memory.  Any
 * process holding the region fd (typically the vshmd broker) then maps and
 * unmaps source buffers (memfds, hugetlbfs memfds, dma-bufs) at offsets of
 * the region with ioctls; the VMM's single VMA follows, faulting pages in on
 * demand.  pread()/pwrite() on the region fd copy to or from whatever is
 * mapped at an offset, without any mapping in the caller.
 *
 * Every structure has reserved fields that must be zero, and every flags
 * field rejects unknown bits with EINVAL, so the ABI can grow.
 *
 * See Documentation/kmod.rst for the semantics and the error codes.
 */
#ifndef _UAPI_LINUX_VSHM_H
#define _UAPI_LINUX_VSHM_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* The API version that VSHM_IOC_GET_API_VERSION returns. */
#define VSHM_API_VERSION	1

/* The misc device node. */
#define VSHM_DEVICE_PATH	"/dev/vshm"

/**
 * define VSHM_REGION_SAFE_HOLES - the safe hole policy, for a region's life
 *
 * Without this flag (the strict policy) an access to a hole, i.e. a range
 * of the region where nothing is mapped, raises SIGBUS in whoever touches
 * it through an mmap, makes KVM_RUN fail with EFAULT for a KVM guest, and
 * makes pread()/pwrite() stop there (ENXIO if nothing was copied).
 *
 * With it, holes read as zeros and writes to them are discarded: a read
 * fault maps the kernel's zero page read-only, a write fault maps a page of
 * the region's own (its scratch page) that no source and no other region
 * ever sees, and a MAP over a hole zaps those pages first.  pread() of a
 * hole returns zeros and pwrite() to a hole succeeds without storing
 * anything.  After a write through an mmap, reads of that hole page may
 * return bytes written to this region's holes instead of zeros.  Writes to
 * a read-only mapping still raise SIGBUS (pwrite: EACCES).
 */
#define VSHM_REGION_SAFE_HOLES	(1U << 0)

/* Every flag VSHM_IOC_CREATE_REGION accepts. */
#define VSHM_CREATE_FLAGS_ALL	VSHM_REGION_SAFE_HOLES

/**
 * struct vshm_region_create - argument of VSHM_IOC_CREATE_REGION
 * @size: region size in bytes; non-zero, a multiple of the page size, and
 *	at most the module's max_region_size parameter (else EFBIG).
 * @flags: 0 (strict hole policy) or VSHM_REGION_SAFE_HOLES; other bits
 *	give EINVAL.
 * @max_mappings: the most mappings the region may hold at once; 0 means
 *	the module's max_mappings parameter, which is also the upper bound.
 * @reserved: must be zero.
 */
struct vshm_region_create {
	__u64 size;
	__u32 flags;
	__u32 max_mappings;
	__u64 reserved[4];
};

/* Map writable; without it the mapping is read-only to every accessor. */
#define VSHM_MAP_WRITE		(1U << 0)
/*
 * Atomically replace the mappings that the new range fully covers.  A
 * mapping that the range covers only partly makes the call fail (EINVAL).
 */
#define VSHM_MAP_REPLACE	(1U << 1)
#define VSHM_MAP_FLAGS_ALL	(VSHM_MAP_WRITE | VSHM_MAP_REPLACE)

/**
 * struct vshm_map - argument of VSHM_IOC_MAP
 * @fd: the source: a memfd or other shmem file, a hugetlbfs memfd, or a
 *	dma-buf.
 * @flags: VSHM_MAP_WRITE and/or VSHM_MAP_REPLACE.
 * @fd_offset: offset in the source, a multiple of the page size.
 * @shm_offset: offset in the region, a multiple of the page size.
 * @len: bytes to map, a non-zero multiple of the page size.
 * @reserved: must be zero.
 */
struct vshm_map {
	__s32 fd;
	__u32 flags;
	__u64 fd_offset;
	__u64 shm_offset;
	__u64 len;
	__u64 reserved[4];
};

/**
 * struct vshm_unmap - argument of VSHM_IOC_UNMAP
 * @shm_offset: start of the mapping to remove.
 * @len: its length; the range must be exactly one existing mapping.
 * @reserved: must be zero.
 */
struct vshm_unmap {
	__u64 shm_offset;
	__u64 len;
	__u64 reserved[2];
};

/**
 * struct vshm_region_info - result of VSHM_IOC_REGION_INFO
 * @size: region size in bytes.
 * @flags: the flags the region was created with.
 * @max_mappings: the most mappings the region may hold.
 * @nr_mappings: mappings it holds now.
 * @mapped_bytes: bytes those mappings cover.
 * @faults: page faults served through the region's mmap.
 * @copied_in: bytes written into mapped sources with pwrite().
 * @copied_out: bytes read from mapped sources with pread().
 * @maps: successful VSHM_IOC_MAP calls since creation.
 * @unmaps: mappings removed since creation (unmap, replace, unmap-all).
 * @reserved: zeroed by the kernel.
 */
struct vshm_region_info {
	__u64 size;
	__u32 flags;
	__u32 max_mappings;
	__u64 nr_mappings;
	__u64 mapped_bytes;
	__u64 faults;
	__u64 copied_in;
	__u64 copied_out;
	__u64 maps;
	__u64 unmaps;
	__u64 reserved[6];
};

#define VSHM_IOC_MAGIC		0xB7

/* On /dev/vshm.  Returns VSHM_API_VERSION. */
#define VSHM_IOC_GET_API_VERSION	_IO(VSHM_IOC_MAGIC, 0x00)
/* On /dev/vshm.  Returns a new region fd (O_CLOEXEC, read-write). */
#define VSHM_IOC_CREATE_REGION		_IOW(VSHM_IOC_MAGIC, 0x01, struct vshm_region_create)

/* On a region fd.  Return 0 on success. */
#define VSHM_IOC_MAP		_IOW(VSHM_IOC_MAGIC, 0x10, struct vshm_map)
#define VSHM_IOC_UNMAP		_IOW(VSHM_IOC_MAGIC, 0x11, struct vshm_unmap)
#define VSHM_IOC_UNMAP_ALL	_IO(VSHM_IOC_MAGIC, 0x12)
#define VSHM_IOC_REGION_INFO	_IOR(VSHM_IOC_MAGIC, 0x13, struct vshm_region_info)

#endif /* _UAPI_LINUX_VSHM_H */
