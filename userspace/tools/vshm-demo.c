// SPDX-License-Identifier: GPL-2.0
/*
 * vshm-demo: the module's main job, end to end, as a readable walkthrough.
 *
 * A "VMM" creates a region and mmaps it once.  A "back-end" process maps a
 * memfd into it; the VMM sees the back-end's data at region base + offset,
 * and the back-end sees the VMM's writes.  The copy fallback (pread/pwrite
 * on the region fd) reaches the same bytes without any mapping.  A thousand
 * mappings later the VMM still has one VMA.  After unmap the range raises
 * SIGBUS.  Every step checks its result; the exit status says whether all
 * of them held.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/vshm.h>
#include <vshm/version.h>

#include "touch_probe.h"

#define REGION_SIZE	(16UL << 20)
#define MAP_OFFSET	(1UL << 20)
#define MAP_LEN		(64UL << 10)
#define MANY		1000

struct demo {
	int region;
	char *base;
	int failures;
};

static void step(const char *what)
{
	printf("\n== %s\n", what);
}

static void expect(struct demo *d, bool ok, const char *what)
{
	printf("   [%s] %s\n", ok ? "ok" : "FAILED", what);
	if (!ok)
		d->failures++;
}

/* Touch @p in a child (it shares the region's VMA): does it die of SIGBUS? */
static bool read_raises_sigbus(volatile const char *p)
{
	return read_fault_signal(p) == SIGBUS;
}

static int count_region_vmas(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	if (!maps)
		return -1;
	while (fgets(line, sizeof(line), maps))
		if (strstr(line, "vshm-region"))
			n++;
	fclose(maps);
	return n;
}

static int map_range(int region, int fd, unsigned long fd_off,
		     unsigned long shm_off, unsigned long len, unsigned int flags)
{
	struct vshm_map req = {
		.fd = fd, .flags = flags, .fd_offset = fd_off,
		.shm_offset = shm_off, .len = len,
	};

	return ioctl(region, VSHM_IOC_MAP, &req) ? -errno : 0;
}

static int unmap_range(int region, unsigned long shm_off, unsigned long len)
{
	struct vshm_unmap req = { .shm_offset = shm_off, .len = len };

	return ioctl(region, VSHM_IOC_UNMAP, &req) ? -errno : 0;
}

/* The back-end: make a memfd with a message, map it, wait for the reply. */
static int run_backend(int region, int to_vmm, int from_vmm)
{
	int memfd = memfd_create("backend-buffer", MFD_CLOEXEC);
	char *buf, go;
	int ret;

	if (memfd < 0 || ftruncate(memfd, MAP_LEN))
		return 1;
	buf = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (buf == MAP_FAILED)
		return 1;
	strcpy(buf, "hello from the back-end");
	ret = map_range(region, memfd, 0, MAP_OFFSET, MAP_LEN, VSHM_MAP_WRITE);
	printf("   back-end: mapped its memfd at region offset 0x%lx: %s\n",
	       MAP_OFFSET, ret ? strerror(-ret) : "ok");
	close(memfd);	/* the region keeps the memfd alive */
	if (write(to_vmm, "m", 1) != 1 || read(from_vmm, &go, 1) != 1)
		return 1;
	printf("   back-end: its own mmap now reads \"%s\"\n", buf + 4096);
	return strcmp(buf + 4096, "hello from the VMM") != 0;
}

int main(int argc, char **argv)
{
	struct vshm_region_create create = { .size = REGION_SIZE };
	int to_vmm[2], from_vmm[2], dev, status, memfd, i, ret;
	struct vshm_region_info info;
	struct demo d = { 0 };
	char buf[64] = "", go;
	pid_t backend;

	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("vshm-demo %s\n", VSHM_VERSION_STRING);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: vshm-demo [--version]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	step("VMM: create a 16 MiB VIRTIO Shared Memory Region and mmap it once");
	dev = open(VSHM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		fprintf(stderr, "vshm-demo: %s: %s (is vshm.ko loaded?)\n",
			VSHM_DEVICE_PATH, strerror(errno));
		return 2;
	}
	printf("   API version %d\n", ioctl(dev, VSHM_IOC_GET_API_VERSION));
	d.region = ioctl(dev, VSHM_IOC_CREATE_REGION, &create);
	expect(&d, d.region >= 0, "region fd created");
	if (d.region < 0)
		return 1;
	d.base = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      d.region, 0);
	expect(&d, d.base != MAP_FAILED, "region mmap'ed (this is what the guest sees)");
	if (d.base == MAP_FAILED)
		return 1;
	expect(&d, read_raises_sigbus(d.base + MAP_OFFSET),
	       "an empty range raises SIGBUS: no host memory shows through");

	step("back-end: map a memfd into the region (SHMEM_MAP)");
	if (pipe(to_vmm) || pipe(from_vmm))
		return 1;
	backend = fork();
	if (backend == 0)
		_exit(run_backend(d.region, to_vmm[1], from_vmm[0]));
	if (read(to_vmm[0], &go, 1) != 1)
		return 1;
	printf("   VMM reads at base + 0x%lx: \"%s\"\n", MAP_OFFSET, d.base + MAP_OFFSET);
	expect(&d, !strcmp(d.base + MAP_OFFSET, "hello from the back-end"),
	       "the VMM sees the back-end's data");
	strcpy(d.base + MAP_OFFSET + 4096, "hello from the VMM");
	if (write(from_vmm[1], "g", 1) != 1)
		return 1;
	waitpid(backend, &status, 0);
	expect(&d, WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "the back-end sees the VMM's write in its own memfd mapping");

	step("copy fallback: MEM_READ / MEM_WRITE through pread/pwrite on the region");
	ret = pread(d.region, buf, 23, MAP_OFFSET);
	printf("   pread at 0x%lx: \"%.23s\"\n", MAP_OFFSET, buf);
	expect(&d, ret == 23 && !memcmp(buf, "hello from the back-end", 23),
	       "pread copies out what is mapped there");
	ret = pwrite(d.region, "written by copy", 16, MAP_OFFSET + 8192);
	expect(&d, ret == 16 && !strcmp(d.base + MAP_OFFSET + 8192, "written by copy"),
	       "pwrite lands in the mapped memfd, visible through the mmap");
	ret = pread(d.region, buf, 16, 0);
	expect(&d, ret < 0 && errno == ENXIO, "a copy from a hole fails with ENXIO");

	step("scale: 1000 more mappings, still one VMA in the VMM");
	memfd = memfd_create("many", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, 4096))
		return 1;
	for (i = 0, ret = 0; i < MANY && !ret; i++)
		ret = map_range(d.region, memfd, 0, 2 * MAP_OFFSET + i * 8192UL, 4096, 0);
	expect(&d, !ret, "1000 read-only 4 KiB mappings made");
	printf("   VMAs of the region in /proc/self/maps: %d\n", count_region_vmas());
	expect(&d, count_region_vmas() == 1, "the region is still one VMA");
	ioctl(d.region, VSHM_IOC_REGION_INFO, &info);
	printf("   region info: %llu mappings, %llu bytes mapped, %llu faults, %llu/%llu bytes copied in/out\n",
	       info.nr_mappings, info.mapped_bytes, info.faults,
	       info.copied_in, info.copied_out);

	step("back-end: unmap (SHMEM_UNMAP), then device reset");
	expect(&d, unmap_range(d.region, MAP_OFFSET, MAP_LEN) == 0, "unmapped");
	expect(&d, read_raises_sigbus(d.base + MAP_OFFSET),
	       "the VMM now gets SIGBUS there, never stale data");
	expect(&d, ioctl(d.region, VSHM_IOC_UNMAP_ALL) == 0, "reset dropped every mapping");
	ioctl(d.region, VSHM_IOC_REGION_INFO, &info);
	expect(&d, info.nr_mappings == 0 && info.mapped_bytes == 0, "region is empty");

	close(memfd);
	munmap(d.base, REGION_SIZE);
	close(d.region);
	close(dev);
	printf("\n%s: %d failed step(s)\n", d.failures ? "DEMO FAILED" : "demo passed",
	       d.failures);
	return d.failures ? 1 : 0;
}
