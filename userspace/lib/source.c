// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The one userspace judgement of a mapping's source: its type, its size
 * and its access, as the module judges it (kmod/vshm_source.c), made
 * before the mmap or table region mode touches the fd (region.c).  The
 * kmod region mode leaves the judgement to VSHM_IOC_MAP, which applies the
 * same rules with the same codes (region_conformance_test runs every mode
 * through them), so a broker in any region mode refuses the same sources
 * with the same codes.
 *
 * It never makes a call that a peer's file could make wait: F_GET_SEALS
 * (answered only by shmem and hugetlbfs) and statx(AT_STATX_DONT_SYNC)
 * sort the fd before fstatfs(), which a FUSE file would send to its
 * server.  Sockets, FIFOs, devices and other file systems are refused
 * with ENODEV before anything else touches them.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "internal.h"

/*
 * Is fd a dma-buf?  Its fdinfo has an exp_name line; reading it never
 * reaches the file's own code.  Without /proc: anonymous inodes only (no
 * file type bits), whose statfs is the kernel's own.
 */
static bool looks_like_dma_buf(int fd, mode_t mode)
{
	char path[64], buf[512];
	ssize_t n;
	int info;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	info = open(path, O_RDONLY | O_CLOEXEC);
	if (info < 0)
		return !(mode & S_IFMT);
	n = read(info, buf, sizeof(buf) - 1);
	close(info);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, "\nexp_name:") != NULL;
}

int vshmi_source_check(int fd, uint64_t fd_offset, uint64_t len,
		       bool writable, enum vshmi_src_kind *kind)
{
	struct statfs sfs;
	struct statx stx;
	uint64_t end;
	int fl, seals;

	if (fd < 0)
		return -EBADF;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_PATH))
		return -EBADF;
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC,
		  STATX_TYPE | STATX_SIZE, &stx) < 0)
		return -EBADF;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals >= 0 ? !S_ISREG(stx.stx_mode) :
			 !looks_like_dma_buf(fd, stx.stx_mode))
		return -ENODEV;
	if (fstatfs(fd, &sfs) < 0)
		return -EBADF;
	switch ((unsigned long)sfs.f_type) {
	case TMPFS_MAGIC:
		*kind = VSHMI_SRC_SHMEM;
		break;
	case HUGETLBFS_MAGIC:
		*kind = VSHMI_SRC_HUGETLB;
		break;
	case DMA_BUF_MAGIC:
		*kind = VSHMI_SRC_DMABUF;
		break;
	default:
		return -ENODEV;
	}
	/* shmem and hugetlbfs answer F_GET_SEALS, a dma-buf does not. */
	if ((seals >= 0) != (*kind != VSHMI_SRC_DMABUF))
		return -ENODEV;
	if (__builtin_add_overflow(fd_offset, len, &end) ||
	    end > stx.stx_size)
		return -EOVERFLOW;
	if (!writable)
		return 0;
	if ((fl & O_ACCMODE) == O_RDONLY)
		return -EACCES;
	if (seals > 0 && (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return -EACCES;
	return 0;
}
