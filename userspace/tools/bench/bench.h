/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vshm-bench: shared definitions.  Every comparison runs the vshm path and
 * its alternative in the same process, round by round, interleaved; only
 * the ratio of the two medians is compared against the target.
 */
#ifndef VSHM_BENCH_H
#define VSHM_BENCH_H

#include <stdbool.h>
#include <stddef.h>

#define PAGE		4096UL
#define ROUNDS		9
#define MAX_RESULTS	56

/*
 * How a result is judged: its ratio against the alternative, or, for the
 * memory figures whose goal is a size (bytes per mapping), the vshm value
 * itself.
 */
enum target_kind { T_AT_MOST, T_AT_LEAST, T_VALUE_AT_MOST, T_INFO };

struct result {
	const char *name;
	const char *unit;
	double vshm;		/* median of the vshm path */
	double other;		/* median of the alternative */
	double ratio;		/* vshm / other */
	double target;
	enum target_kind kind;
	char note[128];
};

struct bench {
	const char *where;	/* "native" or "vm": where this run happened */
	int dev;		/* /dev/vshm, or -1 */
	unsigned long max_mappings;	/* the module's parameter */
	const char *only;	/* run only this benchmark (--only), or NULL */
	char tools_dir[3072];	/* where vshm-bench lives (vshmd is ../broker) */
	struct result results[MAX_RESULTS];
	int nr_results;
};

double now_ns(void);
double median(double *v, int n);
void die(const char *what) __attribute__((noreturn));
int make_memfd(size_t size);
void add_result(struct bench *b, struct result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Print the table and, with json_path, write the JSON file. */
void report(struct bench *b, const char *json_path);

/* bench_kmod.c: the module against mmap(MAP_FIXED) (needs /dev/vshm) */
void bench_kmod(struct bench *b);
/* A region of @size bytes on b->dev; exits on failure. */
int make_region(struct bench *b, size_t size, unsigned int max_mappings);
/* VSHM_IOC_MAP, writable: 0 or -1 with errno. */
int vshm_map(int region, int fd, unsigned long fd_off, unsigned long off,
	     unsigned long len);
/*
 * bench_guest.c: what a KVM guest sees of a region against a plain
 * memslot (needs /dev/vshm and /dev/kvm; says why and returns without).
 */
void bench_guest(struct bench *b);
/* bench_broker.c: vshmd round trips, copies and memory */
void bench_broker(struct bench *b);

#endif /* VSHM_BENCH_H */
