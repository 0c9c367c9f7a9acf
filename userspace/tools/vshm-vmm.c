// SPDX-License-Identifier: GPL-2.0
/*
 * vshm-vmm: the reference VMM.  A real KVM guest sees memory that separate
 * vhost-user back-end processes map through vshmd and vshm.ko.
 *
 * The VMM:
 *  - creates a VM (userspace/common/kvm_guest) whose guest RAM is a memfd
 *    registered as a memslot, and tells vshmd about it (SET_MEM_TABLE);
 *  - starts vshmd (or connects to a running one with --connect);
 *  - forks two back-end processes, A and B, each with its own main channel,
 *    and sets each up with libvshm's front-end helpers
 *    (vshm_fe_setup_shmem(): features, SET_OWNER, SET_BACKEND_REQ_FD with
 *    a socketpair, GET_SHMEM_CONFIG);
 *  - hands the VMM's end of each backend channel to vshmd (ADD_DEVICE),
 *    gets a view of each region and registers it as a memslot at the
 *    region's guest-physical address (SET_REGION_ADDR tells vshmd);
 *  - runs the guest, which reads and writes what the back-ends map, and
 *    handles KVM_RUN errors (a strict hole: EFAULT) and MMIO exits.
 *
 * Two modes, one VMM (--mode; auto picks kmod when /dev/vshm exists):
 *  - kmod: vshmd runs with --region-mode kmod and executes every SHMEM_MAP /
 *    UNMAP in vshm.ko; the view of a region is its region fd, mmapped once.
 *  - forward: no module.  vshmd runs with --region-mode vmm, validates every
 *    SHMEM_MAP / UNMAP, keeps the table and hands each approved one, with
 *    its source fd, to this VMM, which executes it with vshm_vmm_serve() in
 *    its own reservation of the region (vshm_region_create_flags() with the
 *    mmap region mode): MAP_FIXED into it, a hole put back on unmap.  The
 *    reservation's holes read zeros and take writes (VSHM_REGION_ZERO_HOLES)
 *    like the module's default safe holes, or are PROT_NONE with
 *    --strict-holes like strict kmod regions, so the guest sees the same
 *    bytes and the same holes in both modes.  The VMM serves those requests
 *    from its main loop (here: while it waits for a back-end, script()).
 *
 * The back-ends are ordinary libvshm back-ends (vshm_be_main_serve(), then
 * vshm_be_shmem_map() and friends on their backend channel).  What a real
 * device would decide on its own (map now, unmap now) the demo's driver
 * tells them over a separate "script" socket.
 *
 * With --restart-broker (kmod mode) vshmd is killed with SIGKILL halfway,
 * as a crash, while the guest's mappings are in place; the VMM starts a
 * new vshmd and hands it each device back with ADOPT_DEVICE (the copy it
 * kept of vshmd's end of each backend channel, the region fd, the guest
 * address), then the RAM table.  The guest reads the same bytes
 * throughout, and the rest of the walkthrough runs on the new broker,
 * which unmaps what the old one mapped (Documentation/protocol.rst,
 * "Restarting the broker").
 *
 * With --populate (both devices) or --populate=A / =B (one), the VMM adds
 * the device with VSHM_CTL_DEV_POPULATE: vshmd maps each SHMEM_MAP with the
 * populate hint, so in kmod mode the VMM's view, mmapped before the map,
 * already holds the pages and the guest's first read takes no fault in
 * vshm.ko (the region's fault counter shows it).
 *
 * Exit status: 0 every check passed, 1 a check failed, 4 KVM (or the
 * module) cannot be had here, with the reason printed.
 */
#include <getopt.h>
#include <linux/vshm.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "demo_util.h"
#include "kvm_guest.h"

#define RAM_GPA		KG_FIRST_FREE_GPA	/* guest RAM memfd: 1 MiB */
#define RAM_SIZE	(1ull << 20)
#define A_GPA		0x40000000ull		/* back-end A's region 0 */
#define A_SIZE		(4ull << 20)
#define B_GPA		0x40800000ull		/* back-end B's region 0 */
#define B_SIZE		(1ull << 20)
#define MAP_OFF		(1ull << 20)		/* where A maps its memfd */
#define MAP_LEN		(64ull << 10)
#define DMABUF_LEN	(64u << 10)
#define MMIO_GPA	0xd0000000ull		/* no slot: a device register */
#define SLOT_RAM	1
#define SLOT_A		2
#define SLOT_B		3
#define TIMEOUT_MS	10000
#define EXIT_SKIP	4

/* What the driver asks a back-end to do (the script socket, one datagram each). */
enum script_op {
	OP_MAP_MEMFD = 1,	/* A: map a new 64 KiB memfd (data: its first bytes) at MAP_OFF, read-write */
	OP_PEEK,		/* A: return 8 bytes of that memfd at addr */
	OP_UNMAP,		/* A: unmap it */
	OP_MEM_READ,		/* B: MEM_READ 8 bytes at guest addr */
	OP_MEM_WRITE,		/* B: MEM_WRITE 8 bytes at guest addr */
	OP_MAP_DMABUF,		/* B: map a vgem dma-buf read-only at 0 */
	OP_UNMAP_DMABUF,	/* B: unmap it */
	OP_QUIT,
};

struct script_msg {
	uint32_t op;
	int32_t status;		/* reply: 0 or -errno */
	uint64_t addr;
	uint8_t data[8];
};

/* One back-end as the VMM sees it. */
struct device {
	const char *name;
	pid_t pid;
	int script;		/* the driver's end of the script socket */
	struct vshm_chan *main;	/* the VMM's end of the main channel */
	uint32_t dev_id;
	uint64_t size;
	int region_fd;		/* kmod */
	int keep_be;		/* --restart-broker: a copy of vshmd's end of the channel */
	struct vshm_region *res;	/* forward: the VMM's reservation */
	void *view;		/* what the memslot maps: either of the above */
	bool populate;		/* --populate: added with VSHM_CTL_DEV_POPULATE */
};

struct vmm {
	struct demo_tally t;
	struct demo_broker broker;
	struct vshm_client *client;
	bool forward;		/* forwarding mode (no module) */
	bool strict;		/* strict holes: the guest's access fails */
	bool restart;		/* --restart-broker */
	char vshmd[PATH_MAX];	/* the vshmd this VMM starts */
	struct kg_vm vm;
	struct kg_vcpu vcpu;
	int ram_fd;
	void *ram;
	struct device a, b;
};

/* Back-end process. */

struct backend {
	struct vshm_chan *bch;
	int memfd, dmabuf;
	uint8_t *buf;
};

static int be_step(struct backend *be, struct script_msg *m)
{
	uint32_t len;

	switch (m->op) {
	case OP_MAP_MEMFD:
		/* A fresh memfd each time, starting with the 8 bytes given. */
		if (be->buf)
			munmap(be->buf, MAP_LEN);
		be->buf = NULL;
		if (be->memfd >= 0)
			close(be->memfd);
		be->memfd = memfd_create("backend-a", MFD_CLOEXEC);
		if (be->memfd < 0 || ftruncate(be->memfd, MAP_LEN) < 0)
			return -errno;
		be->buf = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			       be->memfd, 0);
		if (be->buf == MAP_FAILED) {
			be->buf = NULL;
			return -errno;
		}
		memcpy(be->buf, m->data, 8);
		return vshm_be_shmem_map(be->bch, 0, be->memfd, 0, MAP_OFF, MAP_LEN,
					 true, VSHM_FLAGS_FINAL, VSHM_BE_WAIT_ACK,
					 TIMEOUT_MS, NULL);
	case OP_PEEK:
		if (!be->buf || m->addr > MAP_LEN - 8)
			return -EINVAL;
		memcpy(m->data, be->buf + m->addr, 8);
		return 0;
	case OP_UNMAP:
		return vshm_be_shmem_unmap(be->bch, 0, MAP_OFF, MAP_LEN,
					   VSHM_BE_WAIT_ACK, TIMEOUT_MS, NULL);
	case OP_MEM_READ:
		return vshm_be_mem_read(be->bch, m->addr, m->data, 8, TIMEOUT_MS, NULL);
	case OP_MEM_WRITE:
		return vshm_be_mem_write(be->bch, m->addr, m->data, 8, TIMEOUT_MS, NULL);
	case OP_MAP_DMABUF: {
		int drm = vgem_open();
		void *p;

		if (drm < 0)
			return -ENODEV;
		be->dmabuf = vgem_dmabuf(drm, DMABUF_LEN, true);
		close(drm);
		if (be->dmabuf < 0)
			return -EIO;
		p = mmap(NULL, DMABUF_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, be->dmabuf, 0);
		if (p == MAP_FAILED)
			return -errno;
		memcpy(p, "dma-buf!", 8);
		munmap(p, DMABUF_LEN);
		len = DMABUF_LEN;
		return vshm_be_shmem_map(be->bch, 0, be->dmabuf, 0, 0, len, false,
					 VSHM_FLAGS_FINAL, VSHM_BE_WAIT_ACK,
					 TIMEOUT_MS, NULL);
	}
	case OP_UNMAP_DMABUF:
		return vshm_be_shmem_unmap(be->bch, 0, 0, DMABUF_LEN,
					   VSHM_BE_WAIT_ACK, TIMEOUT_MS, NULL);
	}
	return -EINVAL;
}

/* The back-end's whole life: serve the main channel's setup, then the script. */
static int backend_main(int main_fd, int script, uint64_t region_size)
{
	struct vshm_be_main st = {
		.features = 1ull << 32,	/* VIRTIO_F_VERSION_1 */
		.protocol_features = VSHM_FE_PROTOCOL_WANTED,
	};
	struct backend be = { .memfd = -1, .dmabuf = -1 };
	struct vshm_chan *mch;
	struct script_msg m;
	struct vshm_err err;

	st.config.nregions = 1;
	st.config.memory_sizes[0] = region_size;
	vshm_be_main_init(&st);
	if (vshm_chan_new(main_fd, VSHM_PROTO_FRONTEND, VSHM_CHAN_OWN_FD, &mch))
		return 1;
	if (vshm_be_main_serve(&st, mch, TIMEOUT_MS, &err)) {
		fprintf(stderr, "back-end: main channel: %s\n", err.msg);
		return 1;
	}
	if (vshm_chan_new(st.backend_fd, VSHM_PROTO_BACKEND, VSHM_CHAN_OWN_FD, &be.bch))
		return 1;
	while (recv(script, &m, sizeof(m), 0) == sizeof(m) && m.op != OP_QUIT) {
		m.status = be_step(&be, &m);
		if (send(script, &m, sizeof(m), MSG_NOSIGNAL) != sizeof(m))
			break;
	}
	vshm_chan_free(be.bch);
	vshm_chan_free(mch);
	return 0;
}

/* VMM side. */

/* Fork a back-end; the VMM keeps the main channel's and the script's other ends. */
static int spawn_backend(struct device *d)
{
	int mainsv[2], scriptsv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, mainsv) < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, scriptsv) < 0) {
		close(mainsv[0]);
		close(mainsv[1]);
		return -errno;
	}
	d->pid = fork();
	if (d->pid == 0) {
		close(mainsv[0]);
		close(scriptsv[0]);
		_exit(backend_main(mainsv[1], scriptsv[1], d->size));
	}
	close(mainsv[1]);
	close(scriptsv[1]);
	d->script = scriptsv[0];
	if (d->pid < 0) {
		close(mainsv[0]);
		return -errno;
	}
	return vshm_chan_new(mainsv[0], VSHM_PROTO_FRONTEND, VSHM_CHAN_OWN_FD, &d->main);
}

/*
 * The VMM's main loop, cut down to what the walkthrough needs: wait for
 * the back-end's answer, and meanwhile serve vshmd's requests.  In
 * forwarding mode a back-end's SHMEM_MAP is only acknowledged once this
 * VMM has placed the mapping, so the VMM must not block on the back-end
 * without dispatching its control connection.
 */
static int wait_backend(struct vmm *v, struct device *d)
{
	struct pollfd p[2] = {
		{ .fd = d->script, .events = POLLIN },
		{ .fd = vshm_client_fd(v->client) },
	};
	int n;

	for (;;) {
		p[1].events = vshm_client_events(v->client);
		n = poll(p, 2, TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -ETIMEDOUT;
		if (p[1].revents && vshm_client_dispatch(v->client, NULL) < 0)
			return -EPIPE;
		if (p[0].revents)
			return 0;
	}
}

/* Ask a back-end to do op; its status (-errno), data in *m. */
static int script(struct vmm *v, struct device *d, enum script_op op,
		  uint64_t addr, const void *data, struct script_msg *m)
{
	struct script_msg req = { .op = op, .addr = addr };
	int ret;

	if (data)
		memcpy(req.data, data, 8);
	if (send(d->script, &req, sizeof(req), MSG_NOSIGNAL) != sizeof(req))
		return -EPIPE;
	ret = wait_backend(v, d);
	if (ret)
		return ret;
	if (recv(d->script, m, sizeof(*m), 0) != sizeof(*m))
		return -EPIPE;
	return m->status;
}

/* Forwarding mode: the reservation vshmd's VMM_MAP / UNMAP / RESET names. */
static struct vshm_region *lookup_region(uint32_t dev_id, uint32_t shmid, void *opaque)
{
	struct vmm *v = opaque;

	if (shmid == 0 && v->a.res && v->a.dev_id == dev_id)
		return v->a.res;
	if (shmid == 0 && v->b.res && v->b.dev_id == dev_id)
		return v->b.res;
	return NULL;
}

/* vshmd's requests to the VMM: forwarding mode's VMM_MAP, UNMAP, RESET. */
static void on_broker_request(struct vshm_client *c, struct vshm_msg *msg, void *opaque)
{
	if (vshm_vmm_serve(c, msg, lookup_region, opaque, NULL) == -EOPNOTSUPP)
		vshm_client_answer(c, msg->hdr.request, ENOSYS, NULL, 0, NULL, 0, NULL);
}

/*
 * The region's view, which becomes guest memory: kmod, the region fd
 * mmapped once; forward, the VMM's own reservation, with the device's hole
 * policy (zeros that take writes, or PROT_NONE if strict).
 */
static int region_view(struct vmm *v, struct device *d)
{
	int ret;

	if (v->forward) {
		ret = vshm_region_create_flags(VSHM_REGION_MODE_MMAP, d->size, 0,
					       v->strict ? 0 : VSHM_REGION_ZERO_HOLES,
					       &d->res);
		if (ret)
			return ret;
		d->view = vshm_region_addr(d->res);
		return 0;
	}
	if (d->region_fd < 0)
		return -ENODEV;
	d->view = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, d->region_fd, 0);
	if (d->view != MAP_FAILED)
		return 0;
	d->view = NULL;
	return -errno;
}

/*
 * The vhost-user part of plugging in a device: negotiate SHMEM, give the
 * back-end a backend channel whose other end goes to vshmd, learn the
 * region sizes, get a view of each region and make it guest memory.
 */
/* The ADD_DEVICE (and ADOPT_DEVICE) flags of a device. */
static uint32_t device_flags(const struct vmm *v, const struct device *d)
{
	return (v->strict ? VSHM_CTL_DEV_STRICT_HOLES : 0) |
	       (d->populate ? VSHM_CTL_DEV_POPULATE : 0);
}

/* kmod: the fault counter of a device's region, or UINT64_MAX. */
static uint64_t region_faults(const struct device *d)
{
	struct vshm_region_info info = { 0 };

	if (d->region_fd < 0 || ioctl(d->region_fd, VSHM_IOC_REGION_INFO, &info) < 0)
		return UINT64_MAX;
	return info.faults;
}

static bool plug_device(struct vmm *v, struct device *d, uint64_t gpa, uint32_t slot)
{
	uint32_t flags = device_flags(v, d);
	struct vshm_fe_shmem sh;
	struct vshm_err err;
	int ret;

	ret = vshm_fe_setup_shmem(d->main, &sh, TIMEOUT_MS, &err);
	if (!demo_check(&v->t, ret == 0, "main channel: features, SET_OWNER, SET_BACKEND_REQ_FD, GET_SHMEM_CONFIG"))
		return demo_note("%s", err.msg), false;
	demo_note("protocol features set: 0x%llx (BACKEND_REQ, REPLY_ACK, SHMEM = bit 22)",
		  (unsigned long long)sh.protocol_features);
	demo_note("GET_SHMEM_CONFIG: %u region(s), shmid 0 = %llu KiB",
		  sh.config.nregions, (unsigned long long)sh.config.memory_sizes[0] >> 10);
	ret = vshm_client_add_device(v->client, sh.backend_fd, -1, sh.config.memory_sizes,
				     1, flags, &d->dev_id, &d->region_fd, &err);
	/* vshmd holds its own copy now; a VMM that may restart it keeps one. */
	if (v->restart)
		d->keep_be = sh.backend_fd;
	else
		close(sh.backend_fd);
	if (!demo_check(&v->t, ret == 0 && (v->forward || d->region_fd >= 0),
			v->forward ? "vshmd took the backend channel (ADD_DEVICE); the VMM will place the mappings" :
			"vshmd took the backend channel (ADD_DEVICE) and returned the region fd"))
		return demo_note("%s", ret ? err.msg : "no region fd: is vshmd running without /dev/vshm?"), false;
	ret = region_view(v, d);
	if (!ret)
		ret = kg_vm_set_slot(&v->vm, slot, gpa, d->view, d->size, 0);
	if (!demo_check(&v->t, ret == 0, v->forward ?
			"the VMM reserved the region (mmap region mode) and registered it as a KVM memslot" :
			"region fd mmapped once and registered as a KVM memslot"))
		return demo_note("%s", strerror(-ret)), false;
	ret = vshm_client_set_region_addr(v->client, d->dev_id, 0, gpa, &err);
	return demo_check(&v->t, ret == 0, "vshmd told the region's guest address (SET_REGION_ADDR)");
}

/* Run one guest command; handle MMIO and KVM_RUN errors.  The final exit. */
static struct kg_exit guest(struct vmm *v, enum kg_cmd cmd, uint64_t gpa, uint32_t value)
{
	struct kg_exit ex = { .kind = KG_EXIT_OTHER };

	if (kg_guest_command(&v->vcpu, cmd, gpa, value, &ex))
		ex.kind = KG_EXIT_OTHER;
	if (ex.kind == KG_EXIT_RUN_ERROR || ex.kind == KG_EXIT_INTERNAL_ERROR) {
		demo_note("KVM_RUN: %s (%s): the VMM abandons the access and the guest goes on",
			  kg_exit_name(ex.kind), ex.kind == KG_EXIT_RUN_ERROR ?
			  strerror(ex.err) : "internal error");
		kg_vcpu_restart(&v->vcpu);
	}
	return ex;
}

static bool read_is(struct vmm *v, uint64_t gpa, const char *want4, const char *what)
{
	struct kg_exit ex = guest(v, KG_CMD_READ32, gpa, 0);
	char got[5] = { 0 };

	memcpy(got, &ex.value, 4);
	if (ex.kind == KG_EXIT_DONE)
		demo_note("guest reads 0x%llx: \"%s\"", (unsigned long long)gpa, got);
	return demo_check(&v->t, ex.kind == KG_EXIT_DONE && !memcmp(got, want4, 4), what);
}

static uint32_t word(const char *s)
{
	uint32_t w;

	memcpy(&w, s, 4);
	return w;
}

/*
 * A hole, as the device's policy says: zeros (safe, the default), or
 * KVM_RUN failing with EFAULT (strict).  The same in both modes.
 */
static void hole_check(struct vmm *v, uint64_t gpa, const struct kg_exit *ex, const char *what)
{
	char line[160];

	if (ex->kind == KG_EXIT_DONE)
		demo_note("guest reads 0x%llx: 0x%08x (a hole)", (unsigned long long)gpa, ex->value);
	if (!v->strict) {
		snprintf(line, sizeof(line), "%s: zeros (safe hole policy)", what);
		demo_check(&v->t, ex->kind == KG_EXIT_DONE && ex->value == 0, line);
		return;
	}
	snprintf(line, sizeof(line), "%s: KVM_RUN EFAULT, handled (strict hole policy)", what);
	demo_check(&v->t, ex->kind == KG_EXIT_RUN_ERROR && ex->err == EFAULT, line);
}

/* A guest store into a hole: completes (safe) or KVM_RUN EFAULT (strict). */
static void hole_write_check(struct vmm *v, const struct kg_exit *ex, const char *what)
{
	char line[160];

	if (!v->strict) {
		snprintf(line, sizeof(line), "%s: completes; the bytes stay in the hole, never reach a source (safe)", what);
		demo_check(&v->t, ex->kind == KG_EXIT_DONE, line);
		return;
	}
	snprintf(line, sizeof(line), "%s: KVM_RUN EFAULT, handled (strict hole policy)", what);
	demo_check(&v->t, ex->kind == KG_EXIT_RUN_ERROR && ex->err == EFAULT, line);
}

/*
 * --restart-broker: kill vshmd as a crash would, start a new one and hand
 * it the devices back.  The guest must not notice: its reads before, while
 * no broker runs, and after are the same bytes.
 */
static void restart_broker(struct vmm *v)
{
	struct vshm_ctl_ram_range ram = { .guest_addr = RAM_GPA, .size = RAM_SIZE };
	struct device *d[] = { &v->a, &v->b };
	uint64_t gpa[] = { A_GPA, B_GPA };
	struct vshm_err err;
	char line[160];
	int i, ret;

	demo_step("6b. vshmd is killed (kill -9) mid-run; a new vshmd takes the devices over");
	if (v->forward) {
		demo_note("skipped: forwarding mode has no module; a new vshmd would refuse ADOPT_DEVICE");
		demo_note("(EOPNOTSUPP) and the VMM would add its devices again.");
		return;
	}
	kill(v->broker.pid, SIGKILL);
	waitpid(v->broker.pid, NULL, 0);
	v->broker.pid = 0;
	vshm_client_close(v->client);
	v->client = NULL;
	unlink(v->broker.sock);
	unlink(v->broker.log);
	rmdir(v->broker.dir);
	demo_note("The regions and their mappings are vshm.ko's, held by the VMM's region fds.");
	read_is(v, A_GPA + MAP_OFF + 16, "B wr",
		"with no broker running, the guest reads the same bytes");
	ret = demo_start_vshmd(&v->broker, v->vshmd, "kmod", TIMEOUT_MS, &v->client);
	if (!demo_check(&v->t, ret == 0, "a new vshmd started"))
		return;
	demo_check(&v->t, vshm_client_set_mem_table(v->client, &ram, &v->ram_fd, 1, &err) == 0,
		   "SET_MEM_TABLE sent again to the new vshmd");
	for (i = 0; i < 2; i++) {
		ret = vshm_client_adopt_device(v->client, d[i]->keep_be, -1, &d[i]->size,
					       &d[i]->region_fd, &gpa[i], 1,
					       device_flags(v, d[i]),
					       &d[i]->dev_id, &err);
		snprintf(line, sizeof(line),
			 "the new vshmd took device %s over (ADOPT_DEVICE: channel, region fd, guest address)",
			 d[i]->name);
		if (!demo_check(&v->t, ret == 0, line))
			demo_note("%s", err.msg);
	}
	read_is(v, A_GPA + MAP_OFF + 16, "B wr",
		"after the restart the guest reads the same bytes: nothing was remapped");
	demo_check(&v->t, script(v, &v->b, OP_MEM_READ, A_GPA + MAP_OFF + 8, NULL,
				 &(struct script_msg){ 0 }) == 0,
		   "B's MEM_READ is served by the new vshmd");
}

/*
 * kmod: what the guest's first read of A's mapping cost in vshm.ko: no
 * fault at all when the map populated the VMM's view.
 */
static void first_read_faults(struct vmm *v, uint64_t before)
{
	uint64_t after = region_faults(&v->a);

	if (v->forward || before == UINT64_MAX || after == UINT64_MAX)
		return;
	if (v->a.populate) {
		demo_check(&v->t, after == before,
			   "the guest's first read took no fault in vshm.ko: the map populated the VMM's view");
		return;
	}
	demo_note("the guest's first read faulted the pages in: %llu fault(s) in vshm.ko (--populate: none)",
		  (unsigned long long)(after - before));
}

static void walkthrough(struct vmm *v)
{
	struct script_msg m;
	struct kg_exit ex;
	uint64_t faults;

	demo_step("4. Back-end A maps a memfd at 1 MiB into its region; the guest reads it");
	if (v->forward)
		demo_note("A sends SHMEM_MAP on its backend channel; vshmd checks it and hands it, with the memfd, to the VMM,\n"
			  "   which maps it with MAP_FIXED into its reservation (vshm_vmm_serve()); then A gets its ack.");
	else
		demo_note("A sends SHMEM_MAP on its backend channel; vshmd checks it and asks vshm.ko to map it.");
	demo_note("No memslot changes: the region's one memslot already covers it; KVM faults the pages in%s.",
		  v->a.populate && !v->forward ? ",\n   which vshmd's map entered into the VMM's view already (VSHM_CTL_DEV_POPULATE)" : "");
	demo_check(&v->t, script(v, &v->a, OP_MAP_MEMFD, 0, "A's page", &m) == 0,
		   "A: SHMEM_MAP acknowledged with 0");
	faults = region_faults(&v->a);
	read_is(v, A_GPA + MAP_OFF, "A's ", "the guest reads A's bytes at region base + 1 MiB");
	first_read_faults(v, faults);

	demo_step("5. The guest writes; A sees the write in its memfd");
	ex = guest(v, KG_CMD_WRITE32, A_GPA + MAP_OFF + 8, word("gst!"));
	demo_check(&v->t, ex.kind == KG_EXIT_DONE, "the guest's plain store completes");
	ex = guest(v, KG_CMD_SSE_WRITE32, A_GPA + MAP_OFF + 12, word("sse!"));
	demo_check(&v->t, ex.kind == KG_EXIT_DONE,
		   "an SSE store completes too (writable PTE: KVM never had to emulate it)");
	demo_check(&v->t, script(v, &v->a, OP_PEEK, 8, NULL, &m) == 0 &&
		   !memcmp(m.data, "gst!sse!", 8), "A reads \"gst!sse!\" in its memfd");

	demo_step("6. Back-end B reads and writes A's bytes with MEM_READ / MEM_WRITE");
	demo_note("B cannot map A's memfd; vshmd routes B's guest address to A's region.");
	demo_check(&v->t, script(v, &v->b, OP_MEM_READ, A_GPA + MAP_OFF + 8, NULL, &m) == 0 &&
		   !memcmp(m.data, "gst!sse!", 8), "B's MEM_READ returns what the guest wrote");
	demo_check(&v->t, script(v, &v->b, OP_MEM_WRITE, A_GPA + MAP_OFF + 16, "B wrote!", &m) == 0,
		   "B's MEM_WRITE acknowledged with 0");
	read_is(v, A_GPA + MAP_OFF + 16, "B wr", "the guest reads B's bytes");
	if (v->restart)
		restart_broker(v);
	ex = guest(v, KG_CMD_WRITE32, RAM_GPA + 0x100, word("RAM!"));
	demo_check(&v->t, ex.kind == KG_EXIT_DONE &&
		   script(v, &v->b, OP_MEM_READ, RAM_GPA + 0x100, NULL, &m) == 0 &&
		   !memcmp(m.data, "RAM!", 4),
		   "B's MEM_READ of guest RAM (the memfd slot) sees the guest's store");

	demo_step("7. A hole and a device register");
	demo_note("Nothing is mapped at the region's start.  With the safe hole policy (the");
	demo_note("default) the guest reads zeros; with the strict one KVM cannot back the");
	demo_note("access and KVM_RUN fails with EFAULT, which the VMM must handle, not abort on.");
	demo_note("This run: %s holes%s.", v->strict ? "strict" : "safe", !v->forward ? "" :
		  v->strict ? " (the reservation is PROT_NONE there)" :
		  " (the reservation is zero pages there that take writes)");
	ex = guest(v, KG_CMD_READ32, A_GPA, 0);
	hole_check(v, A_GPA, &ex, "the guest's read of a hole");
	ex = guest(v, KG_CMD_READ32, MMIO_GPA, 0);
	if (ex.kind == KG_EXIT_MMIO && !ex.mmio_write) {
		uint32_t reg = word("mmio");

		kg_vcpu_mmio_reply(&v->vcpu, &reg, 4);
		kg_vcpu_run(&v->vcpu, &ex);
	}
	demo_check(&v->t, ex.kind == KG_EXIT_DONE && ex.value == word("mmio"),
		   "a read where no memslot is: an MMIO exit the VMM answers");
	read_is(v, A_GPA + MAP_OFF, "A's ", "the guest still reads A's bytes afterwards");

	demo_step("8. A unmaps; the guest's next access is a hole");
	if (v->forward)
		demo_note("The VMM puts a hole back over the range with MAP_FIXED; KVM's MMU notifier drops\n"
			  "   the guest's mapping of the old pages with it.");
	else
		demo_note("vshm.ko zaps the pages; KVM's MMU notifier drops the guest's mapping with them.");
	demo_check(&v->t, script(v, &v->a, OP_UNMAP, 0, NULL, &m) == 0,
		   "A: SHMEM_UNMAP acknowledged with 0");
	ex = guest(v, KG_CMD_READ32, A_GPA + MAP_OFF, 0);
	hole_check(v, A_GPA + MAP_OFF, &ex,
		   "the guest's read after the unmap (no stale page, no host memory)");
	demo_check(&v->t, script(v, &v->b, OP_MEM_READ, A_GPA + MAP_OFF, NULL, &m) == -ENXIO,
		   "B's MEM_READ there: ENXIO");
	ex = guest(v, KG_CMD_WRITE32, A_GPA + MAP_OFF + 4, word("gone"));
	hole_write_check(v, &ex, "the guest's store into the hole");

	demo_step("9. A maps a new memfd at the same place; the guest reads the new bytes");
	demo_note("Still no memslot call: the pages under the memslot changed, and KVM follows.");
	demo_check(&v->t, script(v, &v->a, OP_MAP_MEMFD, 0, "A again!", &m) == 0,
		   "A: SHMEM_MAP of a new memfd acknowledged with 0");
	read_is(v, A_GPA + MAP_OFF, "A ag", "the guest reads the new memfd's bytes, not the old ones");
	read_is(v, A_GPA + MAP_OFF + 4, "ain!",
		"and not what it stored into the hole before the map");

	demo_step("10. dma-buf: B maps a vgem buffer read-only into its region; the guest reads it");
	if (script(v, &v->b, OP_MAP_DMABUF, 0, NULL, &m) == -ENODEV) {
		demo_note("skipped: no vgem device here (the demo's VM loads vgem)");
		return;
	}
	demo_check(&v->t, m.status == 0, "B: SHMEM_MAP of the dma-buf acknowledged with 0");
	read_is(v, B_GPA, "dma-", "the guest reads the dma-buf's bytes through B's region");
	demo_check(&v->t, script(v, &v->b, OP_UNMAP_DMABUF, 0, NULL, &m) == 0,
		   "B unmaps it");
}

static int vm_setup(struct vmm *v)
{
	int ret = kg_vm_create(&v->vm);

	if (ret)
		return ret;
	ret = kg_vcpu_create(&v->vm, &v->vcpu);
	if (ret) {
		kg_vm_destroy(&v->vm);
		return ret;
	}
	v->ram_fd = memfd_create("guest-ram", MFD_CLOEXEC);
	if (v->ram_fd < 0 || ftruncate(v->ram_fd, RAM_SIZE) < 0)
		return -errno;
	v->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, v->ram_fd, 0);
	if (v->ram == MAP_FAILED)
		return -errno;
	return kg_vm_set_slot(&v->vm, SLOT_RAM, RAM_GPA, v->ram, RAM_SIZE, 0);
}

static void teardown(struct vmm *v)
{
	struct script_msg quit = { .op = OP_QUIT };
	struct device *d[] = { &v->a, &v->b };
	int i, status;

	for (i = 0; i < 2; i++) {
		if (d[i]->script >= 0) {
			send(d[i]->script, &quit, sizeof(quit), MSG_NOSIGNAL);
			close(d[i]->script);
		}
		if (d[i]->pid > 0)
			waitpid(d[i]->pid, &status, 0);
		vshm_chan_free(d[i]->main);
		if (d[i]->view && !d[i]->res)
			munmap(d[i]->view, d[i]->size);
		vshm_region_destroy(d[i]->res);
		if (d[i]->region_fd >= 0)
			close(d[i]->region_fd);
		if (d[i]->keep_be >= 0)
			close(d[i]->keep_be);
	}
	kg_vcpu_destroy(&v->vcpu);
	kg_vm_destroy(&v->vm);
	if (v->ram && v->ram != MAP_FAILED)
		munmap(v->ram, RAM_SIZE);
	if (v->ram_fd >= 0)
		close(v->ram_fd);
}

static void usage(const char *prog)
{
	printf("usage: %s [--mode auto|kmod|forward] [--strict-holes] [--restart-broker]\n"
	       "          [--populate[=A|B]] [--vshmd PATH | --connect SOCKET]\n"
	       "       %s --version\n"
	       "  --mode kmod     vshmd --region-mode kmod: vshm.ko maps, the VMM mmaps each region fd\n"
	       "  --mode forward  vshmd --region-mode vmm: no module, the VMM maps what vshmd approved\n"
	       "  --mode auto     kmod if /dev/vshm exists, else forward (default)\n"
	       "  --strict-holes  devices with strict holes: the guest's access to a hole fails\n"
	       "  --populate[=A|B]  add both devices (or A, or B) with VSHM_CTL_DEV_POPULATE:\n"
	       "                  vshmd populates their maps, the guest's first touch takes no fault\n"
	       "  --restart-broker  kill vshmd (SIGKILL) halfway and hand a new one the devices\n"
	       "                  (ADOPT_DEVICE); kmod mode, not with --connect\n"
	       "  --connect       use a running vshmd; its back-end decides the mode\n", prog, prog);
}

/* Start vshmd (or connect) in the chosen mode; 0, or the reason it cannot be had. */
static int broker_setup(struct vmm *v, const char *mode, const char *sock, const char *given,
			struct vshm_err *err, const char **why)
{
	int ret;

	if (sock) {
		ret = vshm_client_connect(sock, TIMEOUT_MS, &v->client, err);
		if (ret)
			return *why = err->msg, ret;
		switch (vshm_client_region_mode(v->client)) {
		case VSHM_CTL_REGIONS_KMOD:
			v->forward = false;
			break;
		case VSHM_CTL_REGIONS_VMM:
			v->forward = true;
			break;
		default:
			*why = "that vshmd keeps its regions inside itself (--region-mode mmap): no guest can see them";
			return -EOPNOTSUPP;
		}
		if (strcmp(mode, "auto") && v->forward != !strcmp(mode, "forward")) {
			*why = "that vshmd runs in the other mode than --mode asks";
			return -EOPNOTSUPP;
		}
		return 0;
	}
	if (!strcmp(mode, "auto"))
		v->forward = access("/dev/vshm", R_OK | W_OK) != 0;
	else
		v->forward = !strcmp(mode, "forward");
	if (!v->forward && access("/dev/vshm", R_OK | W_OK)) {
		*why = "--mode kmod needs /dev/vshm (load vshm.ko)";
		return -ENODEV;
	}
	demo_find_vshmd(v->vshmd, sizeof(v->vshmd), given);
	ret = demo_start_vshmd(&v->broker, v->vshmd, v->forward ? "vmm" : "kmod", TIMEOUT_MS,
			       &v->client);
	if (ret)
		*why = "vshmd did not start (its log follows)";
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vshmd", required_argument, NULL, 'v' },
		{ "connect", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "strict-holes", no_argument, NULL, 's' },
		{ "restart-broker", no_argument, NULL, 'r' },
		{ "populate", optional_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct vmm v = {
		.ram_fd = -1,
		.vm = { .kvm_fd = -1, .vm_fd = -1 },
		.vcpu = { .fd = -1, .stats_fd = -1 },
		.a = { .name = "A", .size = A_SIZE, .script = -1, .region_fd = -1,
		       .keep_be = -1 },
		.b = { .name = "B", .size = B_SIZE, .script = -1, .region_fd = -1,
		       .keep_be = -1 },
	};
	struct vshm_ctl_ram_range ram = { .guest_addr = RAM_GPA, .size = RAM_SIZE };
	const char *given = NULL, *sock = NULL, *mode = "auto", *why = NULL;
	struct vshm_err err;
	int c, ret;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'v') {
			given = optarg;
		} else if (c == 'c') {
			sock = optarg;
		} else if (c == 'm' && (!strcmp(optarg, "auto") || !strcmp(optarg, "kmod") ||
					!strcmp(optarg, "forward"))) {
			mode = optarg;
		} else if (c == 's') {
			v.strict = true;
		} else if (c == 'r') {
			v.restart = true;
		} else if (c == 'p' && (!optarg || !strcmp(optarg, "A") ||
					!strcmp(optarg, "B"))) {
			v.a.populate |= !optarg || !strcmp(optarg, "A");
			v.b.populate |= !optarg || !strcmp(optarg, "B");
		} else if (c == 'V') {
			printf("vshm-vmm %s\n", VSHM_VERSION_STRING);
			return 0;
		} else {
			if (c == 'm')
				fprintf(stderr, "%s: --mode %s: expected auto, kmod or forward\n",
					argv[0], optarg);
			if (c == 'p')
				fprintf(stderr, "%s: --populate=%s: expected A or B (or nothing: both)\n",
					argv[0], optarg);
			usage(argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (optind < argc || (v.restart && sock)) {
		if (v.restart && sock)
			fprintf(stderr, "%s: --restart-broker restarts the vshmd it started: not with --connect\n",
				argv[0]);
		usage(argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("vshm-vmm: a KVM guest, vshmd and two vhost-user back-end processes\n");

	demo_step("1. The VMM creates a KVM VM; guest RAM is a memfd memslot");
	ret = vm_setup(&v);
	if (ret) {
		printf("   cannot use KVM here: %s (/dev/kvm: load kvm_amd or kvm_intel;\n"
		       "   nested KVM needs svm/vmx in the CPU)\n", strerror(-ret));
		teardown(&v);
		return EXIT_SKIP;
	}
	demo_note("1 vCPU in flat 32-bit mode; RAM memfd at guest 0x%llx, %llu KiB",
		  (unsigned long long)RAM_GPA, (unsigned long long)RAM_SIZE >> 10);

	demo_step("2. The VMM starts vshmd (or connects) and gives it the guest RAM table");
	ret = broker_setup(&v, mode, sock, given, &err, &why);
	if (ret) {
		printf("   no usable vshmd here: %s (%s)\n", why, strerror(-ret));
		if (v.client)
			vshm_client_close(v.client);
		if (!sock && v.broker.dir[0])
			demo_stop_vshmd(&v.broker);
		teardown(&v);
		return EXIT_SKIP;
	}
	if (v.forward) {
		demo_note("mode: forward (vshmd --region-mode vmm, no module): vshmd validates each SHMEM_MAP /");
		demo_note("UNMAP and hands it to the VMM, which executes it in its own reservation.");
		vshm_client_set_handler(v.client, on_broker_request, &v);
	} else {
		demo_note("mode: kmod (vshmd --region-mode kmod): vshm.ko executes each SHMEM_MAP / UNMAP.");
	}
	demo_note("holes: %s", v.strict ? "strict (VSHM_CTL_DEV_STRICT_HOLES)" : "safe (the default)");
	demo_note("populated maps (VSHM_CTL_DEV_POPULATE): %s",
		  v.a.populate && v.b.populate ? "devices A and B" : v.a.populate ? "device A" :
		  v.b.populate ? "device B" : "none (the default)");
	demo_check(&v.t, vshm_client_set_mem_table(v.client, &ram, &v.ram_fd, 1, &err) == 0,
		   "SET_MEM_TABLE: the RAM memfd at its guest address");

	demo_step("3. Two back-end processes; the VMM plugs each in over its main channel");
	if (spawn_backend(&v.a) == 0 && plug_device(&v, &v.a, A_GPA, SLOT_A) &&
	    spawn_backend(&v.b) == 0 && plug_device(&v, &v.b, B_GPA, SLOT_B))
		walkthrough(&v);
	else
		demo_check(&v.t, false, "both back-ends plugged in");

	vshm_client_close(v.client);
	teardown(&v);
	if (!sock)
		demo_check(&v.t, demo_stop_vshmd(&v.broker), "vshmd exited with status 0 on SIGTERM");
	printf("\n%s: %d check(s) passed, %d failed (mode %s, %s holes)\n",
	       v.t.failed ? "FAILED" : "PASSED", v.t.passed, v.t.failed,
	       v.forward ? "forward" : "kmod", v.strict ? "strict" : "safe");
	return v.t.failed ? 1 : 0;
}
