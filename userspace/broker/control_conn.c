// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket: the VMM (and vshmctl) send control requests
 * (include/vshm/control.h) and get exactly one reply each, with a status
 * word: 0 or a positive errno.  HELLO comes first.  See
 * Documentation/broker.rst for every request and its errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vshmd.h"

/* Bytes of replies queued for one client before it is no longer read. */
#define VD_CTL_MAX_QUEUED	(1u << 20)

static vd_watch_fn control_event;

/* Who connected, for LIST_CLIENTS (zeros if the socket cannot say). */
static void peer_credentials(int fd, struct vd_ctl_conn *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	    len == sizeof(cred)) {
		c->pid = cred.pid;
		c->uid = cred.uid;
		c->gid = cred.gid;
	}
}

/*
 * Serve a connected control socket (non-blocking, close-on-exec); takes
 * ownership of fd.  The connection or NULL if it could not be set up.
 */
struct vd_ctl_conn *vd_control_adopt(struct vshmd *d, int fd)
{
	VD_AUTOCLOSE int sock = fd;
	VD_AUTOFREE struct vd_ctl_conn *c = calloc(1, sizeof(*c));

	if (!c || vshm_chan_new(sock, VSHM_PROTO_CONTROL, VSHM_CHAN_OWN_FD,
				&c->ch))
		return NULL;
	vd_take_fd(&sock);	/* the channel's now */
	c->id = ++d->next_client_id;
	peer_credentials(fd, c);
	vd_closer_attach(d, c->ch, &c->close_owner, 0);
	c->w = (struct vd_watch){ .fn = control_event, .obj = c, .fd = fd };
	if (vd_watch_set(d, &c->w, EPOLLIN | EPOLLRDHUP)) {
		vshm_chan_free(c->ch);
		return NULL;
	}
	c->next = d->clients;
	d->clients = c;
	d->nclients++;
	return vd_take_ptr(&c);
}

/*
 * Out of fds (EMFILE, ENFILE) or memory: the pending connection stays in
 * the backlog and the listening socket stays readable, so accepting again
 * at once would spin.  Take the listener out of epoll; the next timer tick
 * puts it back (vd_control_resume_listen()).
 */
static void pause_listen(struct vshmd *d, int err)
{
	vd_log_limited(d, &d->accept_log, VD_LOG_WARN,
		       "accept: %s: new control connections wait %s",
		       strerror(-err), "for the next tick (100 ms)");
	vd_watch_del(d, &d->listen_w);
	d->listen_paused = true;
}

void vd_control_resume_listen(struct vshmd *d)
{
	if (!d->listen_paused || d->stopping)
		return;
	if (!vd_watch_set(d, &d->listen_w, EPOLLIN))
		d->listen_paused = false;
}

void vd_control_accept(struct vshmd *d, struct vd_watch *w, uint32_t events)
{
	int fd;

	(void)events;
	for (;;) {
		fd = accept4(w->fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				pause_listen(d, -errno);
			else if (errno != EAGAIN && errno != EINTR)
				vd_log_limited(d, &d->accept_log, VD_LOG_WARN,
					       "accept: %s", strerror(errno));
			return;
		}
		if (d->nclients >= d->opt.max_clients) {
			vd_log_limited(d, &d->accept_log, VD_LOG_WARN,
				       "control connection refused: %u clients already",
				       d->nclients);
			close(fd);
			continue;
		}
		if (vd_control_adopt(d, fd))
			vd_log(d, VD_LOG_DEBUG, "control client connected");
	}
}

void vd_control_close(struct vshmd *d, struct vd_ctl_conn *c)
{
	vd_vmm_conn_closed(d, c);
	d->nclients--;
	vd_watch_del(d, &c->w);
	vshm_chan_free(c->ch);
	free(c);
}

void vd_control_fini(struct vshmd *d)
{
	struct vd_ctl_conn *c;

	while ((c = d->clients)) {
		d->clients = c->next;
		vd_control_close(d, c);
	}
	vd_listen_close(d);
}

int vd_control_send(struct vshmd *d, struct vd_ctl_conn *c, uint32_t request,
		    int enc, const char *what)
{
	struct vshm_err err;
	int ret = enc;

	if (!ret)
		ret = vshm_chan_send(c->ch, d->out, &err);
	if (ret) {
		vd_log(d, VD_LOG_WARN, "control %s %s not sent: %s", what,
		       vshm_request_name(VSHM_PROTO_CONTROL, request),
		       vshm_strerror(ret));
		c->dead = true;
	}
	return ret;
}

/* Queue a reply with status err (0 or -errno). */
static void reply(struct vshmd *d, struct vd_ctl_conn *c, uint32_t request,
		  int err, const void *body, size_t len, const int *fds,
		  unsigned int nfds)
{
	vd_control_send(d, c, request,
			vshm_ctl_encode_reply(d->out, request, vd_wire_status(err),
					      body, len, fds, nfds),
			"reply");
}

/* The HELLO reply body: vshm_ctl_hello, then vshm_ctl_broker_info if granted. */
struct hello_reply {
	struct vshm_ctl_hello h;
	struct vshm_ctl_broker_info info;
};

static int do_hello(struct vshmd *d, struct vd_ctl_conn *c, const void *p,
		    struct hello_reply *out, size_t *len)
{
	struct vshm_ctl_hello h;

	memcpy(&h, p, sizeof(h));
	if (h.version != VSHM_CTL_VERSION)
		return -EPROTONOSUPPORT;
	memset(out, 0, sizeof(*out));
	out->h = (struct vshm_ctl_hello){
		.version = VSHM_CTL_VERSION,
		.features = h.features &
			    (VSHM_CTL_FEAT_BROKER_INFO |
			     (d->region_mode == VSHM_REGION_MODE_KMOD ? VSHM_CTL_FEAT_KMOD :
			      vd_vmm_mode(d) ? VSHM_CTL_FEAT_VMM_MAPS : 0)),
	};
	*len = sizeof(out->h);
	if (out->h.features & VSHM_CTL_FEAT_BROKER_INFO) {
		out->info.major = VSHM_VERSION_MAJOR;
		out->info.minor = VSHM_VERSION_MINOR;
		out->info.patch = VSHM_VERSION_PATCH;
		snprintf(out->info.version, sizeof(out->info.version), "%s",
			 VSHM_VERSION_STRING);
		*len = sizeof(*out);
	}
	if ((out->h.features & VSHM_CTL_FEAT_VMM_MAPS) && !c->ops) {
		c->ops = calloc(VD_VMM_MAX_OPS, sizeof(*c->ops));
		if (!c->ops)
			return -ENOMEM;
		c->vmm_maps = true;
	}
	c->hello = true;
	return 0;
}

static void do_add_device(struct vshmd *d, struct vd_ctl_conn *c,
			  struct vshm_msg *msg, const uint8_t *p)
{
	struct vshm_ctl_add_device req;
	struct vshm_ctl_device rep = { 0 };
	uint64_t sizes[VSHM_MAX_SHMIDS];
	struct vd_device *dev;
	int be, fw = -1, ret;

	memcpy(&req, p, sizeof(req));
	if (vd_vmm_mode(d) && !c->vmm_maps) {
		/* Nobody could place its mappings. */
		vd_log_limited(d, &d->peer_log, VD_LOG_WARN,
			       "ADD_DEVICE refused: forwarding mode needs a VMM that offered VMM_MAPS");
		reply(d, c, VSHM_CTL_ADD_DEVICE, -EPROTONOSUPPORT, NULL, 0, NULL, 0);
		return;
	}
	if (req.nregions)
		memcpy(sizes, p + sizeof(req), 8 * req.nregions);
	be = vshm_msg_take_fd(msg, 0);
	if (req.flags & VSHM_CTL_DEV_FORWARD)
		fw = vshm_msg_take_fd(msg, 1);
	ret = vd_device_add(d, req.flags, sizes, req.nregions, be, fw, &dev);
	if (ret) {
		vd_log_limited(d, &d->peer_log, VD_LOG_WARN,
			       "ADD_DEVICE refused: %s", vshm_strerror(ret));
		reply(d, c, VSHM_CTL_ADD_DEVICE, ret, NULL, 0, NULL, 0);
		return;
	}
	rep.dev_id = dev->id;
	rep.nregions = dev->nregions;
	rep.region_mode = d->region_mode == VSHM_REGION_MODE_KMOD ? VSHM_CTL_REGIONS_KMOD :
			  vd_vmm_mode(d) ? VSHM_CTL_REGIONS_VMM :
			  VSHM_CTL_REGIONS_BROKER;
	dev->added_by = c->id;
	if (vd_vmm_mode(d))
		dev->owner = c;
	vd_log(d, VD_LOG_INFO, "device %u added: %u shmids%s%s%s", dev->id,
	       dev->nregions, dev->fw ? ", forward socket" : "",
	       dev->enc == VSHM_FLAGS_DRAFT ? ", draft flag encoding" : "",
	       dev->flags & VSHM_CTL_DEV_POPULATE ? ", populated maps" : "");
	reply(d, c, VSHM_CTL_ADD_DEVICE, 0, &rep, sizeof(rep), NULL, 0);
}

/*
 * ADOPT_DEVICE: a VMM hands this broker a device an earlier one served
 * (Documentation/protocol.rst, "Restarting the broker").  The region fds
 * stay the message's (the regions hold duplicates) and go with it.
 */
static void do_adopt_device(struct vshmd *d, struct vd_ctl_conn *c,
			    struct vshm_msg *msg, const uint8_t *p)
{
	struct vshm_ctl_adopt_region e[VSHM_MAX_SHMIDS];
	int region_fds[VSHM_MAX_SHMIDS];
	struct vshm_ctl_adopt_device req;
	struct vshm_ctl_device rep = { 0 };
	struct vd_device *dev;
	uint32_t i, next;
	uint64_t n = 0;
	int be, fw = -1, ret;

	memcpy(&req, p, sizeof(req));
	if (req.nregions)
		memcpy(e, p + sizeof(req), req.nregions * sizeof(e[0]));
	be = vshm_msg_take_fd(msg, 0);
	next = 1;
	if (req.flags & VSHM_CTL_DEV_FORWARD)
		fw = vshm_msg_take_fd(msg, next++);
	for (i = 0; i < req.nregions; i++)
		region_fds[i] = e[i].size ? msg->fds[next++] : -1;
	ret = vd_device_adopt(d, req.flags, e, req.nregions, be, fw, region_fds,
			      &dev);
	if (ret == -EOPNOTSUPP) {
		vd_log_limited(d, &d->peer_log, VD_LOG_WARN,
			       "ADOPT_DEVICE refused: without the module (--region-mode mmap or vmm) regions live in the broker or the VMM and died with the old broker; add the device again");
	} else if (ret) {
		vd_log_limited(d, &d->peer_log, VD_LOG_WARN,
			       "ADOPT_DEVICE refused: %s", vshm_strerror(ret));
	}
	if (ret) {
		reply(d, c, VSHM_CTL_ADOPT_DEVICE, ret, NULL, 0, NULL, 0);
		return;
	}
	for (i = 0; i < dev->nregions; i++)
		n += dev->regions[i].r != NULL;
	rep.dev_id = dev->id;
	rep.nregions = dev->nregions;
	rep.region_mode = VSHM_CTL_REGIONS_KMOD;
	dev->added_by = c->id;
	vd_log(d, VD_LOG_INFO, "device %u adopted: %u shmids, %llu regions, %u mappings kept%s%s",
	       dev->id, dev->nregions, (unsigned long long)n, dev->nmappings,
	       dev->fw ? ", forward socket" : "",
	       dev->flags & VSHM_CTL_DEV_POPULATE ? ", populated maps" : "");
	reply(d, c, VSHM_CTL_ADOPT_DEVICE, 0, &rep, sizeof(rep), NULL, 0);
}

static struct vd_region *find_region(struct vshmd *d, uint32_t dev_id,
				     uint32_t shmid, int *err)
{
	struct vd_device *dev = vd_device_find(d, dev_id);

	if (!dev) {
		*err = -ENOENT;
		return NULL;
	}
	if (shmid >= dev->nregions || !dev->regions[shmid].r) {
		*err = -EINVAL;
		return NULL;
	}
	return &dev->regions[shmid];
}

static void do_get_region(struct vshmd *d, struct vd_ctl_conn *c, const void *p)
{
	struct vshm_ctl_region_ref ref;
	struct vshm_ctl_region rep = { 0 };
	struct vd_region *reg;
	int ret = 0, fd;

	memcpy(&ref, p, sizeof(ref));
	reg = find_region(d, ref.dev_id, ref.shmid, &ret);
	if (!reg) {
		reply(d, c, VSHM_CTL_GET_REGION, ret, NULL, 0, NULL, 0);
		return;
	}
	fd = vshm_region_fd(reg->r);
	if (fd < 0) {
		/* mmap region mode: the region lives in the broker, there is no fd. */
		reply(d, c, VSHM_CTL_GET_REGION, -ENODEV, NULL, 0, NULL, 0);
		return;
	}
	rep.size = reg->size;
	rep.shmid = ref.shmid;
	reply(d, c, VSHM_CTL_GET_REGION, 0, &rep, sizeof(rep), &fd, 1);
}

static int do_set_region_addr(struct vshmd *d, const void *p)
{
	struct vshm_ctl_region_addr req;
	struct vd_region *reg;
	uint64_t end;
	int ret = 0;

	memcpy(&req, p, sizeof(req));
	reg = find_region(d, req.dev_id, req.shmid, &ret);
	if (!reg)
		return ret;
	if (req.guest_addr % VSHM_PAGE_SIZE)
		return -EINVAL;
	if (__builtin_add_overflow(req.guest_addr, reg->size, &end))
		return -EOVERFLOW;
	if (vd_route_overlaps(d, req.guest_addr, reg->size, reg))
		return -EEXIST;
	reg->guest_addr = req.guest_addr;
	reg->has_addr = true;
	vd_log(d, VD_LOG_INFO, "device %u shmid %u at guest 0x%llx..0x%llx",
	       req.dev_id, req.shmid, (unsigned long long)req.guest_addr,
	       (unsigned long long)end);
	return 0;
}

static int do_set_mem_table(struct vshmd *d, struct vshm_msg *msg,
			    const uint8_t *p)
{
	struct vshm_ctl_ram_range r[VSHM_CTL_MAX_RAM_RANGES];
	struct vshm_ctl_mem_table hdr;
	int fds[VSHM_CTL_MAX_RAM_RANGES];
	uint32_t i;
	int ret;

	memcpy(&hdr, p, sizeof(hdr));
	if (hdr.nranges)
		memcpy(r, p + sizeof(hdr), hdr.nranges * sizeof(r[0]));
	for (i = 0; i < hdr.nranges; i++)
		fds[i] = msg->fds[i];
	ret = vd_ram_set(d, r, fds, hdr.nranges);
	if (ret)
		return ret;
	/* The table owns them now. */
	for (i = 0; i < hdr.nranges; i++)
		vshm_msg_take_fd(msg, i);
	vd_log(d, VD_LOG_INFO, "guest RAM table: %u ranges", hdr.nranges);
	return 0;
}

static void do_stats(struct vshmd *d, struct vd_ctl_conn *c, const void *p)
{
	struct vshm_ctl_dev_ref ref;
	struct vshm_ctl_stats st;
	struct vd_device *dev = NULL;

	memcpy(&ref, p, sizeof(ref));
	if (ref.dev_id != VSHM_CTL_ALL_DEVICES) {
		dev = vd_device_find(d, ref.dev_id);
		if (!dev) {
			reply(d, c, VSHM_CTL_GET_STATS, -ENOENT, NULL, 0, NULL, 0);
			return;
		}
	}
	vd_device_stats(d, dev, &st);
	reply(d, c, VSHM_CTL_GET_STATS, 0, &st, sizeof(st), NULL, 0);
}

static void do_list_devices(struct vshmd *d, struct vd_ctl_conn *c)
{
	size_t size = sizeof(struct vshm_ctl_list) +
		      VSHM_CTL_MAX_DEVICES * sizeof(struct vshm_ctl_device_entry);
	struct vshm_ctl_device_entry *e;
	struct vshm_ctl_list *l;
	struct vd_device *dev;
	uint8_t *body = d->buf;

	_Static_assert(sizeof(struct vshm_ctl_list) +
		       VSHM_CTL_MAX_DEVICES * sizeof(struct vshm_ctl_device_entry) <=
		       VSHM_MEM_DATA_MAX, "the list fits the buffer");
	memset(body, 0, size);
	l = (struct vshm_ctl_list *)body;
	e = (struct vshm_ctl_device_entry *)(body + sizeof(*l));
	for (dev = d->devices; dev; dev = dev->next) {
		if (dev->dead)
			continue;
		l->total++;
		if (l->count >= VSHM_CTL_MAX_DEVICES)
			continue;
		e[l->count++] = (struct vshm_ctl_device_entry){
			.dev_id = dev->id,
			.flags = dev->flags & (dev->fw ? ~0u : ~VSHM_CTL_DEV_FORWARD),
			.nregions = dev->nregions,
			.nmappings = dev->nmappings,
		};
	}
	reply(d, c, VSHM_CTL_LIST_DEVICES, 0, body,
	      sizeof(*l) + l->count * sizeof(*e), NULL, 0);
}

static void do_list_mappings(struct vshmd *d, struct vd_ctl_conn *c,
			     const void *p)
{
	struct vshm_ctl_list_mappings req;
	struct vshm_mapping_entry *e;
	struct vshm_ctl_list *l;
	struct vd_region *reg;
	uint8_t *body = d->buf;
	uint64_t bytes;
	ssize_t n;
	int ret = 0;

	_Static_assert(sizeof(struct vshm_ctl_list) +
		       VSHM_CTL_MAX_MAPPINGS * sizeof(struct vshm_mapping_entry) <=
		       VSHM_MEM_DATA_MAX, "the list fits the buffer");
	memcpy(&req, p, sizeof(req));
	reg = find_region(d, req.dev_id, req.shmid, &ret);
	if (!reg) {
		reply(d, c, VSHM_CTL_LIST_MAPPINGS, ret, NULL, 0, NULL, 0);
		return;
	}
	l = (struct vshm_ctl_list *)body;
	e = (struct vshm_mapping_entry *)(body + sizeof(*l));
	*l = (struct vshm_ctl_list){ 0 };
	vd_region_usage(reg, &l->total, &bytes);
	n = vshm_region_mappings(reg->r, req.start, e, VSHM_CTL_MAX_MAPPINGS);
	l->count = n > 0 ? (uint32_t)n : 0;
	for (n = 0; n < l->count; n++)
		e[n].reserved = 0;
	reply(d, c, VSHM_CTL_LIST_MAPPINGS, 0, body,
	      sizeof(*l) + l->count * sizeof(*e), NULL, 0);
}

static void handle(struct vshmd *d, struct vd_ctl_conn *c, struct vshm_msg *msg)
{
	uint32_t req = msg->hdr.request;
	struct hello_reply hello;
	struct vshm_ctl_dev_ref ref;
	struct vd_device *dev;
	const void *p;
	size_t len;
	int ret;

	c->requests++;
	ret = vshm_ctl_decode_request(msg, req, &p, &len, NULL);
	if (ret) {
		reply(d, c, req, -EBADMSG, NULL, 0, NULL, 0);
		return;
	}
	if (!c->hello && req != VSHM_CTL_HELLO) {
		reply(d, c, req, -EPROTO, NULL, 0, NULL, 0);
		return;
	}
	switch (req) {
	case VSHM_CTL_HELLO:
		ret = do_hello(d, c, p, &hello, &len);
		reply(d, c, req, ret, &hello, len, NULL, 0);
		return;
	case VSHM_CTL_ADD_DEVICE:
		do_add_device(d, c, msg, p);
		return;
	case VSHM_CTL_ADOPT_DEVICE:
		do_adopt_device(d, c, msg, p);
		return;
	case VSHM_CTL_GET_REGION:
		do_get_region(d, c, p);
		return;
	case VSHM_CTL_SET_REGION_ADDR:
		ret = do_set_region_addr(d, p);
		break;
	case VSHM_CTL_SET_MEM_TABLE:
		ret = do_set_mem_table(d, msg, p);
		break;
	case VSHM_CTL_RESET_DEVICE:
	case VSHM_CTL_REMOVE_DEVICE:
		memcpy(&ref, p, sizeof(ref));
		dev = vd_device_find(d, ref.dev_id);
		ret = -ENOENT;
		if (!dev)
			break;
		ret = 0;
		if (req == VSHM_CTL_REMOVE_DEVICE) {
			vd_device_remove(d, dev, "REMOVE_DEVICE");
		} else {
			vd_device_reset(d, dev);
			vd_log(d, VD_LOG_INFO, "device %u reset", dev->id);
		}
		break;
	case VSHM_CTL_GET_STATS:
		do_stats(d, c, p);
		return;
	case VSHM_CTL_LIST_DEVICES:
		do_list_devices(d, c);
		return;
	case VSHM_CTL_LIST_MAPPINGS:
		do_list_mappings(d, c, p);
		return;
	case VSHM_CTL_LIST_REGIONS:
	case VSHM_CTL_LIST_RAM:
	case VSHM_CTL_LIST_SHARED_OBJECTS:
	case VSHM_CTL_LIST_CLIENTS:
	case VSHM_CTL_GET_LIMITS:
		ret = vd_inspect(d, c, req, p, &len);
		if (ret)
			break;
		reply(d, c, req, 0, d->buf, len, NULL, 0);
		return;
	default:
		ret = -EBADMSG;
		break;
	}
	if (ret)
		vd_log_limited(d, &d->peer_log, VD_LOG_INFO, "%s refused: %s",
			       vshm_request_name(VSHM_PROTO_CONTROL, req),
			       strerror(-ret));
	reply(d, c, req, ret, NULL, 0, NULL, 0);
}

static void control_event(struct vshmd *d, struct vd_watch *w, uint32_t events)
{
	struct vd_ctl_conn *c = w->obj;
	struct vshm_err err;
	enum vd_rx rx;
	int i, ret;

	if (c->dead)
		return;
	if (events & EPOLLOUT) {
		ret = vshm_chan_flush(c->ch);
		if (ret && ret != -EAGAIN) {
			c->dead = true;
			return;
		}
	}
	for (i = 0; i < VD_BATCH && vshm_chan_pending(c->ch) < VD_CTL_MAX_QUEUED &&
		    !c->dead; i++) {
		rx = vd_receive(c->ch, d->msg, &err);
		if (rx == VD_RX_NONE)
			break;
		if (rx == VD_RX_CLOSED) {
			c->dead = true;
			break;
		}
		if (rx == VD_RX_BROKEN) {
			vd_log_peer(d, &c->rl, "control connection closed: %s",
				    err.msg);
			c->dead = true;
			break;
		}
		if (c->vmm_maps && (d->msg->hdr.flags & VSHM_HDR_REPLY)) {
			/* A forwarding-mode answer (the VMM sends no other replies). */
			vd_vmm_answer(d, c, d->msg, rx == VD_RX_BAD);
			vd_msg_release(d, 0, d->msg);
			continue;
		}
		if (rx == VD_RX_BAD) {
			vd_log_peer(d, &c->rl, "malformed control request: %s",
				    err.msg);
			if (!strcmp(vshm_request_name(VSHM_PROTO_CONTROL,
						      d->msg->hdr.request), "unknown") ||
			    (d->msg->hdr.flags & VSHM_HDR_REPLY)) {
				/* Unknown request number: no reply can name it. */
				c->dead = true;
				break;
			}
			reply(d, c, d->msg->hdr.request, -EBADMSG, NULL, 0, NULL, 0);
			continue;
		}
		handle(d, c, d->msg);
		vd_msg_release(d, 0, d->msg);
		if (!c->dead && vd_chan_drained(c->ch))
			break;
	}
	vd_control_update_events(d, c);
}

void vd_control_update_events(struct vshmd *d, struct vd_ctl_conn *c)
{
	uint32_t ev = 0;

	if (c->dead)
		return;
	if (vshm_chan_pending(c->ch) < VD_CTL_MAX_QUEUED)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (vshm_chan_pending(c->ch))
		ev |= EPOLLOUT;
	if (vd_watch_set(d, &c->w, ev))
		c->dead = true;
}
