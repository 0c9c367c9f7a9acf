/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One number of /proc/PID/status ("Threads:", "VmRSS:" in kB, ...), for the
 * tests and benchmarks that watch vshmd from outside.
 */
#ifndef VSHM_COMMON_PROC_STATUS_H
#define VSHM_COMMON_PROC_STATUS_H

#include <stdint.h>
#include <sys/types.h>

/*
 * Read the number after @key (with its colon, e.g. "Threads:") in
 * /proc/@pid/status into @value; a unit after it ("kB") is ignored.
 * 0, -errno if the file cannot be read, or -ENOENT if @key is absent.
 */
int proc_status_u64(pid_t pid, const char *key, uint64_t *value);

#endif /* VSHM_COMMON_PROC_STATUS_H */
