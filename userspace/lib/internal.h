/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvshm internals.  Nothing here is exported: internal functions carry the
 * vshmi_ prefix and the version script keeps only vshm_* symbols.
 */
#ifndef VSHMI_INTERNAL_H
#define VSHMI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <libvshm.h>

#define VSHMI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define VSHMI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Record code (positive) and a message in err (may be NULL); return -code. */
int vshmi_fail(struct vshm_err *err, int code, const char *fmt, ...)
	VSHMI_PRINTF(3, 4);

static inline uint32_t vshmi_get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t vshmi_get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void vshmi_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void vshmi_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/*
 * What a message of one request number and direction may look like: payload
 * size bounds, fd count bounds, and a check for everything else (padding,
 * fields, sizes that depend on a count field).
 */
struct vshmi_spec {
	const char *name;
	uint32_t min, max;
	uint8_t fds_min, fds_max;
	int (*check)(const struct vshm_msg *msg, const char *name,
		     struct vshm_err *err);
};

/* The control protocol's specs (control_codec.c); -VSHM_EREQUEST if unknown. */
int vshmi_ctl_spec(uint32_t request, bool reply, struct vshmi_spec *spec);
/* Name of a control request number, or NULL. */
const char *vshmi_ctl_name(uint32_t request);
/* Check that len bytes at p are zero; else -VSHM_EPADDING naming what. */
int vshmi_check_zero(const uint8_t *p, size_t len, const char *name,
		     const char *what, struct vshm_err *err);
/*
 * Check that the n u64 region sizes at p are page multiples; else
 * -VSHM_EFIELD naming the first that is not.
 */
int vshmi_check_region_sizes(const uint8_t *p, unsigned int n,
			     const char *name, struct vshm_err *err);

/* Header checks only (wire.c runs them before reading the payload). */
int vshmi_check_header(enum vshm_proto proto, const struct vshm_hdr *hdr,
		       struct vshm_err *err);

/* Check msg is request (a reply if reply) and valid in proto; -VSHM_EREPLY if another. */
int vshmi_expect(const struct vshm_msg *msg, enum vshm_proto proto,
		 uint32_t request, bool reply, struct vshm_err *err);
/* Send msg on ch and flush it within timeout_ms. */
int vshmi_send_all(struct vshm_chan *ch, const struct vshm_msg *msg,
		   int timeout_ms, struct vshm_err *err);

/* Close every fd in fds[0..n) that is >= 0. */
void vshmi_close_fds(const int *fds, unsigned int n);

/* Convert a peer's u64 status to a negative return code. */
int vshmi_status_to_err(uint64_t status);

/* How the mmap region mode copies to and from one mapping's source. */
enum vshmi_src_kind {
	VSHMI_SRC_NONE = 0,	/* kmod: the module copies */
	VSHMI_SRC_SHMEM,	/* pread / pwrite on fd */
	VSHMI_SRC_HUGETLB,	/* pread on fd; writes memcpy after a size check */
	VSHMI_SRC_DMABUF,	/* memcpy (a dma-buf cannot shrink) */
};

/*
 * Judge a mapping's source as the module does, never blocking on it
 * (source.c): 0 and *kind, or -EBADF (unusable fd), -ENODEV (not a
 * shmem or hugetlbfs file or a dma-buf), -EOVERFLOW (fd_offset + len
 * wraps or passes the source's end), -EACCES (a writable mapping of a
 * source not open for writing, or write-sealed).
 */
int vshmi_source_check(int fd, uint64_t fd_offset, uint64_t len,
		       bool writable, enum vshmi_src_kind *kind);

/* The mmap region mode's handle on a mapping's source (fd -1: none). */
struct vshmi_src {
	int fd;			/* our own open file description where possible */
	uint8_t kind;		/* enum vshmi_src_kind */
	bool shared_ofd;	/* fd is a dup: its O_APPEND flag is not ours */
};

/*
 * Sorted table of non-overlapping mappings shared by both region modes, with
 * each mapping's source handle alongside (src[i] belongs to v[i]).  The
 * table owns the source fds: replacing, clearing or freeing closes them.
 */
struct vshmi_maptab {
	struct vshm_mapping_entry *v;
	struct vshmi_src *src;
	size_t n, cap;
	uint64_t bytes;
};

/* Index of the first mapping that ends after offset (n if none). */
size_t vshmi_maptab_find(const struct vshmi_maptab *t, uint64_t offset);
/* Index of the mapping exactly [off, off+len), or -ENOENT. */
ssize_t vshmi_maptab_exact(const struct vshmi_maptab *t, uint64_t off, uint64_t len);
/*
 * Which mappings [off, off+len) touches: *first and *count.  Returns 0, or
 * -EINVAL if one of them sticks out of the range.
 */
int vshmi_maptab_covered(const struct vshmi_maptab *t, uint64_t off,
			 uint64_t len, size_t *first, size_t *count);
/* Make room so that one insertion cannot fail. */
int vshmi_maptab_reserve(struct vshmi_maptab *t, size_t extra);
/*
 * Remove count entries at first (closing their source fds) and insert m
 * with source src (NULL: none) in their place (room reserved).
 */
void vshmi_maptab_replace(struct vshmi_maptab *t, size_t first, size_t count,
			  const struct vshm_mapping_entry *m,
			  const struct vshmi_src *src);
/* Empty the table (closing the source fds). */
void vshmi_maptab_clear(struct vshmi_maptab *t);
/* Free the table. */
void vshmi_maptab_free(struct vshmi_maptab *t);

/* Whether the module takes VSHM_MAP_POPULATE (region_kmod.c). */
enum vshmi_populate {
	VSHMI_POPULATE_UNTRIED = 0,	/* no map has asked yet */
	VSHMI_POPULATE_KNOWN,		/* it took the flag: never retry */
	VSHMI_POPULATE_REFUSED,		/* too old: map without it */
};

/* Back-end operations behind struct vshm_region. */
struct vshm_region;
struct vshmi_region_ops {
	/*
	 * Called once region.c checked the range, the overlap and (unless
	 * judges_sources) the source (vshmi_source_check(): kind);
	 * [first, first + count) are
	 * the table entries the range covers, replaced on success.
	 */
	int (*map)(struct vshm_region *r, int fd, uint64_t fd_offset,
		   uint64_t shm_offset, uint64_t len, uint32_t flags,
		   enum vshmi_src_kind kind, size_t first, size_t count);
	int (*unmap)(struct vshm_region *r, uint64_t shm_offset, uint64_t len);
	int (*unmap_all)(struct vshm_region *r);
	ssize_t (*copy)(struct vshm_region *r, uint64_t offset, void *buf,
			size_t len, bool write);
	int (*info)(struct vshm_region *r, struct vshm_region_stats *info);
	void (*destroy)(struct vshm_region *r);
	/*
	 * The region mode hands the source to a judge with the same rules
	 * and codes as vshmi_source_check() (the module): region.c does not
	 * check it twice, and map gets VSHMI_SRC_NONE.
	 */
	bool judges_sources;
};

struct vshm_region {
	const struct vshmi_region_ops *ops;
	enum vshm_region_mode type;
	uint64_t size;
	uint32_t max_mappings;
	uint32_t create_flags;	/* VSHM_REGION_STRICT_HOLES, _ZERO_HOLES */
	int fd;			/* kmod region fd, or -1 */
	uint8_t *base;		/* mmap reservation, or NULL */
	bool broken;		/* mmap: lost part of the reservation; all calls EIO */
	enum vshmi_populate kmod_populate;
	struct vshmi_maptab tab;
	uint64_t copied_in, copied_out, maps, unmaps;
};

int vshmi_region_kmod_init(struct vshm_region *r);
/* Let go of a kmod region, leaving its mappings to whoever holds its fd. */
void vshmi_region_kmod_forget(struct vshm_region *r);
int vshmi_region_mmap_init(struct vshm_region *r);
/* The mmap region mode without its window (VSHM_REGION_MODE_TABLE). */
int vshmi_region_table_init(struct vshm_region *r);
/* Check flags, alignment and bounds common to both region modes' map. */
int vshmi_region_check_map(const struct vshm_region *r, uint64_t fd_offset,
			   uint64_t shm_offset, uint64_t len, uint32_t flags);

#endif /* VSHMI_INTERNAL_H */
