// SPDX-License-Identifier: GPL-2.0
/*
 * Where log lines go, written so that no reader can stall the loop
 * (Documentation/broker.rst, "Isolation" and "Logs").  A pipe nobody
 * drains, journald stuck on its stream socket or a terminal stopped with
 * ^S would otherwise hold every device while one write() waits.
 *
 * stderr is shared with whoever started vshmd: setting O_NONBLOCK on it
 * would change it for them too (the parent shell), so it is left alone.
 * A socket (journald's stream) is written with send(MSG_DONTWAIT); a pipe,
 * FIFO or terminal is opened anew through /proc/self/fd/2, which gives an
 * open file description of our own to make non-blocking.  When that open
 * fails, lines are written as before, blocking, and vshmd says so once.
 * A regular file does not wait on a peer: plain writes.  --log-file is
 * our own open, non-blocking unless it is a regular file.
 *
 * A line the sink would block on is dropped and counted; the next line
 * that goes out is preceded by one saying how many (on the timer's tick,
 * too).  A line only partly written keeps its tail, which goes out before
 * anything else: lines stay whole, and journald reads "<N>" priorities at
 * their starts.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vshmd.h"

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

/*
 * A non-blocking open file description of stderr's pipe or terminal,
 * or -errno.  A pty master is refused: opening it again through /proc
 * would create a new pty, not reach the same one.
 */
static int reopen_stderr(void)
{
	unsigned int ptn;
	int fd;

	if (ioctl(STDERR_FILENO, TIOCGPTN, &ptn) == 0)
		return -ENOTTY;
	fd = open("/proc/self/fd/2",
		  O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

static void use_stderr(struct vshmd *d)
{
	struct vd_log *l = &d->log;
	struct stat st;
	bool fifo;
	int fd;

	l->fd = STDERR_FILENO;
	l->owned = false;
	l->sink = VD_LOG_SINK_PLAIN;
	l->journal = stderr_is_journal();
	if (fstat(STDERR_FILENO, &st) < 0)
		return;
	if (S_ISSOCK(st.st_mode)) {
		l->sink = VD_LOG_SINK_SOCKET;
		return;
	}
	fifo = S_ISFIFO(st.st_mode);
	if (!fifo && !isatty(STDERR_FILENO))
		return;
	fd = reopen_stderr();
	if (fd < 0) {
		vd_log(d, VD_LOG_WARN, "stderr is a %s that cannot be opened again non-blocking (/proc/self/fd/2: %s): log lines are written blocking, and a reader that stops reading stalls the broker",
		       fifo ? "pipe" : "terminal", strerror(-fd));
		return;
	}
	l->fd = fd;
	l->owned = true;
	l->sink = VD_LOG_SINK_NONBLOCK;
}

/*
 * Open --log-file.  O_NONBLOCK: a FIFO without a reader fails at once
 * (ENXIO) instead of holding the loop on SIGHUP, and one that stops
 * reading makes lines drop; a regular file gets plain writes.
 */
static int open_log_file(const char *path, int *fdp, enum vd_log_sink *sink)
{
	struct stat st;
	int fd, ret;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY |
		  O_NONBLOCK, 0640);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*sink = VD_LOG_SINK_NONBLOCK;
	if (S_ISREG(st.st_mode)) {
		*sink = VD_LOG_SINK_PLAIN;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	}
	*fdp = fd;
	return 0;
}

int vd_log_open(struct vshmd *d)
{
	struct vd_log *l = &d->log;
	enum vd_log_sink sink;
	int fd, ret;

	if (!d->opt.log_file) {
		use_stderr(d);
		return 0;
	}
	ret = open_log_file(d->opt.log_file, &fd, &sink);
	if (ret)
		return ret;
	l->fd = fd;
	l->owned = true;
	l->sink = sink;
	l->journal = false;
	return 0;
}

static ssize_t sink_write(const struct vd_log *l, const char *buf, size_t len)
{
	if (l->sink == VD_LOG_SINK_SOCKET)
		return send(l->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	return write(l->fd, buf, len);
}

/*
 * How much of buf went out: less than len only when the sink would block.
 * Any other failure counts as all of it: a broken log loses the line, as
 * it always has, and fails no request.
 */
static size_t write_some(const struct vd_log *l, const char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = sink_write(l, buf + off, len - off);
		if (n > 0) {
			off += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		return len;
	}
	return off;
}

/* Send what is left of a partly written line; true once it is all out. */
static bool flush_pending(struct vd_log *l)
{
	size_t n;

	if (!l->pend_len)
		return true;
	n = write_some(l, l->pend + l->pend_off, l->pend_len);
	l->pend_off += n;
	l->pend_len -= n;
	if (l->pend_len)
		return false;
	l->pend_off = 0;
	return true;
}

/*
 * One whole line, nothing pending: false when none of it went out; if
 * only a part did, the rest waits in pend.
 */
static bool put_line(struct vd_log *l, const char *line, size_t len)
{
	size_t n = write_some(l, line, len);

	if (!n)
		return false;
	if (n < len) {
		memcpy(l->pend, line + n, len - n);
		l->pend_off = 0;
		l->pend_len = len - n;
	}
	return true;
}

/* Say how many lines were dropped: true once the next line may follow. */
static bool report_dropped(struct vshmd *d)
{
	struct vd_log *l = &d->log;
	char note[VD_LOG_LINE_MAX];
	size_t len;

	if (!l->dropped)
		return true;
	len = vd_log_format(d, VD_LOG_WARN, note,
			    "%u log lines dropped: the log would have blocked",
			    l->dropped);
	if (!put_line(l, note, len))
		return false;
	l->dropped = 0;
	return !l->pend_len;
}

void vd_log_emit(struct vshmd *d, const char *line, size_t len)
{
	struct vd_log *l = &d->log;

	if (flush_pending(l) && report_dropped(d) && put_line(l, line, len))
		return;
	if (l->dropped < UINT32_MAX)
		l->dropped++;
}

void vd_log_flush(struct vshmd *d)
{
	if (flush_pending(&d->log))
		report_dropped(d);
}

void vd_log_reopen(struct vshmd *d)
{
	struct vd_log *l = &d->log;
	enum vd_log_sink sink;
	int fd, ret;

	if (!d->opt.log_file)
		return;
	ret = open_log_file(d->opt.log_file, &fd, &sink);
	if (ret) {
		vd_log(d, VD_LOG_ERR, "SIGHUP: cannot reopen %s: %s",
		       d->opt.log_file, strerror(-ret));
		return;
	}
	/* The old file's last line ends there if it can; else it is cut. */
	flush_pending(l);
	if (l->owned)
		close(l->fd);
	l->fd = fd;
	l->owned = true;
	l->sink = sink;
	l->pend_off = 0;
	l->pend_len = 0;
	vd_log(d, VD_LOG_INFO, "SIGHUP: log reopened");
}

/* At exit: a last try at what is held back, then our own fd closed. */
void vd_log_close(struct vshmd *d)
{
	struct vd_log *l = &d->log;

	vd_log_flush(d);
	if (l->owned)
		close(l->fd);
	l->fd = -1;
	l->owned = false;
}
