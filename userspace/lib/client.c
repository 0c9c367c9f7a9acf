// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VMM client of the vshmd control socket: the blocking calls.  Each one
 * submits its request through the connection engine (client_loop.c) and
 * waits for that request's reply, completing any earlier requests and
 * serving the broker's own requests meanwhile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client_internal.h"

/*
 * Send a request and wait for its reply.  On success *body / *len point
 * into c->msg (valid until the next call) and c->msg owns the reply's fds.
 */
static int call(struct vshm_client *c, uint32_t request, const void *payload,
		size_t plen, const int *fds, unsigned int nfds,
		const void **body, size_t *len, struct vshm_err *err)
{
	int ret;

	if (c->in_callback)
		return vshmi_fail(err, EDEADLK,
				  "blocking %s from a callback", vshmi_ctl_name(request));
	vshm_msg_release(&c->msg);
	c->sync_ready = false;
	ret = vshmi_client_submit(c, request, payload, plen, fds, nfds,
				  VSHMI_SLOT_SYNC, NULL, NULL, err);
	if (ret)
		return ret;
	ret = vshmi_client_wait(c, c->timeout_ms);
	if (ret == -ETIMEDOUT)
		return vshmi_fail(err, ETIMEDOUT, "no reply to %s in %d ms",
				  vshmi_ctl_name(request), c->timeout_ms);
	if (!ret)
		ret = c->sync_result;
	c->sync_ready = false;
	if (ret) {
		vshm_msg_release(&c->msg);
		vshmi_client_error(c, ret, err);
		return ret;
	}
	if (body) {
		*body = c->msg.payload + sizeof(struct vshm_ctl_status);
		*len = c->msg.hdr.size - sizeof(struct vshm_ctl_status);
	}
	return 0;
}

/*
 * HELLO, offering every feature.  A broker before vshm 1.2 refuses the
 * BROKER_INFO bit with EBADMSG and keeps the connection: ask again
 * without it.
 */
static int hello(struct vshm_client *c, struct vshm_err *err)
{
	struct vshm_ctl_hello h = {
		.version = VSHM_CTL_VERSION, .features = VSHM_CTL_FEAT_ALL,
	};
	const void *body;
	size_t len;
	int ret;

	ret = call(c, VSHM_CTL_HELLO, &h, sizeof(h), NULL, 0, &body, &len, err);
	if (ret == -EBADMSG) {
		h.features &= ~VSHM_CTL_FEAT_BROKER_INFO;
		ret = call(c, VSHM_CTL_HELLO, &h, sizeof(h), NULL, 0, &body,
			   &len, err);
	}
	if (ret)
		return ret;
	memcpy(&h, body, sizeof(h));
	if (h.version != VSHM_CTL_VERSION)
		return vshmi_fail(err, EPROTONOSUPPORT,
				  "broker speaks control version %u, the library %u",
				  h.version, VSHM_CTL_VERSION);
	c->features = h.features;
	if (h.features & VSHM_CTL_FEAT_BROKER_INFO) {
		/* The decoder checked the length and the string's NUL. */
		memcpy(&c->broker_info, (const uint8_t *)body + sizeof(h),
		       sizeof(c->broker_info));
		c->has_broker_info = true;
	}
	return 0;
}

int vshm_client_from_fd(int fd, int timeout_ms, struct vshm_client **out,
			struct vshm_err *err)
{
	struct vshm_client *c;
	int ret;

	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return vshmi_fail(err, ENOMEM, "no memory for a client");
	}
	c->timeout_ms = timeout_ms;
	ret = vshm_chan_new(fd, VSHM_PROTO_CONTROL, VSHM_CHAN_OWN_FD, &c->ch);
	if (ret) {
		close(fd);
		free(c);
		return vshmi_fail(err, -ret, "channel: %s", vshm_strerror(ret));
	}
	ret = hello(c, err);
	if (ret) {
		vshm_client_close(c);
		return ret;
	}
	*out = c;
	return 0;
}

int vshm_client_connect(const char *path, int timeout_ms,
			struct vshm_client **out, struct vshm_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return vshmi_fail(err, ENAMETOOLONG,
				  "socket path is %zu bytes, at most %zu",
				  strlen(path), sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vshmi_fail(err, errno, "socket: %s", vshm_strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return vshmi_fail(err, e, "connect %s: %s", path, vshm_strerror(e));
	}
	return vshm_client_from_fd(fd, timeout_ms, out, err);
}

void vshm_client_close(struct vshm_client *c)
{
	if (!c)
		return;
	vshm_msg_release(&c->msg);
	vshm_chan_free(c->ch);
	free(c);
}

uint32_t vshm_client_features(const struct vshm_client *c)
{
	return c->features;
}

int vshm_client_get_region(struct vshm_client *c, uint32_t dev_id,
			   uint32_t shmid, int *fd, uint64_t *size,
			   struct vshm_err *err)
{
	struct vshm_ctl_region_ref ref = { .dev_id = dev_id, .shmid = shmid };
	struct vshm_ctl_region reg;
	const void *body;
	size_t len;
	int ret;

	ret = call(c, VSHM_CTL_GET_REGION, &ref, sizeof(ref), NULL, 0, &body,
		   &len, err);
	if (ret)
		return ret;
	memcpy(&reg, body, sizeof(reg));
	if (reg.shmid != shmid) {
		vshm_msg_release(&c->msg);
		return vshmi_fail(err, VSHM_EREPLY,
				  "GET_REGION reply for shmid %u, asked for %u",
				  reg.shmid, shmid);
	}
	*fd = vshm_msg_take_fd(&c->msg, 0);
	if (size)
		*size = reg.size;
	return 0;
}

/* Is the broker at least release major.minor?  Unknown before 1.2. */
static bool broker_at_least(const struct vshm_client *c, uint32_t major,
			    uint32_t minor)
{
	return c->has_broker_info &&
	       (c->broker_info.major > major ||
		(c->broker_info.major == major && c->broker_info.minor >= minor));
}

/* What ADD_DEVICE and ADOPT_DEVICE accept from the caller. */
static int check_device_args(const struct vshm_client *c, uint32_t nregions,
			     uint32_t flags, struct vshm_err *err)
{
	if (nregions > VSHM_MAX_SHMIDS ||
	    (flags & ~(VSHM_CTL_DEV_DRAFT_FLAGS | VSHM_CTL_DEV_STRICT_HOLES |
		       VSHM_CTL_DEV_POPULATE)))
		return vshmi_fail(err, EINVAL,
				  "nregions %u (at most %u) or flags 0x%x (only DRAFT_FLAGS, STRICT_HOLES, POPULATE)",
				  nregions, VSHM_MAX_SHMIDS, flags);
	/* An older broker's EBADMSG would not say which field it refused. */
	if ((flags & VSHM_CTL_DEV_POPULATE) && !broker_at_least(c, 1, 4))
		return vshmi_fail(err, EOPNOTSUPP,
				  "the broker does not know VSHM_CTL_DEV_POPULATE: it predates vshm 1.4");
	return 0;
}

/* Send ADD_DEVICE or ADOPT_DEVICE and take the new device's id from the reply. */
static int new_device_call(struct vshm_client *c, uint32_t request,
			   const void *payload, size_t plen, const int *fds,
			   unsigned int nfds, uint32_t *dev_id,
			   struct vshm_err *err)
{
	struct vshm_ctl_device dev;
	const void *body;
	size_t len;
	int ret;

	ret = call(c, request, payload, plen, fds, nfds, &body, &len, err);
	if (ret)
		return ret;
	memcpy(&dev, body, sizeof(dev));
	*dev_id = dev.dev_id;
	return 0;
}

int vshm_client_add_device(struct vshm_client *c, int backend_fd,
			   int forward_fd, const uint64_t *sizes,
			   uint32_t nregions, uint32_t flags, uint32_t *dev_id,
			   int *region_fds, struct vshm_err *err)
{
	struct vshm_ctl_add_device req = { .flags = flags, .nregions = nregions };
	uint8_t buf[sizeof(req) + 8 * VSHM_MAX_SHMIDS];
	int fds[2] = { backend_fd, forward_fd };
	uint32_t i;
	int ret;

	ret = check_device_args(c, nregions, flags, err);
	if (ret)
		return ret;
	if (forward_fd >= 0)
		req.flags |= VSHM_CTL_DEV_FORWARD;
	memcpy(buf, &req, sizeof(req));
	if (nregions)
		memcpy(buf + sizeof(req), sizes, 8 * nregions);
	for (i = 0; region_fds && i < nregions; i++)
		region_fds[i] = -1;
	ret = new_device_call(c, VSHM_CTL_ADD_DEVICE, buf,
			      sizeof(req) + 8 * nregions, fds,
			      forward_fd >= 0 ? 2 : 1, dev_id, err);
	if (ret)
		return ret;
	/* Only a kmod broker has region fds to give (GET_REGION: ENODEV otherwise). */
	if (!(c->features & VSHM_CTL_FEAT_KMOD))
		return 0;
	for (i = 0; region_fds && i < nregions; i++) {
		if (!sizes[i])
			continue;
		ret = vshm_client_get_region(c, *dev_id, i, &region_fds[i],
					     NULL, err);
		if (ret)
			goto err_remove;
	}
	return 0;

err_remove:
	for (i = 0; i < nregions; i++) {
		if (region_fds[i] >= 0)
			close(region_fds[i]);
		region_fds[i] = -1;
	}
	vshm_client_remove_device(c, *dev_id, NULL);
	return ret;
}

int vshm_client_adopt_device(struct vshm_client *c, int backend_fd,
			     int forward_fd, const uint64_t *sizes,
			     const int *region_fds, const uint64_t *guest_addrs,
			     uint32_t nregions, uint32_t flags, uint32_t *dev_id,
			     struct vshm_err *err)
{
	struct vshm_ctl_adopt_device req = { .flags = flags, .nregions = nregions };
	uint8_t buf[sizeof(req) +
		    sizeof(struct vshm_ctl_adopt_region) * VSHM_MAX_SHMIDS];
	int fds[VSHM_MAX_FDS];
	unsigned int nfds = 0;
	uint32_t i;
	int ret;

	ret = check_device_args(c, nregions, flags, err);
	if (ret)
		return ret;
	/* Older brokers close the connection on a request number they do not know. */
	if (!broker_at_least(c, 1, 3))
		return vshmi_fail(err, EOPNOTSUPP,
				  "the broker does not know ADOPT_DEVICE: it predates vshm 1.3");
	fds[nfds++] = backend_fd;
	if (forward_fd >= 0) {
		req.flags |= VSHM_CTL_DEV_FORWARD;
		fds[nfds++] = forward_fd;
	}
	memcpy(buf, &req, sizeof(req));
	for (i = 0; i < nregions; i++) {
		struct vshm_ctl_adopt_region e = { .size = sizes[i] };

		if (!sizes[i])
			goto put;
		if (nfds == VSHM_MAX_FDS)
			return vshmi_fail(err, E2BIG,
					  "more than %u fds: at most %u regions with a forward socket, %u without",
					  VSHM_MAX_FDS, VSHM_MAX_FDS - 2,
					  VSHM_MAX_FDS - 1);
		fds[nfds++] = region_fds[i];
		if (guest_addrs && guest_addrs[i] != UINT64_MAX) {
			e.guest_addr = guest_addrs[i];
			e.flags = VSHM_CTL_REGION_PLACED;
		}
put:
		memcpy(buf + sizeof(req) + i * sizeof(e), &e, sizeof(e));
	}
	return new_device_call(c, VSHM_CTL_ADOPT_DEVICE, buf,
			       sizeof(req) +
			       nregions * sizeof(struct vshm_ctl_adopt_region),
			       fds, nfds, dev_id, err);
}

int vshm_client_set_region_addr(struct vshm_client *c, uint32_t dev_id,
				uint32_t shmid, uint64_t guest_addr,
				struct vshm_err *err)
{
	struct vshm_ctl_region_addr req = {
		.dev_id = dev_id, .shmid = shmid, .guest_addr = guest_addr,
	};

	return call(c, VSHM_CTL_SET_REGION_ADDR, &req, sizeof(req), NULL, 0,
		    NULL, NULL, err);
}

int vshm_client_set_mem_table(struct vshm_client *c,
			      const struct vshm_ctl_ram_range *ranges,
			      const int *fds, uint32_t n, struct vshm_err *err)
{
	uint8_t buf[sizeof(struct vshm_ctl_mem_table) +
		    sizeof(struct vshm_ctl_ram_range) * VSHM_CTL_MAX_RAM_RANGES];
	struct vshm_ctl_mem_table hdr = { .nranges = n };
	uint32_t i;

	if (n > VSHM_CTL_MAX_RAM_RANGES)
		return vshmi_fail(err, E2BIG, "%u RAM ranges, at most %u", n,
				  VSHM_CTL_MAX_RAM_RANGES);
	memcpy(buf, &hdr, sizeof(hdr));
	for (i = 0; i < n; i++) {
		struct vshm_ctl_ram_range r = ranges[i];

		r.reserved = 0;
		memcpy(buf + sizeof(hdr) + i * sizeof(r), &r, sizeof(r));
	}
	return call(c, VSHM_CTL_SET_MEM_TABLE, buf,
		    sizeof(hdr) + n * sizeof(struct vshm_ctl_ram_range), fds, n,
		    NULL, NULL, err);
}

static int dev_call(struct vshm_client *c, uint32_t request, uint32_t dev_id,
		    const void **body, size_t *len, struct vshm_err *err)
{
	struct vshm_ctl_dev_ref ref = { .dev_id = dev_id };

	return call(c, request, &ref, sizeof(ref), NULL, 0, body, len, err);
}

int vshm_client_reset_device(struct vshm_client *c, uint32_t dev_id,
			     struct vshm_err *err)
{
	return dev_call(c, VSHM_CTL_RESET_DEVICE, dev_id, NULL, NULL, err);
}

int vshm_client_remove_device(struct vshm_client *c, uint32_t dev_id,
			      struct vshm_err *err)
{
	return dev_call(c, VSHM_CTL_REMOVE_DEVICE, dev_id, NULL, NULL, err);
}

int vshm_client_stats(struct vshm_client *c, uint32_t dev_id,
		      struct vshm_ctl_stats *stats, struct vshm_err *err)
{
	const void *body;
	size_t len;
	int ret;

	ret = dev_call(c, VSHM_CTL_GET_STATS, dev_id, &body, &len, err);
	if (!ret)
		memcpy(stats, body, sizeof(*stats));
	return ret;
}

ssize_t vshmi_client_list_call(struct vshm_client *c, uint32_t request,
			       const void *payload, size_t plen, void *out,
			       size_t esize, size_t max, uint32_t *total,
			       struct vshm_err *err)
{
	struct vshm_ctl_list l;
	const void *body;
	size_t len, n;
	int ret;

	ret = call(c, request, payload, plen, NULL, 0, &body, &len, err);
	if (ret)
		return ret;
	/* The decoder checked count against the body's length. */
	memcpy(&l, body, sizeof(l));
	n = l.count < max ? l.count : max;
	if (n)
		memcpy(out, (const uint8_t *)body + sizeof(l), n * esize);
	if (total)
		*total = l.total;
	return n;
}

ssize_t vshm_client_list_devices(struct vshm_client *c,
				 struct vshm_ctl_device_entry *out, size_t max,
				 uint32_t *total, struct vshm_err *err)
{
	return vshmi_client_list_call(c, VSHM_CTL_LIST_DEVICES, NULL, 0, out,
				      sizeof(*out), max, total, err);
}

ssize_t vshm_client_list_mappings(struct vshm_client *c, uint32_t dev_id,
				  uint32_t shmid, uint32_t start,
				  struct vshm_mapping_entry *out, size_t max,
				  uint32_t *total, struct vshm_err *err)
{
	struct vshm_ctl_list_mappings req = {
		.dev_id = dev_id, .shmid = shmid, .start = start,
	};

	return vshmi_client_list_call(c, VSHM_CTL_LIST_MAPPINGS, &req,
				      sizeof(req), out, sizeof(*out), max,
				      total, err);
}
