// SPDX-License-Identifier: GPL-2.0
/*
 * Finding /dev/vshm with libudev: the misc device named "vshm".  With
 * --wait-device the broker waits for it to appear (the module being
 * loaded), listening to kernel uevents and looking again every second in
 * case an event was missed.  No udev daemon is needed: enumeration reads
 * sysfs and the monitor listens to the kernel directly.
 */
#include <errno.h>
#include <libudev.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>

#include "vshmd.h"

/* The device node of misc/vshm if it exists: 0 and path, or -ENOENT. */
static int lookup(struct udev *udev, char *path, size_t len)
{
	struct udev_enumerate *e = udev_enumerate_new(udev);
	struct udev_list_entry *it;
	struct stat st;
	int ret = -ENOENT;

	if (!e)
		return -ENOMEM;
	udev_enumerate_add_match_subsystem(e, "misc");
	udev_enumerate_add_match_sysname(e, "vshm");
	udev_enumerate_scan_devices(e);
	udev_list_entry_foreach(it, udev_enumerate_get_list_entry(e)) {
		struct udev_device *dev =
			udev_device_new_from_syspath(udev, udev_list_entry_get_name(it));
		const char *node = dev ? udev_device_get_devnode(dev) : NULL;

		if (node && stat(node, &st) == 0 && S_ISCHR(st.st_mode) &&
		    strlen(node) < len) {
			strcpy(path, node);
			ret = 0;
		}
		udev_device_unref(dev);
		if (!ret)
			break;
	}
	udev_enumerate_unref(e);
	return ret;
}

int vd_udev_find(struct vshmd *d, int wait_s, char *path, size_t len)
{
	struct udev_monitor *mon = NULL;
	struct udev *udev = udev_new();
	uint64_t deadline = vd_now_ms() + (uint64_t)wait_s * 1000;
	int ret;

	if (!udev)
		return -ENOMEM;
	ret = lookup(udev, path, len);
	if (ret != -ENOENT || wait_s <= 0)
		goto out;
	vd_log(d, VD_LOG_INFO, "waiting up to %d s for /dev/vshm", wait_s);
	mon = udev_monitor_new_from_netlink(udev, "kernel");
	if (mon) {
		udev_monitor_filter_add_match_subsystem_devtype(mon, "misc", NULL);
		if (udev_monitor_enable_receiving(mon) < 0) {
			udev_monitor_unref(mon);
			mon = NULL;
		}
	}
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = mon ? udev_monitor_get_fd(mon) : -1, .events = POLLIN },
			{ .fd = d->sig_w.fd, .events = POLLIN },
		};
		uint64_t now = vd_now_ms();

		ret = lookup(udev, path, len);
		if (ret != -ENOENT)
			break;
		if (now >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		if (poll(p, 2, now + 1000 < deadline ? 1000 : (int)(deadline - now)) > 0) {
			if (p[1].revents) {
				ret = -EINTR;
				break;
			}
			if (mon && p[0].revents) {
				struct udev_device *ev = udev_monitor_receive_device(mon);

				udev_device_unref(ev);
			}
		}
	}
out:
	udev_monitor_unref(mon);
	udev_unref(udev);
	return ret;
}
