// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The mmap region mode, for hosts without /dev/vshm.
 *
 * The region is a PROT_NONE, MAP_NORESERVE reservation in this process.  A
 * mapping is placed over it with MAP_FIXED; unmapping puts PROT_NONE back,
 * so an unrelated mmap(NULL) can never land inside the guest-visible window.
 * With VSHM_REGION_ZERO_HOLES the reservation (and what an unmap puts back)
 * is readable and writable private anonymous memory instead: a hole reads
 * zeros and takes writes, as a kmod region's safe holes do, so a KVM guest
 * over the window runs on where the module's regions would let it.
 * Validation follows the module (see include/uapi/linux/vshm.h and
 * Documentation/kmod.rst) and happens before anything changes, so a failed
 * call leaves the region as it was.  Each mapping costs up to two VMAs:
 * when vm.max_map_count runs out mmap fails with ENOMEM, which is returned
 * as is, and unmapping still works (see rereserve()).
 *
 * Copies (vshm_region_read/write) do not touch the mapping where a source
 * can shrink: a memfd truncated under a live MAP_SHARED mapping would raise
 * SIGBUS in the copying process.  Each mapping keeps a handle on its source
 * (struct vshmi_src, in the table): shmem sources are copied with
 * pread/pwrite on it, hugetlbfs sources are read with pread and written
 * with memcpy after checking the source's size (hugetlbfs has no write()),
 * and dma-bufs, whose size is fixed, with memcpy.  A truncated source ends
 * a copy short, or with EIO if nothing was copied.
 *
 * Limits of doing this in-process: a read-only mapping of a source that can
 * not be reopened read-only (a dma-buf) could be mprotect()ed writable by
 * other code in the process; a hugetlbfs source truncated during a write
 * copy, or a dma-buf exporter that fails a fault, still raises SIGBUS
 * (the module keeps its own page references); and every memfd or hugetlbfs
 * mapping holds one file descriptor.
 *
 * The table region mode (VSHM_REGION_MODE_TABLE) is this one without the window:
 * r->base is NULL, map and unmap only check and update the table, each
 * mapping keeps a plain duplicate of its source fd (never a reopen through
 * /proc/self/fd, which could block on a lease or fail in a sandbox), and
 * what the mmap region mode copies with memcpy through the window (dma-bufs,
 * hugetlbfs writes) is copied through a transient mmap of the source.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static uint64_t page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

/* What a hole is: PROT_NONE, or zeros that take writes (ZERO_HOLES). */
static int hole_prot(const struct vshm_region *r)
{
	return r->create_flags & VSHM_REGION_ZERO_HOLES ?
	       PROT_READ | PROT_WRITE : PROT_NONE;
}

static int reserve(const struct vshm_region *r, void *addr, uint64_t len)
{
	void *p = mmap(addr, len, hole_prot(r),
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		       -1, 0);

	return p == MAP_FAILED ? -errno : 0;
}

/*
 * Put PROT_NONE back over [off, off + len), which holds whole mappings
 * only.  Normally one MAP_FIXED mmap.  At the vm.max_map_count limit the
 * kernel may have gone one or two VMAs past it (a map in the middle of the
 * reservation splits it after the check) and then refuses every mmap with
 * ENOMEM.  munmap() of whole VMAs needs no split and lowers the count, so
 * fall back to that and re-reserve the hole with MAP_FIXED_NOREPLACE,
 * which never clobbers anything another thread placed there meanwhile.  If
 * the hole cannot be taken back the region is marked broken: every later
 * call fails with EIO instead of trusting a window it no longer owns.
 */
static int rereserve(struct vshm_region *r, uint64_t off, uint64_t len)
{
	uint8_t *addr = r->base + off;
	void *p;
	int ret;

	ret = reserve(r, addr, len);
	if (ret != -ENOMEM)
		return ret;
	if (munmap(addr, len) < 0)
		return -errno;
	p = mmap(addr, len, hole_prot(r),
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
		 -1, 0);
	if (p == addr)
		return 0;
	if (p != MAP_FAILED)
		munmap(p, len);
	r->broken = true;
	return -EIO;
}

int vshmi_region_check_map(const struct vshm_region *r, uint64_t fd_offset,
			   uint64_t shm_offset, uint64_t len, uint32_t flags)
{
	uint64_t pg = page_size(), end;

	if ((flags & ~VSHM_REGION_FLAGS_ALL) || fd_offset % pg)
		return -EINVAL;
	if (!len || shm_offset % pg || len % pg)
		return -EINVAL;
	if (__builtin_add_overflow(shm_offset, len, &end) || end > r->size)
		return -EOVERFLOW;
	if (__builtin_add_overflow(fd_offset, len, &end))
		return -EOVERFLOW;
	return 0;
}

/*
 * Open fd's file again through /proc/self/fd with mode, never waiting: -1
 * (errno set) when that could block.  A lease on the file makes open()
 * wait up to lease-break-time (45 s by default) for its holder; a lease
 * held through fd's own open file description (the sender's) shows with
 * F_GETLEASE and is left alone, and O_NONBLOCK turns any other into
 * EWOULDBLOCK.  O_NONBLOCK changes nothing else for shmem or hugetlbfs.
 */
static int reopen_nonblock(int fd, int mode)
{
	char path[64];
	int lease = fcntl(fd, F_GETLEASE);

	if (lease >= 0 && lease != F_UNLCK) {
		errno = EWOULDBLOCK;
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, mode | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
}

/*
 * Reopen fd with mode: an open file description of our own, whose flags
 * (O_APPEND) no other process can change.  Falls back to a dup (leased
 * file, sandbox without /proc).  -errno (EMFILE) if neither works.
 */
static int reopen(int fd, int mode, bool *shared_ofd)
{
	int ret = reopen_nonblock(fd, mode);

	*shared_ofd = ret < 0;
	if (ret < 0)
		ret = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return ret < 0 ? -errno : ret;
}

static int mmap_map(struct vshm_region *r, int fd, uint64_t fd_offset,
		    uint64_t shm_offset, uint64_t len, uint32_t flags,
		    enum vshmi_src_kind kind, size_t first, size_t count)
{
	bool writable = flags & VSHM_REGION_WRITE;
	struct vshmi_src sh = { .fd = -1 };
	struct vshm_mapping_entry m;
	int ret, src = fd;
	void *p;

	if (r->tab.n - count + 1 > r->max_mappings)
		return -ENOSPC;

	sh.kind = kind;
	if (!r->base) {
		/* Table only: a duplicate is the copy handle, for every kind. */
		sh.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (sh.fd < 0)
			return -errno;
		sh.shared_ofd = true;
		goto record;
	}
	/*
	 * The copy handle: shmem and hugetlbfs sources get their own open
	 * file description, opened with the access the mapping needs.
	 */
	if (kind != VSHMI_SRC_DMABUF) {
		sh.fd = reopen(fd, writable ? O_RDWR : O_RDONLY, &sh.shared_ofd);
		if (sh.fd < 0)
			return sh.fd;
	}
	/*
	 * A read-only mapping of a read-write fd could be mprotect()ed
	 * writable later.  Map a read-only reopen where possible: the VMA
	 * then lacks VM_MAYWRITE for good.
	 */
	if (!writable && sh.fd >= 0 && !sh.shared_ofd) {
		src = sh.fd;
	} else if (!writable) {
		src = reopen_nonblock(fd, O_RDONLY);
		if (src < 0)
			src = fd;
	}
	/*
	 * The populate hint is MAP_POPULATE: this process's page tables are
	 * the ones the guest uses when the VMM embeds the region.  The kernel
	 * ignores what it cannot populate (a dma-buf's PFN mapping), so it
	 * never fails the map either.
	 */
	p = mmap(r->base + shm_offset, len,
		 PROT_READ | (writable ? PROT_WRITE : 0),
		 MAP_SHARED | MAP_FIXED |
		 (flags & VSHM_REGION_POPULATE ? MAP_POPULATE : 0),
		 src, (off_t)fd_offset);
	ret = p == MAP_FAILED ? -errno : 0;
	if (src != fd && src != sh.fd)
		close(src);
	if (ret) {
		if (sh.fd >= 0)
			close(sh.fd);
		return ret;
	}

record:
	m = (struct vshm_mapping_entry){
		.shm_offset = shm_offset, .len = len, .fd_offset = fd_offset,
		.flags = writable ? VSHM_REGION_WRITE : 0,
	};
	r->unmaps += count;
	vshmi_maptab_replace(&r->tab, first, count, &m, &sh);
	return 0;
}

static int mmap_unmap(struct vshm_region *r, uint64_t shm_offset, uint64_t len)
{
	uint64_t pg = page_size(), end;
	ssize_t i;
	int ret;

	if (r->broken)
		return -EIO;
	if (!len || shm_offset % pg || len % pg)
		return -EINVAL;
	if (__builtin_add_overflow(shm_offset, len, &end) || end > r->size)
		return -EOVERFLOW;
	i = vshmi_maptab_exact(&r->tab, shm_offset, len);
	if (i < 0)
		return -ENOENT;
	ret = r->base ? rereserve(r, shm_offset, len) : 0;
	if (ret)
		return ret;
	vshmi_maptab_replace(&r->tab, i, 1, NULL, NULL);
	r->unmaps++;
	return 0;
}

static int mmap_unmap_all(struct vshm_region *r)
{
	int ret;

	if (r->broken)
		return -EIO;
	if (!r->tab.n)
		return 0;
	ret = r->base ? reserve(r, r->base, r->size) : 0;
	if (ret == 0) {
		r->unmaps += r->tab.n;
		vshmi_maptab_clear(&r->tab);
		return 0;
	}
	if (ret != -ENOMEM)
		return ret;
	/* At the VMA limit: one run of adjacent mappings at a time, from the end. */
	while (r->tab.n) {
		size_t last = r->tab.n - 1, first = last;
		uint64_t start, end;

		while (first > 0 && r->tab.v[first - 1].shm_offset +
				    r->tab.v[first - 1].len == r->tab.v[first].shm_offset)
			first--;
		start = r->tab.v[first].shm_offset;
		end = r->tab.v[last].shm_offset + r->tab.v[last].len;
		ret = rereserve(r, start, end - start);
		if (ret)
			return ret;
		r->unmaps += last - first + 1;
		vshmi_maptab_replace(&r->tab, first, last - first + 1, NULL,
				     NULL);
	}
	return 0;
}

/* Bytes of [off, off + len) that lie inside the source (fstat), or -errno. */
static ssize_t src_room(int fd, uint64_t off, size_t len)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size <= off)
		return 0;
	return (uint64_t)st.st_size - off < len ? (ssize_t)(st.st_size - off) :
						  (ssize_t)len;
}

/*
 * Copy through a transient shared mapping of the source (table region mode:
 * dma-bufs have no pread, hugetlbfs has no write).
 */
static ssize_t src_copy_mapped(const struct vshmi_src *s, uint64_t fd_off,
			       uint8_t *buf, size_t len, bool write)
{
	uint64_t pg = page_size(), start = fd_off - fd_off % pg;
	size_t span = (size_t)(fd_off - start) + len;
	uint8_t *p;

	if (!len)
		return 0;
	p = mmap(NULL, span, PROT_READ | (write ? PROT_WRITE : 0), MAP_SHARED,
		 s->fd, (off_t)start);
	if (p == MAP_FAILED)
		return -errno;
	if (write)
		memcpy(p + (fd_off - start), buf, len);
	else
		memcpy(buf, p + (fd_off - start), len);
	munmap(p, span);
	return len;
}

/*
 * Copy len bytes of one mapping: at addr in the region, fd_off in the
 * source.  Returns the bytes copied (short if the source ends first) or
 * -errno.
 */
static ssize_t src_copy(const struct vshmi_src *s, uint8_t *addr,
			uint64_t fd_off, uint8_t *buf, size_t len, bool write)
{
	size_t done = 0;
	ssize_t n;

	if (s->kind == VSHMI_SRC_DMABUF || (write && s->kind == VSHMI_SRC_HUGETLB)) {
		if (s->kind == VSHMI_SRC_HUGETLB) {
			n = src_room(s->fd, fd_off, len);
			if (n < 0)
				return n;
			len = n;
		}
		if (!addr)
			return src_copy_mapped(s, fd_off, buf, len, write);
		if (write)
			memcpy(addr, buf, len);
		else
			memcpy(buf, addr, len);
		return len;
	}
	if (write) {
		/* Never write past the source's end: pwrite would grow it. */
		n = src_room(s->fd, fd_off, len);
		if (n < 0)
			return n;
		len = n;
		/* A dup shares O_APPEND with the peer, and pwrite obeys it. */
		if (s->shared_ofd && (fcntl(s->fd, F_GETFL) & O_APPEND))
			return -EIO;
	}
	while (done < len) {
		n = write ? pwrite(s->fd, buf + done, len - done,
				   (off_t)(fd_off + done)) :
			    pread(s->fd, buf + done, len - done,
				  (off_t)(fd_off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return done ? (ssize_t)done : -errno;
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

static ssize_t mmap_copy(struct vshm_region *r, uint64_t offset, void *buf,
			 size_t len, bool write)
{
	uint8_t *p = buf;
	size_t done = 0;
	int err = 0;

	if (r->broken)
		return -EIO;
	/* As the module: end of file for a read, no room for a write. */
	if (offset >= r->size)
		return write && len ? -ENOSPC : 0;
	while (done < len) {
		uint64_t pos = offset + done, chunk;
		const struct vshm_mapping_entry *m;
		ssize_t n;
		size_t i;

		if (pos < offset || pos >= r->size) {
			err = -ENXIO;
			break;
		}
		i = vshmi_maptab_find(&r->tab, pos);
		m = i < r->tab.n ? &r->tab.v[i] : NULL;
		if (!m || m->shm_offset > pos) {
			err = -ENXIO;
			break;
		}
		if (write && !(m->flags & VSHM_REGION_WRITE)) {
			err = -EACCES;
			break;
		}
		chunk = m->shm_offset + m->len - pos;
		if (chunk > len - done)
			chunk = len - done;
		n = src_copy(&r->tab.src[i], r->base ? r->base + pos : NULL,
			     m->fd_offset + (pos - m->shm_offset), p + done,
			     chunk, write);
		if (n < 0) {
			err = (int)n;
			break;
		}
		done += n;
		if ((uint64_t)n < chunk) {
			err = -EIO;	/* the source shrank under the mapping */
			break;
		}
	}
	if (write)
		r->copied_in += done;
	else
		r->copied_out += done;
	return done ? (ssize_t)done : err;
}

static int mmap_info(struct vshm_region *r, struct vshm_region_stats *info)
{
	(void)r;
	(void)info;
	return 0;
}

static void mmap_destroy(struct vshm_region *r)
{
	if (r->base)
		munmap(r->base, r->size);
}

static const struct vshmi_region_ops mmap_ops = {
	.map = mmap_map,
	.unmap = mmap_unmap,
	.unmap_all = mmap_unmap_all,
	.copy = mmap_copy,
	.info = mmap_info,
	.destroy = mmap_destroy,
};

int vshmi_region_mmap_init(struct vshm_region *r)
{
	void *p;

	if (!r->size || r->size % page_size())
		return -EINVAL;
	if (!r->max_mappings)
		r->max_mappings = VSHM_MMAP_DEFAULT_MAX_MAPPINGS;
	p = mmap(NULL, r->size, hole_prot(r),
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->base = p;
	r->fd = -1;
	r->type = VSHM_REGION_MODE_MMAP;
	r->ops = &mmap_ops;
	return 0;
}

int vshmi_region_table_init(struct vshm_region *r)
{
	if (!r->size || r->size % page_size())
		return -EINVAL;
	if (!r->max_mappings)
		r->max_mappings = VSHM_MMAP_DEFAULT_MAX_MAPPINGS;
	r->base = NULL;
	r->fd = -1;
	r->type = VSHM_REGION_MODE_TABLE;
	r->ops = &mmap_ops;
	return 0;
}
