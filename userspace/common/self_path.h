/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Finding a program of the build tree next to the running one, so that the
 * selftests and the walkthroughs run from any directory.
 */
#ifndef VSHM_COMMON_SELF_PATH_H
#define VSHM_COMMON_SELF_PATH_H

#include <stddef.h>

/*
 * Write to @out (@len bytes) the path @rel taken from the directory of the
 * running executable, e.g. "../broker/vshmd".  If the environment variable
 * @env_override is set and not empty, its value is used instead.
 */
void path_near_self(char *out, size_t len, const char *rel,
		    const char *env_override);

#endif /* VSHM_COMMON_SELF_PATH_H */
