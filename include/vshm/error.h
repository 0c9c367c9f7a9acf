/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvshm error reporting.
 *
 * Every public function returns 0 (or a count) on success and a negative
 * error code on failure: either -errno, or one of the library's own protocol
 * codes below (-VSHM_E*), which lie above every errno value.
 * vshm_strerror() names both kinds.  Of the library's codes, VSHM_EVERSION,
 * VSHM_EHDRFLAGS, VSHM_EFRAMESIZE and VSHM_ETRUNC describe a stream that can
 * no longer be trusted (a channel that returns them is broken for good);
 * the others describe one whole frame that was read and dropped.  Functions that validate input from a
 * peer also take an optional struct vshm_err that receives a message naming
 * what was wrong and the value or limit expected.
 */
#ifndef VSHM_ERROR_H
#define VSHM_ERROR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Library error codes, returned negated like -errno. */
#define VSHM_ERR_BASE		4096
#define VSHM_EVERSION		(VSHM_ERR_BASE + 1)  /* header version bits are not 1 */
#define VSHM_EHDRFLAGS		(VSHM_ERR_BASE + 2)  /* reserved or misplaced header flag bits */
#define VSHM_ESIZE		(VSHM_ERR_BASE + 3)  /* payload size does not match the request type */
#define VSHM_EFDEXTRA		(VSHM_ERR_BASE + 4)  /* message carries fds it must not carry */
#define VSHM_EFDMISSING		(VSHM_ERR_BASE + 5)  /* message lacks a required fd */
#define VSHM_EFRAMESIZE		(VSHM_ERR_BASE + 6)  /* header size above VSHM_PAYLOAD_MAX (breaks a channel) */
#define VSHM_EPADDING		(VSHM_ERR_BASE + 7)  /* non-zero padding or reserved field */
#define VSHM_EFIELD		(VSHM_ERR_BASE + 8)  /* a field value outside its valid range */
#define VSHM_EREQUEST		(VSHM_ERR_BASE + 9)  /* unknown request number (control protocol) */
#define VSHM_ETRUNC		(VSHM_ERR_BASE + 10) /* peer closed the connection mid-message */
#define VSHM_EREPLY		(VSHM_ERR_BASE + 11) /* reply does not answer the request sent */
#define VSHM_EDATASIZE		(VSHM_ERR_BASE + 12) /* MEM_READ / MEM_WRITE size above VSHM_MEM_DATA_MAX */
#define VSHM_ERR_LAST		VSHM_EDATASIZE

/* Room for a diagnostic message. */
#define VSHM_ERR_MSG_MAX	192

/**
 * struct vshm_err - optional diagnostic filled by validating functions
 * @code: the negative code the function returned.
 * @msg: what was wrong, with the value found and the value expected.
 */
struct vshm_err {
	int code;
	char msg[VSHM_ERR_MSG_MAX];
};

/* Name an error code (negative or positive; errno or VSHM_E*); never NULL. */
const char *vshm_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* VSHM_ERROR_H */
