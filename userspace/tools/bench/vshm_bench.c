// SPDX-License-Identifier: GPL-2.0
/*
 * vshm-bench: the vshm path against its alternative, interleaved round by
 * round in one run, ratios of medians only.  See Documentation/performance.rst.
 *
 *   vshm-bench [--kmod] [--broker] [--guest] [--where native|vm]
 *              [--json FILE] [--only NAME]
 *
 * --kmod: the module's benchmarks (needs /dev/vshm); --broker: vshmd's
 * (kmod region mode when /dev/vshm exists, else mmap); --guest: a KVM
 * guest's view of a region (needs /dev/vshm and /dev/kvm).  Default:
 * --kmod and --broker when /dev/vshm exists, else --broker.  --only NAME: just the module's
 * benchmark NAME (map_unmap_64k, map_at_N, first_touch, populate,
 * kernel_bytes; first_touch also runs memcpy, which shares its rounds, and
 * populate) or the guest's (guest_first_touch, which includes the streams,
 * guest_huge_first_touch, guest_remap_storm), to measure one path without
 * the long ones.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/vshm.h>
#include <vshm/version.h>

#include "bench.h"

int main(int argc, char **argv)
{
	struct bench b = { .where = "native", .dev = -1 };
	bool kmod = false, broker = false, guest = false;
	const char *json = NULL;
	ssize_t n;
	char *slash;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--kmod")) {
			kmod = true;
		} else if (!strcmp(argv[i], "--broker")) {
			broker = true;
		} else if (!strcmp(argv[i], "--guest")) {
			guest = true;
		} else if (!strcmp(argv[i], "--where") && i + 1 < argc) {
			b.where = argv[++i];
		} else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
			json = argv[++i];
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			b.only = argv[++i];
			if (!strncmp(b.only, "guest_", 6))
				guest = true;
			else
				kmod = true;
		} else if (!strcmp(argv[i], "--version")) {
			printf("vshm-bench %s\n", VSHM_VERSION_STRING);
			return 0;
		} else {
			fprintf(stderr, "usage: vshm-bench [--kmod] [--broker] [--guest] "
				"[--where native|vm] [--json FILE] [--only NAME] [--version]\n");
			return 2;
		}
	}
	n = readlink("/proc/self/exe", b.tools_dir, sizeof(b.tools_dir) - 1);
	b.tools_dir[n > 0 ? n : 0] = 0;
	slash = strrchr(b.tools_dir, '/');
	if (slash)
		*slash = 0;
	b.dev = open(VSHM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (!kmod && !broker && !guest) {
		kmod = b.dev >= 0;
		broker = true;
	}
	if ((kmod || guest) && b.dev < 0)
		die(VSHM_DEVICE_PATH);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (kmod)
		bench_kmod(&b);
	if (broker)
		bench_broker(&b);
	if (guest)
		bench_guest(&b);
	report(&b, json);
	if (b.dev >= 0)
		close(b.dev);
	return 0;
}
