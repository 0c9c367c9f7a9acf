// SPDX-License-Identifier: GPL-2.0
/*
 * vshm-bench, the guest's part (needs /dev/vshm and /dev/kvm): what a KVM
 * guest experiences when its memory slot is a region's mmap, against the
 * same memfd mmap'ed directly as a plain memslot.  The guest is
 * userspace/common/kvm_guest (a tiny one-vCPU VM driven by commands), and
 * both sides run the same guest commands, interleaved round by round.
 *
 *   guest_first_touch   the guest reads one word per 4 KiB page of a fresh
 *                       VM's slot: every access faults through KVM into
 *                       the host mapping (ns/page).  Target <= 1.1x.
 *   guest_read_stream,  the guest reads / writes every word of the slot
 *   guest_write_stream  once it is mapped (MiB/s).  Target >= 0.95x.
 *   guest_touch_host_mapped
 *                       the first touch again, with every host PTE made
 *                       before the guest runs: KVM's part alone (info).
 *
 * Every read is checked: the guest reports the XOR of the words it read,
 * which must be the source's, on both sides.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vshm.h>

#include "bench_guest.h"

void guest_start(struct guest *g, void *hva)
{
	int ret = kg_vm_create(&g->vm);

	if (ret) {
		errno = -ret;
		die("creating a KVM VM");
	}
	if (hva)
		ret = kg_vm_set_slot(&g->vm, SLOT, SLOT_GPA, hva, SLOT_LEN, 0);
	if (!ret)
		ret = kg_vcpu_create(&g->vm, &g->vcpu);
	if (ret) {
		errno = -ret;
		die("the guest's memory slot or vCPU");
	}
}

void guest_stop(struct guest *g)
{
	kg_vcpu_destroy(&g->vcpu);
	kg_vm_destroy(&g->vm);
}

double guest_timed_range(struct guest *g, enum kg_cmd cmd, uint64_t off,
			 uint32_t len, uint32_t expect)
{
	struct kg_exit ex;
	double t0 = now_ns();
	int ret = kg_guest_command(&g->vcpu, cmd, SLOT_GPA + off, len, &ex);
	double t = now_ns() - t0;

	if (ret || ex.kind != KG_EXIT_DONE) {
		fprintf(stderr, "vshm-bench: guest command %d: %s (errno %d)\n",
			cmd, ret ? strerror(-ret) : kg_exit_name(ex.kind),
			ret ? -ret : ex.err);
		exit(1);
	}
	if (expect != ~0U && ex.value != expect) {
		fprintf(stderr, "vshm-bench: guest command %d read %#x, the source holds %#x\n",
			cmd, ex.value, expect);
		exit(1);
	}
	return t;
}

double guest_timed(struct guest *g, enum kg_cmd cmd, uint32_t expect)
{
	return guest_timed_range(g, cmd, 0, SLOT_LEN, expect);
}

double mib_per_s(double ns)
{
	return SLOT_LEN / (ns / 1e9) / (1 << 20);
}

void source_xor(int memfd, uint32_t *pages, uint32_t *all)
{
	uint32_t *p = mmap(NULL, SLOT_LEN, PROT_READ, MAP_SHARED, memfd, 0);
	size_t i;

	if (p == MAP_FAILED)
		die("mmap of the source");
	*pages = *all = 0;
	for (i = 0; i < SLOT_LEN / 4; i++) {
		*all ^= p[i];
		if (!(i % (KG_GUEST_PAGE / 4)))
			*pages ^= p[i];
	}
	munmap(p, SLOT_LEN);
}

void fill_source(int memfd)
{
	uint32_t *p = mmap(NULL, SLOT_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	size_t i;

	if (p == MAP_FAILED)
		die("mmap of the source");
	for (i = 0; i < SLOT_LEN / 4; i++)
		p[i] = (uint32_t)(i * 2654435761u);
	munmap(p, SLOT_LEN);
}

void *map_slot(int fd)
{
	void *p = mmap(NULL, SLOT_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die("mmap of the slot's memory");
	return p;
}

/* Read one byte of every page from the host: its PTEs exist afterwards. */
static void host_touch(const void *p)
{
	const volatile uint8_t *c = p;
	size_t off;

	for (off = 0; off < SLOT_LEN; off += PAGE)
		(void)c[off];
}

/*
 * The guest's first touch where the host PTEs already exist: what KVM alone
 * spends per page, a stage-2 fault and its lookup of the host page.  For a
 * region's mmap (VM_PFNMAP) that lookup walks the page table under the
 * mmap lock (hva_to_pfn_remapped()); for a plain memslot it is GUP.
 */
static void bench_touch_host_mapped(struct bench *b, int memfd, int region,
				    uint32_t pages)
{
	double tv[ROUNDS], tu[ROUNDS];
	int r;

	for (r = 0; r < ROUNDS; r++) {
		void *via_region = map_slot(region), *direct = map_slot(memfd);
		struct guest gv, gu;

		host_touch(via_region);
		host_touch(direct);
		guest_start(&gv, via_region);
		guest_start(&gu, direct);
		tv[r] = guest_timed(&gv, KG_CMD_TOUCH_PAGES, pages) / (SLOT_LEN / PAGE);
		tu[r] = guest_timed(&gu, KG_CMD_TOUCH_PAGES, pages) / (SLOT_LEN / PAGE);
		guest_stop(&gv);
		guest_stop(&gu);
		munmap(via_region, SLOT_LEN);
		munmap(direct, SLOT_LEN);
	}
	add_result(b, (struct result){
		.name = "guest_touch_host_mapped", .unit = "ns/page",
		.vshm = median(tv, ROUNDS), .other = median(tu, ROUNDS),
		.kind = T_INFO },
		"guest_first_touch with the host PTEs made first: KVM's part alone");
}

static void bench_touch_and_stream(struct bench *b, int memfd, int region)
{
	double tv[ROUNDS], tu[ROUNDS], rv[ROUNDS], ru[ROUNDS], wv[ROUNDS], wu[ROUNDS];
	uint32_t pages, all;
	int r;

	source_xor(memfd, &pages, &all);
	for (r = 0; r < ROUNDS; r++) {
		/* Fresh mmaps and fresh VMs: no host PTE, no stage-2 entry. */
		void *via_region = map_slot(region), *direct = map_slot(memfd);
		struct guest gv, gu;

		guest_start(&gv, via_region);
		guest_start(&gu, direct);
		tv[r] = guest_timed(&gv, KG_CMD_TOUCH_PAGES, pages) / (SLOT_LEN / PAGE);
		tu[r] = guest_timed(&gu, KG_CMD_TOUCH_PAGES, pages) / (SLOT_LEN / PAGE);
		rv[r] = mib_per_s(guest_timed(&gv, KG_CMD_READ_RANGE, all));
		ru[r] = mib_per_s(guest_timed(&gu, KG_CMD_READ_RANGE, all));
		/* Each side writes what the source already holds elsewhere... */
		wv[r] = mib_per_s(guest_timed(&gv, KG_CMD_WRITE_RANGE, ~0U));
		wu[r] = mib_per_s(guest_timed(&gu, KG_CMD_WRITE_RANGE, ~0U));
		guest_stop(&gv);
		guest_stop(&gu);
		munmap(via_region, SLOT_LEN);
		munmap(direct, SLOT_LEN);
		/* ...so put the pattern back for the next round's checks. */
		fill_source(memfd);
	}
	add_result(b, (struct result){
		.name = "guest_first_touch", .unit = "ns/page",
		.vshm = median(tv, ROUNDS), .other = median(tu, ROUNDS),
		.target = 1.1, .kind = T_AT_MOST },
		"guest read fault per 4 KiB page, region slot vs the memfd as a plain memslot");
	add_result(b, (struct result){
		.name = "guest_read_stream", .unit = "MiB/s",
		.vshm = median(rv, ROUNDS), .other = median(ru, ROUNDS),
		.target = 0.95, .kind = T_AT_LEAST },
		"guest reads 16 MiB, region slot vs plain memslot");
	add_result(b, (struct result){
		.name = "guest_write_stream", .unit = "MiB/s",
		.vshm = median(wv, ROUNDS), .other = median(wu, ROUNDS),
		.target = 0.95, .kind = T_AT_LEAST },
		"guest writes 16 MiB, region slot vs plain memslot");
	bench_touch_host_mapped(b, memfd, region, pages);
}

static bool guest_wanted(const struct bench *b, const char *name)
{
	return !b->only || !strcmp(b->only, name);
}

void bench_guest(struct bench *b)
{
	struct guest keeper;
	int kvm, memfd, region;

	if (!guest_wanted(b, "guest_first_touch") &&
	    !guest_wanted(b, "guest_huge_first_touch") &&
	    !guest_wanted(b, "guest_remap_storm")) {
		fprintf(stderr, "vshm-bench: --only %s: no guest benchmark of that name\n",
			b->only);
		exit(2);
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("skip guest benchmarks: /dev/kvm: %s (load kvm_amd or kvm_intel)\n",
		       strerror(errno));
		return;
	}
	close(kvm);
	/*
	 * KVM turns static keys on with the first VM and vCPU of the system
	 * (preempt notifiers in __schedule, no-APIC vCPUs) and off with the
	 * last, patching kernel text each time.  Under QEMU's TCG such a
	 * patch has crashed the VM ("Oops: int3" in __schedule) while the
	 * benchmarks made and dropped one VM after another (as it has in the
	 * selftests, see scripts/run-selftests): one VM kept for the whole
	 * run leaves the keys on.
	 */
	guest_start(&keeper, NULL);
	memfd = make_memfd(SLOT_LEN);
	fill_source(memfd);
	if (guest_wanted(b, "guest_first_touch")) {
		region = make_region(b, SLOT_LEN, 0);
		if (vshm_map(region, memfd, 0, 0, SLOT_LEN))
			die("mapping the source into the region");
		bench_touch_and_stream(b, memfd, region);
		close(region);
	}
	if (guest_wanted(b, "guest_huge_first_touch"))
		bench_guest_huge(b);
	if (guest_wanted(b, "guest_remap_storm"))
		bench_guest_storm(b, memfd);
	close(memfd);
	guest_stop(&keeper);
}
