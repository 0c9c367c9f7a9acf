// SPDX-License-Identifier: GPL-2.0
/*
 * vshm-vmm-sim: a small VMM simulator that shows the broker's main job end
 * to end (behind `make demo`).
 *
 * It starts vshmd, gives it a guest RAM table, registers two devices and
 * mmaps their region fds once each.  Back-end A maps a memfd into its
 * region through SHMEM_MAP and writes a pattern: the VMM sees it at region
 * base + offset.  Back-end B, which has no translation for A's region,
 * reads that guest address with MEM_READ and writes back with MEM_WRITE:
 * A sees B's bytes in its memfd.  A unmaps: the VMM reads zeros on that
 * range (the broker's regions have safe holes) and B's MEM_READ now fails.  Then dma-bufs: A shares a vgem buffer
 * under a UUID in the broker's shared-object table, B looks it up, maps it
 * into its own region, and the VMM reads A's bytes through B's region.
 * Stats come last.  Every step checks its result; the exit status says
 * whether all of them held.
 *
 * With the mmap region mode (no /dev/vshm) the regions live inside vshmd, so
 * the VMM has no region fds to map: it checks what the guest would see
 * through the broker instead, and the hole step is skipped (said so).
 * Without vgem (any host but the demo's VM) the dma-buf step is skipped,
 * also said so; --require-vgem makes that a failure instead.
 */
#include <getopt.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "demo_util.h"

#define RAM_GA		0x0ull
#define RAM_SIZE	(16ull << 20)
#define A_GA		0x100000000ull	/* device A's region 0: 4 GiB */
#define A_SIZE		(4ull << 20)
#define B_GA		0x100800000ull	/* device B's region 0 */
#define B_SIZE		(1ull << 20)
#define MAP_OFF		(1ull << 20)	/* where A maps its memfd in its region */
#define MAP_LEN		(64ull << 10)
#define DMABUF_LEN	(64u << 10)	/* the vgem buffer A shares */
#define TIMEOUT_MS	5000

struct sim {
	const char *region_mode;
	struct demo_broker broker;
	struct vshm_client *vmm;
	bool kmod;
	struct demo_tally t;
	/* devices */
	uint32_t dev_a, dev_b;
	struct vshm_chan *a, *b;	/* back-end ends of the channels */
	int region_a, region_b;		/* kmod region fds, -1 with mmap */
	uint8_t *view_a;		/* the VMM's mapping of A's region */
	int memfd_a;			/* back-end A's buffer */
	uint8_t *buf_a;
	bool require_vgem;
	bool dmabuf_shared;		/* the dma-buf step ran (one map, one unmap) */
};

#define step(what)		demo_step(what)
#define note(...)		demo_note(__VA_ARGS__)
#define expect(s, ok, what)	demo_check(&(s)->t, ok, what)

/* Register a device with one region of size bytes; return its back-end end. */
static int add_device(struct sim *s, const char *name, uint64_t size,
		      uint64_t ga, uint32_t *id, struct vshm_chan **be,
		      int *region)
{
	struct vshm_err err;
	int sv[2], ret, fds[1] = { -1 };

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	ret = vshm_client_add_device(s->vmm, sv[1], -1, &size, 1, 0, id,
				     s->kmod ? fds : NULL, &err);
	close(sv[1]);	/* the broker has its own copy */
	if (ret) {
		close(sv[0]);
		note("ADD_DEVICE %s: %s", name, err.msg);
		return ret;
	}
	*region = fds[0];
	ret = vshm_chan_new(sv[0], VSHM_PROTO_BACKEND, VSHM_CHAN_OWN_FD, be);
	if (ret) {
		close(sv[0]);
		return ret;
	}
	ret = vshm_client_set_region_addr(s->vmm, *id, 0, ga, &err);
	if (ret)
		note("SET_REGION_ADDR %s: %s", name, err.msg);
	return ret;
}

static void setup(struct sim *s)
{
	struct vshm_ctl_ram_range ram = { .guest_addr = RAM_GA, .size = RAM_SIZE };
	struct vshm_err err;
	int ramfd;

	step("1. The VMM starts vshmd and says HELLO on its control socket");
	s->kmod = vshm_client_features(s->vmm) & VSHM_CTL_FEAT_KMOD;
	note("broker back-end: %s", s->kmod ? "kmod (/dev/vshm): region fds for the VMM" :
	     "mmap (no /dev/vshm): regions live inside vshmd");

	step("2. Guest RAM table: 16 MiB of memfd at guest 0x0");
	ramfd = memfd_create("guest-ram", MFD_CLOEXEC);
	expect(s, ramfd >= 0 && ftruncate(ramfd, RAM_SIZE) == 0 &&
	       pwrite(ramfd, "guest RAM says hi", 17, 0x2000) == 17,
	       "guest RAM memfd created");
	expect(s, vshm_client_set_mem_table(s->vmm, &ram, &ramfd, 1, &err) == 0,
	       "SET_MEM_TABLE accepted");
	close(ramfd);

	step("3. Two devices registered, their regions placed in guest space");
	expect(s, add_device(s, "A", A_SIZE, A_GA, &s->dev_a, &s->a, &s->region_a) == 0,
	       "device A: one 4 MiB region at guest 0x100000000");
	expect(s, add_device(s, "B", B_SIZE, B_GA, &s->dev_b, &s->b, &s->region_b) == 0,
	       "device B: one 1 MiB region at guest 0x100800000");
	if (s->kmod) {
		s->view_a = mmap(NULL, A_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
				 s->region_a, 0);
		if (s->view_a == MAP_FAILED)
			s->view_a = NULL;
		expect(s, s->view_a, "the VMM mmaps A's region fd once (one VMA, holes read as zeros)");
	}
}

static void map_and_see(struct sim *s)
{
	struct vshm_err err;
	uint8_t buf[64];
	int ret;

	step("4. Back-end A maps a memfd at offset 1 MiB of its region and writes a pattern");
	s->memfd_a = memfd_create("backend-a", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->memfd_a < 0 || ftruncate(s->memfd_a, MAP_LEN) < 0)
		exit(1);
	s->buf_a = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			s->memfd_a, 0);
	if (s->buf_a == MAP_FAILED)
		exit(1);
	memset(s->buf_a, 0xa5, MAP_LEN);
	strcpy((char *)s->buf_a, "pattern written by back-end A");
	ret = vshm_be_shmem_map(s->a, 0, s->memfd_a, 0, MAP_OFF, MAP_LEN, true,
				VSHM_FLAGS_FINAL, VSHM_BE_WAIT_ACK, TIMEOUT_MS, &err);
	expect(s, ret == 0, "SHMEM_MAP acknowledged with 0 (REPLY_ACK)");

	step("5. The VMM sees it at region base + 1 MiB (guest 0x100100000)");
	if (s->kmod && s->view_a) {
		note("VMM reads: \"%s\"", (char *)s->view_a + MAP_OFF);
		expect(s, !memcmp(s->view_a + MAP_OFF, s->buf_a, MAP_LEN),
		       "the VMM's view matches A's 64 KiB byte for byte");
	} else {
		struct vshm_mapping_entry m;
		uint32_t total = 0;

		expect(s, vshm_client_list_mappings(s->vmm, s->dev_a, 0, 0, &m, 1,
						    &total, &err) == 1 &&
		       m.shm_offset == MAP_OFF && m.len == MAP_LEN,
		       "mmap region mode: the broker lists the mapping at 1 MiB, 64 KiB");
	}

	step("6. Back-end B reads A's guest address with MEM_READ (cross-device fallback)");
	memset(buf, 0, sizeof(buf));
	ret = vshm_be_mem_read(s->b, A_GA + MAP_OFF, buf, sizeof(buf), TIMEOUT_MS, &err);
	if (ret == 0)
		note("B reads: \"%s\"", (char *)buf);
	expect(s, ret == 0 && !memcmp(buf, s->buf_a, sizeof(buf)),
	       "B's MEM_READ returns A's pattern");
	ret = vshm_be_mem_read(s->b, RAM_GA + 0x2000, buf, 17, TIMEOUT_MS, &err);
	expect(s, ret == 0 && !memcmp(buf, "guest RAM says hi", 17),
	       "B's MEM_READ of guest RAM goes to the RAM table");

	step("7. Back-end B writes back with MEM_WRITE; A sees it in its memfd");
	ret = vshm_be_mem_write(s->b, A_GA + MAP_OFF + 4096, "written by B via MEM_WRITE",
				27, TIMEOUT_MS, &err);
	expect(s, ret == 0, "MEM_WRITE acknowledged with 0");
	note("A reads its memfd: \"%s\"", (char *)s->buf_a + 4096);
	expect(s, !strcmp((char *)s->buf_a + 4096, "written by B via MEM_WRITE"),
	       "A's memfd holds B's bytes");
	if (s->kmod && s->view_a)
		expect(s, !strcmp((char *)s->view_a + MAP_OFF + 4096,
				  "written by B via MEM_WRITE"),
		       "and so does the VMM's view of the region");
	ret = vshm_be_mem_read(s->b, A_GA + A_SIZE - 4096, buf, 8192, TIMEOUT_MS, &err);
	expect(s, ret != 0, "an access straddling A's region end and a hole fails cleanly");
}

static void unmap_and_fault(struct sim *s)
{
	struct vshm_err err;
	uint8_t buf[64];
	int ret;

	step("8. Back-end A unmaps");
	ret = vshm_be_shmem_unmap(s->a, 0, MAP_OFF, MAP_LEN, VSHM_BE_WAIT_ACK,
				  TIMEOUT_MS, &err);
	expect(s, ret == 0, "SHMEM_UNMAP acknowledged with 0");
	if (s->kmod && s->view_a)
		expect(s, reads_zero_in_child(s->view_a + MAP_OFF),
		       "the VMM touching that range reads zeros and lives on (no stale pages, no host memory)");
	else
		note("mmap region mode: no VMM-side mapping to fault on (step skipped)");
	ret = vshm_be_mem_read(s->b, A_GA + MAP_OFF, buf, sizeof(buf), TIMEOUT_MS, &err);
	note("B's MEM_READ: %s", ret ? err.msg : "succeeded");
	expect(s, ret == -ENXIO, "B's MEM_READ of the unmapped range now fails (ENXIO)");
}

/*
 * A SHARED_OBJECT_* request on a back-end's channel (ADD/REMOVE with
 * need_reply): the reply's value, or -1; *out_fd gets LOOKUP's fd.
 */
static int64_t shared_object(struct vshm_chan *ch, uint32_t req,
			     const uint8_t uuid[16], int fd, int *out_fd)
{
	struct vshm_msg *m = malloc(sizeof(*m));
	int64_t ret = -1;
	uint64_t v;

	if (out_fd)
		*out_fd = -1;
	if (!m)
		return -1;
	if (vshm_encode_shared_object(m, req, uuid, fd) == 0) {
		if (req != VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP)
			m->hdr.flags |= VSHM_HDR_NEED_REPLY;
		if (vshm_chan_send(ch, m, NULL) == 0 &&
		    vshm_chan_recv_wait(ch, m, TIMEOUT_MS, NULL) == 0) {
			if (vshm_decode_reply_u64(m, req, &v, NULL) == 0) {
				ret = (int64_t)v;
				if (out_fd)
					*out_fd = vshm_msg_take_fd(m, 0);
			}
			vshm_msg_release(m);
		}
	}
	free(m);
	return ret;
}

static void share_dmabuf(struct sim *s)
{
	static const uint8_t uuid[16] = {
		0x76, 0x73, 0x68, 0x6d, 0xd3, 0x6f, 0x4b, 0x0a,
		0x9e, 0x21, 0x5c, 0x07, 0x88, 0x3d, 0xa1, 0x42,
	};
	struct vshm_err err;
	uint8_t *abuf, *view_b = NULL, buf[64];
	int drm, dmabuf, got;
	int64_t r;

	step("9. dma-buf: A shares a vgem buffer through the broker's table; B maps it; the VMM reads it");
	drm = vgem_open();
	if (drm < 0) {
		if (s->require_vgem)
			expect(s, false, "a vgem device to export a dma-buf from (--require-vgem)");
		else
			note("skipped: no vgem device on this host, so no dma-buf to share "
			     "(`make demo` with REGION_MODE=kmod runs this step in a VM that loads vgem)");
		return;
	}
	dmabuf = vgem_dmabuf(drm, DMABUF_LEN, true);
	close(drm);
	abuf = dmabuf < 0 ? MAP_FAILED :
	       mmap(NULL, DMABUF_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf, 0);
	if (!expect(s, abuf != MAP_FAILED, "A exports a 64 KiB vgem buffer (PRIME, read-write) and mmaps it")) {
		if (dmabuf >= 0)
			close(dmabuf);
		return;
	}
	memset(abuf, 0x3c, DMABUF_LEN);
	strcpy((char *)abuf, "vgem buffer shared by back-end A");

	r = shared_object(s->a, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, uuid, dmabuf, NULL);
	expect(s, r == 0, "A: SHARED_OBJECT_ADD of the dma-buf under its UUID acknowledged with 0");
	r = shared_object(s->b, VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP, uuid, -1, &got);
	if (!expect(s, r == 0 && got >= 0, "B: SHARED_OBJECT_LOOKUP answers 0 with the dma-buf fd"))
		goto out;
	r = vshm_be_shmem_map(s->b, 0, got, 0, 0, DMABUF_LEN, false, VSHM_FLAGS_FINAL,
			      VSHM_BE_WAIT_ACK, TIMEOUT_MS, &err);
	close(got);
	if (!expect(s, r == 0, "B: SHMEM_MAP of it at offset 0 of B's own region (read-only)"))
		goto out;
	s->dmabuf_shared = true;
	if (s->kmod) {
		view_b = mmap(NULL, B_SIZE, PROT_READ, MAP_SHARED, s->region_b, 0);
		if (view_b == MAP_FAILED) {
			view_b = NULL;
			expect(s, false, "the VMM mmaps B's region fd");
		} else {
			note("VMM reads B's region: \"%.40s\"", (const char *)view_b);
			expect(s, !memcmp(view_b, abuf, DMABUF_LEN),
			       "the VMM sees A's vgem bytes through B's region, all 64 KiB");
		}
	}
	strcpy((char *)abuf + 8192, "A writes again");
	if (view_b)
		expect(s, !strcmp((char *)view_b + 8192, "A writes again"),
		       "A's later write shows at once (same pages, no copy)");
	r = vshm_be_mem_read(s->a, B_GA + 8192, buf, 15, TIMEOUT_MS, &err);
	expect(s, r == 0 && !strcmp((char *)buf, "A writes again"),
	       "and so does a MEM_READ of B's guest address");

	r = vshm_be_shmem_unmap(s->b, 0, 0, DMABUF_LEN, VSHM_BE_WAIT_ACK, TIMEOUT_MS, &err);
	expect(s, r == 0, "B unmaps it");
out:
	r = shared_object(s->a, VSHM_VU_BACKEND_SHARED_OBJECT_REMOVE, uuid, -1, NULL);
	expect(s, r == 0, "A: SHARED_OBJECT_REMOVE acknowledged with 0");
	r = shared_object(s->b, VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP, uuid, -1, &got);
	expect(s, r == ENOENT && got < 0, "B's next LOOKUP of that UUID: ENOENT");
	if (view_b)
		munmap(view_b, B_SIZE);
	munmap(abuf, DMABUF_LEN);
	close(dmabuf);
}

static void show_stats(struct sim *s)
{
	struct vshm_ctl_stats st;
	struct vshm_err err;

	step("10. Broker stats (GET_STATS over all devices)");
	if (!expect(s, vshm_client_stats(s->vmm, VSHM_CTL_ALL_DEVICES, &st, &err) == 0,
		    "GET_STATS answered"))
		return;
	note("devices %llu, mappings %llu, maps %llu, unmaps %llu, map errors %llu",
	     (unsigned long long)st.devices, (unsigned long long)st.mappings,
	     (unsigned long long)st.maps, (unsigned long long)st.unmaps,
	     (unsigned long long)st.map_errors);
	note("MEM_READ %llu (%llu bytes), MEM_WRITE %llu (%llu bytes), forwarded %llu, protocol errors %llu",
	     (unsigned long long)st.mem_reads, (unsigned long long)st.mem_read_bytes,
	     (unsigned long long)st.mem_writes, (unsigned long long)st.mem_write_bytes,
	     (unsigned long long)st.forwarded, (unsigned long long)st.protocol_errors);
	expect(s, st.devices == 2 && st.maps == 1u + s->dmabuf_shared &&
	       st.unmaps == 1u + s->dmabuf_shared &&
	       st.mem_reads == 2u + s->dmabuf_shared && st.mem_writes == 1 &&
	       st.mappings == 0,
	       "the counters match what the walkthrough did");
}

static void stop_broker(struct sim *s)
{
	step("11. SIGTERM: vshmd drains and exits 0");
	vshm_client_close(s->vmm);
	s->vmm = NULL;
	expect(s, demo_stop_vshmd(&s->broker), "vshmd exited with status 0");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "region-mode", required_argument, NULL, 'm' },
		{ "backend", required_argument, NULL, 'b' },	/* deprecated: --region-mode */
		{ "vshmd", required_argument, NULL, 'v' },
		{ "require-vgem", no_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct sim s = { .region_mode = "auto", .region_a = -1, .region_b = -1 };
	const char *given = NULL;
	char vshmd[PATH_MAX];
	int c, ret;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			fprintf(stderr, "vshm-vmm-sim: warning: --backend is deprecated, use --region-mode\n");
			__attribute__((fallthrough));
		case 'm':
			s.region_mode = optarg;
			break;
		case 'v':
			given = optarg;
			break;
		case 'g':
			s.require_vgem = true;
			break;
		case 'V':
			printf("vshm-vmm-sim %s\n", VSHM_VERSION_STRING);
			return 0;
		default:
			printf("usage: %s [--region-mode kmod|mmap|auto] [--vshmd PATH] [--require-vgem] [--version]\n",
			       argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	demo_find_vshmd(vshmd, sizeof(vshmd), given);
	printf("vshm demo: a VMM, the vshmd broker and two vhost-user back-ends\n");
	printf("(vshmd: %s, --region-mode %s)\n", vshmd, s.region_mode);
	ret = demo_start_vshmd(&s.broker, vshmd, s.region_mode, TIMEOUT_MS, &s.vmm);
	if (ret) {
		printf("cannot start or reach vshmd: %s\n", strerror(-ret));
		return 1;
	}
	setup(&s);
	if (!s.t.failed) {
		map_and_see(&s);
		unmap_and_fault(&s);
		share_dmabuf(&s);
		show_stats(&s);
	}
	vshm_chan_free(s.a);
	vshm_chan_free(s.b);
	stop_broker(&s);
	if (s.view_a)
		munmap(s.view_a, A_SIZE);
	if (s.region_a >= 0)
		close(s.region_a);
	if (s.region_b >= 0)
		close(s.region_b);
	printf("\n%s: %d check(s) passed, %d failed\n", s.t.failed ? "FAILED" : "PASSED",
	       s.t.passed, s.t.failed);
	return s.t.failed ? 1 : 0;
}
