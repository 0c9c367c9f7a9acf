// SPDX-License-Identifier: GPL-2.0
/*
 * The one epoll loop.  Every fd is registered with a struct vd_watch that
 * holds its handler and the object it belongs to; the loop knows no module.  Signals arrive through a signalfd (SIGTERM and
 * SIGINT drain and stop, SIGHUP reopens the log), and a timerfd ticks every
 * VD_TICK_MS to refill the per-device message budgets.  Objects that fail
 * during a turn are only marked dead and freed at its end, so that no event
 * of the same turn can reach freed memory.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vshmd.h"

#define VD_TICK_MS	100
#define VD_MAX_EVENTS	64
/* How long SIGTERM waits for queued replies to go out. */
#define VD_DRAIN_MS	2000

int vd_watch_set(struct vshmd *d, struct vd_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (w->added && w->events == events)
		return 0;
	if (epoll_ctl(d->epfd, w->added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd,
		      &ev) < 0)
		return -errno;
	w->added = true;
	w->events = events;
	return 0;
}

void vd_watch_del(struct vshmd *d, struct vd_watch *w)
{
	if (!w->added)
		return;
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->added = false;
	w->events = 0;
}

static void on_signal(struct vshmd *d, struct vd_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			vd_log_reopen(d);
			break;
		default:
			if (!d->stopping)
				vd_log(d, VD_LOG_INFO, "%s: draining and stopping",
				       strsignal(si.ssi_signo));
			d->stopping = true;
			break;
		}
	}
}

static void on_timer(struct vshmd *d, struct vd_watch *w, uint32_t events)
{
	struct vd_device *dev;
	uint64_t ticks;

	(void)events;
	if (read(w->fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	vd_closer_collect(d);
	vd_limits_refill(d);
	vd_vmm_tick(d);
	vd_control_resume_listen(d);
	/* A log that blocked hears how many lines it missed once it can. */
	vd_log_flush(d);
	/* Devices that waited for their fds to be closed or sent. */
	for (dev = d->devices; dev; dev = dev->next)
		vd_device_update_events(d, dev);
}

int vd_loop_init(struct vshmd *d)
{
	struct itimerspec its = {
		.it_interval = { 0, VD_TICK_MS * 1000000L },
		.it_value = { 0, VD_TICK_MS * 1000000L },
	};
	sigset_t set;
	int fd, ret;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	/* After the mask: the closer threads must not take SIGTERM. */
	ret = vd_closer_start(d);
	if (ret)
		vd_log(d, VD_LOG_WARN,
		       "closer threads: %s: peers' fds are closed on the loop",
		       strerror(-ret));
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	d->sig_w = (struct vd_watch){ .fn = on_signal, .fd = fd };
	ret = vd_watch_set(d, &d->sig_w, EPOLLIN);
	if (ret)
		return ret;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	d->timer_w = (struct vd_watch){ .fn = on_timer, .fd = fd };
	if (timerfd_settime(fd, 0, &its, NULL) < 0)
		return -errno;
	return vd_watch_set(d, &d->timer_w, EPOLLIN);
}

/* Free what died during the turn. */
static void reap(struct vshmd *d)
{
	vd_reap_list(d, d->clients, vd_control_close);
	vd_device_reap(d);
}

/* Give queued replies a bounded time to leave, then stop. */
static void drain(struct vshmd *d)
{
	uint64_t deadline = vd_now_ms() + VD_DRAIN_MS;
	struct vd_ctl_conn *c;
	struct vd_device *dev;
	bool pending;

	do {
		pending = false;
		for (c = d->clients; c; c = c->next)
			if (vshm_chan_flush(c->ch) == -EAGAIN)
				pending = true;
		for (dev = d->devices; dev; dev = dev->next) {
			if (dev->be && vshm_chan_flush(dev->be) == -EAGAIN)
				pending = true;
			if (dev->fw && vshm_chan_flush(dev->fw) == -EAGAIN)
				pending = true;
		}
		if (pending)
			usleep(10000);
	} while (pending && vd_now_ms() < deadline);
}

int vd_loop_run(struct vshmd *d)
{
	struct epoll_event ev[VD_MAX_EVENTS];
	int n, i;

	vd_log(d, VD_LOG_INFO, "ready: control socket %s, region mode %s%s",
	       d->listen.name,
	       d->region_mode == VSHM_REGION_MODE_KMOD ? "kmod" :
	       vd_vmm_mode(d) ? "vmm (forwarding)" : "mmap",
	       !d->opt.populate ? "" : vd_vmm_mode(d) ?
	       ", --populate has no effect in forwarding mode (the VMM makes the mappings)" :
	       ", every device's maps populated");
	while (!d->stopping) {
		n = epoll_wait(d->epfd, ev, VD_MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			vd_log(d, VD_LOG_ERR, "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		d->now_ms = vd_now_ms();
		vd_closer_collect(d);
		for (i = 0; i < n; i++)
			vd_watch_fire(d, ev[i].data.ptr, ev[i].events);
		reap(d);
		vd_closer_kick(d);
	}
	drain(d);
	return 0;
}

void vd_loop_fini(struct vshmd *d)
{
	vd_closer_stop(d, VD_DRAIN_MS);
	if (d->sig_w.fd >= 0)
		close(d->sig_w.fd);
	if (d->timer_w.fd >= 0)
		close(d->timer_w.fd);
	if (d->epfd >= 0)
		close(d->epfd);
}
