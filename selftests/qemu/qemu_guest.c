// SPDX-License-Identifier: GPL-2.0
/*
 * The guest side of qemu_guest_test: a static program in the guest's
 * initramfs.  It finds the vhost-user-vshm-pci device in sysfs, reads its
 * VIRTIO shared memory capability (cfg_type 8) from the PCI configuration
 * space to learn which BAR holds shared memory region 0 and where, mmaps
 * that BAR's resourceN file, and then takes commands, one line each, from
 * the test on the host over a serial port (argv[1], e.g. /dev/ttyS1):
 *
 *   r OFF        8 bytes at region offset OFF, one 64-bit load:
 *                "ok <16 hex digits, byte by byte>"
 *   w OFF HEX    one 64-bit store of those 8 bytes at OFF: "ok"
 *   q            exit 0
 *
 * It starts with "ready bar=N offset=0x.. length=0x.." or "error <why>".
 * No libvshm here: the guest knows only PCI and virtio.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#define VIRTIO_VENDOR		0x1af4
#define VIRTIO_ID		37
#define PCI_CAP_PTR		0x34
#define PCI_CAP_VENDOR		0x09
#define VIRTIO_CAP_SHM		8
#define CFG_MAX			256

struct shm_bar {
	char dir[300];
	unsigned int bar;
	uint64_t offset, length;
	unsigned long long addr;	/* where the BIOS put the BAR */
};

/* The serial port, one stream each way (a stream must not switch direction). */
struct port {
	FILE *in, *out;
};

static void say(struct port *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(p->out, fmt, ap);
	va_end(ap);
	fputc('\n', p->out);
	fflush(p->out);
}

static unsigned long sysfs_hex(const char *dir, const char *name)
{
	char path[400], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strtoul(buf, NULL, 16);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Walk the capability list for the shared memory capability of shmid 0. */
static int find_shm_cap(const uint8_t *cfg, size_t len, struct shm_bar *s)
{
	unsigned int pos = cfg[PCI_CAP_PTR] & ~3u, hops = 0;

	while (pos && pos + 24 <= len && hops++ < 48) {
		const uint8_t *c = cfg + pos;

		if (c[0] == PCI_CAP_VENDOR && c[3] == VIRTIO_CAP_SHM && c[5] == 0 &&
		    c[2] >= 24) {
			s->bar = c[4];
			s->offset = le32(c + 8) | (uint64_t)le32(c + 16) << 32;
			s->length = le32(c + 12) | (uint64_t)le32(c + 20) << 32;
			return 0;
		}
		pos = c[1] & ~3u;
	}
	return -ENOENT;
}

static int find_device(struct shm_bar *s)
{
	uint8_t cfg[CFG_MAX];
	struct dirent *e;
	char path[400];
	ssize_t n;
	DIR *d;
	int fd;

	d = opendir("/sys/bus/pci/devices");
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(s->dir, sizeof(s->dir), "/sys/bus/pci/devices/%s", e->d_name);
		if (sysfs_hex(s->dir, "vendor") == VIRTIO_VENDOR &&
		    sysfs_hex(s->dir, "device") == 0x1040 + VIRTIO_ID)
			break;
	}
	closedir(d);
	if (!e)
		return -ENODEV;
	snprintf(path, sizeof(path), "%s/config", s->dir);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = pread(fd, cfg, sizeof(cfg), 0);
	close(fd);
	if (n < 64)
		return -EIO;
	return find_shm_cap(cfg, n, s);
}

/* The BAR's guest-physical address: line N of sysfs "resource". */
static int bar_address(struct shm_bar *s)
{
	unsigned long long start, end, flags;
	char path[400];
	unsigned int i;
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "%s/resource", s->dir);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	for (i = 0; i <= s->bar; i++) {
		if (fscanf(f, "%llx %llx %llx", &start, &end, &flags) != 3)
			break;
		if (i == s->bar && start) {
			s->addr = start;
			ret = 0;
		}
	}
	fclose(f);
	return ret;
}

/* No driver binds virtio-id 37: turn on memory decoding through sysfs. */
static int enable_device(const struct shm_bar *s)
{
	char path[400];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/enable", s->dir);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ok = write(fd, "1", 1) == 1;
	close(fd);
	return ok ? 0 : -errno;
}

static volatile uint64_t *map_bar(const struct shm_bar *s)
{
	char path[400];
	void *p;
	int fd;

	snprintf(path, sizeof(path), "%s/resource%u", s->dir, s->bar);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		return NULL;
	p = mmap(NULL, s->length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, s->offset);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static int open_port(struct port *p, const char *dev)
{
	struct termios t;
	int fd = open(dev, O_RDWR | O_NOCTTY);

	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
	}
	p->in = fdopen(fd, "r");
	p->out = fdopen(dup(fd), "w");
	return p->in && p->out ? 0 : -1;
}

static void serve(struct port *p, volatile uint64_t *shm, uint64_t length)
{
	char line[128], hex[17];
	unsigned long long off;
	uint8_t b[8];
	uint64_t v;
	int i;

	while (fgets(line, sizeof(line), p->in)) {
		if (line[0] == 'q')
			return;
		if (sscanf(line + 1, " %llx %16s", &off, hex) < 1 || off % 8 ||
		    off > length - 8) {
			say(p, "error bad command: %s", line);
			continue;
		}
		if (line[0] == 'r') {
			v = shm[off / 8];
			memcpy(b, &v, 8);
			say(p, "ok %02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
			    b[4], b[5], b[6], b[7]);
		} else if (line[0] == 'w' && strlen(hex) == 16) {
			for (i = 0; i < 8; i++) {
				unsigned int x;

				sscanf(hex + 2 * i, "%2x", &x);
				b[i] = x;
			}
			memcpy(&v, b, 8);
			shm[off / 8] = v;
			say(p, "ok");
		} else {
			say(p, "error bad command: %s", line);
		}
	}
}

int main(int argc, char **argv)
{
	volatile uint64_t *shm;
	struct shm_bar s;
	struct port port, *p = &port;
	int ret;

	if (argc != 2 || open_port(p, argv[1])) {
		fprintf(stderr, "usage: qemu_guest /dev/ttySN (a port that opens)\n");
		return 2;
	}
	ret = find_device(&s);
	if (ret) {
		say(p, "error no virtio-id %d device with a shared memory capability: %s",
		    VIRTIO_ID, strerror(-ret));
		return 1;
	}
	ret = bar_address(&s);
	if (!ret)
		ret = enable_device(&s);
	shm = ret ? NULL : map_bar(&s);
	if (!shm || s.length < 8) {
		say(p, "error mapping %s/resource%u: %s", s.dir, s.bar,
		    strerror(ret ? -ret : errno));
		return 1;
	}
	say(p, "ready bar=%u offset=0x%" PRIx64 " length=0x%" PRIx64 " addr=0x%llx", s.bar,
	    s.offset, s.length, s.addr);
	serve(p, shm, s.length);
	return 0;
}
