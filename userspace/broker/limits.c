// SPDX-License-Identifier: GPL-2.0
/*
 * Per-device limits that keep one back-end from starving the others:
 *
 * - message rate: a token bucket of --max-rate messages per second, refilled
 *   every loop tick.  A device that runs out stops being read until the
 *   next refill; its messages wait in its socket, nobody else's do.
 * - bytes in flight: once more than --max-inflight bytes of replies (to the
 *   back-end) or forwarded requests (to the VMM) are queued and not yet
 *   taken by the peer, the device is not read until the queue drains.
 * - fds in flight: once the queues towards its peers hold more than
 *   VD_MAX_INFLIGHT_FDS duplicated fds, or more than VD_CLOSE_DEV_MAX of
 *   its fds wait for the closer threads (closer.c), the device is not read
 *   either.  Each of those fds counts against the broker's RLIMIT_NOFILE;
 *   bytes alone would let 1 MiB of small frames hold ~700k of them.
 * - mappings: --max-mappings per device (shmem.c).
 */
#include "vshmd.h"

/* Ticks per second of the loop's timer (loop.c ticks every 100 ms). */
#define VD_TICKS_PER_S	10

void vd_limits_refill(struct vshmd *d)
{
	uint32_t add = d->opt.msg_rate / VD_TICKS_PER_S;
	struct vd_device *dev;

	if (!add)
		add = 1;
	for (dev = d->devices; dev; dev = dev->next) {
		if (dev->dead)
			continue;
		dev->tokens += add;
		if (dev->tokens > d->opt.msg_rate)
			dev->tokens = d->opt.msg_rate;
		if (dev->throttled) {
			dev->throttled = false;
			vd_device_update_events(d, dev);
		}
	}
}

/* Spend one message; false when the device is over its rate. */
bool vd_limits_take(struct vshmd *d, struct vd_device *dev)
{
	(void)d;
	if (!dev->tokens)
		return false;
	dev->tokens--;
	return dev->tokens > 0;
}

bool vd_limits_backlogged(struct vshmd *d, struct vd_device *dev)
{
	size_t q = vshm_chan_pending(dev->be);
	size_t fds = vshm_chan_pending_fds(dev->be);

	if (dev->fw) {
		q += vshm_chan_pending(dev->fw);
		fds += vshm_chan_pending_fds(dev->fw);
	}
	return q > d->opt.max_inflight || fds > VD_MAX_INFLIGHT_FDS ||
	       dev->closing >= VD_CLOSE_DEV_MAX;
}
