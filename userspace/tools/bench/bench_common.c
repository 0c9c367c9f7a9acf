// SPDX-License-Identifier: GPL-2.0
/* vshm-bench: timing, medians, results table and JSON. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

double now_ns(void)
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

double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void die(const char *what)
{
	fprintf(stderr, "vshm-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

int make_memfd(size_t size)
{
	int fd = memfd_create("bench", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, size) || fallocate(fd, 0, 0, size))
		die("memfd");
	return fd;
}

void add_result(struct bench *b, struct result r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r.note, sizeof(r.note), fmt, ap);
	va_end(ap);
	r.ratio = r.other ? r.vshm / r.other : 0;
	if (b->nr_results < MAX_RESULTS)
		b->results[b->nr_results++] = r;
	printf("  %-22s %.3f\n", r.name, r.ratio);
	fflush(stdout);
}

static const char *verdict(const struct result *r)
{
	switch (r->kind) {
	case T_AT_MOST:
		return r->ratio <= r->target ? "met" : "MISSED";
	case T_AT_LEAST:
		return r->ratio >= r->target ? "met" : "MISSED";
	case T_VALUE_AT_MOST:
		return r->vshm <= r->target ? "met" : "MISSED";
	default:
		return "info";
	}
}

static void target_str(const struct result *r, char *buf, size_t len)
{
	if (r->kind == T_INFO)
		snprintf(buf, len, "-");
	else if (r->kind == T_VALUE_AT_MOST)
		snprintf(buf, len, "v<=%.0f", r->target);
	else
		snprintf(buf, len, "%s%.2f", r->kind == T_AT_MOST ? "<=" : ">=",
			 r->target);
}

void report(struct bench *b, const char *json_path)
{
	FILE *json = json_path ? fopen(json_path, "w") : NULL;
	char t[16];
	int i;

	printf("\n%-6s %-22s %-9s %14s %14s %8s %7s  %s\n", "where", "benchmark",
	       "unit", "vshm", "alternative", "ratio", "target", "verdict");
	for (i = 0; i < b->nr_results; i++) {
		const struct result *r = &b->results[i];

		target_str(r, t, sizeof(t));
		printf("%-6s %-22s %-9s %14.1f %14.1f %8.3f %7s  %s  (%s)\n",
		       b->where, r->name, r->unit, r->vshm, r->other, r->ratio, t,
		       verdict(r), r->note);
	}
	if (json_path && !json)
		die(json_path);
	if (!json)
		return;
	fprintf(json, "{\n  \"where\": \"%s\",\n  \"rounds\": %d,\n  \"results\": [\n",
		b->where, ROUNDS);
	for (i = 0; i < b->nr_results; i++) {
		const struct result *r = &b->results[i];

		target_str(r, t, sizeof(t));
		fprintf(json, "    {\"where\": \"%s\", \"name\": \"%s\", \"unit\": \"%s\", "
			"\"vshm\": %.1f, \"alternative\": %.1f, \"ratio\": %.3f, "
			"\"target\": \"%s\", \"judged_on\": \"%s\", "
			"\"verdict\": \"%s\", \"note\": \"%s\"}%s\n",
			b->where, r->name, r->unit, r->vshm, r->other, r->ratio, t,
			r->kind == T_VALUE_AT_MOST ? "vshm" : "ratio",
			verdict(r), r->note, i + 1 < b->nr_results ? "," : "");
	}
	fprintf(json, "  ]\n}\n");
	fclose(json);
}
