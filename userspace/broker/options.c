// SPDX-License-Identifier: GPL-2.0
/*
 * The options' defaults (vshmd(8)), in one place for vshmd.c and for the
 * fuzzer, which starts from them and tightens what it must.
 */
#include "vshmd.h"

void vd_options_init(struct vd_options *o)
{
	*o = (struct vd_options){
		.region_mode = VSHM_REGION_MODE_AUTO,
		.max_devices = 64,
		.max_mappings = 4096,
		.max_inflight = 1u << 20,
		.msg_rate = 20000,
		.max_clients = 16,
		.max_shared_objects = 256,
		.log_level = VD_LOG_INFO,
		.vmm_timeout_ms = 5000,
		.listen_fd = -1,
		.populate = false,
	};
}
