// SPDX-License-Identifier: GPL-2.0
/*
 * Closing peers' fds off the event loop.  close() of a received fd can
 * block for as long as its sender chose: a TCP socket with SO_LINGER and
 * unsent data waits up to the linger time, a terminal drains its output, a
 * file system may flush.  Every fd that came from a peer (received with a
 * message, or a queued duplicate of one) is therefore handed to closer
 * threads instead of being closed on the loop.  One exception: the source
 * of a SHMEM_MAP that a region mode accepted (vd_close_mapped_source()).
 *
 * Isolation: each queued fd remembers the device it came from (0: a
 * control connection), and a thread never takes an fd of an owner that
 * another thread is closing, so one owner's blocking close() holds one
 * thread, never more.  The pool grows on demand: an fd whose owner no
 * thread is closing gets a waiting thread, or a new one, up to a cap of
 * one per owner there can be (max-devices + 1, at most VD_CLOSERS_MAX).
 * Under that cap no owner's fds ever wait for another owner's close.
 * Threads above VD_CLOSERS_MIN exit after VD_CLOSER_IDLE_MS without work.
 * Queued fds still count against the fd limit, so they count against
 * their device: a device with VD_CLOSE_DEV_MAX fds waiting to be closed is
 * not read until they are closed (limits.c).  The loop learns which closes
 * finished from the done list, collected every timer tick.
 *
 * If the queue is full anyway (many devices at their allowance), or no
 * thread could be started (the fuzzer), the fd is closed in place.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vshmd.h"

static bool owner_busy(const struct vd_closer *cl, uint32_t owner)
{
	uint32_t i;

	for (i = 0; i < cl->nbusy; i++)
		if (cl->busy[i] == owner)
			return true;
	return false;
}

/* Index of the oldest queued fd whose owner no thread is closing, or count. */
static uint32_t next_ready(const struct vd_closer *cl)
{
	uint32_t i;

	for (i = 0; i < cl->count; i++)
		if (!owner_busy(cl, cl->q[i].owner))
			break;
	return i;
}

static void *closer_main(void *arg);

/* Start one more thread; the caller holds the lock. */
static int grow_locked(struct vd_closer *cl)
{
	pthread_attr_t attr;
	pthread_t t;
	int ret;

	if (pthread_attr_init(&attr))
		return -ENOMEM;
	/* close() needs little stack. */
	pthread_attr_setstacksize(&attr, 64 * 1024);
	ret = pthread_create(&t, &attr, closer_main, cl);
	pthread_attr_destroy(&attr);
	if (ret)
		return -ret;
	/* Joined by vd_closer_stop(), or detached if it leaves idle. */
	cl->tids[cl->ntids++] = t;
	cl->nrunning++;
	cl->nstarting++;
	return 0;
}

/*
 * Owners with an fd ready to be taken (queued, and no thread closing one
 * of theirs), counted up to limit + 1: enough to compare with limit.
 */
static uint32_t ready_owners(const struct vd_closer *cl, uint32_t limit)
{
	uint32_t seen[VD_CLOSERS_MAX + 1], n = 0, i, j;

	for (i = 0; i < cl->count && n <= limit; i++) {
		if (owner_busy(cl, cl->q[i].owner))
			continue;
		for (j = 0; j < n; j++)
			if (seen[j] == cl->q[i].owner)
				break;
		if (j == n)
			seen[n++] = cl->q[i].owner;
	}
	return n;
}

/*
 * Every owner with an fd ready gets a thread: the waiting ones are woken
 * (all of them: a wake-up that races with an idle timeout is never lost,
 * and each takes one owner or waits again), and if there are more such
 * owners than waiting and starting threads, new ones are started.  At the
 * cap (or if no thread can be started) the rest wait for the next close
 * to finish.  The caller holds the lock.
 */
static void staff_locked(struct vd_closer *cl)
{
	uint32_t covered = cl->nwaiting + cl->nstarting;
	uint32_t need = ready_owners(cl, covered);

	if (!need)
		return;
	if (cl->nwaiting)
		pthread_cond_broadcast(&cl->cond);
	while (need > covered && cl->nrunning < cl->max && !cl->stop &&
	       !grow_locked(cl))
		covered++;
}

static void busy_remove(struct vd_closer *cl, uint32_t owner)
{
	uint32_t i;

	for (i = 0; i < cl->nbusy; i++)
		if (cl->busy[i] == owner) {
			cl->busy[i] = cl->busy[--cl->nbusy];
			return;
		}
}

/* Now plus ms, on the closer's clock (CLOCK_MONOTONIC). */
static void deadline(struct timespec *ts, unsigned int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * Wait for work until idle_end; false: this thread should exit (idle that
 * long, and above the floor).  A thread of the floor starts a new idle
 * period instead.
 */
static bool wait_locked(struct vd_closer *cl, struct timespec *idle_end)
{
	int ret;

	cl->nwaiting++;
	ret = pthread_cond_timedwait(&cl->cond, &cl->lock, idle_end);
	cl->nwaiting--;
	if (ret != ETIMEDOUT)
		return true;
	if (next_ready(cl) == cl->count && cl->nrunning > VD_CLOSERS_MIN)
		return false;
	deadline(idle_end, VD_CLOSER_IDLE_MS);
	return true;
}

static void *closer_main(void *arg)
{
	struct vd_closer *cl = arg;
	struct vd_close_item it;
	struct timespec idle_end;
	uint32_t i;

	pthread_mutex_lock(&cl->lock);
	cl->nstarting--;
	deadline(&idle_end, VD_CLOSER_IDLE_MS);
	while (!cl->stop || cl->count) {
		i = next_ready(cl);
		if (i == cl->count) {
			/* Wake-ups without work do not restart the idle time. */
			if (cl->stop || !wait_locked(cl, &idle_end))
				break;
			continue;
		}
		it = cl->q[i];
		memmove(&cl->q[i], &cl->q[i + 1],
			(cl->count - i - 1) * sizeof(cl->q[0]));
		cl->count--;
		cl->busy[cl->nbusy++] = it.owner;
		/* Other owners' fds may be ready too: they need their own threads. */
		staff_locked(cl);
		pthread_mutex_unlock(&cl->lock);

		close(it.fd);

		pthread_mutex_lock(&cl->lock);
		busy_remove(cl, it.owner);
		cl->done[cl->ndone++] = it.owner;
		deadline(&idle_end, VD_CLOSER_IDLE_MS);
	}
	cl->nrunning--;
	if (cl->stop) {
		/* vd_closer_stop() waits for the last one, then joins them. */
		pthread_cond_broadcast(&cl->cond);
	} else {
		for (i = 0; !pthread_equal(cl->tids[i], pthread_self()); i++)
			;
		cl->tids[i] = cl->tids[--cl->ntids];
		pthread_detach(pthread_self());
	}
	pthread_mutex_unlock(&cl->lock);
	return NULL;
}

int vd_closer_start(struct vshmd *d)
{
	struct vd_closer *cl = &d->closer;
	pthread_condattr_t ca;
	unsigned int i;
	int ret = 0;

	if (pthread_mutex_init(&cl->lock, NULL))
		return -ENOMEM;
	/* Idle timeouts are intervals: a clock step must not shorten them. */
	if (pthread_condattr_init(&ca)) {
		pthread_mutex_destroy(&cl->lock);
		return -ENOMEM;
	}
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	ret = pthread_cond_init(&cl->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (ret) {
		pthread_mutex_destroy(&cl->lock);
		return -ENOMEM;
	}
	cl->initialized = true;
	/* One thread per owner: every device and the control connections. */
	cl->max = d->opt.max_devices + 1;
	if (cl->max > VD_CLOSERS_MAX)
		cl->max = VD_CLOSERS_MAX;
	pthread_mutex_lock(&cl->lock);
	for (i = 0; i < VD_CLOSERS_MIN && !ret; i++)
		ret = grow_locked(cl);
	pthread_mutex_unlock(&cl->lock);
	return cl->nrunning ? 0 : ret;
}

void vd_closer_stop(struct vshmd *d, unsigned int wait_ms)
{
	struct vd_closer *cl = &d->closer;
	uint32_t left, blocked, i;
	struct timespec ts;

	if (!cl->initialized)
		return;
	deadline(&ts, wait_ms);
	pthread_mutex_lock(&cl->lock);
	cl->stop = true;
	pthread_cond_broadcast(&cl->cond);
	while (cl->nrunning &&
	       pthread_cond_timedwait(&cl->cond, &cl->lock, &ts) != ETIMEDOUT)
		;
	left = cl->nrunning;
	blocked = cl->nbusy;
	pthread_mutex_unlock(&cl->lock);
	/*
	 * A thread still inside close() keeps its fd; exit() ends it (and
	 * closes at exit do not linger).  The lock stays for it.
	 */
	if (left) {
		vd_log(d, VD_LOG_WARN,
		       "stopping with %u fd closes still blocked (a peer's SO_LINGER or similar)",
		       blocked);
		return;
	}
	/* Every thread has left its loop: let them finish before exit(). */
	for (i = 0; i < cl->ntids; i++)
		pthread_join(cl->tids[i], NULL);
	cl->ntids = 0;
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
	    cl->count + cl->ndone + cl->nbusy >= VD_CLOSE_QUEUE) {
		pthread_mutex_unlock(&cl->lock);
		vd_log_limited(d, &d->closer_log, VD_LOG_WARN,
			       "fd closer threads full or not running (queue of %u): closing in place",
			       VD_CLOSE_QUEUE);
		close(fd);
		return;
	}
	cl->q[cl->count++] = (struct vd_close_item){ .fd = fd, .owner = owner };
	pthread_mutex_unlock(&cl->lock);
	/* Staffed at the end of the loop turn (vd_closer_kick()), not per fd. */
	cl->unkicked++;
	d->closing++;
	dev = owner ? vd_device_find(d, owner) : NULL;
	if (dev)
		dev->closing++;
}

void vd_closer_kick(struct vshmd *d)
{
	struct vd_closer *cl = &d->closer;

	if (!cl->initialized || !cl->unkicked)
		return;
	cl->unkicked = 0;
	pthread_mutex_lock(&cl->lock);
	staff_locked(cl);
	pthread_mutex_unlock(&cl->lock);
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

/*
 * The source fd of a SHMEM_MAP that a region mode (kmod or mmap) has just
 * accepted.  The source check (libvshm's, or the module's for kmod) let
 * through only memfd/shmem, hugetlbfs and dma-buf files, none of which
 * has a flush method, and the region now holds a reference of its own
 * (the module's, or libvshm's handle in the mmap mode), so this close is
 * never the last: it drops a count and waits for nobody.  Closing it here
 * saves waking a closer thread for every map, the broker's most frequent
 * request.
 */
void vd_close_mapped_source(struct vshm_msg *msg)
{
	if (!(msg->flags & VSHM_MSG_OWNS_FDS) || !msg->nfds)
		return;
	close(msg->fds[0]);
	msg->fds[0] = -1;
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

void vd_closer_usage(struct vshmd *d, uint32_t *running, uint32_t *cap)
{
	struct vd_closer *cl = &d->closer;

	/* Set once before the first thread starts; 0 without closers. */
	*cap = cl->max;
	*running = 0;
	if (!cl->initialized)
		return;
	pthread_mutex_lock(&cl->lock);
	*running = cl->nrunning;
	pthread_mutex_unlock(&cl->lock);
}
