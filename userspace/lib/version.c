// SPDX-License-Identifier: LGPL-2.1-or-later
/* The library's version, from the generated <vshm/version.h>. */
#include <vshm/version.h>

const char *vshm_version(void)
{
	return VSHM_VERSION_STRING;
}

int vshm_version_major(void)
{
	return VSHM_VERSION_MAJOR;
}

int vshm_version_minor(void)
{
	return VSHM_VERSION_MINOR;
}

int vshm_check_version(int major, int minor)
{
	return major == VSHM_VERSION_MAJOR && minor <= VSHM_VERSION_MINOR;
}
