// SPDX-License-Identifier: GPL-2.0
#include "fd_util.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/scm_rights.h"

int count_dir_entries(const char *path)
{
	struct dirent *e;
	DIR *d = opendir(path);
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int count_open_fds(void)
{
	int n = count_dir_entries("/proc/self/fd");

	/* opendir() held one more fd while it counted. */
	return n < 0 ? -1 : n - 1;
}

int memfd_filled(size_t size, int fill)
{
	int fd = memfd_create("vshm-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int saved;
	void *p;

	if (fd < 0)
		return -1;
	if (ftruncate(fd, size) < 0)
		goto fail;
	if (size) {
		/* Through a mapping, which also fills hugetlbfs-like files. */
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			goto fail;
		memset(p, fill, size);
		munmap(p, size);
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int send_with_fds(int sock, const struct iovec *iov, int niov,
		  const int *fds, int nfds)
{
	VSHMI_SCM_BUF(cbuf, SEND_FDS_MAX);
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = niov };
	size_t total = 0;
	ssize_t n;
	int i;

	if (nfds < 0 || nfds > SEND_FDS_MAX) {
		errno = EINVAL;
		return -1;
	}
	vshmi_scm_attach(&mh, cbuf.buf, fds, nfds);
	for (i = 0; i < niov; i++)
		total += iov[i].iov_len;
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n != total) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}
