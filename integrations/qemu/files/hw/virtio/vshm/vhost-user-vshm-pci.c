/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost-user-vshm-pci: the generic vhost-user device (any virtio-id) with
 * one VIRTIO Shared Memory Region served by vshmd and vshm.ko.
 *
 *   -device vhost-user-vshm-pci,chardev=CHR,virtio-id=N,
 *           vshmd=/run/vshm/control.sock,region-size=SIZE
 *
 * At realize the device connects to vshmd (libvshm's client) and, when
 * the vhost-user front-end creates the backend channel, registers the
 * device with vshmd, which takes the channel (SHMEM_MAP/UNMAP go to vshm.ko)
 * and relays any other back-end request to a forward socket that replaces
 * this process's end, so the front-end's own handler still sees them.
 *
 * With vshm.ko (vshmd --region-mode kmod) the region fd vshmd returns is
 * mmapped once.  Without it (vshmd --region-mode vmm, forwarding mode) the
 * device reserves the region in this process (libvshm's mmap region, with
 * holes that read zeros) and executes the maps vshmd forwards, with their
 * source fds, in that reservation (vshm_vmm_serve(), from the main loop).
 * Either view is exposed, through the shared memory capability, as BAR
 * VSHM_BAR.  Guest reads go straight to it (holes read as zeros: vshmd's
 * default, safe hole policy).  Guest writes go through the region instead
 * (pwrite() on the region fd, or vshm_region_write()): a store into a
 * read-only mapping through the view would raise SIGBUS or SIGSEGV in this
 * process, while the region refuses it with an error and discards writes
 * to holes.
 *
 * A memory listener tells vshmd where the guest put the BAR
 * (SET_REGION_ADDR) and which fd backs each range of guest RAM
 * (SET_MEM_TABLE, for the back-end's MEM_READ/MEM_WRITE); guest RAM must
 * be a shared fd, e.g. memory-backend-memfd,share=on.
 */
#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/host-utils.h"
#include "hw/qdev-properties.h"
#include "hw/virtio/vhost-user-base.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/vhost-user-vshm.h"
#include "system/memory.h"
#include "system/address-spaces.h"
#include "system/ramblock.h"
#include "exec/cpu-common.h"
#include "qemu/main-loop.h"

#include <vshm/client.h>

/* The BAR layout of virtio-gpu's host memory: virtio's registers in BAR 2. */
#define VSHM_BAR		4
#define VSHM_MODERN_BAR		2
#define VSHM_MSIX_BAR		1
#define VSHM_SHMID		0
#define VSHM_TIMEOUT_MS		10000
#define VSHM_MAX_RAM_RANGES	64

#define TYPE_VHOST_USER_VSHM_PCI "vhost-user-vshm-pci-base"
OBJECT_DECLARE_SIMPLE_TYPE(VHostUserVshmPCI, VHOST_USER_VSHM_PCI)

/* One pass of the memory listener: guest RAM ranges and the BAR's address. */
struct vuv_ram_table {
    struct vshm_ctl_ram_range ranges[VSHM_MAX_RAM_RANGES];
    int fds[VSHM_MAX_RAM_RANGES];
    uint32_t n;
    bool overflow;
};

struct VHostUserVshmPCI {
    VirtIOPCIProxy parent_obj;
    VHostUserBase vub;

    /* properties */
    char *broker_path;
    uint64_t region_size;

    struct vshm_client *client;
    uint32_t dev_id;
    bool registered;
    int region_fd;              /* module mode */
    struct vshm_region *reservation;    /* forwarding mode */
    char *channel_error;        /* why taking the backend channel failed */
    MemoryRegion bar;
    MemoryRegion region;
    MemoryListener listener;
    struct vuv_ram_table building, sent;
    hwaddr region_addr_seen, region_addr_sent;
};

#define VSHM_NO_ADDR ((hwaddr)-1)

/* The device realizing now: the vhost-user front-end's hook looks here. */
static VHostUserVshmPCI *vuv_realizing;

int vhost_user_vshm_take_backend_channel(int *channel_fd)
{
    VHostUserVshmPCI *d = vuv_realizing;
    uint64_t sizes[1] = { 0 };
    struct vshm_err err;
    int fwd[2], ret;

    if (!d) {
        return 0;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fwd) < 0) {
        d->channel_error = g_strdup_printf("forward socketpair: %s",
                                           strerror(errno));
        return -1;
    }
    sizes[VSHM_SHMID] = d->region_size;
    ret = vshm_client_add_device(d->client, *channel_fd, fwd[1], sizes, 1, 0,
                                 &d->dev_id, &d->region_fd, &err);
    close(fwd[1]);
    if (ret) {
        close(fwd[0]);
        d->channel_error = g_strdup_printf("vshmd refused ADD_DEVICE: %s",
                                           err.msg);
        return -1;
    }
    d->registered = true;
    close(*channel_fd);
    *channel_fd = fwd[0];
    return 0;
}

/*
 * Writes (the region is in ROM-device mode: reads use the mapping).  The
 * value is little-endian, like the rest of virtio.
 */
static void vuv_bar_write(void *opaque, hwaddr addr, uint64_t data,
                              unsigned size)
{
    VHostUserVshmPCI *d = opaque;
    uint64_t le = cpu_to_le64(data);
    ssize_t n;

    if (d->reservation) {
        n = vshm_region_write(d->reservation, addr, &le, size);
        errno = n < 0 ? (int)-n : EFAULT;
    } else {
        n = pwrite(d->region_fd, &le, size, addr);
    }
    if (n != size) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "vhost-user-vshm: guest write of %u byte(s) at region "
                      "offset 0x%" HWADDR_PRIx " refused: %s\n", size, addr,
                      strerror(errno));
    }
}

/* Only reached when something reads in MMIO mode (romd mode off). */
static uint64_t vuv_bar_read(void *opaque, hwaddr addr, unsigned size)
{
    VHostUserVshmPCI *d = opaque;
    uint64_t le = 0;
    ssize_t n;

    if (d->reservation) {
        n = vshm_region_read(d->reservation, addr, &le, size);
    } else {
        n = pread(d->region_fd, &le, size, addr);
    }
    return n == size ? le64_to_cpu(le) : 0;
}

static const MemoryRegionOps vuv_bar_ops = {
    .read = vuv_bar_read,
    .write = vuv_bar_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
    .impl = { .min_access_size = 1, .max_access_size = 8 },
};

static void vuv_listener_begin(MemoryListener *l)
{
    VHostUserVshmPCI *d = container_of(l, VHostUserVshmPCI, listener);

    d->building.n = 0;
    d->building.overflow = false;
    d->region_addr_seen = VSHM_NO_ADDR;
}

static void vuv_listener_section(MemoryListener *l, MemoryRegionSection *s)
{
    VHostUserVshmPCI *d = container_of(l, VHostUserVshmPCI, listener);
    struct vuv_ram_table *t = &d->building;
    struct vshm_ctl_ram_range *r;
    int fd;

    if (s->mr == &d->region) {
        d->region_addr_seen = s->offset_within_address_space -
                              s->offset_within_region;
        return;
    }
    if (!memory_region_is_ram(s->mr) || s->readonly || !s->mr->ram_block) {
        return;
    }
    fd = memory_region_get_fd(s->mr);
    if (fd < 0) {
        return;
    }
    if (t->n == VSHM_MAX_RAM_RANGES) {
        t->overflow = true;
        return;
    }
    r = &t->ranges[t->n];
    memset(r, 0, sizeof(*r));
    r->guest_addr = s->offset_within_address_space;
    r->size = int128_get64(s->size);
    r->fd_offset = qemu_ram_get_fd_offset(s->mr->ram_block) +
                   s->offset_within_region;
    t->fds[t->n++] = fd;
}

/* After each change of the guest's memory map: tell vshmd what changed. */
static void vuv_listener_commit(MemoryListener *l)
{
    VHostUserVshmPCI *d = container_of(l, VHostUserVshmPCI, listener);
    struct vuv_ram_table *t = &d->building;
    struct vshm_err err;

    if (t->overflow) {
        warn_report("vhost-user-vshm: more than %d guest RAM ranges; vshmd "
                    "gets the first %d", VSHM_MAX_RAM_RANGES,
                    VSHM_MAX_RAM_RANGES);
    }
    if (t->n != d->sent.n ||
        memcmp(t->ranges, d->sent.ranges, t->n * sizeof(t->ranges[0])) ||
        memcmp(t->fds, d->sent.fds, t->n * sizeof(t->fds[0]))) {
        if (vshm_client_set_mem_table(d->client, t->ranges, t->fds, t->n,
                                      &err)) {
            warn_report("vhost-user-vshm: vshmd refused the RAM table "
                        "(%u ranges): %s", t->n, err.msg);
        }
        d->sent = *t;
    }
    if (d->region_addr_seen != VSHM_NO_ADDR &&
        d->region_addr_seen != d->region_addr_sent) {
        if (vshm_client_set_region_addr(d->client, d->dev_id, VSHM_SHMID,
                                        d->region_addr_seen, &err)) {
            warn_report("vhost-user-vshm: vshmd refused the region's guest "
                        "address 0x%" HWADDR_PRIx ": %s",
                        d->region_addr_seen, err.msg);
        }
        d->region_addr_sent = d->region_addr_seen;
    }
}

/* Forwarding mode: the reservation vshmd's VMM_MAP/UNMAP/RESET name. */
static struct vshm_region *vuv_lookup_reservation(uint32_t dev_id,
                                                  uint32_t shmid, void *opaque)
{
    VHostUserVshmPCI *d = opaque;

    if (!d->registered || dev_id != d->dev_id || shmid != VSHM_SHMID) {
        return NULL;
    }
    return d->reservation;
}

/* vshmd's own requests: in forwarding mode, the maps it approved. */
static void vuv_broker_request(struct vshm_client *c, struct vshm_msg *msg,
                               void *opaque)
{
    if (vshm_vmm_serve(c, msg, vuv_lookup_reservation, opaque, NULL) ==
        -EOPNOTSUPP) {
        vshm_client_answer(c, msg->hdr.request, ENOSYS, NULL, 0, NULL, 0,
                           NULL);
    }
}

/*
 * The control connection in the main loop: vshmd's requests (forwarding
 * mode) are served here, and the back-end's SHMEM_MAP is acknowledged only
 * after this ran.  When vshmd goes, the view keeps what was mapped.
 */
static void vuv_broker_readable(void *opaque)
{
    VHostUserVshmPCI *d = opaque;
    struct vshm_err err;

    if (vshm_client_dispatch(d->client, &err) < 0) {
        warn_report("vhost-user-vshm: the connection to vshmd ended: %s; "
                    "the region keeps its mappings", err.msg);
        qemu_set_fd_handler(vshm_client_fd(d->client), NULL, NULL, NULL);
    }
}

/*
 * Back the BAR with the region's view: the region fd mapped once, or the
 * reservation.  The memory region is turned into a ROM device after its
 * RAM block is made: reads stay direct, writes reach vuv_bar_write().
 */
static bool vuv_map_region(VHostUserVshmPCI *d, Error **errp)
{
    if (d->reservation) {
        memory_region_init_ram_ptr(&d->region, OBJECT(d), "vshm-region",
                                   d->region_size,
                                   vshm_region_addr(d->reservation));
    } else if (!memory_region_init_ram_from_fd(&d->region, OBJECT(d),
                                               "vshm-region", d->region_size,
                                               RAM_SHARED, d->region_fd, 0,
                                               errp)) {
        return false;
    }
    d->region.ram = false;
    d->region.rom_device = true;
    d->region.romd_mode = true;
    d->region.ops = &vuv_bar_ops;
    d->region.opaque = d;
    memory_region_add_subregion(&d->bar, 0, &d->region);
    return true;
}

static void vhost_user_vshm_pci_realize(VirtIOPCIProxy *vpci, Error **errp)
{
    VHostUserVshmPCI *d = VHOST_USER_VSHM_PCI(vpci);
    struct vshm_err err;
    bool ok;
    int ret;

    if (!d->broker_path) {
        error_setg(errp, "vhost-user-vshm-pci: set vshmd= to vshmd's control "
                   "socket");
        return;
    }
    if (!d->region_size || d->region_size & (qemu_real_host_page_size() - 1)) {
        error_setg(errp, "vhost-user-vshm-pci: region-size must be a non-zero "
                   "multiple of %zu, not %" PRIu64, qemu_real_host_page_size(),
                   d->region_size);
        return;
    }
    if (vshm_client_connect(d->broker_path, VSHM_TIMEOUT_MS, &d->client,
                            &err)) {
        error_setg(errp, "vhost-user-vshm-pci: cannot reach vshmd at %s: %s",
                   d->broker_path, err.msg);
        return;
    }
    switch (vshm_client_region_mode(d->client)) {
    case VSHM_CTL_REGIONS_KMOD:
        break;
    case VSHM_CTL_REGIONS_VMM:
        ret = vshm_region_create_flags(VSHM_REGION_MODE_MMAP, d->region_size, 0,
                                       VSHM_REGION_ZERO_HOLES,
                                       &d->reservation);
        if (ret) {
            error_setg(errp, "vhost-user-vshm-pci: reserving %" PRIu64
                       " bytes for the region: %s", d->region_size,
                       vshm_strerror(ret));
            goto fail;
        }
        vshm_client_set_handler(d->client, vuv_broker_request, d);
        break;
    default:
        error_setg(errp, "vhost-user-vshm-pci: vshmd at %s keeps the regions "
                   "in its own memory (--region-mode mmap), where no guest "
                   "can see them: run it with --region-mode kmod or vmm",
                   d->broker_path);
        goto fail;
    }

    vpci->msix_bar_idx = VSHM_MSIX_BAR;
    vpci->modern_mem_bar_idx = VSHM_MODERN_BAR;
    vpci->nvectors = 1;
    memory_region_init(&d->bar, OBJECT(d), "vshm-bar",
                       pow2ceil(d->region_size));
    pci_register_bar(&vpci->pci_dev, VSHM_BAR,
                     PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_PREFETCH |
                     PCI_BASE_ADDRESS_MEM_TYPE_64, &d->bar);
    virtio_pci_add_shm_cap(vpci, VSHM_BAR, 0, d->region_size, VSHM_SHMID);
    virtio_pci_force_virtio_1(vpci);

    vuv_realizing = d;
    ok = qdev_realize(DEVICE(&d->vub), BUS(&vpci->bus), errp);
    vuv_realizing = NULL;
    if (!ok) {
        goto fail;
    }
    if (!d->registered) {
        error_setg(errp, "vhost-user-vshm-pci: %s", d->channel_error ?:
                   "the back-end offered no backend channel "
                   "(protocol feature BACKEND_REQ)");
        goto fail;
    }
    if (!d->reservation && d->region_fd < 0) {
        error_setg(errp, "vhost-user-vshm-pci: vshmd returned no region fd");
        goto fail;
    }
    if (!vuv_map_region(d, errp)) {
        goto fail;
    }

    d->region_addr_sent = VSHM_NO_ADDR;
    d->listener = (MemoryListener) {
        .name = "vhost-user-vshm",
        .begin = vuv_listener_begin,
        .region_add = vuv_listener_section,
        .region_nop = vuv_listener_section,
        .commit = vuv_listener_commit,
        .priority = MEMORY_LISTENER_PRIORITY_DEV_BACKEND,
    };
    memory_listener_register(&d->listener, &address_space_memory);
    qemu_set_fd_handler(vshm_client_fd(d->client), vuv_broker_readable, NULL,
                        d);
    return;

fail:
    /* Once the RAM block exists it owns the region fd. */
    if (d->region_fd >= 0 && !d->region.ram_block) {
        close(d->region_fd);
    }
    d->region_fd = -1;
    g_clear_pointer(&d->channel_error, g_free);
    vshm_client_close(d->client);
    d->client = NULL;
    /* Once the RAM block exists it points into the reservation. */
    if (d->reservation && !d->region.ram_block) {
        vshm_region_destroy(d->reservation);
    }
    d->reservation = NULL;
}

static const Property vhost_user_vshm_pci_properties[] = {
    DEFINE_PROP_STRING("vshmd", VHostUserVshmPCI, broker_path),
    DEFINE_PROP_SIZE("region-size", VHostUserVshmPCI, region_size, 0),
};

static void vhost_user_vshm_pci_class_init(ObjectClass *klass,
                                           const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioPCIClass *k = VIRTIO_PCI_CLASS(klass);
    PCIDeviceClass *pcidev_k = PCI_DEVICE_CLASS(klass);

    k->realize = vhost_user_vshm_pci_realize;
    device_class_set_props(dc, vhost_user_vshm_pci_properties);
    /* vshmd keeps the device until this process goes: no unplug. */
    dc->hotpluggable = false;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    pcidev_k->vendor_id = PCI_VENDOR_ID_REDHAT_QUMRANET;
    pcidev_k->device_id = 0; /* virtio-pci derives it from virtio-id */
    pcidev_k->revision = 0x00;
    pcidev_k->class_id = PCI_CLASS_OTHERS;
}

static void vhost_user_vshm_pci_instance_init(Object *obj)
{
    VHostUserVshmPCI *d = VHOST_USER_VSHM_PCI(obj);

    d->region_fd = -1;
    virtio_instance_init_common(obj, &d->vub, sizeof(d->vub),
                                TYPE_VHOST_USER_TEST_DEVICE);
}

static const VirtioPCIDeviceTypeInfo vhost_user_vshm_pci_info = {
    .base_name = TYPE_VHOST_USER_VSHM_PCI,
    .non_transitional_name = "vhost-user-vshm-pci",
    .instance_size = sizeof(VHostUserVshmPCI),
    .instance_init = vhost_user_vshm_pci_instance_init,
    .class_init = vhost_user_vshm_pci_class_init,
};

static void vhost_user_vshm_pci_register(void)
{
    virtio_pci_types_register(&vhost_user_vshm_pci_info);
}

type_init(vhost_user_vshm_pci_register);
