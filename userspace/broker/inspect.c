// SPDX-License-Identifier: GPL-2.0
/*
 * The inspection requests behind vshmctl (LIST_REGIONS .. GET_LIMITS):
 * each builds its reply body in d->buf from the broker's own state and
 * changes nothing.  Lists are snapshots: a client pages through a long
 * one with start, and entries added or removed in between shift it.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "vshmd.h"

_Static_assert(sizeof(struct vshm_ctl_list) +
	       VSHM_CTL_MAX_REGIONS * sizeof(struct vshm_ctl_region_entry) <=
	       VSHM_MEM_DATA_MAX, "regions fit the buffer");
_Static_assert(sizeof(struct vshm_ctl_list) +
	       VSHM_CTL_MAX_SHARED_OBJECTS *
	       sizeof(struct vshm_ctl_shared_object_entry) <= VSHM_MEM_DATA_MAX,
	       "shared objects fit the buffer");
_Static_assert(sizeof(struct vshm_ctl_list) +
	       VSHM_CTL_MAX_CLIENTS * sizeof(struct vshm_ctl_client_entry) <=
	       VSHM_MEM_DATA_MAX, "clients fit the buffer");
_Static_assert(sizeof(struct vshm_ctl_list) +
	       VSHM_CTL_MAX_LIMITS * sizeof(struct vshm_ctl_limit) <=
	       VSHM_MEM_DATA_MAX, "limits fit the buffer");

static int list_regions(struct vshmd *d, const void *p, size_t *len)
{
	struct vshm_ctl_list *l = (struct vshm_ctl_list *)d->buf;
	struct vshm_ctl_region_entry *e = (void *)(d->buf + sizeof(*l));
	struct vshm_ctl_list_regions req;
	struct vd_device *dev;
	uint32_t shmid;

	memcpy(&req, p, sizeof(req));
	if (req.dev_id != VSHM_CTL_ALL_DEVICES && !vd_device_find(d, req.dev_id))
		return -ENOENT;
	*l = (struct vshm_ctl_list){ 0 };
	for (dev = d->devices; dev; dev = dev->next) {
		if (dev->dead || (req.dev_id != VSHM_CTL_ALL_DEVICES &&
				  dev->id != req.dev_id))
			continue;
		for (shmid = 0; shmid < dev->nregions; shmid++) {
			struct vd_region *reg = &dev->regions[shmid];
			uint32_t nmappings;
			uint64_t bytes;

			if (!reg->r)
				continue;
			if (l->total++ < req.start || l->count >= VSHM_CTL_MAX_REGIONS)
				continue;
			vd_region_usage(reg, &nmappings, &bytes);
			e[l->count++] = (struct vshm_ctl_region_entry){
				.dev_id = dev->id,
				.shmid = shmid,
				.size = reg->size,
				.guest_addr = reg->has_addr ? reg->guest_addr : 0,
				.mapped_bytes = bytes,
				.nmappings = nmappings,
				.flags = reg->has_addr ? VSHM_CTL_REGION_PLACED : 0,
			};
		}
	}
	*len = sizeof(*l) + l->count * sizeof(*e);
	return 0;
}

static size_t list_ram(struct vshmd *d)
{
	struct vshm_ctl_list *l = (struct vshm_ctl_list *)d->buf;
	struct vshm_ctl_ram_range *e = (void *)(d->buf + sizeof(*l));
	uint32_t i;

	*l = (struct vshm_ctl_list){ .total = d->nram, .count = d->nram };
	for (i = 0; i < d->nram; i++)
		e[i] = (struct vshm_ctl_ram_range){
			.guest_addr = d->ram[i].guest_addr,
			.size = d->ram[i].size,
			.fd_offset = d->ram[i].fd_offset,
		};
	return sizeof(*l) + l->count * sizeof(*e);
}

static size_t list_sobjs(struct vshmd *d, const void *p)
{
	struct vshm_ctl_list *l = (struct vshm_ctl_list *)d->buf;
	struct vshm_ctl_shared_object_entry *e = (void *)(d->buf + sizeof(*l));
	struct vshm_ctl_list_start req;

	memcpy(&req, p, sizeof(req));
	*l = (struct vshm_ctl_list){ .total = d->nsobjs };
	l->count = vd_sobj_list(d, req.start, e, VSHM_CTL_MAX_SHARED_OBJECTS);
	return sizeof(*l) + l->count * sizeof(*e);
}

static uint32_t devices_added_by(struct vshmd *d, uint32_t client_id)
{
	struct vd_device *dev;
	uint32_t n = 0;

	for (dev = d->devices; dev; dev = dev->next)
		n += !dev->dead && dev->added_by == client_id;
	return n;
}

static size_t list_clients(struct vshmd *d, struct vd_ctl_conn *self,
			   const void *p)
{
	struct vshm_ctl_list *l = (struct vshm_ctl_list *)d->buf;
	struct vshm_ctl_client_entry *e = (void *)(d->buf + sizeof(*l));
	struct vshm_ctl_list_start req;
	struct vd_ctl_conn *c;

	memcpy(&req, p, sizeof(req));
	*l = (struct vshm_ctl_list){ 0 };
	for (c = d->clients; c; c = c->next) {
		if (c->dead)
			continue;
		if (l->total++ < req.start || l->count >= VSHM_CTL_MAX_CLIENTS)
			continue;
		e[l->count++] = (struct vshm_ctl_client_entry){
			.client_id = c->id,
			.flags = (c == self ? VSHM_CTL_CLIENT_SELF : 0) |
				 (c->hello ? VSHM_CTL_CLIENT_HELLO : 0) |
				 (c->vmm_maps ? VSHM_CTL_CLIENT_VMM_MAPS : 0),
			.pid = c->pid,
			.uid = c->uid,
			.gid = c->gid,
			.ndevices = devices_added_by(d, c->id),
			.requests = c->requests,
			.queued_bytes = vshm_chan_pending(c->ch),
		};
	}
	return sizeof(*l) + l->count * sizeof(*e);
}

/* Open fds of this process, or -1 without /proc. */
static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!dir)
		return -1;
	while ((de = readdir(dir)))
		n += de->d_name[0] != '.';
	closedir(dir);
	return n - 1;	/* the directory's own fd */
}

static void add_limit(struct vshm_ctl_list *l, struct vshm_ctl_limit *e,
		      const char *name, uint32_t scope, uint64_t limit,
		      uint64_t used)
{
	struct vshm_ctl_limit *x = &e[l->count];

	if (l->count >= VSHM_CTL_MAX_LIMITS)
		return;
	*x = (struct vshm_ctl_limit){ .scope = scope, .limit = limit, .used = used };
	strncpy(x->name, name, sizeof(x->name) - 1);
	l->count++;
	l->total++;
}

static size_t get_limits(struct vshmd *d)
{
	struct vshm_ctl_list *l = (struct vshm_ctl_list *)d->buf;
	struct vshm_ctl_limit *e = (void *)(d->buf + sizeof(*l));
	uint64_t maps = 0, sobjs = 0, queued = 0, spent = 0, shmids = 0, q;
	uint32_t closers, closers_max, closing = 0;
	struct vd_device *dev;
	struct rlimit rl;
	int fds;

	*l = (struct vshm_ctl_list){ 0 };
	for (dev = d->devices; dev; dev = dev->next) {
		if (dev->dead)
			continue;
		if (dev->nmappings > maps)
			maps = dev->nmappings;
		if (dev->nregions > shmids)
			shmids = dev->nregions;
		if (dev->nsobjs > sobjs)
			sobjs = dev->nsobjs;
		q = vshm_chan_pending(dev->be) + (dev->fw ? vshm_chan_pending(dev->fw) : 0);
		if (q > queued)
			queued = q;
		if (dev->tokens < d->opt.msg_rate && d->opt.msg_rate - dev->tokens > spent)
			spent = d->opt.msg_rate - dev->tokens;
		if (dev->closing > closing)
			closing = dev->closing;
	}
	add_limit(l, e, "devices", VSHM_CTL_LIMIT_BROKER, d->opt.max_devices,
		  d->ndevices);
	add_limit(l, e, "clients", VSHM_CTL_LIMIT_BROKER, d->opt.max_clients,
		  d->nclients);
	add_limit(l, e, "ram_ranges", VSHM_CTL_LIMIT_BROKER,
		  VSHM_CTL_MAX_RAM_RANGES, d->nram);
	fds = count_fds();
	if (fds >= 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		add_limit(l, e, "open_fds", VSHM_CTL_LIMIT_BROKER, rl.rlim_cur, fds);
	add_limit(l, e, "mappings", VSHM_CTL_LIMIT_DEVICE, d->opt.max_mappings,
		  maps);
	add_limit(l, e, "shared_objects", VSHM_CTL_LIMIT_DEVICE,
		  d->opt.max_shared_objects, sobjs);
	add_limit(l, e, "inflight_bytes", VSHM_CTL_LIMIT_DEVICE,
		  d->opt.max_inflight, queued);
	/* Tokens spent from the bucket, which refills msg_rate per second. */
	add_limit(l, e, "msg_rate", VSHM_CTL_LIMIT_DEVICE, d->opt.msg_rate, spent);
	add_limit(l, e, "shmids", VSHM_CTL_LIMIT_DEVICE, VSHM_MAX_SHMIDS,
		  shmids);
	/* From 1.3 on: the closer threads (closer.c) and the fds they hold. */
	vd_closer_usage(d, &closers, &closers_max);
	add_limit(l, e, "closer_threads", VSHM_CTL_LIMIT_BROKER, closers_max,
		  closers);
	add_limit(l, e, "close_queue", VSHM_CTL_LIMIT_BROKER, VD_CLOSE_QUEUE,
		  d->closing);
	add_limit(l, e, "closing_fds", VSHM_CTL_LIMIT_DEVICE, VD_CLOSE_DEV_MAX,
		  closing);
	return sizeof(*l) + l->count * sizeof(*e);
}

int vd_inspect(struct vshmd *d, struct vd_ctl_conn *c, uint32_t request,
	       const void *payload, size_t *len)
{
	switch (request) {
	case VSHM_CTL_LIST_REGIONS:
		return list_regions(d, payload, len);
	case VSHM_CTL_LIST_RAM:
		*len = list_ram(d);
		return 0;
	case VSHM_CTL_LIST_SHARED_OBJECTS:
		*len = list_sobjs(d, payload);
		return 0;
	case VSHM_CTL_LIST_CLIENTS:
		*len = list_clients(d, c, payload);
		return 0;
	case VSHM_CTL_GET_LIMITS:
		*len = get_limits(d);
		return 0;
	}
	return -EBADMSG;
}
