// SPDX-License-Identifier: GPL-2.0
/*
 * Privileges.  vshmd needs no root and no capability: it needs read and
 * write access to /dev/vshm (group access: the udev rule makes it
 * root:kvm 0660) and a directory for its control socket.
 *
 * Started as root with --user and --group, it listens on the control socket
 * first, so that the socket may live in a directory only root can write,
 * gives the socket to that user and group, and switches to them with no
 * supplementary groups.  Whatever its uid, it then drops every capability
 * (effective, permitted, inheritable, ambient, and the bounding set when it
 * holds CAP_SETPCAP) and sets no_new_privs, so that nothing it executes
 * could gain any back.  It keeps none.  Documentation/install.rst has the
 * whole story.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <linux/vshm.h>

#include "privileges.h"
#include "vshmd.h"

/* A decimal uid or gid, not the reserved -1. */
static int parse_id(const char *s, unsigned long *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v >= (uid_t)-1)
		return -EINVAL;
	*out = v;
	return 0;
}

/* --user or --group: a number, or a name that getpwnam/getgrnam knows. */
static int resolve_id(const char *what, const char *s, unsigned long *id)
{
	struct passwd *pw;
	struct group *gr;

	if (parse_id(s, id) == 0)
		return 0;
	if (!strcmp(what, "user") && (pw = getpwnam(s)))
		*id = pw->pw_uid;
	else if (!strcmp(what, "group") && (gr = getgrnam(s)))
		*id = gr->gr_gid;
	else {
		fprintf(stderr, "vshmd: --%s %s: no such %s\n", what, s, what);
		return -ENOENT;
	}
	return 0;
}

int vd_privs_resolve(struct vd_privs *p)
{
	struct passwd *pw = NULL;
	unsigned long id;

	if (p->user) {
		if (resolve_id("user", p->user, &id))
			return -ENOENT;
		p->uid = id;
		pw = getpwuid(p->uid);
	}
	if (p->group) {
		if (resolve_id("group", p->group, &id))
			return -ENOENT;
		p->gid = id;
	} else if (p->user) {
		if (!pw) {
			fprintf(stderr, "vshmd: --user %s has no passwd entry: give --group too\n",
				p->user);
			return -EINVAL;
		}
		p->gid = pw->pw_gid;
	}
	return 0;
}

static bool have_effective(cap_value_t c)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t caps = cap_get_proc();

	if (caps) {
		cap_get_flag(caps, c, CAP_EFFECTIVE, &v);
		cap_free(caps);
	}
	return v == CAP_SET;
}

/* The bounding set (needs CAP_SETPCAP) and the ambient set. */
static int drop_bounding_ambient(struct vshmd *d)
{
	int c;

	if (have_effective(CAP_SETPCAP)) {
		for (c = 0; c < (int)cap_max_bits(); c++) {
			if (cap_drop_bound(c)) {
				vd_log(d, VD_LOG_ERR, "dropping capability %d from the bounding set: %s",
				       c, strerror(errno));
				return -errno;
			}
		}
	}
	if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient()) {
		vd_log(d, VD_LOG_ERR, "clearing the ambient capabilities: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Effective, permitted and inheritable: all clear (no capset if they are). */
static int drop_all(struct vshmd *d)
{
	cap_t now = cap_get_proc(), none = cap_init();
	int ret = 0;

	if (!now || !none) {
		ret = -ENOMEM;
	} else if (cap_compare(now, none) && cap_set_proc(none)) {
		ret = -errno;
		vd_log(d, VD_LOG_ERR, "dropping capabilities: %s", strerror(errno));
	}
	cap_free(now);
	cap_free(none);
	return ret;
}

int vd_privs_drop(struct vshmd *d, const struct vd_privs *p)
{
	const char *sock = d->opt.control_socket;
	bool switching = p->user || p->group;
	uid_t uid = p->user ? p->uid : getuid();
	gid_t gid = switching ? p->gid : getgid();
	int ret, fd;

	/* A socket passed by systemd or the VMM is theirs to own. */
	if (switching && d->listen.own_path &&
	    chown(sock, p->user ? uid : (uid_t)-1, gid) < 0) {
		ret = -errno;
		vd_log(d, VD_LOG_ERR, "giving %s to uid %u gid %u: %s%s", sock, uid, gid,
		       strerror(errno),
		       errno == EPERM ? " (--user and --group need root)" : "");
		return ret;
	}
	/* A directory vshmd created: so that it can remove its socket on exit. */
	if (switching && d->listen.made_dir &&
	    chown(d->listen.dir, p->user ? uid : (uid_t)-1, gid) < 0)
		vd_log(d, VD_LOG_WARN, "giving %s to uid %u gid %u: %s",
		       d->listen.dir, uid, gid, strerror(errno));
	/* The bounding set needs CAP_SETPCAP, which goes with the uid: first. */
	ret = drop_bounding_ambient(d);
	if (ret)
		return ret;
	if (switching &&
	    (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	     (p->user && setresuid(uid, uid, uid) < 0))) {
		ret = -errno;
		vd_log(d, VD_LOG_ERR, "switching to uid %u gid %u: %s (--user and --group need root)",
		       uid, gid, strerror(errno));
		return ret;
	}
	/* setresuid() away from 0 cleared the capabilities; 0 kept them. */
	ret = drop_all(d);
	if (ret)
		return ret;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		ret = -errno;
		vd_log(d, VD_LOG_ERR, "no_new_privs: %s", strerror(errno));
		return ret;
	}
	if (uid == 0)
		vd_log(d, VD_LOG_WARN, "running as root (without capabilities): consider --user and --group");
	vd_log(d, VD_LOG_INFO, "running as uid %u gid %u, no capabilities, no_new_privs",
	       uid, gid);
	/* Regions are created through /dev/vshm later: say now if that will fail. */
	if (d->region_mode == VSHM_REGION_MODE_KMOD) {
		fd = open(VSHM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			vd_log(d, VD_LOG_WARN, "uid %u gid %u cannot open %s (%s): regions cannot be created until it can (udev rule, --group)",
			       uid, gid, VSHM_DEVICE_PATH, strerror(errno));
		else
			close(fd);
	}
	return 0;
}
