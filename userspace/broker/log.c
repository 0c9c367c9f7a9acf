// SPDX-License-Identifier: GPL-2.0
/*
 * Logging: one line per event to stderr or to --log-file (reopened on
 * SIGHUP, for log rotation).  Mistakes made by peers go through a rate
 * limiter so that a hostile back-end cannot flood the log, and through one
 * token bucket for all peers together; other lines a peer can cause (the
 * listener out of fds, a full close queue) have buckets of their own.
 *
 * When stderr is the journal (systemd sets JOURNAL_STREAM to its device
 * and inode), each line starts with its syslog priority, "<3>" for an
 * error, which journald strips and records, so that `journalctl -p`
 * filters; the journal adds its own time stamp and pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Is stderr the stream systemd connected to the journal? */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	if (!env || sscanf(env, "%llu:%llu%n", &dev, &ino, &n) != 2 ||
	    env[n] || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

int vd_log_open(struct vshmd *d)
{
	int fd;

	if (!d->opt.log_file) {
		d->log_fd = STDERR_FILENO;
		d->log_journal = stderr_is_journal();
		return 0;
	}
	fd = open(d->opt.log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		  0640);
	if (fd < 0)
		return -errno;
	d->log_fd = fd;
	return 0;
}

void vd_log_reopen(struct vshmd *d)
{
	int old = d->log_fd, ret;

	if (!d->opt.log_file)
		return;
	ret = vd_log_open(d);
	if (ret) {
		d->log_fd = old;
		vd_log(d, VD_LOG_ERR, "SIGHUP: cannot reopen %s: %s",
		       d->opt.log_file, strerror(-ret));
		return;
	}
	if (old >= 0 && old != STDERR_FILENO)
		close(old);
	vd_log(d, VD_LOG_INFO, "SIGHUP: log reopened");
}

static void vlog(struct vshmd *d, enum vd_log_level lvl, const char *fmt,
		 va_list ap)
{
	char line[512];
	struct timespec ts;
	struct tm tm;
	int n, m;

	if (d->log_journal) {
		n = snprintf(line, sizeof(line), "%s%s: ", level_prefix[lvl],
			     level_names[lvl]);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof(line), "%04d-%02d-%02d %02d:%02d:%02d.%03ld vshmd[%d]: %s: ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec,
			     ts.tv_nsec / 1000000, (int)getpid(),
			     level_names[lvl]);
	}
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* A log that cannot be written is not worth failing a request for. */
	if (write(d->log_fd, line, n) < 0)
		return;
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
