// SPDX-License-Identifier: GPL-2.0
/*
 * Receiving one frame from a peer's channel, the same way for the backend
 * channel, the forward socket and a control connection: libvshm says
 * whether a failure broke the stream (vshm_chan_broken()) or dropped one
 * whole frame whose header is still there to answer.
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>

#include "vshmd.h"

enum vd_rx vd_receive(struct vshm_chan *ch, struct vshm_msg *msg,
		      struct vshm_err *err)
{
	int ret;

	err->msg[0] = 0;
	ret = vshm_chan_recv(ch, msg, err);
	if (!ret)
		return VD_RX_FRAME;
	if (ret == -EAGAIN)
		return VD_RX_NONE;
	if (!vshm_chan_broken(ch))
		return VD_RX_BAD;
	return ret == -EPIPE ? VD_RX_CLOSED : VD_RX_BROKEN;
}

/*
 * One ioctl instead of the two calls (a peek and a recvmsg) with which
 * vshm_chan_recv() finds EAGAIN.  Every fd is watched level-triggered, so
 * bytes that arrive after the check wake the loop again.
 */
bool vd_chan_drained(struct vshm_chan *ch)
{
	int queued;

	return ioctl(vshm_chan_fd(ch), SIOCINQ, &queued) == 0 && queued == 0;
}
