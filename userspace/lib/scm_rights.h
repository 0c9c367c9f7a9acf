/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Attaching fds to a sendmsg() as one SCM_RIGHTS message: the one copy that
 * libvshm's channels (wire.c), the test and tool helpers (fd_util.c) and
 * the fuzzers share.  Header-only, so that programs outside libvshm can use
 * it without linking anything; not installed.
 */
#ifndef VSHMI_SCM_RIGHTS_H
#define VSHMI_SCM_RIGHTS_H

#include <string.h>
#include <sys/socket.h>

/* Control buffer for up to max fds, aligned as CMSG_FIRSTHDR() needs. */
#define VSHMI_SCM_BUF(name, max)						\
	union {									\
		struct cmsghdr align;						\
		char buf[CMSG_SPACE((max) * sizeof(int))];			\
	} name

/*
 * Point mh's control data at cbuf (a VSHMI_SCM_BUF of at least nfds fds)
 * holding fds[0..nfds); with nfds 0, mh gets no control data.
 */
static inline void vshmi_scm_attach(struct msghdr *mh, void *cbuf,
				    const int *fds, unsigned int nfds)
{
	struct cmsghdr *c;

	if (!nfds)
		return;
	memset(cbuf, 0, CMSG_SPACE(nfds * sizeof(int)));
	mh->msg_control = cbuf;
	mh->msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
}

#endif /* VSHMI_SCM_RIGHTS_H */
