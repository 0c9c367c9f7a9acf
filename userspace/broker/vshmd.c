// SPDX-License-Identifier: GPL-2.0
/*
 * vshmd: the vshm broker.  Parses the options, picks the region mode,
 * opens the control socket and runs the loop.  See vshmd(8) and
 * Documentation/broker.rst.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <linux/vshm.h>

#include "privileges.h"
#include "vshmd.h"

/* --vm NAME's socket: RUN_DIR/NAME/SOCKET_NAME, as in vshmctl.c and vshmd@.socket. */
#define RUN_DIR		"/run/vshm"
#define SOCKET_NAME	"control.sock"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vshmd --vm NAME [OPTIONS]\n"
		"       vshmd --control-socket PATH [OPTIONS]\n"
		"       vshmd --listen-fd N [OPTIONS]\n"
		"\n"
		"  --vm NAME              the socket of VM NAME, as vshmd@NAME.socket\n"
		"                         and vshmctl --vm place it:\n"
		"                         " RUN_DIR "/NAME/" SOCKET_NAME "\n"
		"                         ($VSHM_RUN_DIR instead of " RUN_DIR ")\n"
		"  --control-socket PATH  Unix socket the VMM connects to: bound by\n"
		"                         vshmd, which creates its directory\n"
		"  --listen-fd N          serve the listening socket the VMM passed\n"
		"                         as fd N instead (any N >= 0, 0: stdin;\n"
		"                         systemd socket activation needs neither)\n"
		"  --region-mode M        kmod, vmm, mmap or auto (default auto: kmod\n"
		"                         when /dev/vshm exists, else mmap); vmm: no\n"
		"                         module, the VMM maps what vshmd approves\n"
		"                         (--backend: its deprecated name)\n"
		"  --vmm-timeout MS       vmm: close a VMM that leaves a request\n"
		"                         unanswered this long (default 5000)\n"
		"  --populate             populate every device's maps, as if each\n"
		"                         were added with VSHM_CTL_DEV_POPULATE:\n"
		"                         kmod, the VMM's first touch takes no fault\n"
		"  --wait-device SECONDS  wait this long for /dev/vshm to appear\n"
		"  --max-devices N        devices at once (default 64)\n"
		"  --max-mappings N       mappings per device (default 4096)\n"
		"  --max-inflight BYTES   queued bytes per device before it is no\n"
		"                         longer read (default 1048576)\n"
		"  --max-rate N           back-end messages per second per device\n"
		"                         (default 20000)\n"
		"  --max-clients N        control connections at once (default 16)\n"
		"  --max-shared-objects N shared objects (dma-bufs) each device may\n"
		"                         add to the table (default 256, 0: none)\n"
		"  --log-level L          error, warning, info or debug (default info)\n"
		"  --log-file PATH        log there instead of stderr (SIGHUP reopens)\n"
		"  --user USER            once listening, run as USER (name or uid)\n"
		"  --group GROUP          and GROUP (name or gid; default: USER's\n"
		"                         group); it needs read-write /dev/vshm\n"
		"  -h, --help             this help\n"
		"  --version              print the version and exit\n");
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* A numeric option: its range and its field of struct vd_options. */
struct number_opt {
	int opt;
	uint64_t min, max;
	size_t offset, size;
};

#define NUMBER_OPT(o, field, lo, hi) \
	{ o, lo, hi, offsetof(struct vd_options, field), \
	  sizeof(((struct vd_options *)0)->field) }

enum {
	OPT_SOCKET = 256, OPT_REGION_MODE, OPT_WAIT, OPT_MAX_DEVICES,
	OPT_MAX_MAPPINGS, OPT_MAX_INFLIGHT, OPT_MAX_RATE, OPT_MAX_CLIENTS,
	OPT_LOG_LEVEL, OPT_LOG_FILE, OPT_MAX_SOBJS, OPT_USER, OPT_GROUP,
	OPT_VMM_TIMEOUT, OPT_LISTEN_FD, OPT_VERSION, OPT_BACKEND_DEPRECATED,
	OPT_VM, OPT_POPULATE,
};

/*
 * --vm NAME: the instance's socket under $VSHM_RUN_DIR (tests, unprivileged
 * brokers) or RUN_DIR.  A usage error names the argument.
 */
static int vm_socket(struct vd_options *o, const char *name)
{
	const char *dir = getenv("VSHM_RUN_DIR");
	int n;

	if (!*name || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, "..")) {
		fprintf(stderr, "vshmd: invalid value '%s' for --vm: a VM name, without '/'\n",
			name);
		return -EINVAL;
	}
	if (!dir || !*dir)
		dir = RUN_DIR;
	n = snprintf(o->vm_socket, sizeof(o->vm_socket), "%s/%s/" SOCKET_NAME,
		     dir, name);
	if (n < 0 || n >= (int)sizeof(o->vm_socket)) {
		fprintf(stderr, "vshmd: --vm '%s': %s/%s/" SOCKET_NAME
			" is longer than a socket path can be (%zu bytes)\n",
			name, dir, name, sizeof(o->vm_socket) - 1);
		return -EINVAL;
	}
	return 0;
}

static const struct number_opt numbers[] = {
	NUMBER_OPT(OPT_VMM_TIMEOUT, vmm_timeout_ms, 100, 3600000),
	NUMBER_OPT(OPT_WAIT, wait_device, 0, 86400),
	NUMBER_OPT(OPT_MAX_DEVICES, max_devices, 1, VSHM_CTL_MAX_DEVICES),
	NUMBER_OPT(OPT_MAX_MAPPINGS, max_mappings, 1, 1u << 20),
	NUMBER_OPT(OPT_MAX_INFLIGHT, max_inflight, 4096, 3u << 20),
	NUMBER_OPT(OPT_MAX_RATE, msg_rate, 1, 10000000),
	NUMBER_OPT(OPT_MAX_CLIENTS, max_clients, 1, 1024),
	NUMBER_OPT(OPT_MAX_SOBJS, max_shared_objects, 0, 65536),
	NUMBER_OPT(OPT_LISTEN_FD, listen_fd, 0, INT_MAX),
};

static const struct number_opt *number_opt(int opt)
{
	size_t i;

	for (i = 0; i < VD_ARRAY_SIZE(numbers); i++)
		if (numbers[i].opt == opt)
			return &numbers[i];
	return NULL;
}

/* Store a numeric option in its field (4 or 8 bytes; the range fits it). */
static int parse_number(struct vd_options *o, const struct number_opt *num,
			const char *s)
{
	uint64_t v;
	uint32_t v32;
	int ret;

	ret = parse_u64(s, num->min, num->max, &v);
	if (ret)
		return ret;
	_Static_assert(sizeof(o->listen_fd) == sizeof(v32) &&
		       sizeof(o->max_inflight) == sizeof(v), "field sizes");
	v32 = v;
	memcpy((char *)o + num->offset, num->size == sizeof(v32) ?
	       (void *)&v32 : (void *)&v, num->size);
	return 0;
}

/* --user and --group go to @privs: applied once the control socket listens. */
static int parse_options(struct vd_options *o, struct vd_privs *privs,
			 int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "control-socket", required_argument, NULL, OPT_SOCKET },
		{ "region-mode", required_argument, NULL, OPT_REGION_MODE },
		{ "wait-device", required_argument, NULL, OPT_WAIT },
		{ "max-devices", required_argument, NULL, OPT_MAX_DEVICES },
		{ "max-mappings", required_argument, NULL, OPT_MAX_MAPPINGS },
		{ "max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT },
		{ "max-rate", required_argument, NULL, OPT_MAX_RATE },
		{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "log-file", required_argument, NULL, OPT_LOG_FILE },
		{ "max-shared-objects", required_argument, NULL, OPT_MAX_SOBJS },
		{ "user", required_argument, NULL, OPT_USER },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "vmm-timeout", required_argument, NULL, OPT_VMM_TIMEOUT },
		{ "listen-fd", required_argument, NULL, OPT_LISTEN_FD },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "backend", required_argument, NULL, OPT_BACKEND_DEPRECATED },
		{ "vm", required_argument, NULL, OPT_VM },
		{ "populate", no_argument, NULL, OPT_POPULATE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket_opt = NULL, *vm = NULL;
	const struct number_opt *num;
	int c, longindex = 0;

	vd_options_init(o);
	while ((c = getopt_long(argc, argv, "h", longopts, &longindex)) != -1) {
		int bad = 0;

		switch (c) {
		case OPT_SOCKET:
			socket_opt = optarg;
			break;
		case OPT_VM:
			vm = optarg;
			break;
		case OPT_POPULATE:
			o->populate = true;
			break;
		case OPT_BACKEND_DEPRECATED:
			fprintf(stderr, "vshmd: warning: --backend is deprecated, use --region-mode\n");
			__attribute__((fallthrough));
		case OPT_REGION_MODE:
			if (!strcmp(optarg, "kmod"))
				o->region_mode = VSHM_REGION_MODE_KMOD;
			else if (!strcmp(optarg, "mmap"))
				o->region_mode = VSHM_REGION_MODE_MMAP;
			else if (!strcmp(optarg, "vmm"))
				o->region_mode = VSHM_REGION_MODE_TABLE;
			else if (!strcmp(optarg, "auto"))
				o->region_mode = VSHM_REGION_MODE_AUTO;
			else
				bad = 1;
			break;
		case OPT_LOG_LEVEL:
			bad = vd_log_level_parse(optarg, &o->log_level);
			break;
		case OPT_LOG_FILE:
			o->log_file = optarg;
			break;
		case OPT_USER:
			privs->user = optarg;
			break;
		case OPT_GROUP:
			privs->group = optarg;
			break;
		case OPT_VERSION:
			printf("vshmd %s\n", VSHM_VERSION_STRING);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			num = number_opt(c);
			if (!num) {
				usage(stderr);
				return -EINVAL;
			}
			bad = parse_number(o, num, optarg);
			break;
		}
		if (bad) {
			fprintf(stderr, "vshmd: invalid value '%s' for --%s\n", optarg,
				longopts[longindex].name);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vshmd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (vm && socket_opt) {
		fprintf(stderr, "vshmd: --vm '%s' and --control-socket '%s' both name the socket: give one\n",
			vm, socket_opt);
		return -EINVAL;
	}
	o->control_socket = socket_opt;
	if (vm) {
		if (vm_socket(o, vm))
			return -EINVAL;
		o->control_socket = o->vm_socket;
	}
	/* LISTEN_FDS: systemd passes the socket (checked when listening). */
	if (!o->control_socket && o->listen_fd < 0 && !getenv("LISTEN_FDS")) {
		fprintf(stderr, "vshmd: --vm NAME, --control-socket PATH or --listen-fd N is required\n");
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* Decide between kmod and mmap, waiting for /dev/vshm if asked. */
static int pick_region_mode(struct vshmd *d)
{
	char node[PATH_MAX];
	int ret;

	if (d->opt.region_mode == VSHM_REGION_MODE_MMAP ||
	    d->opt.region_mode == VSHM_REGION_MODE_TABLE) {
		d->region_mode = d->opt.region_mode;
		return 0;
	}
	ret = vd_udev_find(d, d->opt.wait_device, node, sizeof(node));
	if (ret == 0) {
		if (strcmp(node, VSHM_DEVICE_PATH))
			vd_log(d, VD_LOG_WARN, "vshm device node is %s; regions are created through %s",
			       node, VSHM_DEVICE_PATH);
		d->region_mode = VSHM_REGION_MODE_KMOD;
		return 0;
	}
	if (ret == -EINTR)
		return ret;
	if (d->opt.region_mode == VSHM_REGION_MODE_KMOD) {
		vd_log(d, VD_LOG_ERR, "--region-mode kmod: no %s (%s)", VSHM_DEVICE_PATH,
		       strerror(-ret));
		return ret;
	}
	vd_log(d, VD_LOG_INFO, "auto: no %s (%s): using the mmap region mode",
	       VSHM_DEVICE_PATH, strerror(-ret));
	d->region_mode = VSHM_REGION_MODE_MMAP;
	return 0;
}

/* Room for an fd per mapping (mmap region mode) and per device. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Tell systemd (Type=notify) that the socket listens and privileges are
 * dropped: what a VMM started after us may rely on.  Without NOTIFY_SOCKET
 * this does nothing.
 */
static void notify_ready(struct vshmd *d)
{
	int ret;

	ret = sd_notifyf(0, "READY=1\nSTATUS=Serving %s, region mode %s\nMAINPID=%d",
			 d->listen.name,
			 d->region_mode == VSHM_REGION_MODE_KMOD ? "kmod" :
			 d->region_mode == VSHM_REGION_MODE_TABLE ? "vmm" : "mmap",
			 (int)getpid());
	if (ret < 0)
		vd_log(d, VD_LOG_WARN, "sd_notify READY=1: %s", strerror(-ret));
}

static void teardown(struct vshmd *d)
{
	struct vd_device *dev;

	vd_control_fini(d);
	for (dev = d->devices; dev; dev = dev->next)
		if (!dev->dead)
			vd_device_remove(d, dev, "broker stopping");
	vd_device_reap(d);
	vd_ram_clear(d);
	vd_loop_fini(d);
	free(d->msg);
	free(d->out);
	free(d->buf);
}

/*
 * --listen-fd N must be open before vshmd opens anything: otherwise its
 * own log file, epoll or timer fd would take the number and be mistaken
 * for the socket.  What the open fd is gets checked when listening.
 */
static int listen_fd_open(const struct vd_options *o)
{
	if (o->listen_fd < 0 || fcntl(o->listen_fd, F_GETFD) >= 0)
		return 0;
	fprintf(stderr, "vshmd: --listen-fd %d: fd %d is not open (%s): expected the listening Unix stream socket (AF_UNIX, SOCK_STREAM) the caller passed as fd %d\n",
		o->listen_fd, o->listen_fd, strerror(errno), o->listen_fd);
	return -EBADF;
}

/*
 * Give /dev/null to whichever of fds 0-2 the caller left closed.  Left
 * closed, the number goes to the next file vshmd opens (its log, a
 * device's socket), and whatever is written to stderr would land there.
 * Runs before anything but --listen-fd's check, which must see the
 * caller's fds as they came.
 */
static int std_fds_open(void)
{
	int fd;

	/* In order: the lower ones are open, so open() returns fd itself. */
	for (fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	struct vshmd d = {
		.epfd = -1, .log = { .fd = STDERR_FILENO },
		.listen = { .lock_fd = -1 },
		.listen_w = { .fd = -1 },
		.sig_w = { .fd = -1 },
		.timer_w = { .fd = -1 },
	};
	struct vd_privs privs = { 0 };
	int ret;

	if (parse_options(&d.opt, &privs, argc, argv))
		return 2;
	if (listen_fd_open(&d.opt))
		return 1;
	ret = std_fds_open();
	if (ret) {
		fprintf(stderr, "vshmd: cannot open /dev/null for a closed standard fd: %s\n",
			strerror(-ret));
		return 1;
	}
	if (vd_privs_resolve(&privs))
		return 2;
	/*
	 * A log whose reader is gone fails with EPIPE, like any failed log
	 * write, and must not kill vshmd: vd_log_open() may log at once.
	 */
	signal(SIGPIPE, SIG_IGN);
	ret = vd_log_open(&d);
	if (ret) {
		fprintf(stderr, "vshmd: cannot open %s: %s\n", d.opt.log_file,
			strerror(-ret));
		return 1;
	}
	raise_fd_limit();
	d.msg = malloc(sizeof(*d.msg));
	d.out = malloc(sizeof(*d.out));
	d.buf = malloc(VSHM_MEM_DATA_MAX);
	if (!d.msg || !d.out || !d.buf) {
		ret = -ENOMEM;
		goto out;
	}
	d.msg->nfds = 0;
	d.msg->flags = 0;
	d.out->nfds = 0;
	d.out->flags = 0;
	ret = vd_loop_init(&d);
	if (ret) {
		vd_log(&d, VD_LOG_ERR, "event loop: %s", strerror(-ret));
		goto out;
	}
	ret = pick_region_mode(&d);
	if (ret == -EINTR) {
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;
	ret = vd_listen_open(&d);
	if (ret)
		goto out;
	ret = vd_privs_drop(&d, &privs);
	if (ret)
		goto out;
	notify_ready(&d);
	ret = vd_loop_run(&d);
	sd_notify(0, "STOPPING=1");
	if (!ret)
		vd_log(&d, VD_LOG_INFO, "stopped");
out:
	teardown(&d);
	vd_log_close(&d);
	return ret ? 1 : 0;
}
