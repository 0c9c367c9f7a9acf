// SPDX-License-Identifier: GPL-2.0
/*
 * vshm-bench, the remap storm (needs /dev/vshm and /dev/kvm):
 *
 *   guest_remap_storm  the guest reads its 16 MiB slot, 1 MiB per command,
 *                      while a host thread remaps one page of it, then
 *                      sleeps STORM_PERIOD_US: VSHM_MAP_REPLACE of that
 *                      page's own mapping on the region side,
 *                      mmap(MAP_FIXED) of the same memfd page on the plain
 *                      side.  Each remap invalidates KVM's stage-2 entries
 *                      there, and the guest refaults (MiB/s, info).  The
 *                      note gives the remaps per pass on each side and the
 *                      most remaps between two of the guest's completed
 *                      commands.
 *
 * Bounded: a guest that sees STORM_STARVE_REMAPS remaps without completing
 * a command stops the storm, so it finishes, and the benchmark then fails
 * saying so (KVM retries a fault that an invalidation overlapped, so a
 * storm fast enough could starve a guest; none has so far).  SIGALRM ends
 * the program after STORM_TIMEOUT_S whatever else happens.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vshm.h>

#include "bench_guest.h"

/* The page the storm remaps: inside the range the guest reads. */
#define STORM_PAGE		(SLOT_LEN / 2)
#define STORM_CHUNK		(1U << 20)
#define STORM_PERIOD_US		1000
#define STORM_STARVE_REMAPS	500
#define STORM_TIMEOUT_S		600

struct storm {
	int region;		/* remap with VSHM_MAP_REPLACE, or -1: */
	char *direct;		/* remap with mmap(MAP_FIXED) here */
	int memfd;
	atomic_bool stop;
	atomic_ulong remaps;	/* this pass's */
	atomic_ulong progress;	/* remaps when the guest last completed a command */
};

static void remap_once(struct storm *s)
{
	struct vshm_map req = { .fd = s->memfd, .flags = VSHM_MAP_WRITE | VSHM_MAP_REPLACE,
				.fd_offset = STORM_PAGE, .shm_offset = STORM_PAGE,
				.len = PAGE };

	if (s->region >= 0) {
		if (ioctl(s->region, VSHM_IOC_MAP, &req))
			die("VSHM_MAP_REPLACE in the storm");
	} else if (mmap(s->direct + STORM_PAGE, PAGE, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_FIXED, s->memfd, STORM_PAGE) == MAP_FAILED) {
		die("mmap(MAP_FIXED) in the storm");
	}
}

static void *storm_thread(void *arg)
{
	struct storm *s = arg;

	while (!atomic_load(&s->stop) &&
	       atomic_load(&s->remaps) - atomic_load(&s->progress) < STORM_STARVE_REMAPS) {
		remap_once(s);
		atomic_fetch_add(&s->remaps, 1);
		usleep(STORM_PERIOD_US);
	}
	return NULL;
}

struct pass {
	double mib_s;
	unsigned long remaps;
	unsigned long most_between;	/* remaps between two completed commands */
};

/* One guest read pass over @hva, 1 MiB per command, during a storm. */
static void read_during_storm(struct storm *s, void *hva, const uint32_t *chunk_xor,
			      struct pass *p)
{
	unsigned long now;
	struct guest g;
	double ns = 0;
	pthread_t t;
	uint32_t i;

	memset(p, 0, sizeof(*p));
	guest_start(&g, hva);
	guest_timed(&g, KG_CMD_READ_RANGE, ~0U);	/* stage 2 filled first */
	atomic_store(&s->stop, false);
	atomic_store(&s->remaps, 0);
	atomic_store(&s->progress, 0);
	if (pthread_create(&t, NULL, storm_thread, s))
		die("pthread_create");
	for (i = 0; i < SLOT_LEN / STORM_CHUNK; i++) {
		ns += guest_timed_range(&g, KG_CMD_READ_RANGE, (uint64_t)i * STORM_CHUNK,
					STORM_CHUNK, chunk_xor[i]);
		now = atomic_load(&s->remaps);
		if (now - atomic_load(&s->progress) > p->most_between)
			p->most_between = now - atomic_load(&s->progress);
		atomic_store(&s->progress, now);
	}
	atomic_store(&s->stop, true);
	pthread_join(t, NULL);
	guest_stop(&g);
	p->remaps = atomic_load(&s->remaps);
	p->mib_s = mib_per_s(ns);
	if (p->most_between >= STORM_STARVE_REMAPS) {
		fprintf(stderr, "vshm-bench: the guest completed no 1 MiB read in %d remaps "
			"(%s side): starved\n", STORM_STARVE_REMAPS,
			s->region >= 0 ? "region" : "plain");
		exit(1);
	}
}

static void on_alarm(int sig)
{
	static const char msg[] = "vshm-bench: the remap storm passed its time bound\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

/* The XOR of each STORM_CHUNK of the source's words, which the guest must read. */
static void chunk_xors(int memfd, uint32_t *xor)
{
	uint32_t *w = mmap(NULL, SLOT_LEN, PROT_READ, MAP_SHARED, memfd, 0);
	size_t i;

	if (w == MAP_FAILED)
		die("mmap of the source");
	memset(xor, 0, SLOT_LEN / STORM_CHUNK * sizeof(*xor));
	for (i = 0; i < SLOT_LEN / 4; i++)
		xor[i / (STORM_CHUNK / 4)] ^= w[i];
	munmap(w, SLOT_LEN);
}

void bench_guest_storm(struct bench *b, int memfd)
{
	int region = make_region(b, SLOT_LEN, 0);
	struct storm sv = { .region = region, .memfd = memfd };
	struct storm su = { .region = -1, .memfd = memfd };
	unsigned long most_v = 0, most_u = 0, rv = 0, ru = 0;
	uint32_t chunk_xor[SLOT_LEN / STORM_CHUNK];
	double v[ROUNDS], u[ROUNDS];
	char *via_region, *direct;
	struct pass pv, pu;
	int r;

	/* The storm's page is a mapping of its own: a replace covers whole ones. */
	if (vshm_map(region, memfd, 0, 0, STORM_PAGE) ||
	    vshm_map(region, memfd, STORM_PAGE, STORM_PAGE, PAGE) ||
	    vshm_map(region, memfd, STORM_PAGE + PAGE, STORM_PAGE + PAGE,
		     SLOT_LEN - STORM_PAGE - PAGE))
		die("mapping the source into the storm's region");
	chunk_xors(memfd, chunk_xor);
	via_region = map_slot(region);
	direct = map_slot(memfd);
	su.direct = direct;
	signal(SIGALRM, on_alarm);
	alarm(STORM_TIMEOUT_S);
	for (r = 0; r < ROUNDS; r++) {
		read_during_storm(&sv, via_region, chunk_xor, &pv);
		read_during_storm(&su, direct, chunk_xor, &pu);
		v[r] = pv.mib_s;
		u[r] = pu.mib_s;
		rv += pv.remaps;
		ru += pu.remaps;
		if (pv.most_between > most_v)
			most_v = pv.most_between;
		if (pu.most_between > most_u)
			most_u = pu.most_between;
	}
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	add_result(b, (struct result){
		.name = "guest_remap_storm", .unit = "MiB/s",
		.vshm = median(v, ROUNDS), .other = median(u, ROUNDS), .kind = T_INFO },
		"remap then %d us: %.1f vs %.1f remaps/pass, at most %lu vs %lu per 1 MiB read",
		STORM_PERIOD_US, (double)rv / ROUNDS, (double)ru / ROUNDS, most_v, most_u);
	munmap(via_region, SLOT_LEN);
	munmap(direct, SLOT_LEN);
	close(region);
}
