/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vshm-bench's guest part: a KVM guest (userspace/common/kvm_guest) whose
 * memory slot is a region's mmap, or the source mmap'ed directly as a
 * plain memslot.  Shared by bench_guest*.c.
 */
#ifndef VSHM_BENCH_GUEST_H
#define VSHM_BENCH_GUEST_H

#include <stdint.h>

#include "bench.h"
#include "kvm_guest.h"

#define SLOT		1
#define SLOT_GPA	0x10000000UL	/* 2 MiB aligned, for 2 MiB stage-2 entries */
#define SLOT_LEN	(16UL << 20)

struct guest {
	struct kg_vm vm;
	struct kg_vcpu vcpu;
};

/*
 * A VM with SLOT_LEN bytes at @hva as its slot (none if @hva is NULL), and
 * its vCPU; exits on failure.
 */
void guest_start(struct guest *g, void *hva);
void guest_stop(struct guest *g);
/*
 * Run range command @cmd over [@off, @off + @len) of the slot; returns the
 * ns it took.  Exits unless the guest completed it and, if @expect is not
 * ~0, its result is @expect.
 */
double guest_timed_range(struct guest *g, enum kg_cmd cmd, uint64_t off,
			 uint32_t len, uint32_t expect);
/* The same over the whole slot. */
double guest_timed(struct guest *g, enum kg_cmd cmd, uint32_t expect);
double mib_per_s(double ns);
/* XOR of the source's words: over each 4 KiB page's first word, and over all. */
void source_xor(int fd, uint32_t *pages, uint32_t *all);
/* Write the benchmark's pattern into the first SLOT_LEN bytes of @fd. */
void fill_source(int fd);
/* mmap SLOT_LEN bytes of @fd, shared and writable; exits on failure. */
void *map_slot(int fd);

/* bench_guest_huge.c: first touch of a hugetlbfs source, 2 MiB stage-2 entries */
void bench_guest_huge(struct bench *b);
/* bench_guest_storm.c: guest reads while the host remaps a page of them */
void bench_guest_storm(struct bench *b, int memfd);

#endif /* VSHM_BENCH_GUEST_H */
