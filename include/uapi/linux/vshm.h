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

/**
 * define VSHM_MAP_POPULATE - enter the new mapping's pages into every mmap
 *
 * Once the mapping is made, every mmap of the region that exists at the
 * time (in any process) gets a page table entry for each page of the
 * range, as a read fault there would give it: writable for a
 * VSHM_MAP_WRITE mapping in a writable mmap, read-only otherwise.  The
 * first touch of the range then takes no fault, and a KVM guest's first
 * access finds the host entry present.  It costs the MAP the time those
 * faults would have taken (without the fault entries and exits), and page
 * tables for the whole range in each mmap, even for pages never touched.
 *
 * Best effort, and never a reason for the MAP to fail: an entry that
 * cannot be made (no memory for a page table, a fatal signal, a process
 * exiting) is left to its fault, which gives the same entry.  mmaps made
 * after the call fault as usual.  Where a 2 MiB range will be mapped with
 * one PMD entry by its first fault (Linux 6.12 on, a huge folio of the
 * source), it is left to that fault, which maps it whole.  Works the same
 * for every kind of source, and with VSHM_MAP_REPLACE.  Kernels before
 * this flag refuse it with EINVAL, as any unknown flag.
 */
#define VSHM_MAP_POPULATE	(1U << 2)

/* Every flag VSHM_IOC_MAP accepts. */
#define VSHM_MAP_FLAGS_ALL	(VSHM_MAP_WRITE | VSHM_MAP_REPLACE | \
				 VSHM_MAP_POPULATE)

/**
 * struct vshm_map - argument of VSHM_IOC_MAP
 * @fd: the source: a memfd or other shmem file, a hugetlbfs memfd, or a
 *	dma-buf.  A file may only be mapped as mmap(MAP_SHARED) of it with
 *	PROT_READ (and PROT_WRITE for VSHM_MAP_WRITE) could be: EACCES if
 *	@fd is not open for reading, not open for writing with
 *	VSHM_MAP_WRITE, write-sealed with VSHM_MAP_WRITE, or append-only and
 *	open for writing; a security module's refusal of that mmap as it
 *	returns it (usually EACCES or EPERM).
 * @flags: any of VSHM_MAP_WRITE, VSHM_MAP_REPLACE and VSHM_MAP_POPULATE;
 *	other bits give EINVAL.
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
 * @nr_dmabufs: distinct dma-bufs the region's mappings use now; the region
 *	attaches to each once, however many mappings use it.
 * @max_dmabufs: the most distinct dma-bufs the region may use at once
 *	(the module's max_dmabufs parameter when the region was created);
 *	a map of one more fails with ENOSPC.
 * @pmd_faults: those of @faults that mapped a whole PMD (2 MiB on x86-64)
 *	with one entry; always 0 where @pmd_size is 0.
 * @pmd_size: the size one such entry maps, or 0 if the running kernel
 *	gives region mmaps 4 KiB entries only (before Linux 6.12).
 * @reserved: zeroed by the kernel.
 *
 * @pmd_faults and @pmd_size took the first 16 bytes of what was reserved:
 * the size and the other offsets are unchanged, and an older kernel
 * reports both as 0.
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
	__u32 nr_dmabufs;
	__u32 max_dmabufs;
	__u64 pmd_faults;
	__u64 pmd_size;
	__u64 reserved[3];
};

/* Kinds of source, as VSHM_IOC_LIST_MAPPINGS reports them. */
#define VSHM_SOURCE_SHMEM	1	/* a memfd or another tmpfs file */
#define VSHM_SOURCE_HUGETLBFS	2	/* a hugetlbfs memfd or file */
#define VSHM_SOURCE_DMABUF	3	/* a dma-buf */

/**
 * struct vshm_mapping_info - one mapping, as VSHM_IOC_LIST_MAPPINGS reports it
 * @shm_offset: start of the mapping in the region.
 * @len: its length in bytes.
 * @fd_offset: the offset in the source it was mapped from.
 * @flags: VSHM_MAP_WRITE if the mapping is writable, else 0.
 * @source_kind: VSHM_SOURCE_SHMEM, VSHM_SOURCE_HUGETLBFS or
 *	VSHM_SOURCE_DMABUF.
 * @source_ino: the source file's inode number, as fstat() of its fd gives
 *	it (st_ino).
 * @source_dev_major: the major number of the device of the file system
 *	that holds the source (major(st_dev) of its fd).
 * @source_dev_minor: the minor number of that device (minor(st_dev)).
 * @reserved: zeroed by the kernel.
 *
 * A broker that restarts while a region lives (its fd kept elsewhere) can
 * match the sources it still holds, by device and inode, to the mappings.
 */
struct vshm_mapping_info {
	__u64 shm_offset;
	__u64 len;
	__u64 fd_offset;
	__u32 flags;
	__u32 source_kind;
	__u64 source_ino;
	__u32 source_dev_major;
	__u32 source_dev_minor;
	__u64 reserved[2];
};

/* The most entries one VSHM_IOC_LIST_MAPPINGS call fills. */
#define VSHM_LIST_MAX_ENTRIES	1024

/* Set in vshm_mapping_list.flags on return: mappings follow @next. */
#define VSHM_LIST_MORE		(1U << 0)

/**
 * struct vshm_mapping_list - argument of VSHM_IOC_LIST_MAPPINGS
 * @cursor: in: list the mappings that end after this region offset, in
 *	order of offset; 0 starts at the beginning.  Any value is valid: one
 *	at or past the region's end lists nothing.
 * @entries: in: user address of an array of @capacity struct
 *	vshm_mapping_info; ignored if @capacity is 0.
 * @capacity: in: entries the array holds, at most VSHM_LIST_MAX_ENTRIES
 *	(else E2BIG); 0 only fills @nr_mappings and VSHM_LIST_MORE.
 * @count: out: entries filled.
 * @flags: in: must be 0 (else EINVAL); out: VSHM_LIST_MORE if the table
 *	held more mappings after the last one filled.
 * @reserved32: must be zero.
 * @next: out: the cursor for the next call, the end of the last mapping
 *	filled (@cursor if none was).
 * @nr_mappings: out: mappings in the region at the time of the call.
 * @reserved: must be zero.
 *
 * Each call is a consistent snapshot of the table.  A listing that takes
 * several calls is consistent only if nothing maps or unmaps between them;
 * it never repeats a mapping, since @next only grows.  EFAULT if @entries
 * does not point to writable memory for @count entries; nothing else
 * changes then.
 */
struct vshm_mapping_list {
	__u64 cursor;
	__u64 entries;
	__u32 capacity;
	__u32 count;
	__u32 flags;
	__u32 reserved32;
	__u64 next;
	__u64 nr_mappings;
	__u64 reserved[2];
};

/*
 * Not registered in the kernel's Documentation/userspace-api/ioctl/
 * ioctl-number.rst (0xB7, the first choice, is nsfs's and remoteproc's).
 */
#define VSHM_IOC_MAGIC		0xB9

/* On /dev/vshm.  Returns VSHM_API_VERSION. */
#define VSHM_IOC_GET_API_VERSION	_IO(VSHM_IOC_MAGIC, 0x00)
/* On /dev/vshm.  Returns a new region fd (O_CLOEXEC, read-write). */
#define VSHM_IOC_CREATE_REGION		_IOW(VSHM_IOC_MAGIC, 0x01, struct vshm_region_create)

/* On a region fd.  Return 0 on success. */
#define VSHM_IOC_MAP		_IOW(VSHM_IOC_MAGIC, 0x10, struct vshm_map)
#define VSHM_IOC_UNMAP		_IOW(VSHM_IOC_MAGIC, 0x11, struct vshm_unmap)
#define VSHM_IOC_UNMAP_ALL	_IO(VSHM_IOC_MAGIC, 0x12)
#define VSHM_IOC_REGION_INFO	_IOR(VSHM_IOC_MAGIC, 0x13, struct vshm_region_info)
#define VSHM_IOC_LIST_MAPPINGS	_IOWR(VSHM_IOC_MAGIC, 0x14, struct vshm_mapping_list)

#endif /* _UAPI_LINUX_VSHM_H */
