// SPDX-License-Identifier: GPL-2.0
#include "self_path.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void path_near_self(char *out, size_t len, const char *rel,
		    const char *env_override)
{
	const char *given = env_override ? getenv(env_override) : NULL;
	char self[PATH_MAX];
	char *slash;
	ssize_t n;

	if (given && *given) {
		snprintf(out, len, "%s", given);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = 0;
	slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	snprintf(out, len, "%s/%s", self, rel);
}
