// SPDX-License-Identifier: LGPL-2.1-or-later
/* Error names and diagnostics. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static const char *const vshmi_errnames[] = {
	[VSHM_EVERSION - VSHM_ERR_BASE] = "header version bits are not 1",
	[VSHM_EHDRFLAGS - VSHM_ERR_BASE] = "reserved or misplaced header flag bits",
	[VSHM_ESIZE - VSHM_ERR_BASE] = "payload size does not match the request type",
	[VSHM_EFDEXTRA - VSHM_ERR_BASE] = "message carries a file descriptor it must not carry",
	[VSHM_EFDMISSING - VSHM_ERR_BASE] = "message lacks a required file descriptor",
	[VSHM_EFRAMESIZE - VSHM_ERR_BASE] = "frame payload size above the cap (stream unusable)",
	[VSHM_EPADDING - VSHM_ERR_BASE] = "non-zero padding or reserved field",
	[VSHM_EFIELD - VSHM_ERR_BASE] = "field value out of range",
	[VSHM_EREQUEST - VSHM_ERR_BASE] = "unknown request number",
	[VSHM_ETRUNC - VSHM_ERR_BASE] = "frame truncated (buffer short or peer closed mid-message)",
	[VSHM_EREPLY - VSHM_ERR_BASE] = "reply does not answer the request",
	[VSHM_EDATASIZE - VSHM_ERR_BASE] = "MEM_READ / MEM_WRITE data size above the cap",
};

const char *vshm_strerror(int code)
{
	const char *s;

	if (code < 0)
		code = -code;
	if (code > VSHM_ERR_BASE && code <= VSHM_ERR_LAST)
		return vshmi_errnames[code - VSHM_ERR_BASE];
	if (code == 0)
		return "success";
	s = strerrordesc_np(code);
	return s ? s : "unknown error";
}

int vshmi_fail(struct vshm_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = -code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

void vshmi_close_fds(const int *fds, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int vshmi_status_to_err(uint64_t status)
{
	if (status == 0)
		return 0;
	if (status < VSHM_ERR_BASE)
		return -(int)status;
	return -EREMOTEIO;
}
