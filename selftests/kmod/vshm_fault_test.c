// SPDX-License-Identifier: GPL-2.0
/*
 * The fault path of a region's mmap: holes, unmapped ranges and writes to
 * read-only mappings raise SIGBUS (including after mprotect and after a
 * read fault), unmapping zaps every VMA of the region (other mmaps, forked
 * children) and never leaves stale pages, data is coherent between the
 * region and its sources in both directions, and a region with 10,000
 * mappings is still one VMA.  Under the safe hole policy, holes and
 * unmapped ranges read as zeros, writes there are dropped, and pread() and
 * pwrite() follow the same rule.  Where the kernel allows it (6.12 on),
 * whole aligned 2 MiB shmem folios are mapped with one PMD entry each, and
 * everything else with 4 KiB entries; VSHM_MAP_POPULATE leaves the former
 * to their fault.  (vshm_populate_test checks the flag itself.)
 *
 * Runs in the VM with vshm.ko loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vshm_test.h"

#define P		VT_PAGE
#define NPAGES		32
#define SEED_A		1
#define SEED_B		2
#define SEED_C		3

/*
 * Region of 32 pages: A (16 pages) pages 0-7 read-write at pages 0-7,
 * B (8 pages) pages 0-3 read-only at pages 8-11, holes from page 12 on.
 */
FIXTURE(fault) {
	int region;
	int a, b;
	uint8_t *map;
};

FIXTURE_SETUP(fault)
{
	VT_REQUIRE_DEVICE();
	vt_install_fault_handler();
	self->region = -1;
	self->a = vt_memfd(16 * P, SEED_A, 0);
	ASSERT_LE(0, self->a);
	self->b = vt_memfd(8 * P, SEED_B, 0);
	ASSERT_LE(0, self->b);
	self->region = vt_create_region(NPAGES * P, 0);
	ASSERT_LE(0, self->region);
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, 8 * P));
	ASSERT_EQ(0, vt_map(self->region, self->b, 0, 0, 8 * P, 4 * P));
	self->map = vt_mmap(self->region, NPAGES * P, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, self->map);
}

FIXTURE_TEARDOWN(fault)
{
	vt_drop_region(&self->region, &self->map, NPAGES * P);
	close(self->a);
	close(self->b);
}

/* Reading or writing any byte of a hole raises SIGBUS. */
TEST_F(fault, hole_sigbus)
{
	static const size_t offs[] = {
		12 * P, 12 * P + 1, 13 * P - 1, 20 * P + 2000, NPAGES * P - 1,
	};
	unsigned int i;
	uint8_t c;

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		EXPECT_EQ(SIGBUS, vt_peek(self->map + offs[i], &c)) {
			TH_LOG("read at %zu", offs[i]);
		}
		EXPECT_EQ(SIGBUS, vt_poke(self->map + offs[i], 1)) {
			TH_LOG("write at %zu", offs[i]);
		}
		EXPECT_EQ(self->map + offs[i], vt_fault_addr);
	}
	/* Still holes after the attempts. */
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 12 * P, &c));
}

/* Every mapped page shows its source's data at the right offset. */
TEST_F(fault, read_mapped)
{
	static uint8_t buf[12 * P];

	ASSERT_EQ(0, vt_copy(buf, self->map, 12 * P));
	EXPECT_EQ(-1, vt_check(buf, 8 * P, SEED_A, 0));
	EXPECT_EQ(-1, vt_check(buf + 8 * P, 4 * P, SEED_B, 0));
}

/*
 * After UNMAP, a range that was faulted in (read and written) raises
 * SIGBUS on read and write: no stale page stays mapped.  A new mapping
 * there shows the new source.
 */
TEST_F(fault, unmap_sigbus_no_stale)
{
	static uint8_t buf[8 * P];
	uint8_t c;
	int i;

	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, vt_peek(self->map + i * P, &c));
		ASSERT_EQ(0, vt_poke(self->map + i * P + 8,
				     vt_byte(SEED_A, i * P + 8)));
	}
	ASSERT_EQ(0, vt_unmap(self->region, 0, 8 * P));
	for (i = 0; i < 8; i++) {
		EXPECT_EQ(SIGBUS, vt_peek(self->map + i * P, &c)) {
			TH_LOG("page %d readable after unmap", i);
		}
		EXPECT_EQ(SIGBUS, vt_poke(self->map + i * P + 8, 0x77)) {
			TH_LOG("page %d writable after unmap", i);
		}
	}
	/* The source was not written by the failed stores. */
	ASSERT_EQ((ssize_t)(8 * P), pread(self->a, buf, 8 * P, 0));
	EXPECT_EQ(-1, vt_check(buf, 8 * P, SEED_A, 0));

	ASSERT_EQ(0, vt_map(self->region, self->b, 0, 4 * P, 0, 4 * P));
	ASSERT_EQ(0, vt_copy(buf, self->map, 4 * P));
	EXPECT_EQ(-1, vt_check(buf, 4 * P, SEED_B, 4 * P));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 4 * P, &c));
}

/*
 * A read-only mapping raises SIGBUS on write, whether the page was never
 * touched or was read (and so mapped read-only) first; the source keeps
 * its data.
 */
TEST_F(fault, readonly_write_sigbus)
{
	static uint8_t buf[4 * P];
	uint8_t c;

	/* Page 8: write first.  Page 9: read, then write. */
	EXPECT_EQ(SIGBUS, vt_poke(self->map + 8 * P + 16, 0x55));
	ASSERT_EQ(0, vt_peek(self->map + 9 * P, &c));
	EXPECT_EQ(vt_byte(SEED_B, P), c);
	EXPECT_EQ(SIGBUS, vt_poke(self->map + 9 * P + 16, 0x55));
	EXPECT_EQ(SIGBUS, vt_poke(self->map + 9 * P + 16, 0x55));
	/* Page 8 after a read too. */
	ASSERT_EQ(0, vt_peek(self->map + 8 * P, &c));
	EXPECT_EQ(SIGBUS, vt_poke(self->map + 8 * P + 16, 0x55));

	ASSERT_EQ(0, vt_copy(buf, self->map + 8 * P, 4 * P));
	EXPECT_EQ(-1, vt_check(buf, 4 * P, SEED_B, 0));
	ASSERT_EQ((ssize_t)(4 * P), pread(self->b, buf, 4 * P, 0));
	EXPECT_EQ(-1, vt_check(buf, 4 * P, SEED_B, 0));
}

/*
 * mprotect cannot make a read-only mapping writable: map the region
 * PROT_READ, fault pages in, mprotect it read-write, and a store to the
 * read-only mapping raises SIGBUS while a store to the read-write mapping
 * succeeds and reaches the source.
 */
TEST_F(fault, readonly_after_mprotect)
{
	static uint8_t buf[4 * P];
	uint8_t *ro;
	uint8_t c;

	ro = vt_mmap(self->region, NPAGES * P, PROT_READ, 0);
	ASSERT_NE(NULL, ro);
	ASSERT_EQ(0, vt_peek(ro + 2 * P, &c));
	ASSERT_EQ(0, vt_peek(ro + 8 * P, &c));
	EXPECT_EQ(SIGSEGV, vt_poke(ro + 8 * P, 0x55));
	EXPECT_EQ(SIGSEGV, vt_poke(ro + 2 * P, 0x55));

	ASSERT_EQ(0, mprotect(ro, NPAGES * P, PROT_READ | PROT_WRITE));
	/* Page 8 was read-faulted; page 10 never touched. */
	EXPECT_EQ(SIGBUS, vt_poke(ro + 8 * P + 5, 0x55));
	EXPECT_EQ(SIGBUS, vt_poke(ro + 10 * P + 5, 0x55));
	/* The read-write mapping does take the write, faulted or not. */
	EXPECT_EQ(0, vt_poke(ro + 2 * P + 5, 0x66));
	EXPECT_EQ(0, vt_poke(ro + 3 * P + 5, 0x67));
	ASSERT_EQ(1, pread(self->a, &c, 1, 2 * P + 5));
	EXPECT_EQ(0x66, c);
	ASSERT_EQ(1, pread(self->a, &c, 1, 3 * P + 5));
	EXPECT_EQ(0x67, c);

	/* Back to read-only and read-write again: still refused. */
	ASSERT_EQ(0, mprotect(ro, NPAGES * P, PROT_READ));
	ASSERT_EQ(0, mprotect(ro, NPAGES * P, PROT_READ | PROT_WRITE));
	EXPECT_EQ(SIGBUS, vt_poke(ro + 8 * P + 5, 0x55));
	ASSERT_EQ((ssize_t)(4 * P), pread(self->b, buf, 4 * P, 0));
	EXPECT_EQ(-1, vt_check(buf, 4 * P, SEED_B, 0));
	munmap(ro, NPAGES * P);
}

/*
 * Kernel accesses through the region's mmap follow the same rules as the
 * CPU's: write(2) from a mapped page copies its data, from a hole fails
 * with EFAULT; read(2) into a read-only mapping fails with EFAULT and
 * leaves the source alone; read(2) into a read-write mapping lands in the
 * source.
 */
TEST_F(fault, syscalls_on_region_memory)
{
	static uint8_t buf[P];
	int pfd[2];

	ASSERT_EQ(0, pipe(pfd));
	EXPECT_EQ((ssize_t)P, write(pfd[1], self->map + 9 * P, P));
	ASSERT_EQ((ssize_t)P, read(pfd[0], buf, P));
	EXPECT_EQ(-1, vt_check(buf, P, SEED_B, P));

	EXPECT_EQ(-1, write(pfd[1], self->map + 14 * P, 64));
	EXPECT_EQ(EFAULT, errno);

	memset(buf, 0x3c, 64);
	ASSERT_EQ(64, write(pfd[1], buf, 64));
	EXPECT_EQ(-1, read(pfd[0], self->map + 10 * P, 64));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(64, pread(self->b, buf, 64, 2 * P));
	EXPECT_EQ(-1, vt_check(buf, 64, SEED_B, 2 * P));

	/* The 64 bytes are still in the pipe: read them into A's page 5. */
	EXPECT_EQ(64, read(pfd[0], self->map + 5 * P + 100, 64));
	ASSERT_EQ(64, pread(self->a, buf, 64, 5 * P + 100));
	EXPECT_EQ(-1, vt_check_byte(buf, 64, 0x3c));
	close(pfd[0]);
	close(pfd[1]);
}

/*
 * Region to source: stores through the region's mmap (to pages faulted
 * before and to fresh ones) show in the memfd's own mmap, in pread on the
 * memfd and in pread on the region.
 */
TEST_F(fault, coherence_region_to_source)
{
	uint8_t *src;
	uint8_t c;
	int i;

	src = mmap(NULL, 16 * P, PROT_READ | PROT_WRITE, MAP_SHARED, self->a, 0);
	ASSERT_NE(MAP_FAILED, src);
	ASSERT_EQ(0, vt_peek(self->map + P, &c));	/* page 1 faulted */
	ASSERT_EQ(0, vt_peek(src + 3 * P, &c));		/* source side too */
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, vt_poke(self->map + i * P + 7 * i, 0xc0 + i));
	for (i = 0; i < 8; i++) {
		EXPECT_EQ(0xc0 + i, src[i * P + 7 * i]);
		ASSERT_EQ(1, pread(self->a, &c, 1, i * P + 7 * i));
		EXPECT_EQ(0xc0 + i, c);
		ASSERT_EQ(1, pread(self->region, &c, 1, i * P + 7 * i));
		EXPECT_EQ(0xc0 + i, c);
		/* Neighbours untouched. */
		EXPECT_EQ(vt_byte(SEED_A, i * P + 7 * i + 1), src[i * P + 7 * i + 1]);
	}
	munmap(src, 16 * P);
}

/*
 * Source to region: stores through the memfd's own mmap and pwrite on the
 * memfd show through the region's mmap, for pages faulted into the region
 * before the store and for pages faulted after it.
 */
TEST_F(fault, coherence_source_to_region)
{
	uint8_t *src;
	uint8_t c;
	int i;

	src = mmap(NULL, 16 * P, PROT_READ | PROT_WRITE, MAP_SHARED, self->a, 0);
	ASSERT_NE(MAP_FAILED, src);
	for (i = 0; i < 4; i++)			/* pages 0-3 faulted first */
		ASSERT_EQ(0, vt_peek(self->map + i * P, &c));
	for (i = 0; i < 8; i++)
		src[i * P + 33] = 0xa0 + i;
	for (i = 0; i < 8; i++) {
		c = 0xe0 + i;
		ASSERT_EQ(1, pwrite(self->a, &c, 1, i * P + 99));
	}
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, vt_peek(self->map + i * P + 33, &c));
		EXPECT_EQ(0xa0 + i, c);
		ASSERT_EQ(0, vt_peek(self->map + i * P + 99, &c));
		EXPECT_EQ(0xe0 + i, c);
	}
	/* And for the read-only mapping: the source changes, the region follows. */
	c = 0x5e;
	ASSERT_EQ(1, pwrite(self->b, &c, 1, 3 * P + 1));
	ASSERT_EQ(0, vt_peek(self->map + 11 * P + 1, &c));
	EXPECT_EQ(0x5e, c);
	munmap(src, 16 * P);
}

/*
 * UNMAP zaps every mmap of the region, not just one, and only that
 * region: a second region mapping the same source keeps its pages.
 */
TEST_F(fault, unmap_zaps_all_vmas_of_region_only)
{
	uint8_t *second, *other_map;
	int other;
	uint8_t c;

	second = vt_mmap(self->region, NPAGES * P, PROT_READ, 0);
	ASSERT_NE(NULL, second);
	other = vt_create_region(NPAGES * P, 0);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, vt_map(other, self->a, VSHM_MAP_WRITE, 0, 0, 8 * P));
	other_map = vt_mmap(other, NPAGES * P, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, other_map);

	ASSERT_EQ(0, vt_peek(self->map + 2 * P, &c));
	ASSERT_EQ(0, vt_peek(second + 2 * P, &c));
	ASSERT_EQ(0, vt_peek(other_map + 2 * P, &c));
	ASSERT_EQ(0, vt_unmap(self->region, 0, 8 * P));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 2 * P, &c));
	EXPECT_EQ(SIGBUS, vt_peek(second + 2 * P, &c));
	ASSERT_EQ(0, vt_peek(other_map + 2 * P, &c));
	EXPECT_EQ(vt_byte(SEED_A, 2 * P), c);
	/* B is still mapped in both mmaps of the first region. */
	EXPECT_EQ(0, vt_peek(second + 8 * P, &c));
	EXPECT_EQ(0, vt_peek(self->map + 8 * P, &c));

	munmap(other_map, NPAGES * P);
	munmap(second, NPAGES * P);
	close(other);
}

/*
 * A forked child inherits the mmap with its pages; an UNMAP in the parent
 * afterwards makes the child's copy raise SIGBUS too (no stale PTE
 * survives in a child).
 */
TEST_F(fault, unmap_reaches_forked_child)
{
	int go[2], ready[2], status;
	uint8_t c;
	pid_t pid;

	ASSERT_EQ(0, vt_peek(self->map + 3 * P, &c));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		uint8_t x;
		int ret = 0;

		close(go[1]);
		close(ready[0]);
		if (vt_peek(self->map + 3 * P, &x) || x != vt_byte(SEED_A, 3 * P))
			ret |= 1;
		if (write(ready[1], "r", 1) != 1 || read(go[0], &x, 1) != 1)
			ret |= 2;
		if (vt_peek(self->map + 3 * P, &x) != SIGBUS)
			ret |= 4;
		if (vt_peek(self->map + 9 * P, &x) || x != vt_byte(SEED_B, P))
			ret |= 8;
		_exit(ret);
	}
	close(go[0]);
	close(ready[1]);
	/* The child has read its page before the unmap. */
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(0, vt_unmap(self->region, 0, 8 * P));
	ASSERT_EQ(1, write(go[1], "x", 1));
	close(go[1]);
	close(ready[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("child: %s%s%s%s",
		       WEXITSTATUS(status) & 1 ? "no data before unmap; " : "",
		       WEXITSTATUS(status) & 2 ? "pipe error; " : "",
		       WEXITSTATUS(status) & 4 ? "no SIGBUS after unmap; " : "",
		       WEXITSTATUS(status) & 8 ? "lost B; " : "");
	}
}

/*
 * mremap can move the region's VMA (not grow it): the moved VMA shows the
 * same mappings, and an UNMAP still reaches it there.
 */
TEST_F(fault, mremap_moves_vma)
{
	uint8_t *moved, *big;
	uint8_t c;

	ASSERT_EQ(0, vt_peek(self->map + P, &c));
	big = mremap(self->map, NPAGES * P, (NPAGES + 4) * P, 0);
	EXPECT_EQ(MAP_FAILED, big);
	moved = mmap(NULL, NPAGES * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, moved);
	moved = mremap(self->map, NPAGES * P, NPAGES * P,
		       MREMAP_MAYMOVE | MREMAP_FIXED, moved);
	ASSERT_NE(MAP_FAILED, moved);
	self->map = moved;
	ASSERT_EQ(0, vt_peek(moved + P + 3, &c));
	EXPECT_EQ(vt_byte(SEED_A, P + 3), c);
	ASSERT_EQ(0, vt_peek(moved + 5 * P, &c));
	EXPECT_EQ(vt_byte(SEED_A, 5 * P), c);
	EXPECT_EQ(SIGBUS, vt_peek(moved + 20 * P, &c));
	ASSERT_EQ(0, vt_unmap(self->region, 0, 8 * P));
	EXPECT_EQ(SIGBUS, vt_peek(moved + P, &c));
	EXPECT_EQ(SIGBUS, vt_peek(moved + 5 * P, &c));
	EXPECT_EQ(0, vt_peek(moved + 9 * P, &c));
	EXPECT_EQ(1, vt_vmas_in(moved, NPAGES * P, NULL));
}

/*
 * munmap of part of the region's VMA splits it.  Both halves keep
 * working and an UNMAP still reaches both (or the module refuses the
 * split with EINVAL and the VMA stays whole).
 */
TEST_F(fault, vma_split)
{
	uint8_t c;

	if (munmap(self->map + 6 * P, P)) {
		ASSERT_EQ(EINVAL, errno);
		EXPECT_EQ(1, vt_vmas_in(self->map, NPAGES * P, NULL));
		EXPECT_EQ(0, vt_peek(self->map + 6 * P, &c));
		return;
	}
	EXPECT_EQ(2, vt_vmas_in(self->map, NPAGES * P, NULL));
	ASSERT_EQ(0, vt_peek(self->map + 5 * P, &c));
	EXPECT_EQ(vt_byte(SEED_A, 5 * P), c);
	ASSERT_EQ(0, vt_peek(self->map + 7 * P, &c));
	EXPECT_EQ(vt_byte(SEED_A, 7 * P), c);
	EXPECT_EQ(SIGSEGV, vt_peek(self->map + 6 * P, &c));
	ASSERT_EQ(0, vt_unmap(self->region, 0, 8 * P));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 5 * P, &c));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 7 * P, &c));
	EXPECT_EQ(0, vt_peek(self->map + 9 * P, &c));
	/* Unmap the rest in two pieces (teardown unmaps the whole range). */
	EXPECT_EQ(0, munmap(self->map, 6 * P));
	EXPECT_EQ(0, munmap(self->map + 7 * P, (NPAGES - 7) * P));
	self->map = NULL;
}

/*
 * MAP pins the whole source range, so it allocates every page a sparse
 * memfd lacks before anything is touched (MAP of N bytes commits N
 * bytes), and those pages read as zeros; faults then only look pages up,
 * and the 16 pages of a mapping need at most two faults (a 16-page window
 * may straddle two aligned windows).
 */
TEST_F(fault, map_commits_whole_range)
{
	const size_t len = 64 * P;
	struct vshm_region_info info;
	uint8_t *view, byte = 1;
	int sparse, region;
	struct stat st;
	size_t off;

	sparse = memfd_create("vshm-sparse", MFD_CLOEXEC);
	ASSERT_LE(0, sparse);
	ASSERT_EQ(0, ftruncate(sparse, len));
	region = vt_create_region(2 * len, 0);
	ASSERT_LE(0, region);
	ASSERT_EQ(0, fstat(sparse, &st));
	ASSERT_EQ(0, st.st_blocks);
	ASSERT_EQ(0, vt_map(region, sparse, 0, 0, 0, len));
	ASSERT_EQ(0, fstat(sparse, &st));
	EXPECT_EQ(len, (size_t)st.st_blocks * 512);
	ASSERT_EQ(0, vt_map(region, self->a, 0, 0, len, 16 * P));
	view = vt_mmap(region, 2 * len, PROT_READ, 0);
	ASSERT_NE(NULL, view);

	ASSERT_EQ(0, vt_peek(view + 5 * P, &byte));
	EXPECT_EQ(0, byte);

	for (off = 0; off < 16 * P; off += P)
		ASSERT_EQ(0, vt_peek(view + len + off, &byte));
	ASSERT_EQ(0, vt_info(region, &info));
	EXPECT_LE(info.faults, 3);

	munmap(view, 2 * len);
	close(region);
	close(sparse);
}

/*
 * 10,000 one-page mappings (adjacent, alternately read-write and
 * read-only, from a small memfd) in one region: the region's mmap is still
 * exactly one VMA in /proc/self/maps, every page shows the right source
 * page, read-only pages refuse stores, and unmapping every other one
 * leaves SIGBUS holes while the rest keep their data.
 */
#define MANY		10000
TEST_F_TIMEOUT(fault, ten_thousand_mappings_one_vma, 300)
{
	uint64_t param, old_param = 0;
	struct vshm_region_info info;
	bool covers, restore = false;
	int region, src, i;
	uint64_t w;
	uint8_t *map;

	ASSERT_EQ(0, vt_param("max_mappings", &param));
	if (param < MANY) {
		if (vt_param_set("max_mappings", MANY))
			SKIP(return, "max_mappings is %" PRIu64 " and cannot be raised", param);
		old_param = param;
		restore = true;
	}
	src = vt_memfd(16 * P, SEED_C, 0);
	ASSERT_LE(0, src);
	region = vt_create_region(MANY * P, MANY);
	if (restore)
		vt_param_set("max_mappings", old_param);
	ASSERT_LE(0, region) {
		TH_LOG("create: %s", strerror(-region));
	}
	for (i = 0; i < MANY; i++) {
		int ret = vt_map(region, src, i & 1 ? 0 : VSHM_MAP_WRITE,
				 (i % 16) * P, (uint64_t)i * P, P);

		ASSERT_EQ(0, ret) {
			TH_LOG("mapping %d: %s", i, strerror(-ret));
		}
	}
	ASSERT_EQ(0, vt_info(region, &info));
	EXPECT_EQ(MANY, info.nr_mappings);
	EXPECT_EQ((uint64_t)MANY * P, info.mapped_bytes);
	EXPECT_EQ(MANY, info.maps);

	map = vt_mmap(region, MANY * P, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, map);
	for (i = 0; i < MANY; i++) {
		ASSERT_EQ(0, vt_peek64(map + (size_t)i * P + 8 * (i % 64), &w)) {
			TH_LOG("page %d", i);
		}
		ASSERT_EQ(vt_word(SEED_C, (i % 16) * P + 8 * (i % 64)), w) {
			TH_LOG("page %d", i);
		}
	}
	EXPECT_EQ(1, vt_vmas_in(map, MANY * P, &covers));
	EXPECT_TRUE(covers);
	EXPECT_EQ(SIGBUS, vt_poke(map + 1 * P + 24, 1));
	EXPECT_EQ(SIGBUS, vt_poke(map + 9999 * P + 24, 1));
	EXPECT_EQ(0, vt_poke(map + 9998 * P + 24, vt_byte(SEED_C, 14 * P + 24)));

	for (i = 0; i < MANY; i += 2)
		ASSERT_EQ(0, vt_unmap(region, (uint64_t)i * P, P));
	ASSERT_EQ(0, vt_info(region, &info));
	EXPECT_EQ(MANY / 2, info.nr_mappings);
	EXPECT_EQ(MANY / 2, info.unmaps);
	EXPECT_EQ(1, vt_vmas_in(map, MANY * P, &covers));
	EXPECT_TRUE(covers);
	for (i = 0; i < MANY; i += 97) {
		int sig = vt_peek64(map + (size_t)i * P, &w);

		if (i & 1) {
			EXPECT_EQ(0, sig);
			EXPECT_EQ(vt_word(SEED_C, (i % 16) * P), w);
		} else {
			EXPECT_EQ(SIGBUS, sig) {
				TH_LOG("page %d after unmap", i);
			}
		}
	}
	ASSERT_EQ(0, vt_unmap_all(region));
	ASSERT_EQ(0, vt_info(region, &info));
	EXPECT_EQ(0, info.nr_mappings);
	EXPECT_EQ(MANY, info.unmaps);
	EXPECT_EQ(SIGBUS, vt_peek64(map + 1 * P, &w));
	EXPECT_EQ(0, munmap(map, MANY * P));
	close(region);
	close(src);
}

/*
 * A region with safe holes (VSHM_REGION_SAFE_HOLES): A pages 0-3
 * read-write at pages 0-3, B pages 0-1 read-only at pages 4-5, holes from
 * page 6 on.
 */
FIXTURE(safe_holes) {
	int region;
	int a, b;
	uint8_t *map;
};

FIXTURE_SETUP(safe_holes)
{
	vt_install_fault_handler();
	self->map = NULL;
	self->a = vt_memfd(4 * P, SEED_A, 0);
	ASSERT_LE(0, self->a);
	self->b = vt_memfd(2 * P, SEED_B, 0);
	ASSERT_LE(0, self->b);
	self->region = vt_create_region_flags(NPAGES * P, VSHM_REGION_SAFE_HOLES);
	ASSERT_LE(0, self->region);
	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, 4 * P));
	ASSERT_EQ(0, vt_map(self->region, self->b, 0, 0, 4 * P, 2 * P));
	self->map = vt_mmap(self->region, NPAGES * P, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, self->map);
}

FIXTURE_TEARDOWN(safe_holes)
{
	vt_drop_region(&self->region, &self->map, NPAGES * P);
	close(self->a);
	close(self->b);
}

/*
 * The VMM touching a hole survives: reads give zeros, writes are dropped
 * (also a write after a read, which must swap the read-only zero page for
 * the scratch page), a never-written hole still reads zeros, a later
 * mapping shows only its source, and a write to a read-only mapping still
 * raises SIGBUS.
 */
TEST_F(safe_holes, host_access_survives)
{
	int c = vt_memfd(2 * P, SEED_C, 0);
	uint8_t v = 0xff;

	ASSERT_LE(0, c);
	EXPECT_EQ(0, vt_peek(self->map + 6 * P + 5, &v));
	EXPECT_EQ(0, v);
	EXPECT_EQ(0, vt_poke(self->map + 6 * P + 5, 0x77));
	EXPECT_EQ(0, vt_poke(self->map + 7 * P, 0x78));
	EXPECT_EQ(-1, vt_check_byte(self->map + 10 * P, P, 0));
	EXPECT_EQ(SIGBUS, vt_poke(self->map + 4 * P, 1));
	EXPECT_EQ(-1, vt_check(self->map + 4 * P, 2 * P, SEED_B, 0));

	ASSERT_EQ(0, vt_map(self->region, c, 0, 0, 6 * P, 2 * P));
	EXPECT_EQ(-1, vt_check(self->map + 6 * P, 2 * P, SEED_C, 0));
	close(c);
}

/*
 * After UNMAP and UNMAP_ALL the VMM reads zeros where the source was, its
 * writes never reach the source, and a remap shows the source again.
 */
TEST_F(safe_holes, unmap_and_unmap_all_read_zeros)
{
	uint8_t page[P];

	EXPECT_EQ(-1, vt_check(self->map, 4 * P, SEED_A, 0));
	ASSERT_EQ(0, vt_unmap(self->region, 0, 4 * P));
	EXPECT_EQ(-1, vt_check_byte(self->map + P, P, 0));
	EXPECT_EQ(0, vt_poke(self->map + 2 * P, 0x99));
	ASSERT_EQ(P, pread(self->a, page, P, 2 * P));
	EXPECT_EQ(-1, vt_check(page, P, SEED_A, 2 * P));

	ASSERT_EQ(0, vt_map(self->region, self->a, VSHM_MAP_WRITE, 0, 0, 4 * P));
	EXPECT_EQ(-1, vt_check(self->map, 4 * P, SEED_A, 0));
	ASSERT_EQ(0, vt_unmap_all(self->region));
	EXPECT_EQ(-1, vt_check_byte(self->map, 6 * P, 0));
	EXPECT_EQ(0, vt_poke(self->map + 5 * P, 0x9a));
	ASSERT_EQ(P, pread(self->b, page, P, P));
	EXPECT_EQ(-1, vt_check(page, P, SEED_B, P));
}

/*
 * pread() of a hole returns zeros and pwrite() to one succeeds and stores
 * nothing, even across a mapping's edge; pwrite() to a read-only mapping
 * is still EACCES.
 */
TEST_F(safe_holes, pread_zeros_pwrite_discards)
{
	uint8_t buf[2 * P];

	memset(buf, 0xee, sizeof(buf));
	ASSERT_EQ(2 * P, pread(self->region, buf, 2 * P, 5 * P));
	EXPECT_EQ(-1, vt_check(buf, P, SEED_B, P));
	EXPECT_EQ(-1, vt_check_byte(buf + P, P, 0));

	memset(buf, 0x5c, sizeof(buf));
	EXPECT_EQ(2 * P, pwrite(self->region, buf, 2 * P, 8 * P));
	ASSERT_EQ(2 * P, pread(self->region, buf, 2 * P, 8 * P));
	EXPECT_EQ(-1, vt_check_byte(buf, 2 * P, 0));
	EXPECT_EQ(-1, pwrite(self->region, buf, 8, 4 * P));
	EXPECT_EQ(EACCES, errno);
}

TEST_HARNESS_MAIN

/*
 * PMD entries for shmem: a file on a tmpfs mounted with huge=always has
 * 2 MiB folios.  Where a mapping covers a whole PMD-aligned 2 MiB of the
 * region and its source offset is 2 MiB aligned too, one fault maps the
 * whole 2 MiB (REGION_INFO's pmd_faults) on kernels that allow PMD entries
 * in PFN maps (6.12 on, pmd_size non-zero); elsewhere, and for ranges that
 * are not aligned or not whole, faults map 4 KiB.  The bytes are the
 * file's either way, and writes through a PMD entry reach the file.
 */
#define THP_SIZE	VT_PMD_SIZE
#define THP_FILE_SIZE	(2 * THP_SIZE)
#define THP_REGION_SIZE	(4 * THP_SIZE)

FIXTURE(thp) {
	char dir[64];
	bool mounted;
	int file;
	int region;
	uint8_t *map;
};

FIXTURE_SETUP(thp)
{
	long huge_before, huge_after;
	uint8_t *p;

	VT_REQUIRE_DEVICE();
	vt_install_fault_handler();
	self->file = -1;
	self->region = -1;
	self->map = NULL;
	snprintf(self->dir, sizeof(self->dir), "/tmp/vshm-thp.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	if (mount("vshm-thp", self->dir, "tmpfs", 0, "huge=always,size=16m"))
		SKIP(return, "cannot mount a tmpfs with huge=always: %s",
		     strerror(errno));
	self->mounted = true;
	huge_before = vt_proc_field("/proc/meminfo", "ShmemHugePages");
	self->file = open(self->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	ASSERT_LE(0, self->file);
	ASSERT_EQ(0, ftruncate(self->file, THP_FILE_SIZE));
	p = mmap(NULL, THP_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->file, 0);
	ASSERT_NE(MAP_FAILED, p);
	vt_fill(p, THP_FILE_SIZE, SEED_C, 0);
	munmap(p, THP_FILE_SIZE);
	huge_after = vt_proc_field("/proc/meminfo", "ShmemHugePages");
	if (huge_before < 0 || huge_after - huge_before < 2 * (long)(THP_SIZE >> 10))
		SKIP(return, "tmpfs got no 2 MiB folios (ShmemHugePages %ld -> %ld kB)",
		     huge_before, huge_after);
	self->region = vt_create_region(THP_REGION_SIZE, 0);
	ASSERT_LE(0, self->region);
	self->map = vt_mmap(self->region, THP_REGION_SIZE, PROT_READ | PROT_WRITE, 0);
	ASSERT_NE(NULL, self->map);
}

FIXTURE_TEARDOWN(thp)
{
	if (self->map)
		munmap(self->map, THP_REGION_SIZE);
	if (self->region >= 0)
		close(self->region);
	if (self->file >= 0)
		close(self->file);
	if (self->mounted)
		umount2(self->dir, MNT_DETACH);
	rmdir(self->dir);
}

/* pmd_faults of the region, or ~0 if REGION_INFO failed. */
static uint64_t pmd_faults(int region)
{
	struct vshm_region_info info;

	return vt_info(region, &info) ? ~0ULL : info.pmd_faults;
}

/*
 * Two aligned 2 MiB folios mapped whole: one fault each, with PMD entries
 * where the kernel allows them; the mmap is 2 MiB aligned there
 * (get_unmapped_area), reads give the file's bytes and a write after a
 * read takes no further fault (the entry was writable from the start).
 */
TEST_F(thp, aligned_folios_get_pmd_entries)
{
	struct vshm_region_info info;
	static uint8_t buf[THP_FILE_SIZE];
	const char *why;
	bool pmds;
	uint64_t faults;
	uint8_t c;

	ASSERT_EQ(0, vt_map(self->region, self->file, VSHM_MAP_WRITE, 0, 0,
			    THP_FILE_SIZE));
	pmds = vt_pmds_expected(self->region, &why);
	if (pmds)
		EXPECT_EQ(0, (uintptr_t)self->map % THP_SIZE);
	ASSERT_EQ(0, vt_peek(self->map + 5 * P, &c));
	ASSERT_EQ(0, vt_peek(self->map + THP_SIZE + 9 * P, &c));
	EXPECT_EQ(vt_byte(SEED_C, THP_SIZE + 9 * P), c);
	EXPECT_EQ(pmds ? 2 : 0, pmd_faults(self->region)) {
		TH_LOG("PMD entries %sexpected%s%s", pmds ? "" : "not ",
		       pmds ? "" : ": ", why);
	}
	ASSERT_EQ(0, vt_info(self->region, &info));
	faults = info.faults;
	ASSERT_EQ(0, vt_copy(buf, self->map, THP_FILE_SIZE));
	EXPECT_EQ(-1, vt_check(buf, THP_FILE_SIZE, SEED_C, 0));
	ASSERT_EQ(0, vt_poke(self->map + THP_SIZE + 77, 0x3c));
	ASSERT_EQ(1, pread(self->file, &c, 1, THP_SIZE + 77));
	EXPECT_EQ(0x3c, c);
	ASSERT_EQ(0, vt_info(self->region, &info));
	if (pmds)
		EXPECT_EQ(faults, info.faults);
}

/*
 * No PMD entry where one would not map exactly the mapping's bytes: a
 * source offset off the 2 MiB grid, and a mapping one page short of 2 MiB.
 * Every byte still reads right, through 4 KiB entries.
 */
TEST_F(thp, unaligned_or_partial_ranges_get_4k_entries)
{
	static uint8_t buf[THP_SIZE];

	ASSERT_EQ(0, vt_map(self->region, self->file, 0, P, 0, THP_SIZE));
	ASSERT_EQ(0, vt_map(self->region, self->file, 0, THP_SIZE, THP_SIZE,
			    THP_SIZE - P));
	ASSERT_EQ(0, vt_copy(buf, self->map, THP_SIZE));
	EXPECT_EQ(-1, vt_check(buf, THP_SIZE, SEED_C, P));
	ASSERT_EQ(0, vt_copy(buf, self->map + THP_SIZE, THP_SIZE - P));
	EXPECT_EQ(-1, vt_check(buf, THP_SIZE - P, SEED_C, THP_SIZE));
	EXPECT_EQ(0, pmd_faults(self->region));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 2 * THP_SIZE - P, buf));
}

/*
 * A PMD entry of a read-only mapping refuses stores: the write splits it
 * and the 4 KiB path raises SIGBUS; UNMAP zaps the entry.
 */
TEST_F(thp, readonly_pmd_refuses_stores_and_unmap_zaps_it)
{
	uint8_t c;

	ASSERT_EQ(0, vt_map(self->region, self->file, 0, 0, 0, THP_SIZE));
	ASSERT_EQ(0, vt_peek(self->map + 3 * P, &c));
	EXPECT_EQ(vt_byte(SEED_C, 3 * P), c);
	EXPECT_EQ(SIGBUS, vt_poke(self->map + 3 * P, 1));
	EXPECT_EQ(SIGBUS, vt_poke(self->map + 300 * P, 1));
	ASSERT_EQ(0, vt_peek(self->map + 300 * P, &c));
	EXPECT_EQ(vt_byte(SEED_C, 300 * P), c);
	ASSERT_EQ(0, vt_unmap(self->region, 0, THP_SIZE));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 3 * P, &c));
	EXPECT_EQ(SIGBUS, vt_peek(self->map + 400 * P, &c));
}

/*
 * VSHM_MAP_POPULATE leaves the 2 MiB ranges that a PMD entry will map to
 * their first fault (one fault each, with a PMD entry: 4 KiB entries
 * there would rule it out for good) and populates the rest, so a mapping
 * off the 2 MiB grid reads without a fault.  Where the kernel gives no
 * PMD entries, everything is populated and nothing faults.
 */
TEST_F(thp, populate_leaves_pmd_ranges_to_their_fault)
{
	struct vshm_region_info info;
	const char *why;
	uint64_t faults;
	bool pmds;
	uint8_t c;

	ASSERT_EQ(0, vt_map(self->region, self->file, VSHM_MAP_POPULATE, 0, 0,
			    THP_FILE_SIZE));
	ASSERT_EQ(0, vt_map(self->region, self->file, VSHM_MAP_POPULATE, P,
			    2 * THP_SIZE, THP_SIZE));
	pmds = vt_pmds_expected(self->region, &why);
	ASSERT_EQ(0, vt_info(self->region, &info));
	if (info.pmd_size && !pmds)
		SKIP(return, "%s: populate leaves the folios to 4 KiB faults", why);
	faults = info.faults;
	ASSERT_EQ(0, vt_peek(self->map + 2 * THP_SIZE + 3 * P, &c));
	EXPECT_EQ(vt_byte(SEED_C, 4 * P), c);
	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(faults, info.faults);
	ASSERT_EQ(0, vt_peek(self->map + 5 * P, &c));
	ASSERT_EQ(0, vt_peek(self->map + THP_SIZE + 9 * P, &c));
	EXPECT_EQ(vt_byte(SEED_C, THP_SIZE + 9 * P), c);
	ASSERT_EQ(0, vt_info(self->region, &info));
	EXPECT_EQ(pmds ? 2 : 0, info.pmd_faults);
	EXPECT_EQ(faults + (pmds ? 2 : 0), info.faults);
}
