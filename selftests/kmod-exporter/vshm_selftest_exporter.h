/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The interface of the test-only exporter module vshm_selftest_exporter:
 * one ioctl on /dev/vshm_selftest_exporter that returns a new dma-buf.
 * Shared by the module and vshm_dmabuf_import_test.
 */
#ifndef VSHM_SELFTEST_EXPORTER_H
#define VSHM_SELFTEST_EXPORTER_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VSHM_SELFTEST_EXPORTER_DEV	"/dev/vshm_selftest_exporter"

/* What the buffer looks like to an importer. */
enum vshm_selftest_kind {
	/* exp_name "vshm_selftest_exporter", ordinary order-0 pages. */
	VSHM_SELFTEST_UNKNOWN_EXPORTER,
	/* exp_name "udmabuf" (impersonated), ordinary order-0 pages. */
	VSHM_SELFTEST_NAMED_UDMABUF,
	/*
	 * exp_name "udmabuf" (impersonated), pages allocated as TTM's pool
	 * does: order-1 blocks that are not compound, so every second page
	 * has a refcount of 0.
	 */
	VSHM_SELFTEST_TTM_TAILS,
};

/**
 * struct vshm_selftest_export - argument of VSHM_SELFTEST_EXPORT
 * @size: bytes, a non-zero multiple of 8 KiB, at most 64 MiB.
 * @kind: an enum vshm_selftest_kind.
 * @fd: set to the new dma-buf fd (O_RDWR, O_CLOEXEC).
 */
struct vshm_selftest_export {
	__u64 size;
	__u32 kind;
	__s32 fd;
};

#define VSHM_SELFTEST_EXPORT	_IOWR(0xF7, 0x00, struct vshm_selftest_export)

#endif /* VSHM_SELFTEST_EXPORTER_H */
