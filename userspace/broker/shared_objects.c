// SPDX-License-Identifier: GPL-2.0
/*
 * The shared-object table: SHARED_OBJECT_ADD / _REMOVE / _LOOKUP (back-end
 * requests 6 / 7 / 8), served by the broker across all of its devices.
 *
 * An entry maps a 16-byte UUID to a dma-buf fd that the broker holds, and
 * remembers which device added it.  Any device may look an entry up and
 * gets the dma-buf back (SCM_RIGHTS: the same open file, with the access
 * mode its exporter gave it).  Only the device that added an entry may
 * remove it; a device's entries go when the device goes (REMOVE_DEVICE,
 * its channel closing, the broker stopping), not when it is reset.
 * Removing an entry only ends future lookups: an importer keeps the fd it
 * got and any mapping made from it.
 *
 * Replies: ADD and REMOVE get a u64 REPLY_ACK (0 or a positive errno) when
 * NEED_REPLY is set; LOOKUP is always answered, u64 0 with the fd, or a
 * positive errno without one.  Every fd received is either in the table
 * or closed before the request returns.
 *
 * The table is not carried across a broker restart: its dma-bufs were the
 * dead broker's, and nobody handed them to the VMM.  So that a back-end
 * can tell "lost in a restart" from "never added", a miss is ESTALE rather
 * than ENOENT while a device adopted from the old broker (ADOPT_DEVICE) is
 * served: a LOOKUP by anyone, and a REMOVE by an adopted device.  The
 * owner adds the object again (protocol.rst, "Restarting the broker").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "vshmd.h"

struct vd_sobj {
	struct vd_sobj *next;
	uint8_t uuid[VSHM_VU_UUID_SIZE];
	uint32_t owner;		/* device id */
	int fd;			/* the dma-buf */
};

/* "0123abcd-..." for logs. */
static const char *uuid_str(const uint8_t u[16], char buf[37])
{
	snprintf(buf, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
	return buf;
}

/* The exporter's name from /proc/self/fdinfo ("exp_name:"), for logs only. */
static void exporter_name(int fd, char *out, size_t len)
{
	char path[64], line[128];
	FILE *f;

	snprintf(out, len, "?");
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "exp_name:", 9)) {
			char *s = line + 9;

			s += strspn(s, " \t");
			s[strcspn(s, "\n")] = 0;
			snprintf(out, len, "%s", s);
			break;
		}
	}
	fclose(f);
}

/*
 * Is fd a usable dma-buf?  Every dma-buf is a file of the kernel's dma-buf
 * pseudo filesystem (DMA_BUF_MAGIC, since Linux 5.3), and nothing else is:
 * no user can mount a filesystem with that magic.  O_PATH fds are refused
 * (an importer could not map them).
 */
static int check_dmabuf(int fd)
{
	struct statfs sfs;
	int fl;

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_PATH))
		return -EBADF;
	if (fstatfs(fd, &sfs) < 0)
		return -EBADF;
	if ((unsigned long)sfs.f_type != DMA_BUF_MAGIC)
		return -ENODEV;
	return 0;
}

static struct vd_sobj **find(struct vshmd *d, const uint8_t uuid[16])
{
	struct vd_sobj **p;

	for (p = &d->sobjs; *p; p = &(*p)->next)
		if (!memcmp((*p)->uuid, uuid, VSHM_VU_UUID_SIZE))
			return p;
	return NULL;
}

static void unlink_free(struct vshmd *d, struct vd_sobj **p)
{
	struct vd_sobj *o = *p;

	*p = o->next;
	vd_close_fd(d, 0, o->fd);	/* a dma-buf's release can take its time */
	free(o);
	d->nsobjs--;
}

/* Takes msg's fd into the table on success. */
static int add(struct vshmd *d, struct vd_device *dev, struct vshm_msg *msg,
	       const uint8_t uuid[16])
{
	struct vd_sobj *o;
	char exp[64], us[37];
	int ret;

	/*
	 * Without an fd, upstream's ADD makes the back-end itself the
	 * exporter, to be asked with GET_SHARED_OBJECT on its front-end
	 * channel, which the broker does not hold.
	 */
	if (msg->nfds != 1)
		return -EOPNOTSUPP;
	ret = check_dmabuf(msg->fds[0]);
	if (ret)
		return ret;
	if (find(d, uuid))
		return -EEXIST;
	if (dev->nsobjs >= d->opt.max_shared_objects)
		return -ENOSPC;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	memcpy(o->uuid, uuid, VSHM_VU_UUID_SIZE);
	o->owner = dev->id;
	o->fd = vshm_msg_take_fd(msg, 0);
	o->next = d->sobjs;
	d->sobjs = o;
	d->nsobjs++;
	dev->nsobjs++;
	exporter_name(o->fd, exp, sizeof(exp));
	vd_log(d, VD_LOG_DEBUG, "device %u: shared object %s added (dma-buf from %s)",
	       dev->id, uuid_str(uuid, us), exp);
	return 0;
}

/* Could a missing object be one the previous broker held? */
static bool table_lost(struct vshmd *d)
{
	struct vd_device *dev;

	for (dev = d->devices; dev; dev = dev->next)
		if (dev->adopted && !dev->dead)
			return true;
	return false;
}

static int remove_one(struct vshmd *d, struct vd_device *dev,
		      const uint8_t uuid[16])
{
	struct vd_sobj **p = find(d, uuid);
	char us[37];

	if (!p)
		return dev->adopted ? -ESTALE : -ENOENT;
	if ((*p)->owner != dev->id)
		return -EPERM;
	unlink_free(d, p);
	dev->nsobjs--;
	vd_log(d, VD_LOG_DEBUG, "device %u: shared object %s removed", dev->id,
	       uuid_str(uuid, us));
	return 0;
}

void vd_sobj_request(struct vshmd *d, struct vd_device *dev,
		     struct vshm_msg *msg)
{
	uint32_t req = msg->hdr.request;
	uint8_t uuid[VSHM_VU_UUID_SIZE] = { 0 };
	struct vd_sobj **p = NULL;
	struct vshm_err err;
	char us[37];
	int ret;

	ret = vshm_decode_shared_object(msg, uuid, &err) ? -EBADMSG : 0;
	if (!ret && req == VSHM_VU_BACKEND_SHARED_OBJECT_ADD)
		ret = add(d, dev, msg, uuid);
	else if (!ret && req == VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE)
		ret = remove_one(d, dev, uuid);
	else if (!ret) {
		p = find(d, uuid);
		ret = p ? 0 : table_lost(d) ? -ESTALE : -ENOENT;
	}
	/* Whatever fd the request still holds is not the table's. */
	vd_msg_release(d, dev->id, msg);
	if (ret)
		vd_log_peer(d, &dev->rl, "device %u: %s %s refused: %s", dev->id,
			    vshm_request_name(VSHM_PROTO_BACKEND, req),
			    uuid_str(uuid, us), strerror(-ret));
	if (req == VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP)
		vd_backend_reply(d, dev, req, ret, p ? (*p)->fd : -1);
	else if (msg->hdr.flags & VSHM_HDR_NEED_REPLY)
		vd_backend_reply(d, dev, req, ret, -1);
}

void vd_sobj_drop_device(struct vshmd *d, struct vd_device *dev)
{
	struct vd_sobj **p = &d->sobjs;
	uint32_t n = 0;

	while (*p) {
		if ((*p)->owner == dev->id) {
			unlink_free(d, p);
			n++;
		} else {
			p = &(*p)->next;
		}
	}
	dev->nsobjs = 0;
	if (n)
		vd_log(d, VD_LOG_INFO, "device %u: its %u shared object(s) dropped",
		       dev->id, n);
}

uint32_t vd_sobj_list(struct vshmd *d, uint32_t start,
		      struct vshm_ctl_shared_object_entry *out, uint32_t max)
{
	struct vd_sobj *o;
	uint32_t i = 0, n = 0;
	struct stat st;

	for (o = d->sobjs; o && n < max; o = o->next, i++) {
		if (i < start)
			continue;
		out[n] = (struct vshm_ctl_shared_object_entry){ .dev_id = o->owner };
		memcpy(out[n].uuid, o->uuid, VSHM_VU_UUID_SIZE);
		/* A dma-buf's inode carries its size. */
		if (fstat(o->fd, &st) == 0 && st.st_size > 0)
			out[n].size = st.st_size;
		n++;
	}
	return n;
}
