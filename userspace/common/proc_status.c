// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "proc_status.h"

int proc_status_u64(pid_t pid, const char *key, uint64_t *value)
{
	size_t klen = strlen(key);
	char path[64], line[256];
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen))
			continue;
		ret = sscanf(line + klen, " %" SCNu64, value) == 1 ? 0 : -EINVAL;
		break;
	}
	fclose(f);
	return ret;
}
