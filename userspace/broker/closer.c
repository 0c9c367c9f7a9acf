// SPDX-License-Identifier: GPL-2.0
/*
 * Closing peers' fds off the event loop.  close() of a received fd can
 * block for as long as its sender chose: a TCP socket with SO_LINGER and
 * unsent data waits up to the linger time, a terminal drains its output, a
 * file system may flush.  Every fd that came from a peer (received with a
 * message, or a queued duplicate of one) is therefore handed to a small
 * pool of closer threads instead of being closed on the loop.
 *
 * Isolation: the queue is bounded (VD_CLOSE_QUEUE fds) and each entry
 * remembers the device it came from (0: a control connection).  A thread
 * never takes an fd of an owner that another thread is closing, so one
 * device's blocking close() holds at most one of the VD_CLOSERS threads,
 * and the fds of other devices keep being closed by the others.  Queued
 * fds still count against the fd limit, so they count against their
 * device: a device with VD_CLOSE_DEV_MAX fds waiting to be closed is not
 * read until the closers catch up (limits.c).  The loop learns which
 * closes finished from the done list, collected every timer tick.
 *
 * If the queue is full anyway (many devices at their allowance), or the
 * threads could not be started (the fuzzer), the fd is closed in place.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vshmd.h"

static void *closer_main(void *arg)
{
	struct vd_closer *cl = arg;
	uint32_t slot = 0, i, j;
	struct vd_close_item it;

	pthread_mutex_lock(&cl->lock);
	while (!cl->stop || cl->count) {
		/* The oldest fd whose owner no other thread is closing. */
		for (i = 0; i < cl->count; i++) {
			for (j = 0; j < VD_CLOSERS; j++)
				if (cl->busy[j].active &&
				    cl->busy[j].owner == cl->q[i].owner)
					break;
			if (j == VD_CLOSERS)
				break;
		}
		if (i == cl->count) {
			if (cl->stop)
				break;
			pthread_cond_wait(&cl->cond, &cl->lock);
			continue;
		}
		it = cl->q[i];
		memmove(&cl->q[i], &cl->q[i + 1],
			(cl->count - i - 1) * sizeof(cl->q[0]));
		cl->count--;
		for (slot = 0; slot < VD_CLOSERS; slot++)
			if (!cl->busy[slot].active)
				break;
		cl->busy[slot].active = true;
		cl->busy[slot].owner = it.owner;
		pthread_mutex_unlock(&cl->lock);

		close(it.fd);

		pthread_mutex_lock(&cl->lock);
		cl->busy[slot].active = false;
		cl->done[cl->ndone++] = it.owner;
		/* Another thread may have skipped this owner's next fd. */
		pthread_cond_broadcast(&cl->cond);
	}
	cl->nrunning--;
	pthread_cond_broadcast(&cl->cond);
	pthread_mutex_unlock(&cl->lock);
	return NULL;
}

int vd_closer_start(struct vshmd *d)
{
	struct vd_closer *cl = &d->closer;
	pthread_attr_t attr;
	unsigned int i;
	int ret;

	if (pthread_mutex_init(&cl->lock, NULL))
		return -ENOMEM;
	if (pthread_cond_init(&cl->cond, NULL)) {
		pthread_mutex_destroy(&cl->lock);
		return -ENOMEM;
	}
	cl->initialized = true;
	pthread_attr_init(&attr);
	/* close() needs little stack. */
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (i = 0; i < VD_CLOSERS; i++) {
		pthread_t t;

		ret = pthread_create(&t, &attr, closer_main, cl);
		if (ret)
			break;
		pthread_mutex_lock(&cl->lock);
		cl->nrunning++;
		pthread_mutex_unlock(&cl->lock);
	}
	pthread_attr_destroy(&attr);
	return cl->nrunning ? 0 : -ret;
}

void vd_closer_stop(struct vshmd *d, unsigned int wait_ms)
{
	struct vd_closer *cl = &d->closer;
	struct timespec ts;
	bool left;

	if (!cl->initialized)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&cl->lock);
	cl->stop = true;
	pthread_cond_broadcast(&cl->cond);
	while (cl->nrunning &&
	       pthread_cond_timedwait(&cl->cond, &cl->lock, &ts) != ETIMEDOUT)
		;
	left = cl->nrunning;
	pthread_mutex_unlock(&cl->lock);
	/*
	 * A thread still inside close() keeps its fd; exit() ends it (and
	 * closes at exit do not linger).  The lock stays for it.
	 */
	if (left) {
		vd_log(d, VD_LOG_WARN,
		       "stopping with %u fd closes still blocked (a peer's SO_LINGER or similar)",
		       (unsigned int)left);
		return;
	}
	pthread_cond_destroy(&cl->cond);
	pthread_mutex_destroy(&cl->lock);
	cl->initialized = false;
}

void vd_close_fd(struct vshmd *d, uint32_t owner, int fd)
{
	struct vd_closer *cl = &d->closer;
	struct vd_device *dev;

	if (fd < 0)
		return;
	if (!cl->initialized) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&cl->lock);
	if (!cl->nrunning || cl->stop ||
	    cl->count + cl->ndone + VD_CLOSERS >= VD_CLOSE_QUEUE) {
		pthread_mutex_unlock(&cl->lock);
		vd_log_limited(d, &d->closer_log, VD_LOG_WARN,
			       "fd closer threads full or not running (queue of %u): closing in place",
			       VD_CLOSE_QUEUE);
		close(fd);
		return;
	}
	cl->q[cl->count++] = (struct vd_close_item){ .fd = fd, .owner = owner };
	pthread_cond_signal(&cl->cond);
	pthread_mutex_unlock(&cl->lock);
	d->closing++;
	dev = owner ? vd_device_find(d, owner) : NULL;
	if (dev)
		dev->closing++;
}

void vd_closer_collect(struct vshmd *d)
{
	struct vd_closer *cl = &d->closer;
	uint32_t done[VD_CLOSE_QUEUE];
	struct vd_device *dev;
	uint32_t i, n;

	if (!cl->initialized)
		return;
	pthread_mutex_lock(&cl->lock);
	n = cl->ndone;
	memcpy(done, cl->done, n * sizeof(done[0]));
	cl->ndone = 0;
	pthread_mutex_unlock(&cl->lock);
	for (i = 0; i < n; i++) {
		d->closing--;
		if (!done[i])
			continue;
		/* Dead devices too: their struct lives until the turn ends. */
		for (dev = d->devices; dev; dev = dev->next)
			if (dev->id == done[i])
				break;
		if (dev && dev->closing)
			dev->closing--;
	}
}

/* vshm_fd_closer for a channel: arg is the struct vd_close_owner. */
static void chan_closer(void *arg, int fd)
{
	struct vd_close_owner *o = arg;

	vd_close_fd(o->d, o->owner, fd);
}

void vd_closer_attach(struct vshmd *d, struct vshm_chan *ch,
		      struct vd_close_owner *o, uint32_t owner)
{
	o->d = d;
	o->owner = owner;
	vshm_chan_set_closer(ch, chan_closer, o);
}

void vd_msg_release(struct vshmd *d, uint32_t owner, struct vshm_msg *msg)
{
	uint32_t i;

	if (msg->flags & VSHM_MSG_OWNS_FDS)
		for (i = 0; i < msg->nfds; i++)
			vd_close_fd(d, owner, msg->fds[i]);
	msg->nfds = 0;
	msg->flags &= ~VSHM_MSG_OWNS_FDS;
}
