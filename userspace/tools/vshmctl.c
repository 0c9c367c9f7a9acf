// SPDX-License-Identifier: GPL-2.0
/*
 * vshmctl: read a running vshmd over its control socket.
 *
 *   vshmctl [--socket PATH] [--json] stats [DEV]
 *   vshmctl [--socket PATH] [--json] devices
 *   vshmctl [--socket PATH] [--json] mappings DEV SHMID
 *
 * The socket defaults to $VSHM_CONTROL_SOCKET, else
 * /run/vshm/default/control.sock (that of vshmd@default.service).
 * Exit status: 0 success, 1 the broker refused or could not be reached,
 * 2 usage error.  See vshmctl(8).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vshm/vshm.h>

/* The socket of vshmd@default.service (vshmd@.socket). */
#define DEFAULT_SOCKET	"/run/vshm/default/control.sock"
#define TIMEOUT_MS	5000

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vshmctl [--socket PATH] [--json] COMMAND\n"
		"\n"
		"Commands:\n"
		"  stats [DEV]            counters of one device, or of all\n"
		"  devices                registered devices\n"
		"  mappings DEV SHMID     mappings of one region\n"
		"\n"
		"  -s, --socket PATH      vshmd control socket (default $VSHM_CONTROL_SOCKET,\n"
		"                         else " DEFAULT_SOCKET ")\n"
		"  -j, --json             print JSON\n"
		"  -h, --help             this help\n"
		"      --version          print the version and exit\n");
}

static int parse_u32(const char *s, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v > UINT32_MAX)
		return -1;
	*out = v;
	return 0;
}

static const char *const stat_names[] = {
	"devices", "mappings", "mapped_bytes", "maps", "unmaps", "map_errors",
	"mem_reads", "mem_writes", "mem_read_bytes", "mem_write_bytes",
	"forwarded", "protocol_errors",
};

static int cmd_stats(struct vshm_client *c, bool json, uint32_t dev)
{
	struct vshm_ctl_stats st;
	struct vshm_err err;
	uint64_t v[12];
	unsigned int i;
	int ret;

	ret = vshm_client_stats(c, dev, &st, &err);
	if (ret) {
		fprintf(stderr, "vshmctl: stats: %s\n", err.msg);
		return 1;
	}
	memcpy(v, &st, sizeof(v));
	if (json)
		printf("{");
	for (i = 0; i < 12; i++) {
		if (json)
			printf("%s\"%s\": %" PRIu64, i ? ", " : "", stat_names[i], v[i]);
		else
			printf("%-16s %" PRIu64 "\n", stat_names[i], v[i]);
	}
	if (json)
		printf("}\n");
	return 0;
}

static int cmd_devices(struct vshm_client *c, bool json)
{
	struct vshm_ctl_device_entry *e;
	struct vshm_err err;
	uint32_t total = 0;
	ssize_t n, i;

	e = calloc(VSHM_CTL_MAX_DEVICES, sizeof(*e));
	if (!e)
		return 1;
	n = vshm_client_list_devices(c, e, VSHM_CTL_MAX_DEVICES, &total, &err);
	if (n < 0) {
		fprintf(stderr, "vshmctl: devices: %s\n", err.msg);
		free(e);
		return 1;
	}
	if (json) {
		printf("{\"total\": %u, \"devices\": [", total);
		for (i = 0; i < n; i++)
			printf("%s{\"id\": %u, \"shmids\": %u, \"mappings\": %u, "
			       "\"forward\": %s, \"draft_flags\": %s}",
			       i ? ", " : "", e[i].dev_id, e[i].nregions,
			       e[i].nmappings,
			       e[i].flags & VSHM_CTL_DEV_FORWARD ? "true" : "false",
			       e[i].flags & VSHM_CTL_DEV_DRAFT_FLAGS ? "true" : "false");
		printf("]}\n");
	} else {
		printf("%-6s %-7s %-9s %s\n", "DEV", "SHMIDS", "MAPPINGS", "FLAGS");
		for (i = 0; i < n; i++)
			printf("%-6u %-7u %-9u %s%s\n", e[i].dev_id, e[i].nregions,
			       e[i].nmappings,
			       e[i].flags & VSHM_CTL_DEV_FORWARD ? "forward " : "",
			       e[i].flags & VSHM_CTL_DEV_DRAFT_FLAGS ? "draft-flags" : "");
	}
	free(e);
	return 0;
}

static int cmd_mappings(struct vshm_client *c, bool json, uint32_t dev,
			uint32_t shmid)
{
	struct vshm_mapping *m;
	struct vshm_err err;
	uint32_t total = 0, start = 0;
	bool first = true;
	ssize_t n, i;

	m = calloc(VSHM_CTL_MAX_MAPPINGS, sizeof(*m));
	if (!m)
		return 1;
	if (json)
		printf("{\"device\": %u, \"shmid\": %u, \"mappings\": [", dev, shmid);
	else
		printf("%-18s %-18s %-18s %s\n", "SHM_OFFSET", "LEN", "FD_OFFSET", "ACCESS");
	do {
		n = vshm_client_list_mappings(c, dev, shmid, start, m,
					      VSHM_CTL_MAX_MAPPINGS, &total, &err);
		if (n < 0) {
			if (json)
				printf("]}\n");
			fprintf(stderr, "vshmctl: mappings: %s\n", err.msg);
			free(m);
			return 1;
		}
		for (i = 0; i < n; i++, first = false) {
			const char *acc = m[i].flags & VSHM_REGION_WRITE ? "rw" : "ro";

			if (json)
				printf("%s{\"shm_offset\": %" PRIu64 ", \"len\": %" PRIu64
				       ", \"fd_offset\": %" PRIu64 ", \"access\": \"%s\"}",
				       first ? "" : ", ", m[i].shm_offset, m[i].len,
				       m[i].fd_offset, acc);
			else
				printf("0x%-16" PRIx64 " 0x%-16" PRIx64 " 0x%-16" PRIx64 " %s\n",
				       m[i].shm_offset, m[i].len, m[i].fd_offset, acc);
		}
		start += n;
	} while (n > 0 && start < total);
	if (json)
		printf("], \"total\": %u}\n", total);
	free(m);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("VSHM_CONTROL_SOCKET");
	struct vshm_client *c;
	struct vshm_err err;
	uint32_t dev = VSHM_CTL_ALL_DEVICES, shmid = 0;
	bool json = false;
	const char *cmd;
	int o, ret;

	while ((o = getopt_long(argc, argv, "s:jh", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vshmctl %s\n", VSHM_VERSION_STRING);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!path)
		path = DEFAULT_SOCKET;
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	if (!strcmp(cmd, "stats")) {
		if (optind < argc && parse_u32(argv[optind++], &dev))
			goto bad;
	} else if (!strcmp(cmd, "mappings")) {
		if (argc - optind < 2 || parse_u32(argv[optind], &dev) ||
		    parse_u32(argv[optind + 1], &shmid))
			goto bad;
		optind += 2;
	} else if (strcmp(cmd, "devices")) {
		goto bad;
	}
	if (optind != argc)
		goto bad;
	ret = vshm_client_connect(path, TIMEOUT_MS, &c, &err);
	if (ret) {
		fprintf(stderr, "vshmctl: %s: %s\n", path, err.msg);
		return 1;
	}
	if (!strcmp(cmd, "stats"))
		ret = cmd_stats(c, json, dev);
	else if (!strcmp(cmd, "devices"))
		ret = cmd_devices(c, json);
	else
		ret = cmd_mappings(c, json, dev, shmid);
	vshm_client_close(c);
	return ret;
bad:
	fprintf(stderr, "vshmctl: bad command line\n");
	usage(stderr);
	return 2;
}
