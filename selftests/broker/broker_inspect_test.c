// SPDX-License-Identifier: GPL-2.0
/*
 * What vshmctl and libvshm's inspection calls show of a running broker:
 * regions (size, guest address, mapping count), the guest RAM table, the
 * shared-object table, connected control clients, limits and their use,
 * and the broker's version from HELLO; each view as text and as JSON
 * (parsed here with json-c).  Usage errors exit 2 naming the argument,
 * JSON is printed only on success, a broker before vshm 1.2 (a fake one
 * here) gives a clear error, a 1.2 one's limits lack the closer threads
 * of 1.3, shown as unknown, and old and new HELLO forms both work.
 */
#include <json-c/json.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "broker_util.h"
#include "vgem_util.h"

#define MIB		(1ull << 20)
#define A_GA		0x100000000ull
#define RAM_GA		0x0ull

/* One vshmctl run: exit status, stdout and stderr. */
struct ctl_run {
	int status;
	char out[16384];
	char err[4096];
};

static void slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	unlink(path);
}

/* Run vshmctl with NULL-terminated arguments (the socket is not added). */
static int ctl(struct ctl_run *r, const char *dir, const char *const *args)
{
	char tool[PATH_MAX], outp[128], errp[128];
	const char *argv[16];
	int i, status;
	pid_t pid;

	tools_path(tool, sizeof(tool), "vshmctl");
	snprintf(outp, sizeof(outp), "%s/ctl.out", dir);
	snprintf(errp, sizeof(errp), "%s/ctl.err", dir);
	argv[0] = tool;
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(o, 1);
		dup2(e, 2);
		unsetenv("VSHM_CONTROL_SOCKET");
		execv(tool, (char *const *)argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	slurp(outp, r->out, sizeof(r->out));
	slurp(errp, r->err, sizeof(r->err));
	return 0;
}

/*
 * The first object of array key in o whose field field is the string s,
 * or (s NULL) the number v; NULL if none.
 */
static json_object *find_entry(json_object *o, const char *key,
			       const char *field, const char *s, uint64_t v)
{
	json_object *arr, *e, *f;
	size_t i;

	if (!json_object_object_get_ex(o, key, &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return NULL;
	for (i = 0; i < json_object_array_length(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		if (!json_object_object_get_ex(e, field, &f))
			continue;
		if (s ? f && !strcmp(json_object_get_string(f), s) :
		    json_object_get_uint64(f) == v)
			return e;
	}
	return NULL;
}

static json_object *find_in(json_object *o, const char *key, const char *field,
			    uint64_t v)
{
	return find_entry(o, key, field, NULL, v);
}

/* The entry of array key in o whose "name" is name, or NULL. */
static json_object *find_named(json_object *o, const char *key, const char *name)
{
	return find_entry(o, key, "name", name, 0);
}

static uint64_t jget(json_object *o, const char *key)
{
	json_object *f;

	if (!o || !json_object_object_get_ex(o, key, &f))
		return UINT64_MAX - 1;
	return json_object_get_uint64(f);
}

/* How many lines of s contain what. */
static int count_lines_with(const char *s, const char *what)
{
	const char *nl;
	int n = 0;

	for (; *s; s = nl + 1) {
		nl = strchrnul(s, '\n');
		if (memmem(s, nl - s, what, strlen(what)))
			n++;
		if (!*nl)
			break;
	}
	return n;
}

static bool jnull(json_object *o, const char *key)
{
	json_object *f = NULL;

	return o && json_object_object_get_ex(o, key, &f) && !f;
}

FIXTURE(inspect) {
	struct broker b;
	struct tdev a, bdev;
	int mfd, ram;
	char sock_arg[128];
};

FIXTURE_SETUP(inspect)
{
	uint64_t sizes[3] = { MIB, 0, 2 * MIB };
	struct vshm_ctl_ram_range r[2] = {
		{ .guest_addr = RAM_GA, .size = MIB },
		{ .guest_addr = 4 * MIB, .size = 2 * MIB, .fd_offset = MIB },
	};
	int fds[2];

	ASSERT_EQ(0, broker_start(&self->b, NULL));
	ASSERT_EQ(0, tdev_add_flags(&self->b, &self->a, sizes, 3, false, 0));
	ASSERT_EQ(0, vshm_client_set_region_addr(self->b.c, self->a.id, 0, A_GA,
						 NULL));
	/* Device b has its maps populated: vshmctl devices shows it. */
	ASSERT_EQ(0, tdev_add_flags(&self->b, &self->bdev, (uint64_t[]){ MIB }, 1,
				    false, VSHM_CTL_DEV_POPULATE));
	self->mfd = memfd_create("inspect", MFD_CLOEXEC);
	ASSERT_EQ(0, ftruncate(self->mfd, MIB));
	ASSERT_EQ(0, do_map(&self->a, 0, self->mfd, 0, 0, 4 * PG, 1));
	ASSERT_EQ(0, do_map(&self->a, 0, self->mfd, 0, 8 * PG, 2 * PG, 0));
	self->ram = memfd_create("ram", MFD_CLOEXEC);
	ASSERT_EQ(0, ftruncate(self->ram, 3 * MIB));
	fds[0] = fds[1] = self->ram;
	ASSERT_EQ(0, vshm_client_set_mem_table(self->b.c, r, fds, 2, NULL));
}

FIXTURE_TEARDOWN(inspect)
{
	tdev_close(&self->a);
	tdev_close(&self->bdev);
	close(self->mfd);
	close(self->ram);
	broker_stop(&self->b);
}

/* Proves: the library's inspection calls return the broker's state as it is. */
TEST_F(inspect, library_views)
{
	struct vshm_ctl_region_entry reg[8];
	struct vshm_ctl_ram_range ram[4];
	struct vshm_ctl_client_entry cl[4];
	struct vshm_ctl_limit lim[VSHM_CTL_MAX_LIMITS];
	struct vshm_ctl_broker_info info;
	uint32_t total = 0;
	ssize_t n, i;
	int seen = 0;

	ASSERT_EQ(0, vshm_client_broker_version(self->b.c, &info));
	EXPECT_STREQ(VSHM_VERSION_STRING, info.version);
	EXPECT_EQ(VSHM_VERSION_MAJOR, info.major);
	EXPECT_EQ(VSHM_VERSION_MINOR, info.minor);

	ASSERT_EQ(3, vshm_client_list_regions(self->b.c, VSHM_CTL_ALL_DEVICES, 0,
					      reg, 8, &total, NULL));
	EXPECT_EQ(3, total);
	ASSERT_EQ(2, vshm_client_list_regions(self->b.c, self->a.id, 0, reg, 8,
					      &total, NULL));
	EXPECT_EQ(self->a.id, reg[0].dev_id);
	EXPECT_EQ(0, reg[0].shmid);
	EXPECT_EQ(MIB, reg[0].size);
	EXPECT_EQ(VSHM_CTL_REGION_PLACED, reg[0].flags);
	EXPECT_EQ(A_GA, reg[0].guest_addr);
	EXPECT_EQ(2, reg[0].nmappings);
	EXPECT_EQ(6 * PG, reg[0].mapped_bytes);
	EXPECT_EQ(2, reg[1].shmid);
	EXPECT_EQ(2 * MIB, reg[1].size);
	EXPECT_EQ(0, reg[1].flags);
	EXPECT_EQ(0, reg[1].nmappings);
	/* paging: from index 1, one entry */
	ASSERT_EQ(1, vshm_client_list_regions(self->b.c, self->a.id, 1, reg, 8,
					      &total, NULL));
	EXPECT_EQ(2, reg[0].shmid);
	EXPECT_EQ(-ENOENT, vshm_client_list_regions(self->b.c, 999, 0, reg, 8,
						    &total, NULL));

	ASSERT_EQ(2, vshm_client_list_ram(self->b.c, ram, 4, &total, NULL));
	EXPECT_EQ(4 * MIB, ram[1].guest_addr);
	EXPECT_EQ(2 * MIB, ram[1].size);
	EXPECT_EQ(MIB, ram[1].fd_offset);

	n = vshm_client_list_clients(self->b.c, 0, cl, 4, &total, NULL);
	ASSERT_GE(n, 1);
	for (i = 0; i < n; i++) {
		if (!(cl[i].flags & VSHM_CTL_CLIENT_SELF))
			continue;
		seen++;
		EXPECT_EQ((uint32_t)getpid(), cl[i].pid);
		EXPECT_EQ(getuid(), cl[i].uid);
		EXPECT_EQ(2, cl[i].ndevices);
		EXPECT_TRUE(cl[i].flags & VSHM_CTL_CLIENT_HELLO);
		EXPECT_GE(cl[i].requests, 8);
	}
	EXPECT_EQ(1, seen);

	n = vshm_client_limits(self->b.c, lim, VSHM_CTL_MAX_LIMITS, &total, NULL);
	ASSERT_GE(n, 6);
	seen = 0;
	for (i = 0; i < n; i++) {
		if (!strcmp(lim[i].name, "devices")) {
			EXPECT_EQ(VSHM_CTL_LIMIT_BROKER, lim[i].scope);
			EXPECT_EQ(2, lim[i].used);
			seen++;
		} else if (!strcmp(lim[i].name, "mappings")) {
			EXPECT_EQ(VSHM_CTL_LIMIT_DEVICE, lim[i].scope);
			EXPECT_EQ(2, lim[i].used);
			seen++;
		} else if (!strcmp(lim[i].name, "ram_ranges")) {
			EXPECT_EQ(VSHM_CTL_MAX_RAM_RANGES, lim[i].limit);
			EXPECT_EQ(2, lim[i].used);
			seen++;
		} else if (!strcmp(lim[i].name, "clients")) {
			EXPECT_GE(lim[i].used, 1);
			seen++;
		} else if (!strcmp(lim[i].name, "closer_threads")) {
			/* --max-devices 64 + 1; VD_CLOSERS_MIN (2) are kept */
			EXPECT_EQ(VSHM_CTL_LIMIT_BROKER, lim[i].scope);
			EXPECT_EQ(65, lim[i].limit);
			EXPECT_LE(2, lim[i].used);
			EXPECT_GE(lim[i].limit, lim[i].used);
			seen++;
		} else if (!strcmp(lim[i].name, "close_queue")) {
			EXPECT_EQ(VSHM_CTL_LIMIT_BROKER, lim[i].scope);
			EXPECT_EQ(4096, lim[i].limit);
			EXPECT_GE(lim[i].limit, lim[i].used);
			seen++;
		} else if (!strcmp(lim[i].name, "closing_fds")) {
			EXPECT_EQ(VSHM_CTL_LIMIT_DEVICE, lim[i].scope);
			EXPECT_EQ(64, lim[i].limit);
			seen++;
		}
	}
	EXPECT_EQ(7, seen);
}

/* The closer_threads entry of a broker started with extra (its limit), or -1. */
static int64_t closer_cap(const char *const *extra)
{
	struct vshm_ctl_limit lim[VSHM_CTL_MAX_LIMITS];
	int64_t cap = -1;
	struct broker b;
	ssize_t n, i;

	if (broker_startv(&b, NULL, extra))
		return -1;
	n = vshm_client_limits(b.c, lim, VSHM_CTL_MAX_LIMITS, NULL, NULL);
	for (i = 0; i < n; i++)
		if (!strcmp(lim[i].name, "closer_threads"))
			cap = lim[i].limit;
	broker_stop(&b);
	return cap;
}

/* Proves: the closer thread cap shown is one per owner there can be, --max-devices + 1, at most 256. */
TEST(closer_threads_cap)
{
	EXPECT_EQ(4, closer_cap((const char *[]){ "--max-devices", "3", NULL }));
	EXPECT_EQ(256, closer_cap((const char *[]){ "--max-devices", "255", NULL }));
	EXPECT_EQ(256, closer_cap((const char *[]){ "--max-devices", "1000", NULL }));
}

/* Proves: every vshmctl view prints the broker's state as text. */
TEST_F(inspect, vshmctl_text)
{
	const char *s = self->b.sock;
	struct ctl_run r;
	char want[128];

	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", s, "regions", NULL }));
	EXPECT_EQ(0, r.status);
	snprintf(want, sizeof(want), "0x%llx", A_GA);
	EXPECT_NE(NULL, strstr(r.out, want));
	EXPECT_NE(NULL, strstr(r.out, "GUEST_ADDR"));
	EXPECT_NE(NULL, strstr(r.out, "0x200000"));	/* the 2 MiB region */

	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", s, "ram", NULL }));
	EXPECT_EQ(0, r.status);
	EXPECT_NE(NULL, strstr(r.out, "0x400000"));

	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", s, "clients", NULL }));
	EXPECT_EQ(0, r.status);
	EXPECT_NE(NULL, strstr(r.out, "self"));

	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", s, "limits", NULL }));
	EXPECT_EQ(0, r.status);
	EXPECT_NE(NULL, strstr(r.out, "ram_ranges"));
	EXPECT_NE(NULL, strstr(r.out, "open_fds"));
	EXPECT_NE(NULL, strstr(r.out, "closer_threads   broker  65 "));
	EXPECT_NE(NULL, strstr(r.out, "close_queue      broker  4096 "));
	EXPECT_NE(NULL, strstr(r.out, "closing_fds      device  64 "));
	EXPECT_EQ(NULL, strstr(r.out, "unknown"));

	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", s, "shared-objects", NULL }));
	EXPECT_EQ(0, r.status);
	EXPECT_NE(NULL, strstr(r.out, "UUID"));

	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", s, "version", NULL }));
	EXPECT_EQ(0, r.status);
	snprintf(want, sizeof(want), "vshmd   %s", VSHM_VERSION_STRING);
	EXPECT_NE(NULL, strstr(r.out, want));

	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", s, "devices", NULL }));
	EXPECT_EQ(0, r.status);
	snprintf(want, sizeof(want), "%-6u %-7u %-9u populate\n", self->bdev.id, 1, 0);
	EXPECT_NE(NULL, strstr(r.out, want)) TH_LOG("%s", r.out);
	EXPECT_EQ(1, count_lines_with(r.out, "populate"));

	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", s, "state", NULL }));
	EXPECT_EQ(0, r.status);
	EXPECT_NE(NULL, strstr(r.out, "[regions]"));
	EXPECT_NE(NULL, strstr(r.out, "[limits]"));
	EXPECT_EQ(0, r.err[0]);
}

/* Proves: every vshmctl view's --json output parses and carries the state. */
TEST_F(inspect, vshmctl_json)
{
	static const char *const views[] = {
		"stats", "devices", "regions", "ram", "shared-objects",
		"clients", "limits", "state", "version",
	};
	const char *s = self->b.sock;
	json_object *o, *e, *st;
	struct ctl_run r;
	unsigned int i;

	for (i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		TH_LOG("vshmctl --json %s", views[i]);
		ASSERT_EQ(0, ctl(&r, self->b.dir,
				 (const char *[]){ "-s", s, "--json", views[i], NULL }));
		EXPECT_EQ(0, r.status);
		o = json_tokener_parse(r.out);
		EXPECT_NE(NULL, o);
		EXPECT_TRUE(json_object_is_type(o, json_type_object));
		json_object_put(o);
	}

	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", s, "-j", "state", NULL }));
	o = json_tokener_parse(r.out);
	ASSERT_NE(NULL, o);
	ASSERT_TRUE(json_object_object_get_ex(o, "regions", &st));
	e = find_in(st, "regions", "size", 2 * MIB);
	EXPECT_EQ(self->a.id, jget(e, "device"));
	EXPECT_EQ(2, jget(e, "shmid"));
	EXPECT_TRUE(jnull(e, "guest_address"));
	e = find_in(st, "regions", "guest_address", A_GA);
	EXPECT_EQ(2, jget(e, "mappings"));
	EXPECT_EQ(6 * PG, jget(e, "mapped_bytes"));
	e = find_in(st, "regions", "device", self->bdev.id);
	EXPECT_EQ(MIB, jget(e, "size"));
	ASSERT_TRUE(json_object_object_get_ex(o, "ram", &st));
	e = find_in(st, "ram", "guest_address", 4 * MIB);
	EXPECT_EQ(2 * MIB, jget(e, "size"));
	EXPECT_EQ(MIB, jget(e, "fd_offset"));
	ASSERT_TRUE(json_object_object_get_ex(o, "clients", &st));
	e = find_in(st, "clients", "pid", getpid());
	EXPECT_EQ(2, jget(e, "devices"));
	ASSERT_TRUE(json_object_object_get_ex(o, "limits", &st));
	EXPECT_NE(NULL, find_in(st, "limits", "used", 2));
	e = find_named(st, "limits", "closer_threads");
	EXPECT_EQ(65, jget(e, "limit"));
	EXPECT_LE(2, jget(e, "used"));
	EXPECT_GE(65, jget(e, "used"));
	EXPECT_EQ(4096, jget(find_named(st, "limits", "close_queue"), "limit"));
	ASSERT_TRUE(json_object_object_get_ex(o, "stats", &st));
	EXPECT_EQ(2, jget(st, "devices"));
	EXPECT_EQ(2, jget(st, "mappings"));
	ASSERT_TRUE(json_object_object_get_ex(o, "devices", &st));
	EXPECT_EQ(2, jget(st, "total"));
	e = find_in(st, "devices", "id", self->bdev.id);
	ASSERT_TRUE(json_object_object_get_ex(e, "populate", &e));
	EXPECT_TRUE(json_object_get_boolean(e));
	e = find_in(st, "devices", "id", self->a.id);
	ASSERT_TRUE(json_object_object_get_ex(e, "populate", &e));
	EXPECT_FALSE(json_object_get_boolean(e));
	json_object_put(o);

	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", s, "-j", "version", NULL }));
	o = json_tokener_parse(r.out);
	ASSERT_TRUE(json_object_object_get_ex(o, "broker", &e));
	EXPECT_STREQ(VSHM_VERSION_STRING, json_object_get_string(e));
	json_object_put(o);
}

/* Proves: a bad command line exits 2, names the wrong argument and prints nothing on stdout. */
TEST_F(inspect, usage_errors)
{
	const char *s = self->b.sock;
	const struct {
		const char *args[8];
		const char *names;
	} cases[] = {
		{ { "-s", s, "bogus", NULL }, "'bogus'" },
		{ { "-s", s, NULL }, "missing COMMAND" },
		{ { "-s", s, "mappings", "x", "0", NULL }, "DEV 'x'" },
		{ { "-s", s, "mappings", "1", "256", NULL }, "SHMID '256'" },
		{ { "-s", s, "mappings", "1", NULL }, "mappings takes DEV SHMID" },
		{ { "-s", s, "stats", "1", "2", NULL }, "extra argument: 2" },
		{ { "-s", s, "-j", "ram", "1", NULL }, "extra argument: 1" },
		{ { "-s", s, "regions", "-5", NULL }, "'-5'" },
		{ { "--frob", "stats", NULL }, "'--frob'" },
		{ { "stats", "-s", NULL }, "'-s' needs an argument" },
		{ { "--vm", "a/b", "stats", NULL }, "--vm 'a/b'" },
	};
	struct ctl_run r;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TH_LOG("case %u: expects %s", i, cases[i].names);
		ASSERT_EQ(0, ctl(&r, self->b.dir, cases[i].args));
		EXPECT_EQ(2, r.status);
		EXPECT_NE(NULL, strstr(r.err, cases[i].names));
		EXPECT_EQ(0, r.out[0]);
	}
}

/* Proves: --json prints nothing when the broker refuses or cannot be reached. */
TEST_F(inspect, json_only_on_success)
{
	char missing[160];
	const char *s = self->b.sock;
	struct ctl_run r;

	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", s, "-j", "mappings", "999", "0", NULL }));
	EXPECT_EQ(1, r.status);
	EXPECT_EQ(0, r.out[0]);
	EXPECT_NE(NULL, strstr(r.err, "LIST_MAPPINGS"));
	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", s, "-j", "regions", "999", NULL }));
	EXPECT_EQ(1, r.status);
	EXPECT_EQ(0, r.out[0]);
	EXPECT_NE(NULL, strstr(r.err, "LIST_REGIONS"));
	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", s, "-j", "stats", "999", NULL }));
	EXPECT_EQ(1, r.status);
	EXPECT_EQ(0, r.out[0]);
	snprintf(missing, sizeof(missing), "%s/none.sock", self->b.dir);
	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", missing, "-j", "state", NULL }));
	EXPECT_EQ(1, r.status);
	EXPECT_EQ(0, r.out[0]);
	EXPECT_NE(NULL, strstr(r.err, "none.sock"));
}

/* Proves: the shared-object table shows each dma-buf's UUID, owner and size. */
TEST_F(inspect, shared_objects)
{
	struct vshm_ctl_shared_object_entry e[4];
	uint8_t uuid[16];
	struct ctl_run r;
	json_object *o;
	int drm, buf, i;
	uint32_t total;

	drm = vgem_open();
	if (drm < 0)
		SKIP(return, "no vgem device: load vgem (scripts/vm-run --with-vgem)");
	buf = vgem_dmabuf(drm, 64 * PG, true);
	ASSERT_GE(buf, 0);
	for (i = 0; i < 16; i++)
		uuid[i] = 0xa0 + i;
	ASSERT_EQ(0, send_frame(self->bdev.be, VSHM_VU_BACKEND_SHARED_OBJECT_ADD,
				VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, 16, uuid,
				16, &buf, 1));
	EXPECT_EQ(0, recv_u64(&self->bdev, VSHM_VU_BACKEND_SHARED_OBJECT_ADD));
	close(buf);
	close(drm);
	ASSERT_EQ(1, vshm_client_list_shared_objects(self->b.c, 0, e, 4, &total,
						     NULL));
	EXPECT_EQ(1, total);
	EXPECT_EQ(self->bdev.id, e[0].dev_id);
	EXPECT_EQ(64 * PG, e[0].size);
	EXPECT_EQ(0, memcmp(uuid, e[0].uuid, 16));
	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", self->b.sock, "-j", "shared-objects", NULL }));
	EXPECT_EQ(0, r.status);
	o = json_tokener_parse(r.out);
	ASSERT_NE(NULL, o);
	EXPECT_EQ(64 * PG, jget(find_in(o, "shared_objects", "device", self->bdev.id), "size"));
	json_object_put(o);
	EXPECT_NE(NULL, strstr(r.out, "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf"));
}

/* The HELLO reply of a 1.2 broker to a client offering BROKER_INFO. */
struct hello_1_2 {
	struct vshm_ctl_hello h;
	struct vshm_ctl_broker_info i;
};

/* GET_LIMITS of a 1.2 broker: two of its names, none of 1.3's. */
struct limits_1_2 {
	struct vshm_ctl_list l;
	struct vshm_ctl_limit e[2];
};

/*
 * A broker as vshm 1.1 answers (minor 1): HELLO offering BROKER_INFO is
 * refused with EBADMSG (the connection stays), plain HELLO and GET_STATS /
 * LIST_DEVICES work, an inspection request closes the connection.
 * As vshm 1.2 (minor 2): BROKER_INFO granted, GET_LIMITS answered with
 * 1.2's names, the other inspection requests with empty lists.
 */
static void old_broker(int lfd, unsigned int minor)
{
	struct vshm_msg *m = calloc(1, sizeof(*m));
	struct hello_1_2 hi = {
		{ .version = VSHM_CTL_VERSION, .features = VSHM_CTL_FEAT_BROKER_INFO },
		{ .major = 1, .minor = 2, .version = "1.2.0" },
	};
	struct limits_1_2 lim = { { 2, 2 }, {
		{ "devices", VSHM_CTL_LIMIT_BROKER, 0, 64, 1 },
		{ "mappings", VSHM_CTL_LIMIT_DEVICE, 0, 4096, 3 },
	} };
	struct vshm_ctl_stats st = { 0 };
	struct vshm_ctl_list l = { 0 };
	struct vshm_chan *ch;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		if (vshm_chan_new(fd, VSHM_PROTO_CONTROL, VSHM_CHAN_OWN_FD, &ch))
			_exit(1);
		while (vshm_chan_recv_wait(ch, m, 5000, NULL) == 0) {
			uint32_t req = m->hdr.request, feat;
			const void *body = NULL;
			uint32_t error = 0;
			size_t len = 0;

			if (req >= VSHM_CTL_LIST_REGIONS && minor < 2)
				break;
			if (req == VSHM_CTL_HELLO) {
				memcpy(&feat, m->payload + 4, 4);
				if (minor < 2)
					error = feat & ~(VSHM_CTL_FEAT_KMOD |
							 VSHM_CTL_FEAT_VMM_MAPS) ?
						EBADMSG : 0;
				hi.h.features = feat & VSHM_CTL_FEAT_BROKER_INFO;
				body = &hi;
				len = hi.h.features ? sizeof(hi) : sizeof(hi.h);
			} else if (req == VSHM_CTL_GET_STATS) {
				body = &st;
				len = sizeof(st);
			} else if (req == VSHM_CTL_GET_LIMITS) {
				body = &lim;
				len = sizeof(lim);
			} else {
				body = &l;
				len = sizeof(l);
			}
			vshm_msg_release(m);
			if (vshm_ctl_encode_reply(m, req, error, body, len, NULL, 0) ||
			    vshm_chan_send(ch, m, NULL))
				break;
		}
		vshm_chan_free(ch);
	}
	_exit(0);
}

/* A fake broker of vshm 1.minor on dir/old.sock (written to path); its pid. */
static pid_t old_broker_start(struct __test_metadata *_metadata,
			      const char *dir, unsigned int minor, char *path,
			      size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd;
	pid_t pid;

	snprintf(path, len, "%s/old.sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	EXPECT_EQ(0, bind(lfd, (struct sockaddr *)&sa, sizeof(sa)));
	EXPECT_EQ(0, listen(lfd, 4));
	pid = fork();
	if (pid == 0)
		old_broker(lfd, minor);
	close(lfd);
	return pid;
}

static void old_broker_stop(pid_t pid, const char *path)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	unlink(path);
}

/* Proves: against a broker before 1.2, inspection views fail clearly and the old views still work. */
TEST_F(inspect, old_broker)
{
	char path[128];
	struct ctl_run r;
	pid_t pid;

	pid = old_broker_start(_metadata, self->b.dir, 1, path, sizeof(path));
	ASSERT_GE(pid, 0);
	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", path, "-j", "regions", NULL }));
	EXPECT_EQ(1, r.status);
	EXPECT_EQ(0, r.out[0]);
	EXPECT_NE(NULL, strstr(r.err, "predates vshm 1.2"));
	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", path, "limits", NULL }));
	EXPECT_EQ(1, r.status);
	EXPECT_NE(NULL, strstr(r.err, "GET_LIMITS"));
	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", path, "version", NULL }));
	EXPECT_EQ(0, r.status);
	EXPECT_NE(NULL, strstr(r.out, "older than 1.2"));
	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", path, "-j", "version", NULL }));
	EXPECT_NE(NULL, strstr(r.out, "\"broker\": null"));
	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", path, "-j", "stats", NULL }));
	EXPECT_EQ(0, r.status);
	EXPECT_NE(NULL, strstr(r.out, "\"devices\": 0"));
	old_broker_stop(pid, path);
}

/*
 * Proves: a 1.2 broker's GET_LIMITS, without the closer entries of 1.3,
 * still decodes: vshmctl limits shows what it reports and each 1.3 limit
 * as unknown (JSON null), rather than failing or leaving them out.
 */
TEST_F(inspect, limits_of_1_2_broker)
{
	static const char *const since_1_3[] = {
		"closer_threads", "close_queue", "closing_fds",
	};
	char path[128];
	struct ctl_run r;
	json_object *o, *e;
	unsigned int i;
	pid_t pid;

	pid = old_broker_start(_metadata, self->b.dir, 2, path, sizeof(path));
	ASSERT_GE(pid, 0);
	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", path, "limits", NULL }));
	EXPECT_EQ(0, r.status);
	EXPECT_EQ(0, r.err[0]);
	EXPECT_NE(NULL, strstr(r.out, "mappings         device  4096"));
	EXPECT_NE(NULL, strstr(r.out, "closer_threads   broker  unknown              unknown"));
	EXPECT_NE(NULL, strstr(r.out, "closing_fds      device  unknown              unknown"));
	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", path, "-j", "limits", NULL }));
	EXPECT_EQ(0, r.status);
	o = json_tokener_parse(r.out);
	ASSERT_NE(NULL, o);
	EXPECT_EQ(3, jget(find_named(o, "limits", "mappings"), "used"));
	for (i = 0; i < sizeof(since_1_3) / sizeof(since_1_3[0]); i++) {
		e = find_named(o, "limits", since_1_3[i]);
		EXPECT_NE(NULL, e) TH_LOG("no %s in the JSON", since_1_3[i]);
		EXPECT_TRUE(jnull(e, "limit"));
		EXPECT_TRUE(jnull(e, "used"));
	}
	json_object_put(o);
	/* state shows the same limits section */
	ASSERT_EQ(0, ctl(&r, self->b.dir, (const char *[]){ "-s", path, "state", NULL }));
	EXPECT_EQ(0, r.status);
	EXPECT_NE(NULL, strstr(r.out, "close_queue      broker  unknown"));
	old_broker_stop(pid, path);
}

/* HELLO on a raw socket with features; the reply payload size, or -1. */
static int raw_hello(const char *sock, uint32_t features, struct vshm_msg *m)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vshm_ctl_hello h = { .version = VSHM_CTL_VERSION, .features = features };
	struct vshm_chan *ch;
	int fd, ret = -1;

	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    vshm_chan_new(fd, VSHM_PROTO_CONTROL, VSHM_CHAN_OWN_FD, &ch)) {
		close(fd);
		return -1;
	}
	if (!vshm_ctl_encode_request(m, VSHM_CTL_HELLO, &h, sizeof(h), NULL, 0) &&
	    !vshm_chan_send(ch, m, NULL) &&
	    !vshm_chan_recv_wait(ch, m, T_TIMEOUT_MS, NULL))
		ret = m->hdr.size;
	vshm_chan_free(ch);
	return ret;
}

/* Proves: a 1.1 client's HELLO gets the 1.1 reply; one offering BROKER_INFO gets the version after it. */
TEST_F(inspect, hello_forms)
{
	struct vshm_msg *m = calloc(1, sizeof(*m));
	struct vshm_ctl_broker_info info;
	struct vshm_ctl_hello h;

	ASSERT_NE(NULL, m);
	EXPECT_EQ(8 + 16, raw_hello(self->b.sock, 0, m));
	memcpy(&h, m->payload + 8, sizeof(h));
	EXPECT_EQ(0, h.features & VSHM_CTL_FEAT_BROKER_INFO);
	EXPECT_EQ(8 + 16 + 48, raw_hello(self->b.sock, VSHM_CTL_FEAT_BROKER_INFO, m));
	memcpy(&h, m->payload + 8, sizeof(h));
	memcpy(&info, m->payload + 24, sizeof(info));
	EXPECT_EQ(VSHM_CTL_FEAT_BROKER_INFO, h.features & VSHM_CTL_FEAT_BROKER_INFO);
	EXPECT_STREQ(VSHM_VERSION_STRING, info.version);
	EXPECT_EQ(VSHM_VERSION_PATCH, info.patch);
	free(m);
}

TEST_HARNESS_MAIN
