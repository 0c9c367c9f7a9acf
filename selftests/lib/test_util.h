/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the libvshm selftests. */
#ifndef VSHM_TEST_UTIL_H
#define VSHM_TEST_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vshm/vshm.h>

/* Open fds of this process (the directory's own fd not counted). */
static inline int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

/* A memfd of size bytes, every byte set to fill. */
static inline int make_memfd(size_t size, int fill)
{
	int fd = memfd_create("vshm-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *p;

	if (fd < 0)
		return -1;
	if (ftruncate(fd, size) < 0)
		goto fail;
	if (size) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			goto fail;
		memset(p, fill, size);
		munmap(p, size);
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* A heap message (they are 64 KiB; keep them off small stacks). */
static inline struct vshm_msg *new_msg(void)
{
	struct vshm_msg *m = calloc(1, sizeof(*m));

	return m;
}

#endif
