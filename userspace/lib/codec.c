// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Message encode/decode and strict validation.
 *
 * vshm_msg_check() is the one place that decides whether a message is well
 * formed: header flags, size cap, then the request's spec (size, fd count,
 * and a check for padding and fields).  Parsing, receiving and every decoder
 * go through it.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

_Static_assert(sizeof(struct vshm_hdr) == 12, "vhost-user header is 12 bytes");
_Static_assert(sizeof(struct vshm_vu_mmap) == 40, "VhostUserMMap is 40 bytes");
_Static_assert(offsetof(struct vshm_vu_mmap, fd_offset) == 8, "fd_offset @8");
_Static_assert(offsetof(struct vshm_vu_mmap, flags) == 32, "flags @32");
_Static_assert(sizeof(struct vshm_vu_shmem_config) == 2056,
	       "GET_SHMEM_CONFIG reply is 2056 bytes");
_Static_assert(offsetof(struct vshm_msg, payload) ==
	       offsetof(struct vshm_msg, hdr) + sizeof(struct vshm_hdr),
	       "payload follows the header");

void vshm_msg_init(struct vshm_msg *msg, uint32_t request, uint32_t hdr_flags)
{
	msg->nfds = 0;
	msg->flags = 0;
	msg->hdr.request = request;
	msg->hdr.flags = VSHM_HDR_VERSION |
			 (hdr_flags & (VSHM_HDR_REPLY | VSHM_HDR_NEED_REPLY));
	msg->hdr.size = 0;
}

int vshm_msg_append(struct vshm_msg *msg, const void *data, size_t len)
{
	if (len > VSHM_PAYLOAD_MAX - msg->hdr.size)
		return -EMSGSIZE;
	if (len) {
		if (data)
			memcpy(msg->payload + msg->hdr.size, data, len);
		else
			memset(msg->payload + msg->hdr.size, 0, len);
	}
	msg->hdr.size += len;
	return 0;
}

int vshmi_check_region_sizes(const uint8_t *p, unsigned int n,
			     const char *name, struct vshm_err *err)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t sz = vshmi_get64(p + 8 * i);

		if (sz % VSHM_PAGE_SIZE)
			return vshmi_fail(err, VSHM_EFIELD,
					  "%s: size of shmid %u is %llu, not a multiple of %u",
					  name, i, (unsigned long long)sz,
					  VSHM_PAGE_SIZE);
	}
	return 0;
}

int vshm_msg_add_fd(struct vshm_msg *msg, int fd)
{
	if (fd < 0)
		return -EBADF;
	if (msg->nfds >= VSHM_MAX_FDS)
		return -E2BIG;
	msg->fds[msg->nfds++] = fd;
	return 0;
}

int vshm_msg_take_fd(struct vshm_msg *msg, unsigned int idx)
{
	int fd;

	if (idx >= msg->nfds)
		return -1;
	fd = msg->fds[idx];
	msg->fds[idx] = -1;
	return fd;
}

void vshm_msg_release(struct vshm_msg *msg)
{
	if (msg->flags & VSHM_MSG_OWNS_FDS)
		vshmi_close_fds(msg->fds, msg->nfds);
	msg->nfds = 0;
	msg->flags &= ~VSHM_MSG_OWNS_FDS;
}

const void *vshm_msg_frame(const struct vshm_msg *msg, size_t *len)
{
	*len = VSHM_HDR_SIZE + msg->hdr.size;
	return &msg->hdr;
}

int vshmi_check_zero(const uint8_t *p, size_t len, const char *name,
		     const char *what, struct vshm_err *err)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return vshmi_fail(err, VSHM_EPADDING,
					  "%s: %s byte %zu is 0x%02x, must be 0",
					  name, what, i, p[i]);
	return 0;
}

/* vhost-user payload checks. */

static int check_mmap(const struct vshm_msg *msg, const char *name,
		      struct vshm_err *err)
{
	uint64_t flags = vshmi_get64(msg->payload + 32);
	int ret;

	ret = vshmi_check_zero(msg->payload + 1, 7, name, "padding", err);
	if (ret)
		return ret;
	if (flags & ~(uint64_t)(VSHM_VU_MMAP_DRAFT_R | VSHM_VU_MMAP_DRAFT_W))
		return vshmi_fail(err, VSHM_EFIELD,
				  "%s: flags 0x%llx has bits other than 0x1 (read-write) and 0x2 (draft MAP_W)",
				  name, (unsigned long long)flags);
	return 0;
}

static int check_mem_size(uint32_t size, const char *name,
			  struct vshm_err *err)
{
	if (size == 0)
		return vshmi_fail(err, VSHM_EFIELD, "%s: size is 0, must be 1..%u",
				  name, VSHM_MEM_DATA_MAX);
	if (size > VSHM_MEM_DATA_MAX)
		return vshmi_fail(err, VSHM_EDATASIZE,
				  "%s: data size %u is above the cap of %u bytes",
				  name, size, VSHM_MEM_DATA_MAX);
	return 0;
}

/*
 * The series' libvhost-user sends sizeof() of its C struct {u64; u32; u8[]},
 * which is padded to 8: its payloads end in up to 7 zero bytes.  A payload
 * is accepted at its exact length or at that length rounded up to 8 with
 * the extra bytes zero (Documentation/protocol.rst, "padded payloads").
 */
static int check_mem_padding(const struct vshm_msg *msg, uint32_t exact,
			     const char *name, struct vshm_err *err)
{
	uint32_t padded = (exact + 7u) & ~7u;

	if (msg->hdr.size == exact)
		return 0;
	if (msg->hdr.size != padded)
		return vshmi_fail(err, VSHM_ESIZE,
				  "%s: payload is %u bytes, must be %u (or %u with zero padding)",
				  name, msg->hdr.size, exact, padded);
	return vshmi_check_zero(msg->payload + exact, padded - exact, name,
				"trailing padding", err);
}

static int check_mem_read(const struct vshm_msg *msg, const char *name,
			  struct vshm_err *err)
{
	int ret;

	ret = check_mem_size(vshmi_get32(msg->payload + 8), name, err);
	if (ret)
		return ret;
	return check_mem_padding(msg, VSHM_VU_MEM_ACCESS_SIZE, name, err);
}

static int check_mem_write(const struct vshm_msg *msg, const char *name,
			   struct vshm_err *err)
{
	uint32_t size = vshmi_get32(msg->payload + 8);
	int ret;

	ret = check_mem_size(size, name, err);
	if (ret)
		return ret;
	return check_mem_padding(msg, VSHM_VU_MEM_ACCESS_SIZE + size, name, err);
}

static int check_mem_read_reply(const struct vshm_msg *msg, const char *name,
				struct vshm_err *err)
{
	uint64_t status = vshmi_get64(msg->payload);

	if (status && msg->hdr.size != VSHM_VU_U64_SIZE)
		return vshmi_fail(err, VSHM_ESIZE,
				  "%s reply: failure status %llu with a %u-byte payload, must be 8",
				  name, (unsigned long long)status, msg->hdr.size);
	if (!status && msg->hdr.size == VSHM_VU_U64_SIZE)
		return vshmi_fail(err, VSHM_ESIZE,
				  "%s reply: status 0 without data, payload must be 8 + size",
				  name);
	return 0;
}

static int check_shmem_config(const struct vshm_msg *msg, const char *name,
			      struct vshm_err *err)
{
	uint32_t n = vshmi_get32(msg->payload);
	int ret;

	ret = vshmi_check_zero(msg->payload + 4, 4, name, "padding", err);
	if (ret)
		return ret;
	if (n > VSHM_MAX_SHMIDS)
		return vshmi_fail(err, VSHM_EFIELD,
				  "%s reply: nregions %u is above %u", name, n,
				  VSHM_MAX_SHMIDS);
	return vshmi_check_region_sizes(msg->payload + 8, VSHM_MAX_SHMIDS, name, err);
}

#define SPEC(n, lo, hi, fmin, fmax, chk) \
	{ .name = n, .min = lo, .max = hi, .fds_min = fmin, .fds_max = fmax, .check = chk }

static const struct vshmi_spec backend_req[] = {
	[VSHM_VU_BACKEND_IOTLB_MSG] = SPEC("IOTLB_MSG", 32, 32, 0, 0, NULL),
	[VSHM_VU_BACKEND_CONFIG_CHANGE_MSG] = SPEC("CONFIG_CHANGE_MSG", 0, 0, 0, 0, NULL),
	[VSHM_VU_BACKEND_VRING_HOST_NOTIFIER_MSG] =
		SPEC("VRING_HOST_NOTIFIER_MSG", 24, 24, 0, 1, NULL),
	[VSHM_VU_BACKEND_VRING_CALL] = SPEC("VRING_CALL", 8, 8, 0, 0, NULL),
	[VSHM_VU_BACKEND_VRING_ERR] = SPEC("VRING_ERR", 8, 8, 0, 0, NULL),
	[VSHM_VU_BACKEND_SHARED_OBJECT_ADD] = SPEC("SHARED_OBJECT_ADD", 16, 16, 0, 1, NULL),
	[VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE] = SPEC("SHARED_OBJECT_REMOVE", 16, 16, 0, 0, NULL),
	[VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP] = SPEC("SHARED_OBJECT_LOOKUP", 16, 16, 0, 0, NULL),
	[VSHM_VU_BACKEND_SHMEM_MAP] = SPEC("SHMEM_MAP", 40, 40, 1, 1, check_mmap),
	[VSHM_VU_BACKEND_SHMEM_UNMAP] = SPEC("SHMEM_UNMAP", 40, 40, 0, 0, check_mmap),
	[VSHM_VU_BACKEND_MEM_READ] = SPEC("MEM_READ", 12, 16, 0, 0, check_mem_read),
	[VSHM_VU_BACKEND_MEM_WRITE] = SPEC("MEM_WRITE", 13, VSHM_PAYLOAD_MAX, 0, 0,
					   check_mem_write),
};

/* Main-channel requests libvshm serves or sends (frontend.c); others are opaque. */
static const struct vshmi_spec frontend_req[] = {
	[VSHM_VU_GET_FEATURES] = SPEC("GET_FEATURES", 0, 0, 0, 0, NULL),
	[VSHM_VU_SET_FEATURES] = SPEC("SET_FEATURES", 8, 8, 0, 0, NULL),
	[VSHM_VU_SET_OWNER] = SPEC("SET_OWNER", 0, 0, 0, 0, NULL),
	[VSHM_VU_GET_PROTOCOL_FEATURES] = SPEC("GET_PROTOCOL_FEATURES", 0, 0, 0, 0, NULL),
	[VSHM_VU_SET_PROTOCOL_FEATURES] = SPEC("SET_PROTOCOL_FEATURES", 8, 8, 0, 0, NULL),
	[VSHM_VU_SET_BACKEND_REQ_FD] = SPEC("SET_BACKEND_REQ_FD", 0, 0, 1, 1, NULL),
};

/* Find the spec of a message; 1 if the request is opaque (forwarded as is). */
static int find_spec(enum vshm_proto proto, uint32_t request, bool reply,
		     struct vshmi_spec *spec)
{
	static const struct vshmi_spec opaque =
		SPEC("unknown", 0, VSHM_PAYLOAD_MAX, 0, VSHM_VU_MAX_FDS, NULL);

	switch (proto) {
	case VSHM_PROTO_CONTROL:
		return vshmi_ctl_spec(request, reply, spec);
	case VSHM_PROTO_BACKEND:
		if (request == 0 || request >= VSHMI_ARRAY_SIZE(backend_req))
			break;
		*spec = backend_req[request];
		if (!reply)
			return 0;
		if (request == VSHM_VU_BACKEND_MEM_READ)
			*spec = (struct vshmi_spec)SPEC(spec->name, VSHM_VU_U64_SIZE,
				VSHM_VU_U64_SIZE + VSHM_MEM_DATA_MAX, 0, 0,
				check_mem_read_reply);
		else if (request == VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP)
			*spec = (struct vshmi_spec)SPEC(spec->name, 8, 8, 0, 1, NULL);
		else
			*spec = (struct vshmi_spec)SPEC(spec->name, 8, 8, 0, 0, NULL);
		return 0;
	case VSHM_PROTO_FRONTEND:
		if (request == VSHM_VU_GET_SHMEM_CONFIG) {
			if (reply)
				*spec = (struct vshmi_spec)SPEC("GET_SHMEM_CONFIG",
					sizeof(struct vshm_vu_shmem_config),
					sizeof(struct vshm_vu_shmem_config), 0, 0,
					check_shmem_config);
			else
				*spec = (struct vshmi_spec)SPEC("GET_SHMEM_CONFIG", 0, 0, 0, 0, NULL);
			return 0;
		}
		if (request >= VSHMI_ARRAY_SIZE(frontend_req) ||
		    !frontend_req[request].name)
			break;
		*spec = frontend_req[request];
		/* every reply here is a u64: a value or a REPLY_ACK */
		if (reply)
			*spec = (struct vshmi_spec)SPEC(spec->name, 8, 8, 0, 0, NULL);
		return 0;
	default:
		return -EINVAL;
	}
	*spec = opaque;
	return 1;
}

const char *vshm_request_name(enum vshm_proto proto, uint32_t request)
{
	struct vshmi_spec spec;

	if (find_spec(proto, request, false, &spec) != 0)
		return "unknown";
	return spec.name;
}

static int check_header(enum vshm_proto proto, const struct vshm_hdr *hdr,
			struct vshm_err *err)
{
	if ((hdr->flags & VSHM_HDR_VERSION_MASK) != VSHM_HDR_VERSION)
		return vshmi_fail(err, VSHM_EVERSION,
				  "request %u: header version bits are %u, must be 1 (flags 0x%x)",
				  hdr->request, hdr->flags & VSHM_HDR_VERSION_MASK,
				  hdr->flags);
	if (hdr->flags & ~VSHM_HDR_FLAGS_ALL)
		return vshmi_fail(err, VSHM_EHDRFLAGS,
				  "request %u: header flags 0x%x have reserved bits 0x%x set",
				  hdr->request, hdr->flags,
				  hdr->flags & ~VSHM_HDR_FLAGS_ALL);
	if ((hdr->flags & VSHM_HDR_REPLY) && (hdr->flags & VSHM_HDR_NEED_REPLY))
		return vshmi_fail(err, VSHM_EHDRFLAGS,
				  "request %u: a reply must not set NEED_REPLY (flags 0x%x)",
				  hdr->request, hdr->flags);
	if (hdr->size > VSHM_PAYLOAD_MAX)
		return vshmi_fail(err, VSHM_EFRAMESIZE,
				  "%s: header payload size %u is above the cap of %u bytes",
				  vshm_request_name(proto, hdr->request), hdr->size,
				  VSHM_PAYLOAD_MAX);
	return 0;
}

int vshmi_check_header(enum vshm_proto proto, const struct vshm_hdr *hdr,
		       struct vshm_err *err)
{
	return check_header(proto, hdr, err);
}

int vshm_msg_check(enum vshm_proto proto, const struct vshm_msg *msg,
		   struct vshm_err *err)
{
	bool reply = msg->hdr.flags & VSHM_HDR_REPLY;
	const char *dir = reply ? " reply" : "";
	struct vshmi_spec spec;
	int ret;

	ret = check_header(proto, &msg->hdr, err);
	if (ret)
		return ret;
	if (msg->nfds > VSHM_MAX_FDS)
		return vshmi_fail(err, VSHM_EFDEXTRA, "%u fds, at most %u",
				  msg->nfds, VSHM_MAX_FDS);
	ret = find_spec(proto, msg->hdr.request, reply, &spec);
	if (ret == -VSHM_EREQUEST)
		return vshmi_fail(err, VSHM_EREQUEST,
				  "request %u is not a control request (1..%u)",
				  msg->hdr.request, VSHM_CTL_MAX_REQUEST);
	if (ret < 0)
		return vshmi_fail(err, -ret, "protocol %d is not known", proto);
	if (msg->hdr.size < spec.min || msg->hdr.size > spec.max) {
		if (spec.min == spec.max)
			return vshmi_fail(err, VSHM_ESIZE,
					  "%s%s: payload is %u bytes, must be %u",
					  spec.name, dir, msg->hdr.size, spec.min);
		return vshmi_fail(err, VSHM_ESIZE,
				  "%s%s: payload is %u bytes, must be %u..%u",
				  spec.name, dir, msg->hdr.size, spec.min, spec.max);
	}
	if (msg->nfds < spec.fds_min)
		return vshmi_fail(err, VSHM_EFDMISSING,
				  "%s%s: %u fds, needs %u", spec.name, dir,
				  msg->nfds, spec.fds_min);
	if (msg->nfds > spec.fds_max)
		return vshmi_fail(err, VSHM_EFDEXTRA,
				  "%s%s: %u fds, at most %u allowed", spec.name,
				  dir, msg->nfds, spec.fds_max);
	if (spec.check)
		return spec.check(msg, spec.name, err);
	return 0;
}

ssize_t vshm_msg_parse(enum vshm_proto proto, const void *buf, size_t len,
		       const int *fds, unsigned int nfds, struct vshm_msg *msg,
		       struct vshm_err *err)
{
	int ret;

	msg->nfds = 0;
	msg->flags = 0;
	if (nfds > VSHM_MAX_FDS) {
		vshmi_close_fds(fds, nfds);
		return vshmi_fail(err, VSHM_EFDEXTRA, "%u fds, at most %u",
				  nfds, VSHM_MAX_FDS);
	}
	if (len < VSHM_HDR_SIZE) {
		vshmi_close_fds(fds, nfds);
		return vshmi_fail(err, VSHM_ETRUNC,
				  "%zu bytes, shorter than the 12-byte header", len);
	}
	memcpy(&msg->hdr, buf, VSHM_HDR_SIZE);
	ret = check_header(proto, &msg->hdr, err);
	if (ret) {
		vshmi_close_fds(fds, nfds);
		return ret;
	}
	if (len - VSHM_HDR_SIZE < msg->hdr.size) {
		vshmi_close_fds(fds, nfds);
		return vshmi_fail(err, VSHM_ETRUNC,
				  "%s: %zu payload bytes present, header says %u",
				  vshm_request_name(proto, msg->hdr.request),
				  len - VSHM_HDR_SIZE, msg->hdr.size);
	}
	memcpy(msg->payload, (const uint8_t *)buf + VSHM_HDR_SIZE, msg->hdr.size);
	if (nfds)
		memcpy(msg->fds, fds, nfds * sizeof(int));
	msg->nfds = nfds;
	msg->flags = VSHM_MSG_OWNS_FDS;
	ret = vshm_msg_check(proto, msg, err);
	if (ret) {
		vshm_msg_release(msg);
		return ret;
	}
	return VSHM_HDR_SIZE + msg->hdr.size;
}

/* Encoders. */

static void put_mmap(struct vshm_msg *msg, const struct vshm_vu_mmap *m)
{
	uint8_t *p = msg->payload;

	memset(p, 0, sizeof(*m));
	p[0] = m->shmid;
	vshmi_put64(p + 8, m->fd_offset);
	vshmi_put64(p + 16, m->shm_offset);
	vshmi_put64(p + 24, m->len);
	vshmi_put64(p + 32, m->flags);
	msg->hdr.size = sizeof(*m);
}

int vshm_encode_shmem_map(struct vshm_msg *msg, const struct vshm_vu_mmap *m,
			  int fd, bool need_reply)
{
	vshm_msg_init(msg, VSHM_VU_BACKEND_SHMEM_MAP,
		      need_reply ? VSHM_HDR_NEED_REPLY : 0);
	put_mmap(msg, m);
	return vshm_msg_add_fd(msg, fd);
}

int vshm_encode_shmem_unmap(struct vshm_msg *msg, const struct vshm_vu_mmap *m,
			    bool need_reply)
{
	vshm_msg_init(msg, VSHM_VU_BACKEND_SHMEM_UNMAP,
		      need_reply ? VSHM_HDR_NEED_REPLY : 0);
	put_mmap(msg, m);
	return 0;
}

int vshm_encode_get_shmem_config(struct vshm_msg *msg)
{
	vshm_msg_init(msg, VSHM_VU_GET_SHMEM_CONFIG, 0);
	return 0;
}

int vshm_encode_shmem_config_reply(struct vshm_msg *msg,
				   const struct vshm_vu_shmem_config *cfg)
{
	unsigned int i;

	if (cfg->nregions > VSHM_MAX_SHMIDS)
		return -EINVAL;
	vshm_msg_init(msg, VSHM_VU_GET_SHMEM_CONFIG, VSHM_HDR_REPLY);
	memset(msg->payload, 0, sizeof(*cfg));
	vshmi_put32(msg->payload, cfg->nregions);
	for (i = 0; i < VSHM_MAX_SHMIDS; i++)
		vshmi_put64(msg->payload + 8 + 8 * i, cfg->memory_sizes[i]);
	msg->hdr.size = sizeof(*cfg);
	return 0;
}

int vshm_encode_mem_read(struct vshm_msg *msg, uint64_t guest_address,
			 uint32_t size)
{
	if (size == 0 || size > VSHM_MEM_DATA_MAX)
		return -EINVAL;
	vshm_msg_init(msg, VSHM_VU_BACKEND_MEM_READ, 0);
	vshmi_put64(msg->payload, guest_address);
	vshmi_put32(msg->payload + 8, size);
	msg->hdr.size = VSHM_VU_MEM_ACCESS_SIZE;
	return 0;
}

int vshm_encode_mem_read_reply(struct vshm_msg *msg, uint64_t status,
			       const void *data, uint32_t size)
{
	if (status == 0 && (size == 0 || size > VSHM_MEM_DATA_MAX || !data))
		return -EINVAL;
	vshm_msg_init(msg, VSHM_VU_BACKEND_MEM_READ, VSHM_HDR_REPLY);
	vshmi_put64(msg->payload, status);
	msg->hdr.size = VSHM_VU_U64_SIZE;
	if (status == 0) {
		/* Data already read in place is not copied onto itself. */
		if (data != msg->payload + VSHM_VU_U64_SIZE)
			memcpy(msg->payload + VSHM_VU_U64_SIZE, data, size);
		msg->hdr.size += size;
	}
	return 0;
}

int vshm_encode_mem_write(struct vshm_msg *msg, uint64_t guest_address,
			  const void *data, uint32_t size, bool need_reply)
{
	if (size == 0 || size > VSHM_MEM_DATA_MAX || !data)
		return -EINVAL;
	vshm_msg_init(msg, VSHM_VU_BACKEND_MEM_WRITE,
		      need_reply ? VSHM_HDR_NEED_REPLY : 0);
	vshmi_put64(msg->payload, guest_address);
	vshmi_put32(msg->payload + 8, size);
	memcpy(msg->payload + VSHM_VU_MEM_ACCESS_SIZE, data, size);
	msg->hdr.size = VSHM_VU_MEM_ACCESS_SIZE + size;
	return 0;
}

int vshm_encode_shared_object(struct vshm_msg *msg, uint32_t request,
			      const uint8_t uuid[16], int fd)
{
	if (request < VSHM_VU_BACKEND_SHARED_OBJECT_ADD ||
	    request > VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP)
		return -EINVAL;
	if (fd >= 0 && request != VSHM_VU_BACKEND_SHARED_OBJECT_ADD)
		return -EINVAL;
	vshm_msg_init(msg, request, 0);
	memcpy(msg->payload, uuid, VSHM_VU_UUID_SIZE);
	msg->hdr.size = VSHM_VU_UUID_SIZE;
	return fd >= 0 ? vshm_msg_add_fd(msg, fd) : 0;
}

int vshm_encode_reply_u64(struct vshm_msg *msg, uint32_t request, uint64_t value)
{
	vshm_msg_init(msg, request, VSHM_HDR_REPLY);
	vshmi_put64(msg->payload, value);
	msg->hdr.size = VSHM_VU_U64_SIZE;
	return 0;
}

/* Decoders. */

int vshmi_expect(const struct vshm_msg *msg, enum vshm_proto proto,
		 uint32_t request, bool reply, struct vshm_err *err)
{
	if (msg->hdr.request != request ||
	    !!(msg->hdr.flags & VSHM_HDR_REPLY) != reply)
		return vshmi_fail(err, VSHM_EREPLY,
				  "expected %s%s (%u), got request %u%s",
				  vshm_request_name(proto, request),
				  reply ? " reply" : "", request,
				  msg->hdr.request,
				  (msg->hdr.flags & VSHM_HDR_REPLY) ? " (reply)" : "");
	return vshm_msg_check(proto, msg, err);
}

/*
 * vshmi_expect() for a back-end request that one decoder takes in several
 * kinds, first..last: the message's own kind if it is one of them, else
 * first (which then fails, naming first).
 */
static int expect_backend_req(const struct vshm_msg *msg, uint32_t first,
			      uint32_t last, struct vshm_err *err)
{
	uint32_t req = msg->hdr.request;

	if (req < first || req > last)
		req = first;
	return vshmi_expect(msg, VSHM_PROTO_BACKEND, req, false, err);
}

int vshm_decode_mmap(const struct vshm_msg *msg, struct vshm_vu_mmap *m,
		     struct vshm_err *err)
{
	const uint8_t *p = msg->payload;
	int ret;

	ret = expect_backend_req(msg, VSHM_VU_BACKEND_SHMEM_MAP,
				 VSHM_VU_BACKEND_SHMEM_UNMAP, err);
	if (ret)
		return ret;
	memset(m, 0, sizeof(*m));
	m->shmid = p[0];
	m->fd_offset = vshmi_get64(p + 8);
	m->shm_offset = vshmi_get64(p + 16);
	m->len = vshmi_get64(p + 24);
	m->flags = vshmi_get64(p + 32);
	return 0;
}

int vshm_decode_shmem_config_reply(const struct vshm_msg *msg,
				   struct vshm_vu_shmem_config *cfg,
				   struct vshm_err *err)
{
	unsigned int i;
	int ret;

	ret = vshmi_expect(msg, VSHM_PROTO_FRONTEND, VSHM_VU_GET_SHMEM_CONFIG, true, err);
	if (ret)
		return ret;
	memset(cfg, 0, sizeof(*cfg));
	cfg->nregions = vshmi_get32(msg->payload);
	for (i = 0; i < VSHM_MAX_SHMIDS; i++)
		cfg->memory_sizes[i] = vshmi_get64(msg->payload + 8 + 8 * i);
	return 0;
}

int vshm_decode_mem_access(const struct vshm_msg *msg,
			   struct vshm_vu_mem_access *a, struct vshm_err *err)
{
	int ret;

	ret = expect_backend_req(msg, VSHM_VU_BACKEND_MEM_READ,
				 VSHM_VU_BACKEND_MEM_WRITE, err);
	if (ret)
		return ret;
	a->guest_address = vshmi_get64(msg->payload);
	a->size = vshmi_get32(msg->payload + 8);
	a->data = msg->hdr.request == VSHM_VU_BACKEND_MEM_WRITE ?
		  msg->payload + VSHM_VU_MEM_ACCESS_SIZE : NULL;
	return 0;
}

int vshm_decode_mem_read_reply(const struct vshm_msg *msg, uint32_t want,
			       uint64_t *status, const uint8_t **data,
			       struct vshm_err *err)
{
	int ret;

	ret = vshmi_expect(msg, VSHM_PROTO_BACKEND, VSHM_VU_BACKEND_MEM_READ, true, err);
	if (ret)
		return ret;
	*status = vshmi_get64(msg->payload);
	*data = NULL;
	if (*status)
		return 0;
	if (msg->hdr.size - VSHM_VU_U64_SIZE != want)
		return vshmi_fail(err, VSHM_ESIZE,
				  "MEM_READ reply: %u data bytes, the request asked for %u",
				  msg->hdr.size - VSHM_VU_U64_SIZE, want);
	*data = msg->payload + VSHM_VU_U64_SIZE;
	return 0;
}

int vshm_decode_shared_object(const struct vshm_msg *msg, uint8_t uuid[16],
			      struct vshm_err *err)
{
	int ret;

	ret = expect_backend_req(msg, VSHM_VU_BACKEND_SHARED_OBJECT_ADD,
				 VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP, err);
	if (ret)
		return ret;
	memcpy(uuid, msg->payload, VSHM_VU_UUID_SIZE);
	return 0;
}

int vshm_decode_reply_u64(const struct vshm_msg *msg, uint32_t request,
			  uint64_t *value, struct vshm_err *err)
{
	int ret;

	if (request == VSHM_VU_BACKEND_MEM_READ)
		return vshmi_fail(err, EINVAL,
				  "MEM_READ replies are decoded with vshm_decode_mem_read_reply()");
	ret = vshmi_expect(msg, VSHM_PROTO_BACKEND, request, true, err);
	if (ret)
		return ret;
	*value = vshmi_get64(msg->payload);
	return 0;
}

int vshm_mmap_flags_writable(uint64_t flags, enum vshm_flag_encoding enc,
			     bool *writable, struct vshm_err *err)
{
	switch (enc) {
	case VSHM_FLAGS_FINAL:
		if (flags & ~(uint64_t)VSHM_VU_MMAP_RW)
			return vshmi_fail(err, VSHM_EFIELD,
					  "SHMEM_MAP flags 0x%llx: only bit 0 (read-write) is defined in the final encoding",
					  (unsigned long long)flags);
		*writable = flags & VSHM_VU_MMAP_RW;
		return 0;
	case VSHM_FLAGS_DRAFT:
		if (flags & ~(uint64_t)(VSHM_VU_MMAP_DRAFT_R | VSHM_VU_MMAP_DRAFT_W))
			return vshmi_fail(err, VSHM_EFIELD,
					  "SHMEM_MAP flags 0x%llx: only MAP_R (1) and MAP_W (2) are defined in the draft encoding",
					  (unsigned long long)flags);
		if (flags == VSHM_VU_MMAP_DRAFT_W)
			return vshmi_fail(err, VSHM_EFIELD,
					  "SHMEM_MAP flags 0x2: MAP_W without MAP_R (write-only) cannot be mapped");
		if (flags == 0)
			return vshmi_fail(err, VSHM_EFIELD,
					  "SHMEM_MAP flags 0: neither MAP_R nor MAP_W in the draft encoding");
		*writable = flags & VSHM_VU_MMAP_DRAFT_W;
		return 0;
	}
	return vshmi_fail(err, EINVAL, "unknown flag encoding %d", (int)enc);
}

uint64_t vshm_mmap_flags_make(bool writable, enum vshm_flag_encoding enc)
{
	if (enc == VSHM_FLAGS_DRAFT)
		return VSHM_VU_MMAP_DRAFT_R | (writable ? VSHM_VU_MMAP_DRAFT_W : 0);
	return writable ? VSHM_VU_MMAP_RW : 0;
}
