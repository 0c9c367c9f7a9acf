// SPDX-License-Identifier: GPL-2.0
/*
 * vshm-bench, guest first touch of a hugetlbfs source (needs /dev/vshm,
 * /dev/kvm and 2 MiB huge pages, which it reserves for the run):
 *
 *   guest_huge_first_touch  a fresh VM on fresh mmaps reads one word per
 *                           4 KiB page of a 16 MiB slot backed by a
 *                           hugetlbfs memfd: on one side a region mapping
 *                           it whole, on the other the memfd as a plain
 *                           memslot (ns per 2 MiB).  Target <= 1.2x, with
 *                           2 MiB stage-2 entries: the note gives KVM's
 *                           pages_2m and pages_4k growth on each side and
 *                           the region's PMD faults, and the kernel.
 *
 * KVM before Linux 6.13 refuses a guest access that it must fault in
 * through a huge page's tail page in a PFN map (Documentation/kmod.rst,
 * "What KVM sees"); where the region maps 4 KiB entries (before 6.12)
 * that is the second page the guest touches, so there the figure is
 * bound by KVM: the benchmark records that, with the reason, as info.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/vshm.h>

#include "bench_guest.h"

#define HUGE_SIZE	(2UL << 20)
#define NR_HUGE_PAGES	(SLOT_LEN / HUGE_SIZE)
#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%ld\n", v) < 0;
	return fclose(f) || ret ? -1 : 0;
}

/* The huge page size in /proc/meminfo is the PMD size, 2 MiB. */
static bool huge_pages_are_pmds(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long kb = 0;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024 == (long)HUGE_SIZE;
}

/* What a side's first touch made of KVM's stage-2 tables. */
struct stage2 {
	uint64_t pages_2m, pages_4k;
};

static void stage2_read(struct guest *g, struct stage2 *s)
{
	if (kg_stat(g->vm.vm_fd, "pages_2m", &s->pages_2m) ||
	    kg_stat(g->vm.vm_fd, "pages_4k", &s->pages_4k))
		s->pages_2m = s->pages_4k = 0;
}

/*
 * The first touch of @g's slot: its ns, with the stage-2 entries it added
 * in @grown; or -1 if KVM refused it with EFAULT (the tail-page bound).
 */
static double first_touch(struct guest *g, uint32_t pages, struct stage2 *grown)
{
	struct stage2 before, after;
	struct kg_exit ex;
	double t0;
	int ret;

	stage2_read(g, &before);
	t0 = now_ns();
	ret = kg_guest_command(&g->vcpu, KG_CMD_TOUCH_PAGES, SLOT_GPA, SLOT_LEN, &ex);
	t0 = now_ns() - t0;
	if (!ret && ex.kind == KG_EXIT_RUN_ERROR && ex.err == EFAULT)
		return -1;
	if (ret || ex.kind != KG_EXIT_DONE || ex.value != pages) {
		fprintf(stderr, "vshm-bench: huge first touch: %s (errno %d), read %#x of %#x\n",
			ret ? strerror(-ret) : kg_exit_name(ex.kind),
			ret ? -ret : ex.err, ex.value, pages);
		exit(1);
	}
	stage2_read(g, &after);
	grown->pages_2m = after.pages_2m - before.pages_2m;
	grown->pages_4k = after.pages_4k - before.pages_4k;
	return t0;
}

static uint64_t pmd_faults(int region)
{
	struct vshm_region_info info;

	if (ioctl(region, VSHM_IOC_REGION_INFO, &info))
		die("VSHM_IOC_REGION_INFO");
	return info.pmd_faults;
}

/*
 * SLOT_LEN bytes of @fd at a 2 MiB-aligned address: a host PMD, and so a
 * 2 MiB stage-2 entry, needs the address and the file offset on the same
 * 2 MiB grid, and not every kernel aligns a region's mmap.
 */
static void *map_huge_slot(int fd)
{
	char *area = mmap(NULL, SLOT_LEN + HUGE_SIZE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *start;
	void *p;

	if (area == MAP_FAILED)
		die("reserving an aligned slot");
	start = (char *)(((uintptr_t)area + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1));
	p = mmap(start, SLOT_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap of the slot's memory");
	/* The reservation around it goes. */
	if (start > area)
		munmap(area, start - area);
	munmap(start + SLOT_LEN, area + HUGE_SIZE - start);
	return p;
}

static void touch_rounds(struct bench *b, int hfd, int region, const char *kernel)
{
	double tv[ROUNDS], tu[ROUNDS];
	struct stage2 sv = { 0 }, su = { 0 };
	uint64_t pmds = pmd_faults(region);
	uint32_t pages, all;
	int r;

	source_xor(hfd, &pages, &all);
	for (r = 0; r < ROUNDS; r++) {
		/* Fresh mmaps and VMs: no host PMD, no stage-2 entry. */
		void *via_region = map_huge_slot(region), *direct = map_huge_slot(hfd);
		struct guest gv, gu;

		guest_start(&gv, via_region);
		guest_start(&gu, direct);
		tv[r] = first_touch(&gv, pages, &sv);
		tu[r] = first_touch(&gu, pages, &su);
		guest_stop(&gv);
		guest_stop(&gu);
		munmap(via_region, SLOT_LEN);
		munmap(direct, SLOT_LEN);
		if (tu[r] < 0)
			die("a plain hugetlbfs memslot refused the guest (EFAULT)");
		if (tv[r] < 0) {
			add_result(b, (struct result){
				.name = "guest_huge_first_touch", .unit = "ns/2MiB",
				.other = tu[r] / NR_HUGE_PAGES, .kind = T_INFO },
				"bound by KVM on %s: EFAULT on a huge page's tail page (KVM < 6.13)",
				kernel);
			return;
		}
		tv[r] /= NR_HUGE_PAGES;
		tu[r] /= NR_HUGE_PAGES;
	}
	add_result(b, (struct result){
		.name = "guest_huge_first_touch", .unit = "ns/2MiB",
		.vshm = median(tv, ROUNDS), .other = median(tu, ROUNDS),
		.target = 1.2, .kind = T_AT_MOST },
		"%s; stage 2 per 16 MiB: %lu x 2M + %lu x 4K vs %lu x 2M + %lu x 4K; %lu PMD faults",
		kernel, (unsigned long)sv.pages_2m, (unsigned long)sv.pages_4k,
		(unsigned long)su.pages_2m, (unsigned long)su.pages_4k,
		(unsigned long)((pmd_faults(region) - pmds) / ROUNDS));
}

void bench_guest_huge(struct bench *b)
{
	long old_nr = read_long(NR_HUGEPAGES);
	struct utsname u;
	int hfd, region;

	if (!huge_pages_are_pmds() || old_nr < 0) {
		printf("skip guest_huge_first_touch: no 2 MiB huge pages (/proc/meminfo)\n");
		return;
	}
	if (write_long(NR_HUGEPAGES, old_nr + NR_HUGE_PAGES) ||
	    read_long(NR_HUGEPAGES) < old_nr + (long)NR_HUGE_PAGES) {
		printf("skip guest_huge_first_touch: could not reserve %lu huge pages\n",
		       NR_HUGE_PAGES);
		write_long(NR_HUGEPAGES, old_nr);
		return;
	}
	uname(&u);
	hfd = memfd_create("bench-huge", MFD_CLOEXEC | MFD_HUGETLB);
	if (hfd < 0 || ftruncate(hfd, SLOT_LEN))
		die("hugetlbfs memfd");
	fill_source(hfd);
	region = make_region(b, SLOT_LEN, 0);
	if (vshm_map(region, hfd, 0, 0, SLOT_LEN))
		die("mapping the hugetlbfs source into the region");
	touch_rounds(b, hfd, region, u.release);
	close(region);
	close(hfd);
	write_long(NR_HUGEPAGES, old_nr);
}
