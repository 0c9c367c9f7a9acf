/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vshmd's privileges: --user and --group, and what is dropped once the
 * control socket is listening.  See privileges.c and Documentation/install.rst.
 */
#ifndef VSHMD_PRIVILEGES_H
#define VSHMD_PRIVILEGES_H

#include <stdbool.h>
#include <sys/types.h>

struct vshmd;

struct vd_privs {
	const char *user;	/* --user as given, NULL: keep the uid */
	const char *group;	/* --group as given, NULL: the user's group */
	uid_t uid;
	gid_t gid;
};

/* Resolve --user and --group (names or numbers); 0 or -errno, said on stderr. */
int vd_privs_resolve(struct vd_privs *p);
/*
 * Hand the control socket to the user and group, switch to them, drop every
 * capability (bounding and ambient sets included) and set no_new_privs.
 * 0 or -errno, logged.
 */
int vd_privs_drop(struct vshmd *d, const struct vd_privs *p);

#endif /* VSHMD_PRIVILEGES_H */
