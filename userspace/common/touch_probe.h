/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Touching memory that may fault (a region's hole, a read-only page, a
 * PROT_NONE reservation) without risking the caller: the access runs in a
 * forked child, which shares the caller's mappings, and the child's fate
 * is the answer.  The kmod selftests' in-process probes (vt_peek() and
 * friends in selftests/kmod/vshm_test.h) are for tests that must stay in
 * one process; this one suits programs that also run threads or event
 * loops, where a signal handler is unwelcome.
 */
#ifndef VSHM_COMMON_TOUCH_PROBE_H
#define VSHM_COMMON_TOUCH_PROBE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Read the byte at @p (or, if @write, store 0x5a there) in a child.
 * Returns the signal that killed the child (SIGBUS, SIGSEGV), 0 if it
 * survived, with the byte it read in *@byte if @byte is not NULL, or -1 if
 * the child could not be started or waited for.
 */
int touch_in_child(const volatile void *p, bool write, uint8_t *byte);

/* The signal that kills a child reading @p, or 0 (also if no child ran). */
int read_fault_signal(const volatile void *p);

/* Does a child read a zero byte at @p and survive (a safe hole)? */
bool reads_zero_in_child(const volatile void *p);

#endif /* VSHM_COMMON_TOUCH_PROBE_H */
