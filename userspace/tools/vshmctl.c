// SPDX-License-Identifier: GPL-2.0
/*
 * vshmctl: read a running vshmd over its control socket.
 *
 *   vshmctl [--socket PATH | --vm NAME] [--json] COMMAND [ARGS]
 *
 * Commands: stats [DEV], devices, mappings DEV SHMID, regions [DEV], ram,
 * shared-objects, clients, limits, state (all of these), version.
 * Every view is fetched whole before anything is printed, so a failure
 * prints nothing on stdout (JSON in particular is printed only on
 * success).  JSON is built with json-c.
 * The socket is --vm NAME's /run/vshm/NAME/control.sock (vshmd@NAME.socket,
 * vshmd --vm NAME), else --socket PATH, else $VSHM_CONTROL_SOCKET, else the
 * only such socket under /run/vshm ($VSHM_RUN_DIR instead of /run/vshm, as
 * for vshmd).
 * Exit status: 0 success, 1 the broker refused or could not be reached,
 * 2 usage error (the message names the argument).  See vshmctl(8).
 */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <libvshm.h>

#define RUN_DIR		"/run/vshm"
#define SOCKET_NAME	"control.sock"	/* RUN_DIR/VM/SOCKET_NAME, as vshmd@.service */
#define TIMEOUT_MS	5000
#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* Where the instances' sockets are: $VSHM_RUN_DIR (tests), else RUN_DIR. */
static const char *run_dir(void)
{
	const char *dir = getenv("VSHM_RUN_DIR");

	return dir && *dir ? dir : RUN_DIR;
}

/* One run: the connection, and where a view writes. */
struct ctl {
	struct vshm_client *c;
	FILE *txt;		/* text output, printed once every view worked */
	json_object *root;	/* JSON output, printed once every view worked */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vshmctl [--socket PATH | --vm NAME] [--json] COMMAND\n"
		"\n"
		"Commands:\n"
		"  stats [DEV]            counters of one device, or of all\n"
		"  devices                registered devices\n"
		"  mappings DEV SHMID     mappings of one region\n"
		"  regions [DEV]          regions: size, guest address, mappings\n"
		"  ram                    the guest RAM table\n"
		"  shared-objects         the shared-object table\n"
		"  clients                connected control clients\n"
		"  limits                 limits and their current use\n"
		"  state                  all of the above but mappings\n"
		"  version                vshmctl's, libvshm's and the broker's versions\n"
		"\n"
		"  -s, --socket PATH      vshmd control socket (default $VSHM_CONTROL_SOCKET,\n"
		"                         else the only " RUN_DIR "/*/" SOCKET_NAME ")\n"
		"  -m, --vm NAME          the socket of vshmd@NAME: " RUN_DIR "/NAME/" SOCKET_NAME "\n"
		"  -j, --json             print JSON\n"
		"  -h, --help             this help\n"
		"      --version          print the version and exit\n");
}

/* A usage error: say which argument is wrong, then exit 2. */
static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "vshmctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'vshmctl --help'.\n");
	return 2;
}

static int parse_u32(const char *s, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v > UINT32_MAX)
		return -1;
	*out = v;
	return 0;
}

static void jset(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

static void jset_u64(json_object *o, const char *key, uint64_t v)
{
	jset(o, key, json_object_new_uint64(v));
}

static int failed(const char *what, const struct vshm_err *err)
{
	fprintf(stderr, "vshmctl: %s: %s\n", what, err->msg);
	return 1;
}

enum command {
	CMD_STATS, CMD_DEVICES, CMD_MAPPINGS, CMD_REGIONS, CMD_RAM,
	CMD_SHARED_OBJECTS, CMD_CLIENTS, CMD_LIMITS, CMD_STATE, CMD_VERSION,
};

static const struct {
	const char *name;
	unsigned int min_args, max_args;
	const char *args;
} commands[] = {
	[CMD_STATS] = { "stats", 0, 1, "[DEV]" },
	[CMD_DEVICES] = { "devices", 0, 0, "" },
	[CMD_MAPPINGS] = { "mappings", 2, 2, "DEV SHMID" },
	[CMD_REGIONS] = { "regions", 0, 1, "[DEV]" },
	[CMD_RAM] = { "ram", 0, 0, "" },
	[CMD_SHARED_OBJECTS] = { "shared-objects", 0, 0, "" },
	[CMD_CLIENTS] = { "clients", 0, 0, "" },
	[CMD_LIMITS] = { "limits", 0, 0, "" },
	[CMD_STATE] = { "state", 0, 0, "" },
	[CMD_VERSION] = { "version", 0, 0, "" },
};

struct region_ref {
	uint32_t dev, shmid;
};

/* One page of the list @cmd shows: up to @max entries from entry @start. */
static ssize_t list_page(struct vshm_client *c, enum command cmd,
			 const struct region_ref *ref, uint32_t start,
			 void *out, size_t max, uint32_t *total,
			 struct vshm_err *err)
{
	ssize_t got;

	switch (cmd) {
	case CMD_MAPPINGS:
		return vshm_client_list_mappings(c, ref->dev, ref->shmid, start,
						 out, max, total, err);
	case CMD_REGIONS:
		return vshm_client_list_regions(c, ref->dev, start, out, max,
						total, err);
	case CMD_SHARED_OBJECTS:
		return vshm_client_list_shared_objects(c, start, out, max, total,
						       err);
	case CMD_CLIENTS:
		return vshm_client_list_clients(c, start, out, max, total, err);
	case CMD_RAM:
		got = vshm_client_list_ram(c, out, max, NULL, err);
		break;
	default:
		got = vshm_client_limits(c, out, max, NULL, err);
		break;
	}
	/* RAM ranges and limits come whole in one reply: no next page. */
	if (got >= 0)
		*total = got;
	return got;
}

/*
 * Fetch every entry of the list @cmd shows, @max entries of @esize bytes
 * a page.  *out is malloc'ed; the number of entries, or -1 once the
 * failure is reported.
 */
static ssize_t fetch_all(struct ctl *x, enum command cmd,
			 const struct region_ref *ref, size_t esize, size_t max,
			 void **out)
{
	uint8_t *buf = NULL, *grown;
	struct vshm_err err;
	uint32_t total = 0;
	size_t n = 0, cap = 0;
	ssize_t got;

	for (;;) {
		if (cap - n < max) {
			grown = realloc(buf, esize * (cap + max));
			if (!grown) {
				free(buf);
				fprintf(stderr, "vshmctl: %s: out of memory\n",
					commands[cmd].name);
				return -1;
			}
			buf = grown;
			cap += max;
		}
		got = list_page(x->c, cmd, ref, n, buf + esize * n, max, &total,
				&err);
		if (got < 0) {
			free(buf);
			failed(commands[cmd].name, &err);
			return -1;
		}
		n += got;
		if (got == 0 || n >= total)
			break;
	}
	*out = buf;
	return n;
}

static const char *const stat_names[] = {
	"devices", "mappings", "mapped_bytes", "maps", "unmaps", "map_errors",
	"mem_reads", "mem_writes", "mem_read_bytes", "mem_write_bytes",
	"forwarded", "protocol_errors",
};

static int view_stats(struct ctl *x, uint32_t dev, json_object *o)
{
	struct vshm_ctl_stats st;
	struct vshm_err err;
	uint64_t v[ARRAY_LEN(stat_names)];
	unsigned int i;

	_Static_assert(sizeof(v) <= sizeof(st), "the counters lead the struct");
	if (vshm_client_stats(x->c, dev, &st, &err))
		return failed("stats", &err);
	memcpy(v, &st, sizeof(v));
	for (i = 0; i < ARRAY_LEN(v); i++) {
		jset_u64(o, stat_names[i], v[i]);
		fprintf(x->txt, "%-16s %" PRIu64 "\n", stat_names[i], v[i]);
	}
	return 0;
}

static int view_devices(struct ctl *x, json_object *o)
{
	struct vshm_ctl_device_entry *e;
	struct vshm_err err;
	json_object *arr;
	uint32_t total = 0;
	ssize_t n, i;

	e = calloc(VSHM_CTL_MAX_DEVICES, sizeof(*e));
	if (!e)
		return 1;
	n = vshm_client_list_devices(x->c, e, VSHM_CTL_MAX_DEVICES, &total, &err);
	if (n < 0) {
		free(e);
		return failed("devices", &err);
	}
	arr = json_object_new_array();
	fprintf(x->txt, "%-6s %-7s %-9s %s\n", "DEV", "SHMIDS", "MAPPINGS", "FLAGS");
	for (i = 0; i < n; i++) {
		bool fw = e[i].flags & VSHM_CTL_DEV_FORWARD;
		bool draft = e[i].flags & VSHM_CTL_DEV_DRAFT_FLAGS;
		bool strict = e[i].flags & VSHM_CTL_DEV_STRICT_HOLES;
		bool populate = e[i].flags & VSHM_CTL_DEV_POPULATE;
		json_object *d = json_object_new_object();

		jset_u64(d, "id", e[i].dev_id);
		jset_u64(d, "shmids", e[i].nregions);
		jset_u64(d, "mappings", e[i].nmappings);
		jset(d, "forward", json_object_new_boolean(fw));
		jset(d, "draft_flags", json_object_new_boolean(draft));
		jset(d, "strict_holes", json_object_new_boolean(strict));
		jset(d, "populate", json_object_new_boolean(populate));
		json_object_array_add(arr, d);
		fprintf(x->txt, "%-6u %-7u %-9u %s%s%s%s\n", e[i].dev_id,
			e[i].nregions, e[i].nmappings, fw ? "forward " : "",
			draft ? "draft-flags " : "", strict ? "strict-holes " : "",
			populate ? "populate" : "");
	}
	jset_u64(o, "total", total);
	jset(o, "devices", arr);
	free(e);
	return 0;
}

/* What a list view shows of one entry: its JSON object and its text row. */
typedef void (*row_fn)(FILE *txt, const void *entry, json_object *e);

/*
 * The entries of the list @cmd shows (fetch_all()), each through @row, as
 * the JSON array @key of @o; the number of entries, or -1 once the failure
 * is reported.  The caller prints the text table's header.
 */
static ssize_t view_list(struct ctl *x, enum command cmd,
			 const struct region_ref *ref, size_t esize, size_t max,
			 row_fn row, const char *key, json_object *o)
{
	json_object *arr;
	uint8_t *v;
	ssize_t n, i;

	n = fetch_all(x, cmd, ref, esize, max, (void **)&v);
	if (n < 0)
		return -1;
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		json_object *e = json_object_new_object();

		row(x->txt, v + esize * i, e);
		json_object_array_add(arr, e);
	}
	jset(o, key, arr);
	free(v);
	return n;
}

static void mapping_row(FILE *txt, const void *entry, json_object *e)
{
	const struct vshm_mapping_entry *m = entry;
	const char *acc = m->flags & VSHM_REGION_WRITE ? "rw" : "ro";

	jset_u64(e, "shm_offset", m->shm_offset);
	jset_u64(e, "len", m->len);
	jset_u64(e, "fd_offset", m->fd_offset);
	jset(e, "access", json_object_new_string(acc));
	fprintf(txt, "0x%-16" PRIx64 " 0x%-16" PRIx64 " 0x%-16" PRIx64 " %s\n",
		m->shm_offset, m->len, m->fd_offset, acc);
}

static int view_mappings(struct ctl *x, uint32_t dev, uint32_t shmid,
			 json_object *o)
{
	struct region_ref ref = { dev, shmid };
	ssize_t n;

	fprintf(x->txt, "%-18s %-18s %-18s %s\n", "SHM_OFFSET", "LEN", "FD_OFFSET",
		"ACCESS");
	jset_u64(o, "device", dev);
	jset_u64(o, "shmid", shmid);
	n = view_list(x, CMD_MAPPINGS, &ref, sizeof(struct vshm_mapping_entry),
		      VSHM_CTL_MAX_MAPPINGS, mapping_row, "mappings", o);
	if (n < 0)
		return 1;
	jset_u64(o, "total", n);
	return 0;
}

static void region_row(FILE *txt, const void *entry, json_object *e)
{
	const struct vshm_ctl_region_entry *r = entry;
	bool placed = r->flags & VSHM_CTL_REGION_PLACED;
	char ga[24] = "-";

	jset_u64(e, "device", r->dev_id);
	jset_u64(e, "shmid", r->shmid);
	jset_u64(e, "size", r->size);
	jset(e, "guest_address",
	     placed ? json_object_new_uint64(r->guest_addr) : NULL);
	jset_u64(e, "mappings", r->nmappings);
	jset_u64(e, "mapped_bytes", r->mapped_bytes);
	if (placed)
		snprintf(ga, sizeof(ga), "0x%" PRIx64, r->guest_addr);
	fprintf(txt, "%-6u %-6u 0x%-12" PRIx64 " %-18s %-9u %" PRIu64 "\n",
		r->dev_id, r->shmid, r->size, ga, r->nmappings, r->mapped_bytes);
}

static int view_regions(struct ctl *x, uint32_t dev, json_object *o)
{
	struct region_ref ref = { .dev = dev };

	fprintf(x->txt, "%-6s %-6s %-14s %-18s %-9s %s\n", "DEV", "SHMID", "SIZE",
		"GUEST_ADDR", "MAPPINGS", "MAPPED_BYTES");
	return view_list(x, CMD_REGIONS, &ref, sizeof(struct vshm_ctl_region_entry),
			 VSHM_CTL_MAX_REGIONS, region_row, "regions", o) < 0;
}

static void ram_row(FILE *txt, const void *entry, json_object *e)
{
	const struct vshm_ctl_ram_range *r = entry;

	jset_u64(e, "guest_address", r->guest_addr);
	jset_u64(e, "size", r->size);
	jset_u64(e, "fd_offset", r->fd_offset);
	fprintf(txt, "0x%-16" PRIx64 " 0x%-16" PRIx64 " 0x%" PRIx64 "\n",
		r->guest_addr, r->size, r->fd_offset);
}

static int view_ram(struct ctl *x, json_object *o)
{
	fprintf(x->txt, "%-18s %-18s %s\n", "GUEST_ADDR", "SIZE", "FD_OFFSET");
	return view_list(x, CMD_RAM, NULL, sizeof(struct vshm_ctl_ram_range),
			 VSHM_CTL_MAX_RAM_RANGES, ram_row, "ram", o) < 0;
}

static void shared_object_row(FILE *txt, const void *entry, json_object *e)
{
	const struct vshm_ctl_shared_object_entry *s = entry;
	const uint8_t *u = s->uuid;
	char us[37];

	snprintf(us, sizeof(us),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8],
		 u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	jset(e, "uuid", json_object_new_string(us));
	jset_u64(e, "device", s->dev_id);
	jset_u64(e, "size", s->size);
	fprintf(txt, "%-36s %-6u %" PRIu64 "\n", us, s->dev_id, s->size);
}

static int view_shared_objects(struct ctl *x, json_object *o)
{
	fprintf(x->txt, "%-36s %-6s %s\n", "UUID", "DEV", "SIZE");
	return view_list(x, CMD_SHARED_OBJECTS, NULL,
			 sizeof(struct vshm_ctl_shared_object_entry),
			 VSHM_CTL_MAX_SHARED_OBJECTS, shared_object_row,
			 "shared_objects", o) < 0;
}

static void client_row(FILE *txt, const void *entry, json_object *e)
{
	const struct vshm_ctl_client_entry *cl = entry;
	uint32_t f = cl->flags;

	jset_u64(e, "id", cl->client_id);
	jset(e, "self", json_object_new_boolean(f & VSHM_CTL_CLIENT_SELF));
	jset_u64(e, "pid", cl->pid);
	jset_u64(e, "uid", cl->uid);
	jset_u64(e, "gid", cl->gid);
	jset(e, "hello", json_object_new_boolean(f & VSHM_CTL_CLIENT_HELLO));
	jset(e, "vmm_maps", json_object_new_boolean(f & VSHM_CTL_CLIENT_VMM_MAPS));
	jset_u64(e, "devices", cl->ndevices);
	jset_u64(e, "requests", cl->requests);
	jset_u64(e, "queued_bytes", cl->queued_bytes);
	fprintf(txt, "%-6u %-8u %-6u %-6u %-8u %-9" PRIu64 " %-7" PRIu64
		" %s%s%s\n", cl->client_id, cl->pid, cl->uid, cl->gid,
		cl->ndevices, cl->requests, cl->queued_bytes,
		f & VSHM_CTL_CLIENT_SELF ? "self " : "",
		f & VSHM_CTL_CLIENT_HELLO ? "hello " : "",
		f & VSHM_CTL_CLIENT_VMM_MAPS ? "vmm-maps" : "");
}

static int view_clients(struct ctl *x, json_object *o)
{
	fprintf(x->txt, "%-6s %-8s %-6s %-6s %-8s %-9s %-7s %s\n", "ID", "PID",
		"UID", "GID", "DEVICES", "REQUESTS", "QUEUED", "FLAGS");
	return view_list(x, CMD_CLIENTS, NULL, sizeof(struct vshm_ctl_client_entry),
			 VSHM_CTL_MAX_CLIENTS, client_row, "clients", o) < 0;
}

static const char *scope_name(uint32_t scope)
{
	return scope == VSHM_CTL_LIMIT_DEVICE ? "device" : "broker";
}

static void limit_row(FILE *txt, const void *entry, json_object *e)
{
	const struct vshm_ctl_limit *l = entry;
	const char *scope = scope_name(l->scope);

	jset(e, "name", json_object_new_string(l->name));
	jset(e, "scope", json_object_new_string(scope));
	jset_u64(e, "limit", l->limit);
	jset_u64(e, "used", l->used);
	fprintf(txt, "%-16s %-7s %-20" PRIu64 " %" PRIu64 "\n", l->name, scope,
		l->limit, l->used);
}

/*
 * Limits that brokers report from vshm 1.3 on.  An older broker's list
 * lacks them: each is shown as unknown (JSON null), not left out, so
 * that a missing row never reads as "not limited".
 */
static const struct vshm_ctl_limit since_1_3[] = {
	{ .name = "closer_threads", .scope = VSHM_CTL_LIMIT_BROKER },
	{ .name = "close_queue", .scope = VSHM_CTL_LIMIT_BROKER },
	{ .name = "closing_fds", .scope = VSHM_CTL_LIMIT_DEVICE },
};

/* Is there an entry named name in the JSON array arr? */
static bool has_name(json_object *arr, const char *name)
{
	json_object *v;
	size_t i;

	for (i = 0; i < json_object_array_length(arr); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(arr, i),
					      "name", &v) &&
		    !strcmp(json_object_get_string(v), name))
			return true;
	return false;
}

static void unknown_limit_row(FILE *txt, const struct vshm_ctl_limit *l,
			      json_object *arr)
{
	const char *scope = scope_name(l->scope);
	json_object *e = json_object_new_object();

	jset(e, "name", json_object_new_string(l->name));
	jset(e, "scope", json_object_new_string(scope));
	jset(e, "limit", NULL);
	jset(e, "used", NULL);
	json_object_array_add(arr, e);
	fprintf(txt, "%-16s %-7s %-20s %s\n", l->name, scope, "unknown",
		"unknown");
}

static int view_limits(struct ctl *x, json_object *o)
{
	json_object *arr;
	size_t i;

	fprintf(x->txt, "%-16s %-7s %-20s %s\n", "LIMIT", "SCOPE", "MAX", "USED");
	if (view_list(x, CMD_LIMITS, NULL, sizeof(struct vshm_ctl_limit),
		      VSHM_CTL_MAX_LIMITS, limit_row, "limits", o) < 0 ||
	    !json_object_object_get_ex(o, "limits", &arr))
		return 1;
	for (i = 0; i < ARRAY_LEN(since_1_3); i++)
		if (!has_name(arr, since_1_3[i].name))
			unknown_limit_row(x->txt, &since_1_3[i], arr);
	return 0;
}

static int view_version(struct ctl *x, json_object *o)
{
	struct vshm_ctl_broker_info info;
	bool known = vshm_client_broker_version(x->c, &info) == 0;

	jset(o, "vshmctl", json_object_new_string(VSHM_VERSION_STRING));
	jset(o, "libvshm", json_object_new_string(vshm_version()));
	jset(o, "broker", known ? json_object_new_string(info.version) : NULL);
	fprintf(x->txt, "vshmctl %s\nlibvshm %s\n", VSHM_VERSION_STRING,
		vshm_version());
	if (known)
		fprintf(x->txt, "vshmd   %s\n", info.version);
	else
		fprintf(x->txt, "vshmd   older than 1.2 (it does not report its version)\n");
	return 0;
}

/* Every view but mappings, one section (or JSON member) each. */
static int view_state(struct ctl *x, json_object *o)
{
	static const char *const names[] = {
		"version", "stats", "devices", "regions", "ram",
		"shared_objects", "clients", "limits",
	};
	unsigned int i;
	int ret = 0;

	for (i = 0; !ret && i < ARRAY_LEN(names); i++) {
		json_object *sub = json_object_new_object();

		fprintf(x->txt, "%s[%s]\n", i ? "\n" : "", names[i]);
		switch (i) {
		case 0: ret = view_version(x, sub); break;
		case 1: ret = view_stats(x, VSHM_CTL_ALL_DEVICES, sub); break;
		case 2: ret = view_devices(x, sub); break;
		case 3: ret = view_regions(x, VSHM_CTL_ALL_DEVICES, sub); break;
		case 4: ret = view_ram(x, sub); break;
		case 5: ret = view_shared_objects(x, sub); break;
		case 6: ret = view_clients(x, sub); break;
		default: ret = view_limits(x, sub); break;
		}
		jset(o, names[i], sub);
	}
	return ret;
}

static int run(struct ctl *x, enum command cmd, uint32_t dev, uint32_t shmid)
{
	switch (cmd) {
	case CMD_STATS: return view_stats(x, dev, x->root);
	case CMD_DEVICES: return view_devices(x, x->root);
	case CMD_MAPPINGS: return view_mappings(x, dev, shmid, x->root);
	case CMD_REGIONS: return view_regions(x, dev, x->root);
	case CMD_RAM: return view_ram(x, x->root);
	case CMD_SHARED_OBJECTS: return view_shared_objects(x, x->root);
	case CMD_CLIENTS: return view_clients(x, x->root);
	case CMD_LIMITS: return view_limits(x, x->root);
	case CMD_STATE: return view_state(x, x->root);
	case CMD_VERSION: return view_version(x, x->root);
	}
	return 1;
}

/* No socket named: the only vshmd@ instance's, as the unit places it. */
static int default_socket(char *out, size_t len)
{
	char pattern[256];
	glob_t g;
	int ret;

	snprintf(pattern, sizeof(pattern), "%s/*/" SOCKET_NAME, run_dir());
	ret = glob(pattern, 0, NULL, &g);
	if (ret == 0 && g.gl_pathc == 1) {
		snprintf(out, len, "%s", g.gl_pathv[0]);
		globfree(&g);
		return 0;
	}
	if (ret == 0)
		fprintf(stderr,
			"vshmctl: %zu brokers under %s: name one with --vm NAME or --socket PATH\n",
			g.gl_pathc, run_dir());
	else
		fprintf(stderr,
			"vshmctl: no broker socket %s: give --socket PATH, --vm NAME or $VSHM_CONTROL_SOCKET\n",
			pattern);
	globfree(&g);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "vm", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("VSHM_CONTROL_SOCKET"), *vm = NULL;
	uint32_t dev = VSHM_CTL_ALL_DEVICES, shmid = 0;
	char sock[256], *text = NULL;
	struct ctl x = { 0 };
	unsigned int nargs;
	struct vshm_err err;
	bool json = false;
	size_t text_len = 0;
	int o, cmd, ret;

	opterr = 0;
	while ((o = getopt_long(argc, argv, ":s:m:jh", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			path = optarg;
			break;
		case 'm':
			vm = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			return bad_usage("option '%s' needs an argument",
					 argv[optind - 1]);
		case 'V':
			printf("vshmctl %s\n", VSHM_VERSION_STRING);
			return 0;
		default:
			return bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (vm && (!*vm || strchr(vm, '/') || !strcmp(vm, ".") ||
		   !strcmp(vm, "..")))
		return bad_usage("--vm '%s': a VM name, without '/'", vm);
	if (optind >= argc)
		return bad_usage("%s", "missing COMMAND (stats, devices, mappings, regions, ram, shared-objects, clients, limits, state, version)");
	for (cmd = 0; cmd < (int)ARRAY_LEN(commands); cmd++)
		if (!strcmp(argv[optind], commands[cmd].name))
			break;
	if (cmd == (int)ARRAY_LEN(commands))
		return bad_usage("unknown command '%s'", argv[optind]);
	optind++;
	nargs = argc - optind;
	if (nargs < commands[cmd].min_args || nargs > commands[cmd].max_args) {
		fprintf(stderr, "vshmctl: %s takes %s%s%s\n", commands[cmd].name,
			*commands[cmd].args ? commands[cmd].args : "no argument",
			nargs > commands[cmd].max_args ? "; extra argument: " : "",
			nargs > commands[cmd].max_args ?
			argv[optind + commands[cmd].max_args] : "");
		return 2;
	}
	if (nargs >= 1 && parse_u32(argv[optind], &dev))
		return bad_usage("DEV '%s' is not a device id (0..4294967295)",
				 argv[optind]);
	if (nargs == 2 && (parse_u32(argv[optind + 1], &shmid) ||
			   shmid >= VSHM_MAX_SHMIDS))
		return bad_usage("SHMID '%s' is not a shmid (0..255)", argv[optind + 1]);

	if (vm) {
		if (snprintf(sock, sizeof(sock), "%s/%s/" SOCKET_NAME, run_dir(),
			     vm) >= (int)sizeof(sock))
			return bad_usage("--vm '%s': the socket path is too long", vm);
		path = sock;
	} else if (!path || !*path) {
		if (default_socket(sock, sizeof(sock)))
			return 1;
		path = sock;
	}
	ret = vshm_client_connect(path, TIMEOUT_MS, &x.c, &err);
	if (ret) {
		fprintf(stderr, "vshmctl: %s: %s\n", path, err.msg);
		return 1;
	}
	x.txt = open_memstream(&text, &text_len);
	x.root = json_object_new_object();
	if (!x.txt || !x.root) {
		fprintf(stderr, "vshmctl: out of memory\n");
		ret = 1;
	} else {
		ret = run(&x, cmd, dev, shmid);
	}
	if (x.txt)
		fclose(x.txt);
	if (!ret && json)
		printf("%s\n", json_object_to_json_string_ext(x.root,
				JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (!ret && text)
		fputs(text, stdout);
	json_object_put(x.root);
	free(text);
	vshm_client_close(x.c);
	if (!ret && fflush(stdout)) {
		perror("vshmctl: stdout");
		ret = 1;
	}
	return ret;
}
