// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vshm control protocol: message specs, encoders and decoders.
 * Layouts are in include/vshm/control.h; every reply starts with
 * struct vshm_ctl_status.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"

_Static_assert(sizeof(struct vshm_ctl_status) == 8, "status");
_Static_assert(sizeof(struct vshm_ctl_hello) == 16, "hello");
_Static_assert(sizeof(struct vshm_ctl_add_device) == 16, "add_device");
_Static_assert(sizeof(struct vshm_ctl_device) == 16, "device");
_Static_assert(sizeof(struct vshm_ctl_region_ref) == 8, "region_ref");
_Static_assert(sizeof(struct vshm_ctl_region) == 16, "region");
_Static_assert(sizeof(struct vshm_ctl_region_addr) == 16, "region_addr");
_Static_assert(sizeof(struct vshm_ctl_ram_range) == 32, "ram_range");
_Static_assert(sizeof(struct vshm_ctl_mem_table) == 8, "mem_table");
_Static_assert(sizeof(struct vshm_ctl_dev_ref) == 8, "dev_ref");
_Static_assert(sizeof(struct vshm_ctl_stats) == 128, "stats");
_Static_assert(sizeof(struct vshm_ctl_list) == 8, "list");
_Static_assert(sizeof(struct vshm_ctl_device_entry) == 16, "device_entry");
_Static_assert(sizeof(struct vshm_ctl_list_mappings) == 16, "list_mappings");
_Static_assert(sizeof(struct vshm_mapping_entry) == 32, "mapping");
_Static_assert(sizeof(struct vshm_ctl_vmm_map) == 40, "vmm_map");
_Static_assert(sizeof(struct vshm_ctl_vmm_reset) == 8, "vmm_reset");
_Static_assert(sizeof(struct vshm_ctl_broker_info) == 48, "broker_info");
_Static_assert(sizeof(struct vshm_ctl_list_regions) == 8, "list_regions");
_Static_assert(sizeof(struct vshm_ctl_region_entry) == 40, "region_entry");
_Static_assert(sizeof(struct vshm_ctl_list_start) == 8, "list_start");
_Static_assert(sizeof(struct vshm_ctl_shared_object_entry) == 32, "sobj_entry");
_Static_assert(sizeof(struct vshm_ctl_client_entry) == 40, "client_entry");
_Static_assert(sizeof(struct vshm_ctl_limit) == 48, "limit");
_Static_assert(sizeof(struct vshm_ctl_adopt_device) == 16, "adopt_device");
_Static_assert(sizeof(struct vshm_ctl_adopt_region) == 24, "adopt_region");

#define ST sizeof(struct vshm_ctl_status)

static int zero_at(const struct vshm_msg *msg, size_t off, size_t len,
		   const char *name, const char *what, struct vshm_err *err)
{
	return vshmi_check_zero(msg->payload + off, len, name, what, err);
}

static int check_shmid(uint32_t shmid, const char *name, struct vshm_err *err)
{
	if (shmid >= VSHM_MAX_SHMIDS)
		return vshmi_fail(err, VSHM_EFIELD, "%s: shmid %u, must be 0..%u",
				  name, shmid, VSHM_MAX_SHMIDS - 1);
	return 0;
}

/* Requests. */

static int req_hello(const struct vshm_msg *m, const char *name,
		     struct vshm_err *err)
{
	uint32_t feat = vshmi_get32(m->payload + 4);

	if (feat & ~VSHM_CTL_FEAT_ALL)
		return vshmi_fail(err, VSHM_EFIELD,
				  "%s: features 0x%x, known are 0x%x", name, feat,
				  VSHM_CTL_FEAT_ALL);
	return zero_at(m, 8, 8, name, "reserved", err);
}

/*
 * The header ADD_DEVICE and ADOPT_DEVICE share (u32 flags, u32 nregions,
 * u64 reserved), followed by nregions entries of esize bytes.
 */
static int device_header(const struct vshm_msg *m, const char *name,
			 size_t esize, struct vshm_err *err)
{
	uint32_t flags = vshmi_get32(m->payload);
	uint32_t n = vshmi_get32(m->payload + 4);
	int ret;

	if (flags & ~VSHM_CTL_DEV_FLAGS_ALL)
		return vshmi_fail(err, VSHM_EFIELD, "%s: flags 0x%x, known are 0x%x",
				  name, flags, VSHM_CTL_DEV_FLAGS_ALL);
	ret = zero_at(m, 8, 8, name, "reserved", err);
	if (ret)
		return ret;
	if (n > VSHM_MAX_SHMIDS)
		return vshmi_fail(err, VSHM_EFIELD, "%s: nregions %u, at most %u",
				  name, n, VSHM_MAX_SHMIDS);
	if (m->hdr.size != 16 + esize * n)
		return vshmi_fail(err, VSHM_ESIZE,
				  "%s: payload is %u bytes, must be 16 + %zu * nregions (%u) = %zu",
				  name, m->hdr.size, esize, n, 16 + esize * n);
	return 0;
}

static int req_add_device(const struct vshm_msg *m, const char *name,
			  struct vshm_err *err)
{
	uint32_t flags = vshmi_get32(m->payload);
	uint32_t n = vshmi_get32(m->payload + 4);
	unsigned int want_fds;
	int ret;

	ret = device_header(m, name, 8, err);
	if (ret)
		return ret;
	want_fds = 1 + !!(flags & VSHM_CTL_DEV_FORWARD);
	if (m->nfds < want_fds)
		return vshmi_fail(err, VSHM_EFDMISSING,
				  "%s: %u fds, needs %u (backend channel%s)", name,
				  m->nfds, want_fds,
				  want_fds == 2 ? " and forward socket" : "");
	if (m->nfds > want_fds)
		return vshmi_fail(err, VSHM_EFDEXTRA,
				  "%s: %u fds, must be %u (the forward socket needs flag FORWARD)",
				  name, m->nfds, want_fds);
	return vshmi_check_region_sizes(m->payload + 16, n, name, err);
}

/*
 * ADOPT_DEVICE: the device's flags and regions, an fd for every region
 * and only for those, placed regions page-aligned and not wrapping.
 */
static int req_adopt_device(const struct vshm_msg *m, const char *name,
			    struct vshm_err *err)
{
	const size_t esize = sizeof(struct vshm_ctl_adopt_region);
	uint32_t flags = vshmi_get32(m->payload);
	uint32_t n = vshmi_get32(m->payload + 4);
	unsigned int want_fds, i;
	int ret;

	ret = device_header(m, name, esize, err);
	if (ret)
		return ret;
	want_fds = 1 + !!(flags & VSHM_CTL_DEV_FORWARD);
	for (i = 0; i < n; i++) {
		const uint8_t *e = m->payload + 16 + esize * i;
		uint64_t sz = vshmi_get64(e), ga = vshmi_get64(e + 8), end;
		uint32_t rflags = vshmi_get32(e + 16);

		if (sz % VSHM_PAGE_SIZE)
			return vshmi_fail(err, VSHM_EFIELD,
					  "%s: size of shmid %u is %llu, not a multiple of %u",
					  name, i, (unsigned long long)sz,
					  VSHM_PAGE_SIZE);
		if (rflags & ~VSHM_CTL_REGION_PLACED)
			return vshmi_fail(err, VSHM_EFIELD,
					  "%s: shmid %u flags 0x%x, known are 0x%x",
					  name, i, rflags, VSHM_CTL_REGION_PLACED);
		ret = zero_at(m, 16 + esize * i + 20, 4, name, "reserved", err);
		if (ret)
			return ret;
		if (!(rflags & VSHM_CTL_REGION_PLACED) ? ga != 0 :
		    !sz || ga % VSHM_PAGE_SIZE ||
		    __builtin_add_overflow(ga, sz, &end))
			return vshmi_fail(err, VSHM_EFIELD,
					  "%s: shmid %u guest_addr 0x%llx: placed regions are page-aligned and do not wrap, others 0",
					  name, i, (unsigned long long)ga);
		want_fds += sz != 0;
	}
	if (m->nfds != want_fds)
		return vshmi_fail(err, m->nfds < want_fds ? VSHM_EFDMISSING :
				  VSHM_EFDEXTRA,
				  "%s: %u fds, must be %u (backend channel%s, one per region)",
				  name, m->nfds, want_fds,
				  flags & VSHM_CTL_DEV_FORWARD ? ", forward socket" : "");
	return 0;
}

static int req_region_ref(const struct vshm_msg *m, const char *name,
			  struct vshm_err *err)
{
	return check_shmid(vshmi_get32(m->payload + 4), name, err);
}

static int req_mem_table(const struct vshm_msg *m, const char *name,
			 struct vshm_err *err)
{
	uint32_t n = vshmi_get32(m->payload);
	unsigned int i;
	int ret;

	ret = zero_at(m, 4, 4, name, "reserved", err);
	if (ret)
		return ret;
	if (n > VSHM_CTL_MAX_RAM_RANGES)
		return vshmi_fail(err, VSHM_EFIELD, "%s: nranges %u, at most %u",
				  name, n, VSHM_CTL_MAX_RAM_RANGES);
	if (m->hdr.size != 8 + sizeof(struct vshm_ctl_ram_range) * n)
		return vshmi_fail(err, VSHM_ESIZE,
				  "%s: payload is %u bytes, must be 8 + 32 * nranges (%u) = %zu",
				  name, m->hdr.size, n,
				  8 + sizeof(struct vshm_ctl_ram_range) * n);
	if (m->nfds < n)
		return vshmi_fail(err, VSHM_EFDMISSING,
				  "%s: %u fds, needs one per range (%u)", name,
				  m->nfds, n);
	if (m->nfds > n)
		return vshmi_fail(err, VSHM_EFDEXTRA,
				  "%s: %u fds, must be one per range (%u)", name,
				  m->nfds, n);
	for (i = 0; i < n; i++) {
		const uint8_t *e = m->payload + 8 + 32 * i;
		uint64_t ga = vshmi_get64(e), sz = vshmi_get64(e + 8);

		ret = vshmi_check_zero(e + 24, 8, name, "range reserved", err);
		if (ret)
			return ret;
		if (sz == 0 || ga + sz < ga)
			return vshmi_fail(err, VSHM_EFIELD,
					  "%s: range %u (0x%llx + 0x%llx) is empty or wraps",
					  name, i, (unsigned long long)ga,
					  (unsigned long long)sz);
	}
	return 0;
}

static int req_dev_ref(const struct vshm_msg *m, const char *name,
		       struct vshm_err *err)
{
	return zero_at(m, 4, 4, name, "reserved", err);
}

static int req_list_start(const struct vshm_msg *m, const char *name,
			  struct vshm_err *err)
{
	return zero_at(m, 4, 4, name, "reserved", err);
}

static int req_list_mappings(const struct vshm_msg *m, const char *name,
			     struct vshm_err *err)
{
	int ret = check_shmid(vshmi_get32(m->payload + 4), name, err);

	return ret ? ret : zero_at(m, 12, 4, name, "reserved", err);
}

static int req_vmm_map(const struct vshm_msg *m, const char *name,
		       struct vshm_err *err)
{
	uint64_t fd_off = vshmi_get64(m->payload +
				      offsetof(struct vshm_ctl_vmm_map, fd_offset));
	uint64_t off = vshmi_get64(m->payload +
				   offsetof(struct vshm_ctl_vmm_map, shm_offset));
	uint64_t len = vshmi_get64(m->payload + offsetof(struct vshm_ctl_vmm_map, len));
	uint32_t flags = vshmi_get32(m->payload +
				     offsetof(struct vshm_ctl_vmm_map, flags));
	uint64_t end;
	int ret;

	ret = check_shmid(vshmi_get32(m->payload + 4), name, err);
	if (ret)
		return ret;
	ret = zero_at(m, 36, 4, name, "reserved", err);
	if (ret)
		return ret;
	if (flags & ~VSHM_CTL_VMM_WRITE)
		return vshmi_fail(err, VSHM_EFIELD, "%s: flags 0x%x, known are 0x%x",
				  name, flags, VSHM_CTL_VMM_WRITE);
	if (m->hdr.request == VSHM_CTL_VMM_UNMAP && (fd_off || flags))
		return vshmi_fail(err, VSHM_EFIELD, "%s: fd_offset and flags must be 0",
				  name);
	if (!len || (off | len | fd_off) % VSHM_PAGE_SIZE ||
	    __builtin_add_overflow(off, len, &end) ||
	    __builtin_add_overflow(fd_off, len, &end))
		return vshmi_fail(err, VSHM_EFIELD,
				  "%s: range 0x%llx+0x%llx (source 0x%llx) is empty, unaligned or wraps",
				  name, (unsigned long long)off,
				  (unsigned long long)len, (unsigned long long)fd_off);
	return 0;
}

static int req_vmm_reset(const struct vshm_msg *m, const char *name,
			 struct vshm_err *err)
{
	uint32_t n = vshmi_get32(m->payload + 4);

	if (n > VSHM_MAX_SHMIDS)
		return vshmi_fail(err, VSHM_EFIELD, "%s: nregions %u, at most %u",
				  name, n, VSHM_MAX_SHMIDS);
	return 0;
}

/* Replies: the status word, then the body when the status is 0. */

static int rep_body(const struct vshm_msg *m, const char *name, size_t body,
		    unsigned int fds, struct vshm_err *err)
{
	uint32_t error = vshmi_get32(m->payload);
	size_t want = error ? ST : ST + body;
	int ret;

	ret = zero_at(m, 4, 4, name, "status reserved", err);
	if (ret)
		return ret;
	if (error >= VSHM_ERR_BASE)
		return vshmi_fail(err, VSHM_EFIELD,
				  "%s reply: error %u is not an errno value",
				  name, error);
	if (m->hdr.size != want)
		return vshmi_fail(err, VSHM_ESIZE,
				  "%s reply: payload is %u bytes, must be %zu with error %u",
				  name, m->hdr.size, want, error);
	if (error)
		fds = 0;
	if (m->nfds < fds)
		return vshmi_fail(err, VSHM_EFDMISSING,
				  "%s reply: %u fds, needs %u", name, m->nfds, fds);
	if (m->nfds > fds)
		return vshmi_fail(err, VSHM_EFDEXTRA,
				  "%s reply: %u fds, must be %u", name, m->nfds, fds);
	return 0;
}

static int rep_empty(const struct vshm_msg *m, const char *name,
		     struct vshm_err *err)
{
	return rep_body(m, name, 0, 0, err);
}

/* A NUL-terminated string in a fixed field, NUL-padded (padding is never trusted). */
static int check_cstring(const struct vshm_msg *m, size_t off, size_t len,
			 const char *name, const char *what, struct vshm_err *err)
{
	const uint8_t *s = m->payload + off;
	const uint8_t *nul = memchr(s, 0, len);

	if (!nul)
		return vshmi_fail(err, VSHM_EFIELD, "%s reply: %s is not NUL-terminated",
				  name, what);
	return vshmi_check_zero(nul, len - (nul - s), name, what, err);
}

/* The body is a vshm_ctl_hello, then a vshm_ctl_broker_info if it grants BROKER_INFO. */
static int rep_hello(const struct vshm_msg *m, const char *name,
		     struct vshm_err *err)
{
	size_t body = sizeof(struct vshm_ctl_hello);
	int ret;

	if (!vshmi_get32(m->payload) && m->hdr.size >= ST + body &&
	    (vshmi_get32(m->payload + ST + 4) & VSHM_CTL_FEAT_BROKER_INFO))
		body += sizeof(struct vshm_ctl_broker_info);
	ret = rep_body(m, name, body, 0, err);
	if (ret || vshmi_get32(m->payload))
		return ret;
	ret = zero_at(m, ST + 8, 8, name, "reserved", err);
	if (ret || body == sizeof(struct vshm_ctl_hello))
		return ret;
	ret = zero_at(m, ST + 16 + offsetof(struct vshm_ctl_broker_info, reserved),
		      4, name, "broker info reserved", err);
	return ret ? ret : check_cstring(m, ST + 16 +
					 offsetof(struct vshm_ctl_broker_info, version),
					 32, name, "version", err);
}

static int rep_device(const struct vshm_msg *m, const char *name,
		      struct vshm_err *err)
{
	int ret = rep_body(m, name, sizeof(struct vshm_ctl_device), 0, err);
	uint32_t mode;

	if (ret || vshmi_get32(m->payload))
		return ret;
	if (vshmi_get32(m->payload + ST + 4) > VSHM_MAX_SHMIDS)
		return vshmi_fail(err, VSHM_EFIELD, "%s reply: nregions %u, at most %u",
				  name, vshmi_get32(m->payload + ST + 4),
				  VSHM_MAX_SHMIDS);
	mode = vshmi_get32(m->payload + ST + 8);
	if (mode < VSHM_CTL_REGIONS_KMOD || mode > VSHM_CTL_REGIONS_VMM)
		return vshmi_fail(err, VSHM_EFIELD, "%s reply: region_mode %u, must be 1..3",
				  name, mode);
	return zero_at(m, ST + 12, 4, name, "reserved", err);
}

static int rep_region(const struct vshm_msg *m, const char *name,
		      struct vshm_err *err)
{
	int ret = rep_body(m, name, sizeof(struct vshm_ctl_region), 1, err);

	if (ret || vshmi_get32(m->payload))
		return ret;
	ret = check_shmid(vshmi_get32(m->payload + ST + 8), name, err);
	return ret ? ret : zero_at(m, ST + 12, 4, name, "reserved", err);
}

static int rep_stats(const struct vshm_msg *m, const char *name,
		     struct vshm_err *err)
{
	int ret = rep_body(m, name, sizeof(struct vshm_ctl_stats), 0, err);

	if (ret || vshmi_get32(m->payload))
		return ret;
	return zero_at(m, ST + offsetof(struct vshm_ctl_stats, reserved),
		       sizeof(((struct vshm_ctl_stats *)0)->reserved), name,
		       "reserved", err);
}

/* Checks one list entry at payload offset off. */
typedef int (*entry_check_fn)(const struct vshm_msg *m, size_t off,
			      const char *name, struct vshm_err *err);

static int rep_list_check(const struct vshm_msg *m, const char *name,
			  size_t esize, uint32_t max, entry_check_fn check,
			  struct vshm_err *err)
{
	uint32_t error = vshmi_get32(m->payload), total, count, i;
	int ret;

	if (error || m->hdr.size < ST + sizeof(struct vshm_ctl_list))
		return rep_body(m, name, sizeof(struct vshm_ctl_list), 0, err);
	total = vshmi_get32(m->payload + ST);
	count = vshmi_get32(m->payload + ST + 4);
	if (count > max || count > total)
		return vshmi_fail(err, VSHM_EFIELD,
				  "%s reply: count %u, at most %u and at most total %u",
				  name, count, max, total);
	ret = rep_body(m, name, sizeof(struct vshm_ctl_list) + esize * count, 0, err);
	for (i = 0; !ret && check && i < count; i++)
		ret = check(m, ST + 8 + esize * i, name, err);
	return ret;
}

static int mapping_entry(const struct vshm_msg *m, size_t off,
			 const char *name, struct vshm_err *err)
{
	return zero_at(m, off + 28, 4, name, "mapping reserved", err);
}

static int region_entry(const struct vshm_msg *m, size_t off, const char *name,
			struct vshm_err *err)
{
	uint32_t flags = vshmi_get32(m->payload + off +
				     offsetof(struct vshm_ctl_region_entry, flags));
	int ret = check_shmid(vshmi_get32(m->payload + off + 4), name, err);

	if (ret)
		return ret;
	if (flags & ~VSHM_CTL_REGION_PLACED)
		return vshmi_fail(err, VSHM_EFIELD,
				  "%s reply: region flags 0x%x, known are 0x%x",
				  name, flags, VSHM_CTL_REGION_PLACED);
	return 0;
}

static int ram_entry(const struct vshm_msg *m, size_t off, const char *name,
		     struct vshm_err *err)
{
	return zero_at(m, off + 24, 8, name, "range reserved", err);
}

static int sobj_entry(const struct vshm_msg *m, size_t off, const char *name,
		      struct vshm_err *err)
{
	return zero_at(m, off + 20, 4, name, "shared object reserved", err);
}

#define VSHM_CTL_CLIENT_FLAGS_ALL (VSHM_CTL_CLIENT_SELF | VSHM_CTL_CLIENT_HELLO | \
				   VSHM_CTL_CLIENT_VMM_MAPS)

static int client_entry(const struct vshm_msg *m, size_t off, const char *name,
			struct vshm_err *err)
{
	uint32_t flags = vshmi_get32(m->payload + off + 4);

	if (flags & ~VSHM_CTL_CLIENT_FLAGS_ALL)
		return vshmi_fail(err, VSHM_EFIELD,
				  "%s reply: client flags 0x%x, known are 0x%x",
				  name, flags, VSHM_CTL_CLIENT_FLAGS_ALL);
	return 0;
}

static int limit_entry(const struct vshm_msg *m, size_t off, const char *name,
		       struct vshm_err *err)
{
	uint32_t scope = vshmi_get32(m->payload + off +
				     offsetof(struct vshm_ctl_limit, scope));
	int ret;

	if (scope < VSHM_CTL_LIMIT_BROKER || scope > VSHM_CTL_LIMIT_DEVICE)
		return vshmi_fail(err, VSHM_EFIELD, "%s reply: limit scope %u, must be 1..2",
				  name, scope);
	ret = zero_at(m, off + offsetof(struct vshm_ctl_limit, reserved), 4, name,
		      "limit reserved", err);
	return ret ? ret : check_cstring(m, off, 24, name, "limit name", err);
}

/* What each LIST_* reply holds: entries of esize bytes, at most max, each checked. */
struct list_spec {
	size_t esize;
	uint32_t max;
	entry_check_fn check;
};

static const struct list_spec list_specs[] = {
	[VSHM_CTL_LIST_DEVICES] = { sizeof(struct vshm_ctl_device_entry),
				    VSHM_CTL_MAX_DEVICES, NULL },
	[VSHM_CTL_LIST_MAPPINGS] = { sizeof(struct vshm_mapping_entry),
				     VSHM_CTL_MAX_MAPPINGS, mapping_entry },
	[VSHM_CTL_LIST_REGIONS] = { sizeof(struct vshm_ctl_region_entry),
				    VSHM_CTL_MAX_REGIONS, region_entry },
	[VSHM_CTL_LIST_RAM] = { sizeof(struct vshm_ctl_ram_range),
				VSHM_CTL_MAX_RAM_RANGES, ram_entry },
	[VSHM_CTL_LIST_SHARED_OBJECTS] = { sizeof(struct vshm_ctl_shared_object_entry),
					   VSHM_CTL_MAX_SHARED_OBJECTS, sobj_entry },
	[VSHM_CTL_LIST_CLIENTS] = { sizeof(struct vshm_ctl_client_entry),
				    VSHM_CTL_MAX_CLIENTS, client_entry },
	[VSHM_CTL_GET_LIMITS] = { sizeof(struct vshm_ctl_limit),
				  VSHM_CTL_MAX_LIMITS, limit_entry },
};

/* A list reply, by list_specs[] of its request. */
static int rep_list(const struct vshm_msg *m, const char *name,
		    struct vshm_err *err)
{
	const struct list_spec *l = &list_specs[m->hdr.request];

	return rep_list_check(m, name, l->esize, l->max, l->check, err);
}

struct ctl_pair {
	struct vshmi_spec req, rep;
};

#define REQ(n, lo, hi, fmin, fmax, chk) \
	{ .name = n, .min = lo, .max = hi, .fds_min = fmin, .fds_max = fmax, .check = chk }
#define REP(n, body_max, fmax, chk) \
	{ .name = n, .min = ST, .max = ST + (body_max), .fds_min = 0, .fds_max = fmax, .check = chk }

static const struct ctl_pair ctl_specs[] = {
	[VSHM_CTL_HELLO] = {
		REQ("HELLO", 16, 16, 0, 0, req_hello),
		REP("HELLO", 16 + sizeof(struct vshm_ctl_broker_info), 0, rep_hello) },
	[VSHM_CTL_ADD_DEVICE] = {
		REQ("ADD_DEVICE", 16, 16 + 8 * VSHM_MAX_SHMIDS, 1, 2, req_add_device),
		REP("ADD_DEVICE", 16, 0, rep_device) },
	[VSHM_CTL_GET_REGION] = {
		REQ("GET_REGION", 8, 8, 0, 0, req_region_ref),
		REP("GET_REGION", 16, 1, rep_region) },
	[VSHM_CTL_SET_REGION_ADDR] = {
		REQ("SET_REGION_ADDR", 16, 16, 0, 0, req_region_ref),
		REP("SET_REGION_ADDR", 0, 0, rep_empty) },
	[VSHM_CTL_SET_MEM_TABLE] = {
		REQ("SET_MEM_TABLE", 8, 8 + 32 * VSHM_CTL_MAX_RAM_RANGES, 0,
		    VSHM_CTL_MAX_RAM_RANGES, req_mem_table),
		REP("SET_MEM_TABLE", 0, 0, rep_empty) },
	[VSHM_CTL_RESET_DEVICE] = {
		REQ("RESET_DEVICE", 8, 8, 0, 0, req_dev_ref),
		REP("RESET_DEVICE", 0, 0, rep_empty) },
	[VSHM_CTL_REMOVE_DEVICE] = {
		REQ("REMOVE_DEVICE", 8, 8, 0, 0, req_dev_ref),
		REP("REMOVE_DEVICE", 0, 0, rep_empty) },
	[VSHM_CTL_GET_STATS] = {
		REQ("GET_STATS", 8, 8, 0, 0, req_dev_ref),
		REP("GET_STATS", 128, 0, rep_stats) },
	[VSHM_CTL_LIST_DEVICES] = {
		REQ("LIST_DEVICES", 0, 0, 0, 0, NULL),
		REP("LIST_DEVICES", 8 + 16 * VSHM_CTL_MAX_DEVICES, 0, rep_list) },
	[VSHM_CTL_LIST_MAPPINGS] = {
		REQ("LIST_MAPPINGS", 16, 16, 0, 0, req_list_mappings),
		REP("LIST_MAPPINGS", 8 + 32 * VSHM_CTL_MAX_MAPPINGS, 0, rep_list) },
	[VSHM_CTL_VMM_MAP] = {
		REQ("VMM_MAP", 40, 40, 1, 1, req_vmm_map),
		REP("VMM_MAP", 0, 0, rep_empty) },
	[VSHM_CTL_VMM_UNMAP] = {
		REQ("VMM_UNMAP", 40, 40, 0, 0, req_vmm_map),
		REP("VMM_UNMAP", 0, 0, rep_empty) },
	[VSHM_CTL_VMM_RESET] = {
		REQ("VMM_RESET", 8, 8, 0, 0, req_vmm_reset),
		REP("VMM_RESET", 0, 0, rep_empty) },
	[VSHM_CTL_LIST_REGIONS] = {
		REQ("LIST_REGIONS", 8, 8, 0, 0, NULL),
		REP("LIST_REGIONS", 8 + 40 * VSHM_CTL_MAX_REGIONS, 0, rep_list) },
	[VSHM_CTL_LIST_RAM] = {
		REQ("LIST_RAM", 0, 0, 0, 0, NULL),
		REP("LIST_RAM", 8 + 32 * VSHM_CTL_MAX_RAM_RANGES, 0, rep_list) },
	[VSHM_CTL_LIST_SHARED_OBJECTS] = {
		REQ("LIST_SHARED_OBJECTS", 8, 8, 0, 0, req_list_start),
		REP("LIST_SHARED_OBJECTS", 8 + 32 * VSHM_CTL_MAX_SHARED_OBJECTS, 0,
		    rep_list) },
	[VSHM_CTL_LIST_CLIENTS] = {
		REQ("LIST_CLIENTS", 8, 8, 0, 0, req_list_start),
		REP("LIST_CLIENTS", 8 + 40 * VSHM_CTL_MAX_CLIENTS, 0, rep_list) },
	[VSHM_CTL_GET_LIMITS] = {
		REQ("GET_LIMITS", 0, 0, 0, 0, NULL),
		REP("GET_LIMITS", 8 + 48 * VSHM_CTL_MAX_LIMITS, 0, rep_list) },
	[VSHM_CTL_ADOPT_DEVICE] = {
		REQ("ADOPT_DEVICE", 16, 16 + 24 * VSHM_MAX_SHMIDS, 1, VSHM_MAX_FDS,
		    req_adopt_device),
		REP("ADOPT_DEVICE", 16, 0, rep_device) },
};

int vshmi_ctl_spec(uint32_t request, bool reply, struct vshmi_spec *spec)
{
	if (request == 0 || request >= VSHMI_ARRAY_SIZE(ctl_specs))
		return -VSHM_EREQUEST;
	*spec = reply ? ctl_specs[request].rep : ctl_specs[request].req;
	return 0;
}

const char *vshmi_ctl_name(uint32_t request)
{
	if (request == 0 || request >= VSHMI_ARRAY_SIZE(ctl_specs))
		return NULL;
	return ctl_specs[request].req.name;
}

static int put_fds(struct vshm_msg *msg, const int *fds, unsigned int nfds)
{
	unsigned int i;
	int ret;

	for (i = 0; i < nfds; i++) {
		ret = vshm_msg_add_fd(msg, fds[i]);
		if (ret)
			return ret;
	}
	return 0;
}

int vshm_ctl_encode_request(struct vshm_msg *msg, uint32_t request,
			    const void *payload, size_t len,
			    const int *fds, unsigned int nfds)
{
	int ret;

	if (!vshmi_ctl_name(request))
		return -EINVAL;
	vshm_msg_init(msg, request, 0);
	ret = vshm_msg_append(msg, payload, len);
	return ret ? ret : put_fds(msg, fds, nfds);
}

int vshm_ctl_encode_reply(struct vshm_msg *msg, uint32_t request, uint32_t error,
			  const void *body, size_t len, const int *fds,
			  unsigned int nfds)
{
	struct vshm_ctl_status st = { .error = error };
	int ret;

	if (!vshmi_ctl_name(request) || error >= VSHM_ERR_BASE)
		return -EINVAL;
	vshm_msg_init(msg, request, VSHM_HDR_REPLY);
	ret = vshm_msg_append(msg, &st, sizeof(st));
	if (ret || error)
		return ret;
	ret = vshm_msg_append(msg, body, len);
	return ret ? ret : put_fds(msg, fds, nfds);
}

static int ctl_expect(const struct vshm_msg *msg, uint32_t request, bool reply,
		      struct vshm_err *err)
{
	const char *name = vshmi_ctl_name(request);

	if (!name)
		return vshmi_fail(err, EINVAL, "request %u is not a control request",
				  request);
	if (msg->hdr.request != request ||
	    !!(msg->hdr.flags & VSHM_HDR_REPLY) != reply)
		return vshmi_fail(err, VSHM_EREPLY,
				  "expected %s%s, got request %u%s", name,
				  reply ? " reply" : "", msg->hdr.request,
				  (msg->hdr.flags & VSHM_HDR_REPLY) ? " (reply)" : "");
	return vshm_msg_check(VSHM_PROTO_CONTROL, msg, err);
}

int vshm_ctl_decode_request(const struct vshm_msg *msg, uint32_t request,
			    const void **payload, size_t *len,
			    struct vshm_err *err)
{
	int ret = ctl_expect(msg, request, false, err);

	if (ret)
		return ret;
	*payload = msg->payload;
	*len = msg->hdr.size;
	return 0;
}

int vshm_ctl_decode_reply(const struct vshm_msg *msg, uint32_t request,
			  uint32_t *error, const void **body, size_t *len,
			  struct vshm_err *err)
{
	int ret = ctl_expect(msg, request, true, err);

	if (ret)
		return ret;
	*error = vshmi_get32(msg->payload);
	*body = msg->payload + ST;
	*len = msg->hdr.size - ST;
	return 0;
}
