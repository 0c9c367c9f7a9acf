// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the libvshm decoder.
 *
 * Input: byte 0 picks the protocol (bits 0-1) and how many fds ride on the
 * first frame (bits 2-4); the rest is a byte stream of frames.  Each input
 * goes through both decode paths: vshm_msg_parse() frame by frame, with
 * every typed decoder run on what parses; and a channel reading the same
 * bytes from a socket.  Besides ASan/UBSan, an fd leaked on any path aborts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libvshm.h>

#include "../scm_rights.h"

static int null_fd = -1;
/* Reads of the last byte of decoded data land here, so ASan checks them. */
static volatile uint8_t sink;

static void open_fds(int *fds, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		fds[i] = fcntl(null_fd, F_DUPFD_CLOEXEC, 0);
}

static void decode_all(enum vshm_proto proto, struct vshm_msg *m)
{
	struct vshm_vu_shmem_config cfg;
	struct vshm_vu_mem_access a;
	struct vshm_vu_mmap mm;
	const uint8_t *data;
	const void *p;
	uint8_t uuid[16];
	uint64_t v;
	uint32_t e;
	size_t len;
	bool w;

	switch (proto) {
	case VSHM_PROTO_BACKEND:
		if (!vshm_decode_mmap(m, &mm, NULL)) {
			vshm_mmap_flags_writable(mm.flags, VSHM_FLAGS_FINAL, &w, NULL);
			vshm_mmap_flags_writable(mm.flags, VSHM_FLAGS_DRAFT, &w, NULL);
		}
		if (!vshm_decode_mem_access(m, &a, NULL) && a.data)
			sink = a.data[a.size - 1];
		if (!vshm_decode_mem_read_reply(m, m->hdr.size > 8 ? m->hdr.size - 8 : 1,
						&v, &data, NULL) && data)
			sink = data[m->hdr.size - 9];
		vshm_decode_shared_object(m, uuid, NULL);
		vshm_decode_reply_u64(m, m->hdr.request, &v, NULL);
		break;
	case VSHM_PROTO_FRONTEND:
		vshm_decode_shmem_config_reply(m, &cfg, NULL);
		break;
	case VSHM_PROTO_CONTROL:
		if (!vshm_ctl_decode_request(m, m->hdr.request, &p, &len, NULL) && len)
			sink = ((const uint8_t *)p)[len - 1];
		if (!vshm_ctl_decode_reply(m, m->hdr.request, &e, &p, &len, NULL) && len)
			sink = ((const uint8_t *)p)[len - 1];
		break;
	}
}

static void via_parse(enum vshm_proto proto, const uint8_t *buf, size_t len,
		      unsigned int nfds, struct vshm_msg *m)
{
	struct vshm_err err;
	int fds[8];

	while (len) {
		ssize_t n;

		open_fds(fds, nfds);
		n = vshm_msg_parse(proto, buf, len, fds, nfds, m, &err);
		nfds = 0;
		if (n < 0) {
			if (!err.msg[0] || err.code != (int)n)
				abort();
			break;
		}
		if ((size_t)n > len)
			abort();
		decode_all(proto, m);
		vshm_msg_release(m);
		buf += n;
		len -= n;
	}
}

static void via_channel(enum vshm_proto proto, const uint8_t *buf, size_t len,
			unsigned int nfds, struct vshm_msg *m)
{
	VSHMI_SCM_BUF(cbuf, 8);
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct vshm_chan *ch;
	int sv[2], fds[8];

	if (!len || len > 100000)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	open_fds(fds, nfds);
	vshmi_scm_attach(&mh, cbuf.buf, fds, nfds);
	if (sendmsg(sv[1], &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		for (unsigned int i = 0; i < nfds; i++)
			close(fds[i]);
		close(sv[0]);
		close(sv[1]);
		return;
	}
	for (unsigned int i = 0; i < nfds; i++)
		close(fds[i]);
	close(sv[1]);
	if (vshm_chan_new(sv[0], proto, VSHM_CHAN_OWN_FD, &ch))
		abort();
	for (int i = 0; i < 1000; i++) {
		int ret = vshm_chan_recv(ch, m, NULL);

		if (ret == 0) {
			decode_all(proto, m);
			vshm_msg_release(m);
			continue;
		}
		if (ret == -EAGAIN)
			break;
		/* a broken channel reports the code that broke it */
		if (vshm_chan_broken(ch)) {
			if (vshm_chan_broken(ch) != ret)
				abort();
			break;
		}
		/* a whole but invalid frame keeps the channel going */
		if (ret == -EPIPE || ret == -VSHM_ETRUNC ||
		    ret == -VSHM_EVERSION || ret == -VSHM_EHDRFLAGS ||
		    ret == -VSHM_EFRAMESIZE)
			abort();
	}
	vshm_chan_free(ch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vshm_msg *m;
	enum vshm_proto proto;
	unsigned int nfds;
	int free_fd, probe;

	if (null_fd < 0) {
		null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		m = malloc(sizeof(*m));
		if (null_fd < 0 || !m)
			abort();
	}
	if (size < 1)
		return 0;
	free_fd = fcntl(null_fd, F_DUPFD_CLOEXEC, 0);
	close(free_fd);
	proto = (data[0] & 3) == 0 ? VSHM_PROTO_BACKEND : (enum vshm_proto)(data[0] & 3);
	nfds = (data[0] >> 2) & 7;
	via_parse(proto, data + 1, size - 1, nfds, m);
	via_channel(proto, data + 1, size - 1, nfds, m);
	/* the lowest free fd must not have moved: nothing leaked */
	probe = fcntl(null_fd, F_DUPFD_CLOEXEC, 0);
	if (probe != free_fd)
		abort();
	close(probe);
	return 0;
}
