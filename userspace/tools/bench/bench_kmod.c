// SPDX-License-Identifier: GPL-2.0
/*
 * vshm-bench, the module's part (needs /dev/vshm): the module's path
 * against the userspace alternative.
 *
 *   map_unmap_64k   VSHM_IOC_MAP + VSHM_IOC_UNMAP of a 64 KiB memfd range,
 *                   against mmap(MAP_FIXED) + mmap(PROT_NONE, MAP_FIXED)
 *                   in a reservation.  Target: ratio <= 1.0.
 *   map_at_N        map + unmap latency in a region already holding N
 *                   mappings, against the same at 1k.  Target: <= 1.1x 1k.
 *                   The userspace way stops at vm.max_map_count: reported.
 *   first_touch     first read fault per 4 KiB page through a region,
 *                   against the memfd mmap'ed directly.  Target <= 1.1x.
 *   memcpy          steady-state memcpy bandwidth out of the region,
 *                   against the direct mapping.  Target >= 0.95x.
 *   first_touch_populated
 *                   the same first touch after VSHM_MAP_POPULATE entered
 *                   the pages into the region's mmap at MAP, against the
 *                   memfd's first touch (info: what a guest's first access
 *                   costs when the broker populates).
 *   populate_total  MAP with VSHM_MAP_POPULATE and then the first touch,
 *                   against MAP without it and the first touch's faults,
 *                   per page (info: whether populating costs more than
 *                   the faults it saves).
 *   kernel_bytes    kernel memory per mapping (the Slab line of
 *                   /proc/meminfo over 100k mappings), against one VMA per
 *                   mapping (the userspace way, as many as fit).  Target:
 *                   at most 128 bytes per mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/vshm.h>

#include "bench.h"

static bool wanted(const struct bench *b, const char *name)
{
	return !b->only || !strcmp(b->only, name);
}

int make_region(struct bench *b, size_t size, unsigned int max_mappings)
{
	struct vshm_region_create req = { .size = size, .max_mappings = max_mappings };
	int fd = ioctl(b->dev, VSHM_IOC_CREATE_REGION, &req);

	if (fd < 0)
		die("VSHM_IOC_CREATE_REGION");
	return fd;
}

int vshm_map(int region, int fd, unsigned long fd_off, unsigned long off,
	     unsigned long len)
{
	struct vshm_map req = { .fd = fd, .flags = VSHM_MAP_WRITE,
				.fd_offset = fd_off, .shm_offset = off, .len = len };

	return ioctl(region, VSHM_IOC_MAP, &req);
}

static int vshm_unmap(int region, unsigned long off, unsigned long len)
{
	struct vshm_unmap req = { .shm_offset = off, .len = len };

	return ioctl(region, VSHM_IOC_UNMAP, &req);
}

/* ns per map+unmap pair, over @iters pairs at one offset. */
static double time_vshm_pairs(int region, int memfd, unsigned long off,
			      unsigned long len, int iters)
{
	double t0 = now_ns();
	int i;

	for (i = 0; i < iters; i++)
		if (vshm_map(region, memfd, 0, off, len) || vshm_unmap(region, off, len))
			die("vshm map/unmap");
	return (now_ns() - t0) / iters;
}

static double time_userspace_pairs(char *resv, int memfd, unsigned long len,
				   int iters)
{
	double t0 = now_ns();
	int i;

	for (i = 0; i < iters; i++) {
		if (mmap(resv, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 memfd, 0) == MAP_FAILED)
			die("mmap MAP_FIXED");
		if (mmap(resv, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
			die("mmap PROT_NONE");
	}
	return (now_ns() - t0) / iters;
}

static void bench_map_unmap(struct bench *b)
{
	const unsigned long len = 64 << 10;
	int memfd = make_memfd(len), region = make_region(b, 1 << 20, 0);
	double v[ROUNDS], u[ROUNDS];
	char *resv;
	int r;

	resv = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE, -1, 0);
	if (resv == MAP_FAILED)
		die("reservation");
	for (r = 0; r < ROUNDS; r++) {
		v[r] = time_vshm_pairs(region, memfd, 0, len, 200);
		u[r] = time_userspace_pairs(resv, memfd, len, 200);
	}
	add_result(b, (struct result){
		.name = "map_unmap_64k", .unit = "ns/pair",
		.vshm = median(v, ROUNDS), .other = median(u, ROUNDS),
		.target = 1.0, .kind = T_AT_MOST }, "vs mmap(MAP_FIXED)+PROT_NONE re-reserve");
	munmap(resv, 1 << 20);
	close(region);
	close(memfd);
}

/* Fill a region with @n one-page mappings and time map+unmap beside them. */
static double map_latency_at(struct bench *b, unsigned long n)
{
	int memfd = make_memfd(PAGE), region;
	double v[ROUNDS];
	unsigned long i;
	int r;

	region = make_region(b, (2 * n + 64) * PAGE, n + 1);
	for (i = 0; i < n; i++)
		if (vshm_map(region, memfd, 0, 2 * i * PAGE, PAGE))
			die("filling the region");
	for (r = 0; r < ROUNDS; r++)
		v[r] = time_vshm_pairs(region, memfd, (2 * n / 2 + 1) * PAGE, PAGE, 200);
	close(region);
	close(memfd);
	return median(v, ROUNDS);
}

/* How many one-page MAP_FIXED mappings fit before mmap fails. */
static unsigned long userspace_mapping_limit(void)
{
	const unsigned long slots = 1UL << 18;
	int memfd = make_memfd(PAGE);
	unsigned long i;
	char *resv;

	resv = mmap(NULL, 2 * slots * PAGE, PROT_NONE, MAP_PRIVATE |
		    MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (resv == MAP_FAILED)
		die("reservation");
	for (i = 0; i < slots; i++)
		if (mmap(resv + 2 * i * PAGE, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED,
			 memfd, 0) == MAP_FAILED)
			break;
	munmap(resv, 2 * slots * PAGE);
	close(memfd);
	return i;
}

static void bench_map_scaling(struct bench *b)
{
	static const unsigned long sizes[] = { 1000, 10000, 100000, 1000000 };
	unsigned long limit;
	double base = 0;
	size_t k;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		static const char *names[] = { "map_at_1k", "map_at_10k",
					       "map_at_100k", "map_at_1M" };
		double t;

		if (sizes[k] > b->max_mappings) {
			printf("skip %s: module max_mappings=%lu (load with max_mappings=%lu)\n",
			       names[k], b->max_mappings, sizes[k] + 1);
			continue;
		}
		t = map_latency_at(b, sizes[k]);
		if (!k)
			base = t;
		add_result(b, (struct result){
			.name = names[k], .unit = "ns/pair", .vshm = t, .other = base,
			.target = 1.1, .kind = T_AT_MOST },
			"map+unmap beside %lu mappings vs beside 1k", sizes[k]);
	}
	limit = userspace_mapping_limit();
	add_result(b, (struct result){
		.name = "mappings_max", .unit = "mappings",
		.vshm = b->max_mappings < 1000000 ? b->max_mappings : 1000000,
		.other = limit, .kind = T_INFO },
		"one region held all; MAP_FIXED failed after %lu (vm.max_map_count)",
		limit);
}

static double touch_pages(volatile char *p, size_t len)
{
	double t0 = now_ns();
	size_t off;

	for (off = 0; off < len; off += PAGE)
		(void)p[off];
	return (now_ns() - t0) / (len / PAGE);
}

/* MiB/s of one memcpy; the barrier keeps the copy from being elided. */
static double copy_rate(char *dst, const char *src, size_t len)
{
	double t0 = now_ns();

	memcpy(dst, src, len);
	__asm__ volatile("" : : "r"(dst) : "memory");
	return len / ((now_ns() - t0) / 1e9) / (1 << 20);
}

static void bench_faults_and_copy(struct bench *b)
{
	const size_t len = 32 << 20;
	int memfd = make_memfd(len), region = make_region(b, len, 0);
	double fv[ROUNDS], fd[ROUNDS], cv[ROUNDS], cd[ROUNDS];
	char *buf = malloc(len);
	int r;

	if (!buf || vshm_map(region, memfd, 0, 0, len))
		die("setup");
	for (r = 0; r < ROUNDS; r++) {
		char *via_region = mmap(NULL, len, PROT_READ, MAP_SHARED, region, 0);
		char *direct = mmap(NULL, len, PROT_READ, MAP_SHARED, memfd, 0);

		if (via_region == MAP_FAILED || direct == MAP_FAILED)
			die("mmap");
		fv[r] = touch_pages(via_region, len);
		fd[r] = touch_pages(direct, len);
		cv[r] = copy_rate(buf, via_region, len);
		cd[r] = copy_rate(buf, direct, len);
		munmap(via_region, len);
		munmap(direct, len);
	}
	add_result(b, (struct result){
		.name = "first_touch", .unit = "ns/page",
		.vshm = median(fv, ROUNDS), .other = median(fd, ROUNDS),
		.target = 1.1, .kind = T_AT_MOST }, "read fault per 4 KiB page vs the memfd mmap'ed directly");
	add_result(b, (struct result){
		.name = "memcpy", .unit = "MiB/s",
		.vshm = median(cv, ROUNDS), .other = median(cd, ROUNDS),
		.target = 0.95, .kind = T_AT_LEAST }, "steady-state copy out vs the direct mapping");
	free(buf);
	close(region);
	close(memfd);
}

/* VSHM_IOC_MAP of @len bytes at 0 with @flags; ns per page. */
static double time_map(int region, int memfd, size_t len, unsigned int flags)
{
	struct vshm_map req = { .fd = memfd, .flags = flags, .len = len };
	double t0 = now_ns();

	if (ioctl(region, VSHM_IOC_MAP, &req))
		die("VSHM_IOC_MAP");
	return (now_ns() - t0) / (len / PAGE);
}

/*
 * One round of a fresh mmap of the region, a MAP of the whole memfd with
 * @flags and the first touch of every page: ns per page of the MAP into
 * *@map_ns and of the touch into *@touch_ns.
 */
static void map_and_touch(int region, int memfd, size_t len, unsigned int flags,
			  double *map_ns, double *touch_ns)
{
	char *view = mmap(NULL, len, PROT_READ, MAP_SHARED, region, 0);

	if (view == MAP_FAILED)
		die("mmap");
	*map_ns = time_map(region, memfd, len, flags);
	*touch_ns = touch_pages(view, len);
	if (vshm_unmap(region, 0, len))
		die("VSHM_IOC_UNMAP");
	munmap(view, len);
}

/*
 * What VSHM_MAP_POPULATE buys: the region's mmap exists before the MAP (as
 * the VMM's does before the broker maps), and the MAP enters the pages.
 * Three interleaved paths per round: MAP + faulting touch, MAP|POPULATE +
 * touch, and the memfd's own first touch.
 */
static void bench_populate(struct bench *b)
{
	const size_t len = 32 << 20;
	int memfd = make_memfd(len), region = make_region(b, len, 0);
	double m0[ROUNDS], t0[ROUNDS], m1[ROUNDS], t1[ROUNDS], td[ROUNDS];
	double sum0[ROUNDS], sum1[ROUNDS];
	struct vshm_map probe = { .fd = memfd, .flags = VSHM_MAP_POPULATE, .len = PAGE };
	int r;

	if (ioctl(region, VSHM_IOC_MAP, &probe)) {
		if (errno != EINVAL)
			die("VSHM_IOC_MAP");
		printf("skip first_touch_populated, populate_total: the module lacks VSHM_MAP_POPULATE\n");
		close(region);
		close(memfd);
		return;
	}
	if (vshm_unmap(region, 0, PAGE))
		die("VSHM_IOC_UNMAP");
	for (r = 0; r < ROUNDS; r++) {
		char *direct;

		map_and_touch(region, memfd, len, VSHM_MAP_WRITE, &m0[r], &t0[r]);
		map_and_touch(region, memfd, len, VSHM_MAP_WRITE | VSHM_MAP_POPULATE,
			      &m1[r], &t1[r]);
		direct = mmap(NULL, len, PROT_READ, MAP_SHARED, memfd, 0);
		if (direct == MAP_FAILED)
			die("mmap");
		td[r] = touch_pages(direct, len);
		munmap(direct, len);
		sum0[r] = m0[r] + t0[r];
		sum1[r] = m1[r] + t1[r];
	}
	add_result(b, (struct result){
		.name = "first_touch_populated", .unit = "ns/page",
		.vshm = median(t1, ROUNDS), .other = median(td, ROUNDS),
		.kind = T_INFO },
		"touch after MAP|POPULATE vs the memfd's first touch (faults: %.0f ns/page)",
		median(t0, ROUNDS));
	add_result(b, (struct result){
		.name = "populate_total", .unit = "ns/page",
		.vshm = median(sum1, ROUNDS), .other = median(sum0, ROUNDS),
		.kind = T_INFO },
		"MAP|POPULATE + touch vs MAP + faulting touch (MAP alone %.0f vs %.0f)",
		median(m1, ROUNDS), median(m0, ROUNDS));
	close(region);
	close(memfd);
}

/* The Slab line of /proc/meminfo, in bytes. */
static double slab_bytes(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	double kb = -1;

	if (!f)
		die("/proc/meminfo");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %lf kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/* Slab bytes per one-page mapping of a region holding n of them. */
static double kernel_bytes_vshm(struct bench *b, int memfd, unsigned long n)
{
	int region = make_region(b, 2 * n * PAGE, n);
	double before = slab_bytes(), after;
	unsigned long i;

	for (i = 0; i < n; i++)
		if (vshm_map(region, memfd, 0, 2 * i * PAGE, PAGE))
			die("filling the region");
	after = slab_bytes();
	close(region);
	return (after - before) / n;
}

/* Slab bytes per one-page MAP_FIXED mapping (one VMA each), n of them. */
static double kernel_bytes_vma(int memfd, unsigned long n)
{
	char *resv = mmap(NULL, 2 * n * PAGE, PROT_NONE, MAP_PRIVATE |
			  MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	double before = slab_bytes(), after;
	unsigned long i;

	if (resv == MAP_FAILED)
		die("reservation");
	for (i = 0; i < n; i++)
		if (mmap(resv + 2 * i * PAGE, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED,
			 memfd, 0) == MAP_FAILED)
			die("MAP_FIXED");
	after = slab_bytes();
	munmap(resv, 2 * n * PAGE);
	return (after - before) / n;
}

static void bench_kernel_bytes(struct bench *b)
{
	/* Each MAP_FIXED in a reservation costs two VMAs (it and the gap after). */
	const unsigned long n = 100000, nvma = 25000;
	int memfd = make_memfd(PAGE);
	double v[3], u[3];
	int r;

	if (b->max_mappings < n) {
		printf("skip kernel_bytes: module max_mappings=%lu\n", b->max_mappings);
		close(memfd);
		return;
	}
	for (r = 0; r < 3; r++) {
		v[r] = kernel_bytes_vshm(b, memfd, n);
		u[r] = kernel_bytes_vma(memfd, nvma);
	}
	add_result(b, (struct result){
		.name = "kernel_bytes_per_map", .unit = "bytes",
		.vshm = median(v, 3), .other = median(u, 3),
		.target = 128, .kind = T_VALUE_AT_MOST },
		"Slab delta (/proc/meminfo) over %luk mappings vs %luk MAP_FIXED in a reservation",
		n / 1000, nvma / 1000);
	close(memfd);
}

void bench_kmod(struct bench *b)
{
	FILE *param;

	param = fopen("/sys/module/vshm/parameters/max_mappings", "r");
	if (!param || fscanf(param, "%lu", &b->max_mappings) != 1)
		die("reading the max_mappings parameter");
	fclose(param);
	if (wanted(b, "map_unmap_64k"))
		bench_map_unmap(b);
	if (wanted(b, "map_at_N"))
		bench_map_scaling(b);
	if (wanted(b, "first_touch") || wanted(b, "memcpy"))
		bench_faults_and_copy(b);
	if (wanted(b, "first_touch") || wanted(b, "populate"))
		bench_populate(b);
	if (wanted(b, "kernel_bytes"))
		bench_kernel_bytes(b);
	if (b->only && !b->nr_results) {
		errno = EINVAL;
		die("--only: no module benchmark of that name");
	}
}
