// SPDX-License-Identifier: GPL-2.0
/*
 * 6.13: MODULE_IMPORT_NS() takes a string literal and no longer stringifies
 * its argument.  Both forms compile with either argument, so the probe
 * looks at what reaches MODULE_INFO(): "DMA_BUF" itself, or "\"DMA_BUF\"".
 */
#include <linux/build_bug.h>
#include <linux/module.h>

#undef MODULE_INFO
#define MODULE_INFO(tag, info) static_assert(sizeof(info) == sizeof("DMA_BUF"))

MODULE_IMPORT_NS("DMA_BUF");
