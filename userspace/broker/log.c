// SPDX-License-Identifier: GPL-2.0
/*
 * Logging: one line per event, formatted here and written by log_sink.c
 * (to stderr or --log-file, never blocking the loop).  Mistakes made by
 * peers go through a rate limiter so that a hostile back-end cannot flood
 * the log, and through one token bucket for all peers together; other
 * lines a peer can cause (the listener out of fds, a full close queue)
 * have buckets of their own.
 *
 * When stderr is the journal (log_sink.c tells), each line starts with its
 * syslog priority, "<3>" for an error, which journald strips and records,
 * so that `journalctl -p` filters; the journal adds its own time stamp and
 * pid.
 */
#include <errno.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "vshmd.h"

static const char *const level_names[] = {
	[VD_LOG_ERR] = "error", [VD_LOG_WARN] = "warning",
	[VD_LOG_INFO] = "info", [VD_LOG_DEBUG] = "debug",
};

uint64_t vd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vd_log_level_parse(const char *s, enum vd_log_level *lvl)
{
	unsigned int i;

	for (i = 0; i < VD_ARRAY_SIZE(level_names); i++) {
		if (!strcmp(s, level_names[i]) ||
		    (i == VD_LOG_ERR && !strcmp(s, "err")) ||
		    (i == VD_LOG_WARN && !strcmp(s, "warn"))) {
			*lvl = i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *const level_prefix[] = {
	[VD_LOG_ERR] = SD_ERR, [VD_LOG_WARN] = SD_WARNING,
	[VD_LOG_INFO] = SD_INFO, [VD_LOG_DEBUG] = SD_DEBUG,
};

static size_t format_line(struct vshmd *d, enum vd_log_level lvl,
			  char line[VD_LOG_LINE_MAX], const char *fmt,
			  va_list ap)
{
	struct timespec ts;
	struct tm tm;
	int n, m;

	if (d->log.journal) {
		n = snprintf(line, VD_LOG_LINE_MAX, "%s%s: ", level_prefix[lvl],
			     level_names[lvl]);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, VD_LOG_LINE_MAX, "%04d-%02d-%02d %02d:%02d:%02d.%03ld vshmd[%d]: %s: ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec,
			     ts.tv_nsec / 1000000, (int)getpid(),
			     level_names[lvl]);
	}
	m = vsnprintf(line + n, VD_LOG_LINE_MAX - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > VD_LOG_LINE_MAX - 2)
		n = VD_LOG_LINE_MAX - 2;
	line[n++] = '\n';
	return n;
}

size_t vd_log_format(struct vshmd *d, enum vd_log_level lvl,
		     char buf[VD_LOG_LINE_MAX], const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = format_line(d, lvl, buf, fmt, ap);
	va_end(ap);
	return n;
}

static void vlog(struct vshmd *d, enum vd_log_level lvl, const char *fmt,
		 va_list ap)
{
	char line[VD_LOG_LINE_MAX];

	vd_log_emit(d, line, format_line(d, lvl, line, fmt, ap));
}

void vd_log(struct vshmd *d, enum vd_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl > d->opt.log_level)
		return;
	va_start(ap, fmt);
	vlog(d, lvl, fmt, ap);
	va_end(ap);
}

/*
 * Token bucket: VD_LOG_BUCKET_BURST lines at once, then
 * VD_LOG_BUCKET_PER_S a second.  A line that passes after some were
 * dropped is preceded by a line saying how many.
 */
bool vd_log_allow(struct vshmd *d, struct vd_log_bucket *b)
{
	const uint32_t full = VD_LOG_BUCKET_BURST * 1000u;
	uint64_t now = vd_now_ms(), add;
	uint32_t dropped;

	if (!b->primed) {
		b->primed = true;
		b->milli_tokens = full;
		b->last_ms = now;
	}
	add = (now - b->last_ms) * VD_LOG_BUCKET_PER_S;
	b->last_ms = now;
	b->milli_tokens = add >= full - b->milli_tokens ? full :
			  b->milli_tokens + (uint32_t)add;
	if (b->milli_tokens < 1000u) {
		b->suppressed++;
		return false;
	}
	b->milli_tokens -= 1000u;
	if (b->suppressed) {
		dropped = b->suppressed;
		b->suppressed = 0;
		vd_log(d, VD_LOG_WARN, "%u log lines dropped (at most %u a second)",
		       dropped, VD_LOG_BUCKET_PER_S);
	}
	return true;
}

void vd_log_peer(struct vshmd *d, struct vd_ratelimit *rl, const char *fmt, ...)
{
	uint64_t now = vd_now_ms();
	va_list ap;

	if (now - rl->window_start >= VD_RL_WINDOW_MS) {
		if (rl->suppressed)
			vd_log(d, VD_LOG_WARN,
			       "%u similar messages suppressed in the last %u s",
			       rl->suppressed, VD_RL_WINDOW_MS / 1000);
		rl->window_start = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= VD_RL_BURST) {
		rl->suppressed++;
		return;
	}
	rl->printed++;
	if (VD_LOG_WARN > d->opt.log_level)
		return;
	/* Many devices together must not flood the log either. */
	if (!vd_log_allow(d, &d->peer_log))
		return;
	va_start(ap, fmt);
	vlog(d, VD_LOG_WARN, fmt, ap);
	va_end(ap);
}
