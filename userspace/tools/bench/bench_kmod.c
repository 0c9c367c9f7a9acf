// SPDX-License-Identifier: GPL-2.0
/*
 * vshm-bench: the module's path against the userspace alternative, in one
 * run, interleaved round by round, so that only ratios are compared.
 *
 *   map_unmap_64k   VSHM_IOC_MAP + VSHM_IOC_UNMAP of a 64 KiB memfd range,
 *                   against mmap(MAP_FIXED) + mmap(PROT_NONE, MAP_FIXED)
 *                   in a reservation.  Target: ratio <= 1.0.
 *   map_at_N        map + unmap latency in a region already holding N
 *                   mappings, against the same at 1k.  Target: 1M <= 2x 1k.
 *                   The userspace way stops at vm.max_map_count: reported.
 *   first_touch     first read fault per 4 KiB page through a region,
 *                   against the memfd mmap'ed directly.  Target <= 1.5x.
 *   memcpy          steady-state memcpy bandwidth out of the region,
 *                   against the direct mapping.  Target >= 0.95x.
 *
 * Prints a table and writes JSON (--json FILE).  Needs /dev/vshm.
 */
#include <errno.h>
#include <stdarg.h>
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

#define PAGE		4096UL
#define ROUNDS		9
#define MAX_RESULTS	16

struct result {
	const char *name;
	const char *unit;
	double vshm;		/* median of the vshm path */
	double other;		/* median of the alternative */
	double ratio;		/* vshm / other */
	double target;
	bool lower_is_better;	/* of the ratio */
	char note[96];
};

struct bench {
	int dev;
	struct result results[MAX_RESULTS];
	int nr_results;
	unsigned long max_mappings;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what)
{
	fprintf(stderr, "vshm-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int make_memfd(size_t size)
{
	int fd = memfd_create("bench", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, size) || fallocate(fd, 0, 0, size))
		die("memfd");
	return fd;
}

static int make_region(struct bench *b, size_t size, unsigned int max_mappings)
{
	struct vshm_region_create req = { .size = size, .max_mappings = max_mappings };
	int fd = ioctl(b->dev, VSHM_IOC_CREATE_REGION, &req);

	if (fd < 0)
		die("VSHM_IOC_CREATE_REGION");
	return fd;
}

static int vshm_map(int region, int fd, unsigned long fd_off, unsigned long off,
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

static void add_result(struct bench *b, struct result r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r.note, sizeof(r.note), fmt, ap);
	va_end(ap);
	r.ratio = r.vshm / r.other;
	if (b->nr_results < MAX_RESULTS)
		b->results[b->nr_results++] = r;
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
		.target = 1.0, .lower_is_better = true }, "vs mmap(MAP_FIXED)+PROT_NONE re-reserve");
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
			.target = 2.0, .lower_is_better = true },
			"map+unmap beside %lu mappings vs beside 1k", sizes[k]);
	}
	printf("userspace way: MAP_FIXED failed after %lu mappings (vm.max_map_count)\n",
	       userspace_mapping_limit());
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
		.target = 1.5, .lower_is_better = true }, "read fault per 4 KiB page vs the memfd mmap'ed directly");
	add_result(b, (struct result){
		.name = "memcpy", .unit = "MiB/s",
		.vshm = median(cv, ROUNDS), .other = median(cd, ROUNDS),
		.target = 0.95, .lower_is_better = false }, "steady-state copy out vs the direct mapping");
	free(buf);
	close(region);
	close(memfd);
}

static bool met(const struct result *r)
{
	return r->lower_is_better ? r->ratio <= r->target : r->ratio >= r->target;
}

static void report(struct bench *b, const char *json_path)
{
	FILE *json = json_path ? fopen(json_path, "w") : NULL;
	int i;

	printf("\n%-14s %-8s %14s %14s %8s %8s  %s\n", "benchmark", "unit",
	       "vshm", "alternative", "ratio", "target", "met");
	for (i = 0; i < b->nr_results; i++) {
		const struct result *r = &b->results[i];

		printf("%-14s %-8s %14.1f %14.1f %8.2f %s%6.2f  %s  (%s)\n", r->name,
		       r->unit, r->vshm, r->other, r->ratio,
		       r->lower_is_better ? "<=" : ">=", r->target,
		       met(r) ? "yes" : "MISSED", r->note);
	}
	if (json_path && !json)
		die(json_path);
	if (!json)
		return;
	fprintf(json, "{\n  \"rounds\": %d,\n  \"results\": [\n", ROUNDS);
	for (i = 0; i < b->nr_results; i++) {
		const struct result *r = &b->results[i];

		fprintf(json, "    {\"name\": \"%s\", \"unit\": \"%s\", \"vshm\": %.1f, "
			"\"alternative\": %.1f, \"ratio\": %.3f, \"target\": %.2f, "
			"\"lower_is_better\": %s, \"met\": %s, \"note\": \"%s\"}%s\n",
			r->name, r->unit, r->vshm, r->other, r->ratio, r->target,
			r->lower_is_better ? "true" : "false", met(r) ? "true" : "false",
			r->note, i + 1 < b->nr_results ? "," : "");
	}
	fprintf(json, "  ]\n}\n");
	fclose(json);
}

int main(int argc, char **argv)
{
	struct bench b = { 0 };
	const char *json = NULL;
	FILE *param;

	if (argc == 3 && !strcmp(argv[1], "--json")) {
		json = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: vshm-bench [--json FILE]\n");
		return 2;
	}
	b.dev = open(VSHM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (b.dev < 0)
		die(VSHM_DEVICE_PATH);
	param = fopen("/sys/module/vshm/parameters/max_mappings", "r");
	if (!param || fscanf(param, "%lu", &b.max_mappings) != 1)
		die("reading the max_mappings parameter");
	fclose(param);

	bench_map_unmap(&b);
	bench_map_scaling(&b);
	bench_faults_and_copy(&b);
	report(&b, json);
	close(b.dev);
	return 0;
}
