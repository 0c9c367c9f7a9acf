// SPDX-License-Identifier: GPL-2.0
/*
 * libvshm wire codec: byte-exact layouts, round trips of every message, and
 * one test per malformed-input class, each checking that the fds handed to
 * the decoder are all closed on failure.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "kselftest_harness.h"
#include "test_util.h"

FIXTURE(codec) {
	struct vshm_msg *m, *out;
	struct vshm_err err;
	int fds0;
};

FIXTURE_SETUP(codec)
{
	self->m = new_msg();
	self->out = new_msg();
	ASSERT_NE(NULL, self->m);
	ASSERT_NE(NULL, self->out);
	memset(&self->err, 0, sizeof(self->err));
	self->fds0 = count_open_fds();
	ASSERT_GT(self->fds0, 0);
}

FIXTURE_TEARDOWN(codec)
{
	free(self->m);
	free(self->out);
}

/* Build a raw frame and parse it with nfds fresh fds (/dev/null). */
static int parse_raw(enum vshm_proto proto, uint32_t req, uint32_t flags,
		     const void *payload, uint32_t size, unsigned int nfds,
		     struct vshm_msg *m, struct vshm_err *err)
{
	struct vshm_hdr h = { req, flags, size };
	int fds[VSHM_MAX_FDS + 4] = { 0 };
	uint8_t *buf = calloc(1, 12 + (size_t)size);
	unsigned int i;
	ssize_t ret;

	if (!buf)
		return -ENOMEM;
	/* Slots past nfds are never read; -1 says so (and quiets gcc -O2). */
	memset(fds, -1, sizeof(fds));
	memcpy(buf, &h, 12);
	if (payload && size)
		memcpy(buf + 12, payload, size);
	for (i = 0; i < nfds; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ret = vshm_msg_parse(proto, buf, 12 + (size_t)size, fds, nfds, m, err);
	free(buf);
	return ret < 0 ? (int)ret : 0;
}

/* Re-parse an encoded message (its fds duplicated), as a receiver would. */
static int reparse(enum vshm_proto proto, const struct vshm_msg *in,
		   struct vshm_msg *out, struct vshm_err *err)
{
	int fds[VSHM_MAX_FDS];
	unsigned int i;
	const void *frame;
	size_t len;
	ssize_t ret;

	for (i = 0; i < in->nfds; i++)
		fds[i] = fcntl(in->fds[i], F_DUPFD_CLOEXEC, 0);
	frame = vshm_msg_frame(in, &len);
	ret = vshm_msg_parse(proto, frame, len, fds, in->nfds, out, err);
	if (ret >= 0 && (size_t)ret != len)
		return -EPROTO;
	return ret < 0 ? (int)ret : 0;
}

/* Proves the header, VhostUserMMap and GET_SHMEM_CONFIG layouts are 12 / 40 / 2056 bytes with the spec's offsets. */
TEST_F(codec, layout_sizes_and_offsets)
{
	EXPECT_EQ(12, sizeof(struct vshm_hdr));
	EXPECT_EQ(0, offsetof(struct vshm_hdr, request));
	EXPECT_EQ(4, offsetof(struct vshm_hdr, flags));
	EXPECT_EQ(8, offsetof(struct vshm_hdr, size));
	EXPECT_EQ(40, sizeof(struct vshm_vu_mmap));
	EXPECT_EQ(0, offsetof(struct vshm_vu_mmap, shmid));
	EXPECT_EQ(1, offsetof(struct vshm_vu_mmap, padding));
	EXPECT_EQ(8, offsetof(struct vshm_vu_mmap, fd_offset));
	EXPECT_EQ(16, offsetof(struct vshm_vu_mmap, shm_offset));
	EXPECT_EQ(24, offsetof(struct vshm_vu_mmap, len));
	EXPECT_EQ(32, offsetof(struct vshm_vu_mmap, flags));
	EXPECT_EQ(2056, sizeof(struct vshm_vu_shmem_config));
	EXPECT_EQ(0, offsetof(struct vshm_vu_shmem_config, nregions));
	EXPECT_EQ(4, offsetof(struct vshm_vu_shmem_config, padding));
	EXPECT_EQ(8, offsetof(struct vshm_vu_shmem_config, memory_sizes));
	EXPECT_EQ(offsetof(struct vshm_msg, hdr) + 12, offsetof(struct vshm_msg, payload));
	/* control protocol */
	EXPECT_EQ(8, sizeof(struct vshm_ctl_status));
	EXPECT_EQ(16, sizeof(struct vshm_ctl_hello));
	EXPECT_EQ(16, sizeof(struct vshm_ctl_add_device));
	EXPECT_EQ(16, sizeof(struct vshm_ctl_device));
	EXPECT_EQ(8, sizeof(struct vshm_ctl_region_ref));
	EXPECT_EQ(16, sizeof(struct vshm_ctl_region));
	EXPECT_EQ(16, sizeof(struct vshm_ctl_region_addr));
	EXPECT_EQ(32, sizeof(struct vshm_ctl_ram_range));
	EXPECT_EQ(8, sizeof(struct vshm_ctl_mem_table));
	EXPECT_EQ(8, sizeof(struct vshm_ctl_dev_ref));
	EXPECT_EQ(128, sizeof(struct vshm_ctl_stats));
	EXPECT_EQ(16, sizeof(struct vshm_ctl_device_entry));
	EXPECT_EQ(16, sizeof(struct vshm_ctl_list_mappings));
	EXPECT_EQ(32, sizeof(struct vshm_mapping_entry));
}

/* Proves SHMEM_MAP encodes byte-exactly: header fields, each u64 at its offset, padding zero whatever the struct held. */
TEST_F(codec, shmem_map_bytes_and_zeroed_padding)
{
	struct vshm_vu_mmap mm = {
		.shmid = 7, .fd_offset = 0x1000, .shm_offset = 0x20000,
		.len = 0x3000, .flags = 1,
	};
	const uint8_t *f;
	size_t len, i;
	uint64_t v;
	uint32_t u;

	memset(mm.padding, 0xaa, sizeof(mm.padding));
	ASSERT_EQ(0, vshm_encode_shmem_map(self->m, &mm, 0, true));
	f = vshm_msg_frame(self->m, &len);
	ASSERT_EQ(52, len);
	memcpy(&u, f, 4);
	EXPECT_EQ(9, u);
	memcpy(&u, f + 4, 4);
	EXPECT_EQ(0x1 | 0x8, u);
	memcpy(&u, f + 8, 4);
	EXPECT_EQ(40, u);
	EXPECT_EQ(7, f[12]);
	for (i = 1; i < 8; i++)
		EXPECT_EQ(0, f[12 + i]);
	memcpy(&v, f + 12 + 8, 8);
	EXPECT_EQ(0x1000, v);
	memcpy(&v, f + 12 + 16, 8);
	EXPECT_EQ(0x20000, v);
	memcpy(&v, f + 12 + 24, 8);
	EXPECT_EQ(0x3000, v);
	memcpy(&v, f + 12 + 32, 8);
	EXPECT_EQ(1, v);
	EXPECT_EQ(1, self->m->nfds);
}

/* Proves the GET_SHMEM_CONFIG reply is 2056 bytes with zero padding and sizes indexed by shmid. */
TEST_F(codec, shmem_config_bytes)
{
	struct vshm_vu_shmem_config cfg = { .nregions = 2, .padding = 0xdeadbeef };
	uint64_t v;
	uint32_t u;

	cfg.memory_sizes[0] = 1 << 20;
	cfg.memory_sizes[255] = 4096;
	ASSERT_EQ(0, vshm_encode_shmem_config_reply(self->m, &cfg));
	EXPECT_EQ(2056, self->m->hdr.size);
	EXPECT_EQ(VSHM_HDR_VERSION | VSHM_HDR_REPLY, self->m->hdr.flags);
	memcpy(&u, self->m->payload, 4);
	EXPECT_EQ(2, u);
	memcpy(&u, self->m->payload + 4, 4);
	EXPECT_EQ(0, u);
	memcpy(&v, self->m->payload + 8, 8);
	EXPECT_EQ(1 << 20, v);
	memcpy(&v, self->m->payload + 8 + 8 * 255, 8);
	EXPECT_EQ(4096, v);
}

/* Proves MEM_WRITE is u64 address @0, u32 size @8, data @12, and the payload is 12 + size. */
TEST_F(codec, mem_write_bytes)
{
	uint8_t data[5] = { 1, 2, 3, 4, 5 };
	uint64_t v;
	uint32_t u;

	ASSERT_EQ(0, vshm_encode_mem_write(self->m, 0x123456789aULL, data, 5, false));
	EXPECT_EQ(17, self->m->hdr.size);
	memcpy(&v, self->m->payload, 8);
	EXPECT_EQ(0x123456789aULL, v);
	memcpy(&u, self->m->payload + 8, 4);
	EXPECT_EQ(5, u);
	EXPECT_EQ(0, memcmp(self->m->payload + 12, data, 5));
	ASSERT_EQ(0, vshm_encode_mem_read(self->m, 0x1000, 4096));
	EXPECT_EQ(12, self->m->hdr.size);
}

/* Proves SHMEM_MAP and SHMEM_UNMAP survive encode -> parse -> decode, the map's fd included. */
TEST_F(codec, roundtrip_shmem_map_unmap)
{
	struct vshm_vu_mmap in = { .shmid = 255, .fd_offset = 8192,
				   .shm_offset = 1ULL << 40, .len = 4096, .flags = 1 };
	struct vshm_vu_mmap out;
	int fd = memfd_filled(4096, 0), got;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, vshm_encode_shmem_map(self->m, &in, fd, true));
	ASSERT_EQ(0, reparse(VSHM_PROTO_BACKEND, self->m, self->out, &self->err));
	ASSERT_EQ(0, vshm_decode_mmap(self->out, &out, &self->err));
	EXPECT_EQ(0, memcmp(&in, &out, sizeof(in)));
	EXPECT_EQ(VSHM_HDR_VERSION | VSHM_HDR_NEED_REPLY, self->out->hdr.flags);
	ASSERT_EQ(1, self->out->nfds);
	got = vshm_msg_take_fd(self->out, 0);
	EXPECT_GE(got, 0);
	close(got);
	vshm_msg_release(self->out);

	ASSERT_EQ(0, vshm_encode_shmem_unmap(self->m, &in, false));
	ASSERT_EQ(0, reparse(VSHM_PROTO_BACKEND, self->m, self->out, &self->err));
	ASSERT_EQ(0, vshm_decode_mmap(self->out, &out, &self->err));
	EXPECT_EQ(VSHM_VU_BACKEND_SHMEM_UNMAP, self->out->hdr.request);
	EXPECT_EQ(0, memcmp(&in, &out, sizeof(in)));
	EXPECT_EQ(0, self->out->nfds);
	close(fd);
	EXPECT_EQ(self->fds0, count_open_fds());
}

/* Proves GET_SHMEM_CONFIG request and reply round-trip. */
TEST_F(codec, roundtrip_shmem_config)
{
	struct vshm_vu_shmem_config in = { .nregions = 3 }, out;

	in.memory_sizes[0] = 1 << 20;
	in.memory_sizes[1] = 2 << 20;
	in.memory_sizes[9] = 4096;
	ASSERT_EQ(0, vshm_encode_get_shmem_config(self->m));
	ASSERT_EQ(0, reparse(VSHM_PROTO_FRONTEND, self->m, self->out, &self->err));
	EXPECT_EQ(VSHM_VU_GET_SHMEM_CONFIG, self->out->hdr.request);
	EXPECT_EQ(0, self->out->hdr.size);
	ASSERT_EQ(0, vshm_encode_shmem_config_reply(self->m, &in));
	ASSERT_EQ(0, reparse(VSHM_PROTO_FRONTEND, self->m, self->out, &self->err));
	ASSERT_EQ(0, vshm_decode_shmem_config_reply(self->out, &out, &self->err));
	EXPECT_EQ(0, memcmp(&in, &out, sizeof(in)));
}

/* Proves MEM_READ (request, data reply, failure reply) and MEM_WRITE round-trip with their data. */
TEST_F(codec, roundtrip_mem_read_write)
{
	static uint8_t data[VSHM_MEM_DATA_MAX];
	struct vshm_vu_mem_access a;
	const uint8_t *d;
	uint64_t status;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = i * 7;
	ASSERT_EQ(0, vshm_encode_mem_read(self->m, 0xfeed0000, VSHM_MEM_DATA_MAX));
	ASSERT_EQ(0, reparse(VSHM_PROTO_BACKEND, self->m, self->out, &self->err));
	ASSERT_EQ(0, vshm_decode_mem_access(self->out, &a, &self->err));
	EXPECT_EQ(0xfeed0000, a.guest_address);
	EXPECT_EQ(VSHM_MEM_DATA_MAX, a.size);
	EXPECT_EQ(NULL, a.data);

	ASSERT_EQ(0, vshm_encode_mem_read_reply(self->m, 0, data, sizeof(data)));
	ASSERT_EQ(0, reparse(VSHM_PROTO_BACKEND, self->m, self->out, &self->err));
	ASSERT_EQ(0, vshm_decode_mem_read_reply(self->out, sizeof(data), &status, &d, &self->err));
	EXPECT_EQ(0, status);
	EXPECT_EQ(0, memcmp(d, data, sizeof(data)));
	/* asking for another size than the reply carries is an error */
	EXPECT_EQ(-VSHM_ESIZE, vshm_decode_mem_read_reply(self->out, 10, &status, &d, &self->err));

	/* Data already in place (a server reading straight into its reply). */
	memcpy(self->m->payload + 8, data, sizeof(data));
	self->m->hdr.size = 0;
	ASSERT_EQ(0, vshm_encode_mem_read_reply(self->m, 0, self->m->payload + 8,
						sizeof(data)));
	EXPECT_EQ(8 + sizeof(data), self->m->hdr.size);
	ASSERT_EQ(0, reparse(VSHM_PROTO_BACKEND, self->m, self->out, &self->err));
	ASSERT_EQ(0, vshm_decode_mem_read_reply(self->out, sizeof(data), &status, &d, &self->err));
	EXPECT_EQ(0, status);
	EXPECT_EQ(0, memcmp(d, data, sizeof(data)));

	ASSERT_EQ(0, vshm_encode_mem_read_reply(self->m, EFAULT, NULL, 0));
	EXPECT_EQ(8, self->m->hdr.size);
	ASSERT_EQ(0, reparse(VSHM_PROTO_BACKEND, self->m, self->out, &self->err));
	ASSERT_EQ(0, vshm_decode_mem_read_reply(self->out, 100, &status, &d, &self->err));
	EXPECT_EQ(EFAULT, status);
	EXPECT_EQ(NULL, d);

	ASSERT_EQ(0, vshm_encode_mem_write(self->m, 0x10, data, 1000, true));
	ASSERT_EQ(0, reparse(VSHM_PROTO_BACKEND, self->m, self->out, &self->err));
	ASSERT_EQ(0, vshm_decode_mem_access(self->out, &a, &self->err));
	EXPECT_EQ(0x10, a.guest_address);
	EXPECT_EQ(1000, a.size);
	EXPECT_EQ(0, memcmp(a.data, data, 1000));
}

/* Proves SHARED_OBJECT_ADD (with and without fd), _REMOVE, _LOOKUP and their u64 replies round-trip. */
TEST_F(codec, roundtrip_shared_object_and_replies)
{
	uint8_t uuid[16], out[16];
	uint64_t v;
	int fd = memfd_filled(4096, 0);
	uint32_t req;

	ASSERT_GE(fd, 0);
	for (int i = 0; i < 16; i++)
		uuid[i] = 0xf0 + i;
	for (req = VSHM_VU_BACKEND_SHARED_OBJECT_ADD;
	     req <= VSHM_VU_BACKEND_SHARED_OBJECT_LOOKUP; req++) {
		ASSERT_EQ(0, vshm_encode_shared_object(self->m, req, uuid,
				req == VSHM_VU_BACKEND_SHARED_OBJECT_ADD ? fd : -1));
		ASSERT_EQ(0, reparse(VSHM_PROTO_BACKEND, self->m, self->out, &self->err));
		ASSERT_EQ(0, vshm_decode_shared_object(self->out, out, &self->err));
		EXPECT_EQ(0, memcmp(uuid, out, 16));
		EXPECT_EQ(req == VSHM_VU_BACKEND_SHARED_OBJECT_ADD, self->out->nfds);
		vshm_msg_release(self->out);

		ASSERT_EQ(0, vshm_encode_reply_u64(self->m, req, 0x5a5a));
		ASSERT_EQ(0, reparse(VSHM_PROTO_BACKEND, self->m, self->out, &self->err));
		ASSERT_EQ(0, vshm_decode_reply_u64(self->out, req, &v, &self->err));
		EXPECT_EQ(0x5a5a, v);
	}
	/* the ADD without fd that upstream QEMU sends is accepted too */
	ASSERT_EQ(0, vshm_encode_shared_object(self->m, VSHM_VU_BACKEND_SHARED_OBJECT_ADD, uuid, -1));
	ASSERT_EQ(0, reparse(VSHM_PROTO_BACKEND, self->m, self->out, &self->err));
	/* REPLY_ACK for SHMEM_MAP, SHMEM_UNMAP, MEM_WRITE */
	for (req = VSHM_VU_BACKEND_SHMEM_MAP; req <= VSHM_VU_BACKEND_MEM_WRITE; req++) {
		if (req == VSHM_VU_BACKEND_MEM_READ)
			continue;
		ASSERT_EQ(0, vshm_encode_reply_u64(self->m, req, 0));
		ASSERT_EQ(0, reparse(VSHM_PROTO_BACKEND, self->m, self->out, &self->err));
		ASSERT_EQ(0, vshm_decode_reply_u64(self->out, req, &v, &self->err));
		EXPECT_EQ(0, v);
	}
	close(fd);
	EXPECT_EQ(self->fds0, count_open_fds());
}

/* Proves the flag encodings: final bit 0 = rw; draft MAP_R=1/MAP_W=2; undefined bits rejected. */
TEST_F(codec, mmap_flag_encodings)
{
	bool w;

	EXPECT_EQ(0, vshm_mmap_flags_writable(1, VSHM_FLAGS_FINAL, &w, NULL));
	EXPECT_TRUE(w);
	EXPECT_EQ(0, vshm_mmap_flags_writable(0, VSHM_FLAGS_FINAL, &w, NULL));
	EXPECT_FALSE(w);
	EXPECT_EQ(-VSHM_EFIELD, vshm_mmap_flags_writable(2, VSHM_FLAGS_FINAL, &w, NULL));
	EXPECT_EQ(0, vshm_mmap_flags_writable(1, VSHM_FLAGS_DRAFT, &w, NULL));
	EXPECT_FALSE(w);
	EXPECT_EQ(0, vshm_mmap_flags_writable(3, VSHM_FLAGS_DRAFT, &w, NULL));
	EXPECT_TRUE(w);
	EXPECT_EQ(-VSHM_EFIELD, vshm_mmap_flags_writable(2, VSHM_FLAGS_DRAFT, &w, NULL));
	EXPECT_EQ(-VSHM_EFIELD, vshm_mmap_flags_writable(0, VSHM_FLAGS_DRAFT, &w, NULL));
	EXPECT_EQ(1, vshm_mmap_flags_make(true, VSHM_FLAGS_FINAL));
	EXPECT_EQ(0, vshm_mmap_flags_make(false, VSHM_FLAGS_FINAL));
	EXPECT_EQ(3, vshm_mmap_flags_make(true, VSHM_FLAGS_DRAFT));
	EXPECT_EQ(1, vshm_mmap_flags_make(false, VSHM_FLAGS_DRAFT));
}

/* Proves every control request and reply round-trips, fds included. */
TEST_F(codec, roundtrip_control)
{
	struct {
		struct vshm_ctl_add_device h;
		uint64_t sizes[3];
	} add = { { .flags = VSHM_CTL_DEV_FORWARD | VSHM_CTL_DEV_DRAFT_FLAGS, .nregions = 3 },
		  { 1 << 20, 0, 4096 } };
	struct vshm_ctl_hello hello = { .version = 1, .features = VSHM_CTL_FEAT_KMOD };
	struct vshm_ctl_device dev = {
		.dev_id = 4, .nregions = 3, .region_mode = VSHM_CTL_REGIONS_VMM,
	};
	struct vshm_ctl_vmm_map vmap = {
		.dev_id = 4, .shmid = 2, .fd_offset = 8192, .shm_offset = 4096,
		.len = 4096, .flags = VSHM_CTL_VMM_WRITE,
	};
	struct vshm_ctl_vmm_map vunmap = {
		.dev_id = 4, .shmid = 2, .shm_offset = 4096, .len = 4096,
	};
	struct vshm_ctl_vmm_reset vreset = { .dev_id = 4, .nregions = 3 };
	struct vshm_ctl_region_ref rref = { .dev_id = 4, .shmid = 2 };
	struct vshm_ctl_region reg = { .size = 4096, .shmid = 2 };
	struct vshm_ctl_region_addr raddr = { .dev_id = 4, .shmid = 2, .guest_addr = 1ULL << 33 };
	struct {
		struct vshm_ctl_mem_table h;
		struct vshm_ctl_ram_range r[2];
	} mt = { { .nranges = 2 }, { { 0, 1 << 20, 0, 0 }, { 1 << 30, 4096, 8192, 0 } } };
	struct vshm_ctl_dev_ref dref = { .dev_id = 4 };
	struct vshm_ctl_stats st = { .devices = 1, .maps = 10, .protocol_errors = 2 };
	struct {
		struct vshm_ctl_list l;
		struct vshm_ctl_device_entry e[2];
	} devs = { { 5, 2 }, { { 1, 0, 1, 0 }, { 4, 2, 3, 9 } } };
	struct vshm_ctl_list_mappings lm = { .dev_id = 4, .shmid = 2, .start = 1 };
	struct {
		struct vshm_ctl_list l;
		struct vshm_mapping_entry e[1];
	} maps = { { 2, 1 }, { { 4096, 8192, 0, 1, 0 } } };
	struct {
		struct vshm_ctl_hello h;
		struct vshm_ctl_broker_info i;
	} hello_info = { { .version = 1, .features = VSHM_CTL_FEAT_BROKER_INFO },
			 { .major = 1, .minor = 2, .version = "1.2.0" } };
	struct vshm_ctl_list_regions lr = { .dev_id = VSHM_CTL_ALL_DEVICES, .start = 2 };
	struct {
		struct vshm_ctl_list l;
		struct vshm_ctl_region_entry e[1];
	} regs = { { 3, 1 }, { { 4, 2, 4096, 1ull << 32, 4096, 1,
				 VSHM_CTL_REGION_PLACED } } };
	struct {
		struct vshm_ctl_list l;
		struct vshm_ctl_ram_range e[1];
	} rams = { { 1, 1 }, { { 0, 1 << 20, 0, 0 } } };
	struct vshm_ctl_list_start ls = { .start = 1 };
	struct {
		struct vshm_ctl_list l;
		struct vshm_ctl_shared_object_entry e[1];
	} sobjs = { { 1, 1 }, { { { 1, 2, 3 }, 4, 0, 8192 } } };
	struct {
		struct vshm_ctl_list l;
		struct vshm_ctl_client_entry e[1];
	} clients = { { 1, 1 }, { { 1, VSHM_CTL_CLIENT_SELF | VSHM_CTL_CLIENT_HELLO,
				    10, 0, 0, 2, 7, 0 } } };
	struct {
		struct vshm_ctl_list l;
		struct vshm_ctl_limit e[1];
	} limits = { { 1, 1 }, { { "devices", VSHM_CTL_LIMIT_BROKER, 0, 64, 2 } } };
	struct {
		uint32_t req;
		const void *p;
		size_t len;
		unsigned int nfds;
		const void *body;
		size_t blen;
		unsigned int rfds;
	} cases[] = {
		{ VSHM_CTL_HELLO, &hello, sizeof(hello), 0, &hello_info, sizeof(hello_info), 0 },
		{ VSHM_CTL_LIST_REGIONS, &lr, sizeof(lr), 0, &regs, sizeof(regs), 0 },
		{ VSHM_CTL_LIST_RAM, NULL, 0, 0, &rams, sizeof(rams), 0 },
		{ VSHM_CTL_LIST_SHARED_OBJECTS, &ls, sizeof(ls), 0, &sobjs, sizeof(sobjs), 0 },
		{ VSHM_CTL_LIST_CLIENTS, &ls, sizeof(ls), 0, &clients, sizeof(clients), 0 },
		{ VSHM_CTL_GET_LIMITS, NULL, 0, 0, &limits, sizeof(limits), 0 },
		{ VSHM_CTL_HELLO, &hello, sizeof(hello), 0, &hello, sizeof(hello), 0 },
		{ VSHM_CTL_ADD_DEVICE, &add, sizeof(add), 2, &dev, sizeof(dev), 0 },
		{ VSHM_CTL_GET_REGION, &rref, sizeof(rref), 0, &reg, sizeof(reg), 1 },
		{ VSHM_CTL_SET_REGION_ADDR, &raddr, sizeof(raddr), 0, NULL, 0, 0 },
		{ VSHM_CTL_SET_MEM_TABLE, &mt, sizeof(mt), 2, NULL, 0, 0 },
		{ VSHM_CTL_RESET_DEVICE, &dref, sizeof(dref), 0, NULL, 0, 0 },
		{ VSHM_CTL_REMOVE_DEVICE, &dref, sizeof(dref), 0, NULL, 0, 0 },
		{ VSHM_CTL_GET_STATS, &dref, sizeof(dref), 0, &st, sizeof(st), 0 },
		{ VSHM_CTL_LIST_DEVICES, NULL, 0, 0, &devs, sizeof(devs), 0 },
		{ VSHM_CTL_LIST_MAPPINGS, &lm, sizeof(lm), 0, &maps, sizeof(maps), 0 },
		{ VSHM_CTL_VMM_MAP, &vmap, sizeof(vmap), 1, NULL, 0, 0 },
		{ VSHM_CTL_VMM_UNMAP, &vunmap, sizeof(vunmap), 0, NULL, 0, 0 },
		{ VSHM_CTL_VMM_RESET, &vreset, sizeof(vreset), 0, NULL, 0, 0 },
	};
	int fds[2] = { memfd_filled(4096, 0), memfd_filled(4096, 0) };
	const void *p;
	uint32_t error;
	size_t len, i;

	ASSERT_GE(fds[0], 0);
	ASSERT_GE(fds[1], 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TH_LOG("control request %u", cases[i].req);
		ASSERT_EQ(0, vshm_ctl_encode_request(self->m, cases[i].req, cases[i].p,
						     cases[i].len, fds, cases[i].nfds));
		ASSERT_EQ(0, reparse(VSHM_PROTO_CONTROL, self->m, self->out, &self->err));
		ASSERT_EQ(0, vshm_ctl_decode_request(self->out, cases[i].req, &p, &len, &self->err));
		ASSERT_EQ(cases[i].len, len);
		EXPECT_EQ(0, cases[i].len ? memcmp(p, cases[i].p, len) : 0);
		EXPECT_EQ(cases[i].nfds, self->out->nfds);
		vshm_msg_release(self->out);

		ASSERT_EQ(0, vshm_ctl_encode_reply(self->m, cases[i].req, 0, cases[i].body,
						   cases[i].blen, fds, cases[i].rfds));
		ASSERT_EQ(0, reparse(VSHM_PROTO_CONTROL, self->m, self->out, &self->err));
		ASSERT_EQ(0, vshm_ctl_decode_reply(self->out, cases[i].req, &error, &p, &len, &self->err));
		EXPECT_EQ(0, error);
		ASSERT_EQ(cases[i].blen, len);
		EXPECT_EQ(0, cases[i].blen ? memcmp(p, cases[i].body, len) : 0);
		EXPECT_EQ(cases[i].rfds, self->out->nfds);
		vshm_msg_release(self->out);

		/* the failure form: status only, no body, no fds */
		ASSERT_EQ(0, vshm_ctl_encode_reply(self->m, cases[i].req, ENOENT, NULL, 0, NULL, 0));
		EXPECT_EQ(8, self->m->hdr.size);
		ASSERT_EQ(0, reparse(VSHM_PROTO_CONTROL, self->m, self->out, &self->err));
		ASSERT_EQ(0, vshm_ctl_decode_reply(self->out, cases[i].req, &error, &p, &len, &self->err));
		EXPECT_EQ(ENOENT, error);
		EXPECT_EQ(0, len);
	}
	close(fds[0]);
	close(fds[1]);
	EXPECT_EQ(self->fds0, count_open_fds());
}

/* Encode a reply with body and decode it again: 0 or the decoder's code. */
static int reply_refused(struct _test_data_codec *self, uint32_t req,
			 const void *body, size_t len)
{
	if (vshm_ctl_encode_reply(self->m, req, 0, body, len, NULL, 0))
		return 1;
	return reparse(VSHM_PROTO_CONTROL, self->m, self->out, &self->err);
}

/*
 * Proves the 1.2 replies are strict: a HELLO granting BROKER_INFO must
 * carry the 48-byte info (and one that does not grant it must not), a
 * version string is NUL-terminated with zero padding, limit names too,
 * limit scopes and region and client flags are known values, and a
 * shared object's reserved field is zero.
 */
TEST_F(codec, control_inspection_strict)
{
	struct {
		struct vshm_ctl_hello h;
		struct vshm_ctl_broker_info i;
	} hi = { { .version = 1, .features = VSHM_CTL_FEAT_BROKER_INFO },
		 { .version = "1.2.0" } };
	struct {
		struct vshm_ctl_list l;
		struct vshm_ctl_limit e[1];
	} lim = { { 1, 1 }, { { "devices", VSHM_CTL_LIMIT_BROKER, 0, 64, 2 } } };
	struct {
		struct vshm_ctl_list l;
		struct vshm_ctl_region_entry e[1];
	} reg = { { 1, 1 }, { { .shmid = 1 } } };
	struct {
		struct vshm_ctl_list l;
		struct vshm_ctl_client_entry e[1];
	} cl = { { 1, 1 }, { { .client_id = 1 } } };
	struct {
		struct vshm_ctl_list l;
		struct vshm_ctl_shared_object_entry e[1];
	} so = { { 1, 1 }, { { .dev_id = 1 } } };

	EXPECT_EQ(0, reply_refused(self, VSHM_CTL_HELLO, &hi, sizeof(hi)));
	vshm_msg_release(self->out);
	EXPECT_EQ(-VSHM_ESIZE, reply_refused(self, VSHM_CTL_HELLO, &hi, 16));
	hi.h.features = 0;
	EXPECT_EQ(-VSHM_ESIZE, reply_refused(self, VSHM_CTL_HELLO, &hi, sizeof(hi)));
	hi.h.features = VSHM_CTL_FEAT_BROKER_INFO;
	memset(hi.i.version, 'x', sizeof(hi.i.version));
	EXPECT_EQ(-VSHM_EFIELD, reply_refused(self, VSHM_CTL_HELLO, &hi, sizeof(hi)));
	strcpy(hi.i.version, "1.2.0");
	hi.i.version[20] = 'x';
	EXPECT_EQ(-VSHM_EPADDING, reply_refused(self, VSHM_CTL_HELLO, &hi, sizeof(hi)));
	hi.i.version[20] = 0;
	hi.i.reserved = 1;
	EXPECT_EQ(-VSHM_EPADDING, reply_refused(self, VSHM_CTL_HELLO, &hi, sizeof(hi)));

	EXPECT_EQ(0, reply_refused(self, VSHM_CTL_GET_LIMITS, &lim, sizeof(lim)));
	vshm_msg_release(self->out);
	lim.e[0].scope = 3;
	EXPECT_EQ(-VSHM_EFIELD, reply_refused(self, VSHM_CTL_GET_LIMITS, &lim, sizeof(lim)));
	lim.e[0].scope = VSHM_CTL_LIMIT_DEVICE;
	memset(lim.e[0].name, 'n', sizeof(lim.e[0].name));
	EXPECT_EQ(-VSHM_EFIELD, reply_refused(self, VSHM_CTL_GET_LIMITS, &lim, sizeof(lim)));
	strcpy(lim.e[0].name, "x");
	lim.e[0].name[10] = 'y';
	EXPECT_EQ(-VSHM_EPADDING, reply_refused(self, VSHM_CTL_GET_LIMITS, &lim, sizeof(lim)));
	/* count above what the body holds */
	lim.l.count = 2;
	lim.l.total = 2;
	EXPECT_EQ(-VSHM_ESIZE, reply_refused(self, VSHM_CTL_GET_LIMITS, &lim, sizeof(lim)));

	reg.e[0].flags = 2;
	EXPECT_EQ(-VSHM_EFIELD, reply_refused(self, VSHM_CTL_LIST_REGIONS, &reg, sizeof(reg)));
	reg.e[0].flags = 0;
	reg.e[0].shmid = 256;
	EXPECT_EQ(-VSHM_EFIELD, reply_refused(self, VSHM_CTL_LIST_REGIONS, &reg, sizeof(reg)));
	cl.e[0].flags = 8;
	EXPECT_EQ(-VSHM_EFIELD, reply_refused(self, VSHM_CTL_LIST_CLIENTS, &cl, sizeof(cl)));
	so.e[0].reserved = 1;
	EXPECT_EQ(-VSHM_EPADDING, reply_refused(self, VSHM_CTL_LIST_SHARED_OBJECTS, &so,
						sizeof(so)));
	EXPECT_EQ(self->fds0, count_open_fds());
}

/*
 * Proves GET_LIMITS grows by entries, never by layout: the list a 1.2
 * broker sends (nine names), the longer one of 1.3 (the closer threads and
 * queues added) and a full one of VSHM_CTL_MAX_LIMITS all decode with the
 * same decoder, entry for entry; one entry more than that is refused
 * (the frame is too long; or, in a frame of 64, the count is above 64).
 */
TEST_F(codec, limits_list_grows)
{
	static const char *const names[] = {
		"devices", "clients", "ram_ranges", "open_fds", "mappings",
		"shared_objects", "inflight_bytes", "msg_rate", "shmids",
		/* from 1.3 on */
		"closer_threads", "close_queue", "closing_fds",
	};
	const size_t n_1_2 = 9, n_1_3 = sizeof(names) / sizeof(names[0]);
	const size_t counts[] = { 0, n_1_2, n_1_3, VSHM_CTL_MAX_LIMITS };
	struct {
		struct vshm_ctl_list l;
		struct vshm_ctl_limit e[VSHM_CTL_MAX_LIMITS + 1];
	} lim;
	const struct vshm_ctl_limit *got;
	const void *body;
	uint32_t error;
	size_t len, i, k;

	memset(&lim, 0, sizeof(lim));
	for (i = 0; i < VSHM_CTL_MAX_LIMITS + 1; i++) {
		if (i < n_1_3)
			snprintf(lim.e[i].name, sizeof(lim.e[i].name), "%s", names[i]);
		else
			snprintf(lim.e[i].name, sizeof(lim.e[i].name), "later_%zu", i);
		lim.e[i].scope = i % 2 ? VSHM_CTL_LIMIT_DEVICE : VSHM_CTL_LIMIT_BROKER;
		lim.e[i].limit = 1000 + i;
		lim.e[i].used = i;
	}
	for (k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		TH_LOG("GET_LIMITS reply of %zu entries", counts[k]);
		lim.l.total = lim.l.count = counts[k];
		ASSERT_EQ(0, reply_refused(self, VSHM_CTL_GET_LIMITS, &lim,
					   sizeof(lim.l) + counts[k] * sizeof(lim.e[0])));
		ASSERT_EQ(0, vshm_ctl_decode_reply(self->out, VSHM_CTL_GET_LIMITS,
						   &error, &body, &len, &self->err));
		EXPECT_EQ(0, error);
		ASSERT_EQ(sizeof(lim.l) + counts[k] * sizeof(lim.e[0]), len);
		got = (const void *)((const uint8_t *)body + sizeof(lim.l));
		for (i = 0; i < counts[k]; i++)
			EXPECT_EQ(0, memcmp(&got[i], &lim.e[i], sizeof(got[i])));
		vshm_msg_release(self->out);
	}
	lim.l.total = lim.l.count = VSHM_CTL_MAX_LIMITS + 1;
	EXPECT_EQ(-VSHM_ESIZE, reply_refused(self, VSHM_CTL_GET_LIMITS, &lim,
					      sizeof(lim)));
	EXPECT_EQ(-VSHM_EFIELD, reply_refused(self, VSHM_CTL_GET_LIMITS, &lim,
					       sizeof(lim) - sizeof(lim.e[0])));
	EXPECT_EQ(self->fds0, count_open_fds());
}

#define EXPECT_FAIL(want, call) do { \
	int __r = (call); \
	EXPECT_EQ(-(want), __r); \
	EXPECT_EQ(-(want), self->err.code); \
	EXPECT_NE(0, self->err.msg[0]); \
	TH_LOG("%s: %s", vshm_strerror(__r), self->err.msg); \
	EXPECT_EQ(self->fds0, count_open_fds()); \
} while (0)

static uint8_t mmap_payload[40];

/* Encode a VMM_* request and expect the decoder to refuse it with code. */
static int vmm_refused(struct _test_data_codec *self, uint32_t req,
		       const void *p, size_t len, int fd)
{
	if (vshm_ctl_encode_request(self->m, req, p, len, &fd, fd >= 0))
		return 1;
	return reparse(VSHM_PROTO_CONTROL, self->m, self->out, &self->err);
}

/*
 * Proves the forwarding-mode requests (broker to VMM) are strict: a
 * VMM_MAP needs its source fd, page-aligned non-empty ranges that do not
 * wrap, known flags and zero reserved bytes; a VMM_UNMAP carries no fd,
 * fd_offset or flags; a VMM_RESET names at most 256 regions; and an
 * ADD_DEVICE reply must say where the regions live.
 */
TEST_F(codec, vmm_requests_strict)
{
	struct vshm_ctl_vmm_map ok = {
		.dev_id = 1, .shmid = 0, .shm_offset = 4096, .len = 4096,
		.flags = VSHM_CTL_VMM_WRITE,
	};
	struct vshm_ctl_vmm_map bad[4];
	struct vshm_ctl_vmm_reset r = { .dev_id = 1, .nregions = 257 };
	struct vshm_ctl_device dev = { .dev_id = 1, .nregions = 1 };
	int fd = memfd_filled(4096, 0), i;

	ASSERT_GE(fd, 0);
	EXPECT_EQ(0, vmm_refused(self, VSHM_CTL_VMM_MAP, &ok, sizeof(ok), fd));
	vshm_msg_release(self->out);
	EXPECT_EQ(-VSHM_EFDMISSING,
		  vmm_refused(self, VSHM_CTL_VMM_MAP, &ok, sizeof(ok), -1));
	for (i = 0; i < 4; i++)
		bad[i] = ok;
	bad[0].len = 100;
	bad[1].shm_offset = UINT64_MAX - 4095;
	bad[2].flags = 2;
	bad[3].reserved = 1;
	for (i = 0; i < 4; i++)
		EXPECT_EQ(i == 3 ? -VSHM_EPADDING : -VSHM_EFIELD,
			  vmm_refused(self, VSHM_CTL_VMM_MAP, &bad[i],
				      sizeof(bad[i]), fd));
	EXPECT_EQ(-VSHM_EFIELD,
		  vmm_refused(self, VSHM_CTL_VMM_UNMAP, &ok, sizeof(ok), -1));
	EXPECT_EQ(-VSHM_EFIELD,
		  vmm_refused(self, VSHM_CTL_VMM_RESET, &r, sizeof(r), -1));
	ASSERT_EQ(0, vshm_ctl_encode_reply(self->m, VSHM_CTL_ADD_DEVICE, 0, &dev,
					   sizeof(dev), NULL, 0));
	EXPECT_EQ(-VSHM_EFIELD,
		  reparse(VSHM_PROTO_CONTROL, self->m, self->out, &self->err));
	close(fd);
}

/* Proves a header whose version bits are not 1 is rejected with VSHM_EVERSION, its fd closed. */
TEST_F(codec, bad_version)
{
	EXPECT_FAIL(VSHM_EVERSION, parse_raw(VSHM_PROTO_BACKEND, 9, 0x0, mmap_payload, 40, 1, self->m, &self->err));
	EXPECT_FAIL(VSHM_EVERSION, parse_raw(VSHM_PROTO_BACKEND, 9, 0x2, mmap_payload, 40, 1, self->m, &self->err));
	EXPECT_FAIL(VSHM_EVERSION, parse_raw(VSHM_PROTO_CONTROL, 1, 0x3, NULL, 16, 0, self->m, &self->err));
}

/* Proves reserved header flag bits, and NEED_REPLY on a reply, are rejected with VSHM_EHDRFLAGS. */
TEST_F(codec, bad_header_flags)
{
	EXPECT_FAIL(VSHM_EHDRFLAGS, parse_raw(VSHM_PROTO_BACKEND, 9, 0x11, mmap_payload, 40, 1, self->m, &self->err));
	EXPECT_FAIL(VSHM_EHDRFLAGS, parse_raw(VSHM_PROTO_BACKEND, 9, 0x1 | 0x4 | 0x8, NULL, 8, 0, self->m, &self->err));
}

/* Proves a payload size that does not fit the request type is rejected with VSHM_ESIZE. */
TEST_F(codec, size_mismatch)
{
	uint8_t p[2100] = { 0 };

	EXPECT_FAIL(VSHM_ESIZE, parse_raw(VSHM_PROTO_BACKEND, 9, 1, p, 39, 1, self->m, &self->err));
	EXPECT_FAIL(VSHM_ESIZE, parse_raw(VSHM_PROTO_BACKEND, 9, 1, p, 41, 1, self->m, &self->err));
	EXPECT_FAIL(VSHM_ESIZE, parse_raw(VSHM_PROTO_BACKEND, 10, 1, p, 0, 0, self->m, &self->err));
	/* MEM_READ past its zero-padded 16 bytes (padded_mem_access covers 16) */
	p[8] = 1;
	EXPECT_FAIL(VSHM_ESIZE, parse_raw(VSHM_PROTO_BACKEND, 11, 1, p, 24, 0, self->m, &self->err));
	/* MEM_WRITE whose size field says 4 but carries 8 data bytes */
	p[8] = 4;
	EXPECT_FAIL(VSHM_ESIZE, parse_raw(VSHM_PROTO_BACKEND, 12, 1, p, 20, 0, self->m, &self->err));
	p[8] = 0;
	EXPECT_FAIL(VSHM_ESIZE, parse_raw(VSHM_PROTO_BACKEND, 9, 5, p, 16, 0, self->m, &self->err));
	EXPECT_FAIL(VSHM_ESIZE, parse_raw(VSHM_PROTO_FRONTEND, 44, 5, p, 2048, 0, self->m, &self->err));
	EXPECT_FAIL(VSHM_ESIZE, parse_raw(VSHM_PROTO_FRONTEND, 44, 1, p, 8, 0, self->m, &self->err));
	/* MEM_READ reply: failure status with data, success without */
	p[0] = 14;
	EXPECT_FAIL(VSHM_ESIZE, parse_raw(VSHM_PROTO_BACKEND, 11, 5, p, 16, 0, self->m, &self->err));
	p[0] = 0;
	EXPECT_FAIL(VSHM_ESIZE, parse_raw(VSHM_PROTO_BACKEND, 11, 5, p, 8, 0, self->m, &self->err));
	/* control: ADD_DEVICE with nregions 2 but three sizes */
	p[4] = 2;
	EXPECT_FAIL(VSHM_ESIZE, parse_raw(VSHM_PROTO_CONTROL, 2, 1, p, 16 + 24, 1, self->m, &self->err));
	p[4] = 0;
	EXPECT_FAIL(VSHM_ESIZE, parse_raw(VSHM_PROTO_CONTROL, 8, 5, p, 16, 0, self->m, &self->err));
}

/* Proves an fd the message must not carry is rejected with VSHM_EFDEXTRA and closed by the library. */
TEST_F(codec, unexpected_fd)
{
	uint8_t p[64] = { 0 };

	EXPECT_FAIL(VSHM_EFDEXTRA, parse_raw(VSHM_PROTO_BACKEND, 10, 1, p, 40, 1, self->m, &self->err));
	EXPECT_FAIL(VSHM_EFDEXTRA, parse_raw(VSHM_PROTO_BACKEND, 9, 1, p, 40, 2, self->m, &self->err));
	p[8] = 1;
	EXPECT_FAIL(VSHM_EFDEXTRA, parse_raw(VSHM_PROTO_BACKEND, 11, 1, p, 12, 3, self->m, &self->err));
	p[8] = 0;
	EXPECT_FAIL(VSHM_EFDEXTRA, parse_raw(VSHM_PROTO_BACKEND, 9, 5, p, 8, 1, self->m, &self->err));
	EXPECT_FAIL(VSHM_EFDEXTRA, parse_raw(VSHM_PROTO_FRONTEND, 44, 1, p, 0, 1, self->m, &self->err));
	/* control: a forward socket without the FORWARD flag; a fd on a failure reply */
	EXPECT_FAIL(VSHM_EFDEXTRA, parse_raw(VSHM_PROTO_CONTROL, 2, 1, p, 16, 2, self->m, &self->err));
	p[0] = 2;
	EXPECT_FAIL(VSHM_EFDEXTRA, parse_raw(VSHM_PROTO_CONTROL, 3, 5, p, 8, 1, self->m, &self->err));
	/* more fds than any message may carry */
	EXPECT_FAIL(VSHM_EFDEXTRA, parse_raw(VSHM_PROTO_BACKEND, 20, 1, p, 0, VSHM_MAX_FDS + 1, self->m, &self->err));
}

/* Proves a message lacking a required fd is rejected with VSHM_EFDMISSING. */
TEST_F(codec, missing_fd)
{
	uint8_t p[64] = { 0 };

	EXPECT_FAIL(VSHM_EFDMISSING, parse_raw(VSHM_PROTO_BACKEND, 9, 1, p, 40, 0, self->m, &self->err));
	EXPECT_FAIL(VSHM_EFDMISSING, parse_raw(VSHM_PROTO_CONTROL, 2, 1, p, 16, 0, self->m, &self->err));
	p[0] = VSHM_CTL_DEV_FORWARD;
	EXPECT_FAIL(VSHM_EFDMISSING, parse_raw(VSHM_PROTO_CONTROL, 2, 1, p, 16, 1, self->m, &self->err));
	/* SET_MEM_TABLE with one range and no memfd */
	memset(p, 0, sizeof(p));
	p[0] = 1;
	p[16] = 1;
	EXPECT_FAIL(VSHM_EFDMISSING, parse_raw(VSHM_PROTO_CONTROL, 5, 1, p, 40, 0, self->m, &self->err));
	/* a successful GET_REGION reply without the region fd */
	memset(p, 0, sizeof(p));
	EXPECT_FAIL(VSHM_EFDMISSING, parse_raw(VSHM_PROTO_CONTROL, 3, 5, p, 24, 0, self->m, &self->err));
}

/*
 * Proves the series' libvhost-user payloads (sizeof its struct, padded to 8)
 * decode: MEM_READ in 16 bytes, MEM_WRITE in 12 + size rounded up to 8,
 * each only with zero padding; anything between or beyond, and the draft's
 * truncated MEM_WRITE of more than 4 bytes, stay VSHM_ESIZE.
 */
TEST_F(codec, padded_mem_access)
{
	struct vshm_vu_mem_access a;
	uint8_t p[VSHM_PAYLOAD_MAX] = { 0 };
	uint64_t ga = 0x123000;
	uint32_t size;
	unsigned int n;

	memcpy(p, &ga, 8);
	size = 8;
	memcpy(p + 8, &size, 4);
	ASSERT_EQ(0, parse_raw(VSHM_PROTO_BACKEND, 11, 1, p, 16, 0, self->m, &self->err));
	ASSERT_EQ(0, vshm_decode_mem_access(self->m, &a, &self->err));
	EXPECT_EQ(ga, a.guest_address);
	EXPECT_EQ(8u, a.size);
	EXPECT_EQ(NULL, a.data);
	for (n = 13; n <= 15; n++)
		EXPECT_FAIL(VSHM_ESIZE, parse_raw(VSHM_PROTO_BACKEND, 11, 1, p, n, 0, self->m, &self->err));
	p[15] = 1;
	EXPECT_FAIL(VSHM_EPADDING, parse_raw(VSHM_PROTO_BACKEND, 11, 1, p, 16, 0, self->m, &self->err));
	p[15] = 0;

	/* MEM_WRITE of 3 bytes: exact 15, padded 16 */
	size = 3;
	memcpy(p + 8, &size, 4);
	memcpy(p + 12, "xyz", 3);
	ASSERT_EQ(0, parse_raw(VSHM_PROTO_BACKEND, 12, 1, p, 16, 0, self->m, &self->err));
	ASSERT_EQ(0, vshm_decode_mem_access(self->m, &a, &self->err));
	EXPECT_EQ(3u, a.size);
	EXPECT_EQ(0, memcmp(a.data, "xyz", 3));
	EXPECT_EQ(0, parse_raw(VSHM_PROTO_BACKEND, 12, 1, p, 15, 0, self->m, &self->err));
	EXPECT_FAIL(VSHM_ESIZE, parse_raw(VSHM_PROTO_BACKEND, 12, 1, p, 24, 0, self->m, &self->err));
	p[15] = 'x';
	EXPECT_FAIL(VSHM_EPADDING, parse_raw(VSHM_PROTO_BACKEND, 12, 1, p, 16, 0, self->m, &self->err));
	p[15] = 0;
	/* the draft's MEM_WRITE of 8 bytes sent in its 16-byte payload: truncated */
	size = 8;
	memcpy(p + 8, &size, 4);
	EXPECT_FAIL(VSHM_ESIZE, parse_raw(VSHM_PROTO_BACKEND, 12, 1, p, 16, 0, self->m, &self->err));
	/* the largest data block, padded: 12 + 65536 rounds up to VSHM_PAYLOAD_MAX */
	size = VSHM_MEM_DATA_MAX;
	memcpy(p + 8, &size, 4);
	EXPECT_EQ(0, parse_raw(VSHM_PROTO_BACKEND, 12, 1, p, VSHM_PAYLOAD_MAX, 0, self->m, &self->err));
	EXPECT_EQ(0, parse_raw(VSHM_PROTO_BACKEND, 12, 1, p, 12 + VSHM_MEM_DATA_MAX, 0, self->m, &self->err));
	EXPECT_EQ(self->fds0, count_open_fds());
}

/* Proves a frame size over the cap is VSHM_EFRAMESIZE and a MEM_READ / MEM_WRITE data size over the cap is the distinct VSHM_EDATASIZE. */
TEST_F(codec, oversized)
{
	uint8_t *p = calloc(1, VSHM_PAYLOAD_MAX + 16);
	uint32_t big = VSHM_MEM_DATA_MAX + 1;

	ASSERT_NE(NULL, p);
	EXPECT_FAIL(VSHM_EFRAMESIZE, parse_raw(VSHM_PROTO_BACKEND, 12, 1, p, VSHM_PAYLOAD_MAX + 1, 1, self->m, &self->err));
	EXPECT_FAIL(VSHM_EFRAMESIZE, parse_raw(VSHM_PROTO_BACKEND, 99, 1, p, VSHM_PAYLOAD_MAX + 1, 0, self->m, &self->err));
	memcpy(p + 8, &big, 4);
	EXPECT_FAIL(VSHM_EDATASIZE, parse_raw(VSHM_PROTO_BACKEND, 11, 1, p, 12, 0, self->m, &self->err));
	EXPECT_STRNE(vshm_strerror(-VSHM_EFRAMESIZE), vshm_strerror(-VSHM_EDATASIZE));
	/* a MEM_WRITE whose size field passes the cap, in a frame within the cap */
	EXPECT_FAIL(VSHM_EDATASIZE, parse_raw(VSHM_PROTO_BACKEND, 12, 1, p, 12 + 16, 0, self->m, &self->err));
	/* the frame header says more than the cap even before the payload arrives */
	{
		struct vshm_hdr h = { 12, 1, 0xffffffffu };

		EXPECT_FAIL(VSHM_EFRAMESIZE, (int)vshm_msg_parse(VSHM_PROTO_BACKEND, &h, 12, NULL, 0, self->m, &self->err));
	}
	free(p);
	/* and the encoders refuse to build one */
	EXPECT_EQ(-EINVAL, vshm_encode_mem_read(self->m, 0, VSHM_MEM_DATA_MAX + 1));
}

/* Proves non-zero padding or reserved bytes in a request are rejected with VSHM_EPADDING. */
TEST_F(codec, nonzero_padding)
{
	uint8_t p[2056] = { 0 };
	int i;

	for (i = 1; i < 8; i++) {
		memset(p, 0, sizeof(p));
		p[i] = 0x40;
		EXPECT_FAIL(VSHM_EPADDING, parse_raw(VSHM_PROTO_BACKEND, 9, 1, p, 40, 1, self->m, &self->err));
		EXPECT_FAIL(VSHM_EPADDING, parse_raw(VSHM_PROTO_BACKEND, 10, 1, p, 40, 0, self->m, &self->err));
	}
	memset(p, 0, sizeof(p));
	p[5] = 1;
	EXPECT_FAIL(VSHM_EPADDING, parse_raw(VSHM_PROTO_FRONTEND, 44, 5, p, 2056, 0, self->m, &self->err));
	memset(p, 0, sizeof(p));
	p[12] = 1;	/* HELLO reserved */
	EXPECT_FAIL(VSHM_EPADDING, parse_raw(VSHM_PROTO_CONTROL, 1, 1, p, 16, 0, self->m, &self->err));
	memset(p, 0, sizeof(p));
	p[4] = 1;	/* RESET_DEVICE reserved */
	EXPECT_FAIL(VSHM_EPADDING, parse_raw(VSHM_PROTO_CONTROL, 6, 1, p, 8, 0, self->m, &self->err));
	memset(p, 0, sizeof(p));
	p[0] = 1;	/* SET_MEM_TABLE range reserved */
	p[16] = 1;
	p[8 + 24] = 1;
	EXPECT_FAIL(VSHM_EPADDING, parse_raw(VSHM_PROTO_CONTROL, 5, 1, p, 40, 1, self->m, &self->err));
	memset(p, 0, sizeof(p));
	p[5] = 1;	/* reply status reserved */
	EXPECT_FAIL(VSHM_EPADDING, parse_raw(VSHM_PROTO_CONTROL, 6, 5, p, 8, 0, self->m, &self->err));
}

/* Proves out-of-range fields (flags bits, sizes, shmids, counts) are rejected with VSHM_EFIELD. */
TEST_F(codec, bad_fields)
{
	uint8_t p[2056] = { 0 };

	p[32] = 4;	/* SHMEM_MAP flags bit 2 */
	EXPECT_FAIL(VSHM_EFIELD, parse_raw(VSHM_PROTO_BACKEND, 9, 1, p, 40, 1, self->m, &self->err));
	memset(p, 0, sizeof(p));
	EXPECT_FAIL(VSHM_EFIELD, parse_raw(VSHM_PROTO_BACKEND, 11, 1, p, 12, 0, self->m, &self->err));
	p[0] = 1;
	p[1] = 1;	/* nregions 257 */
	EXPECT_FAIL(VSHM_EFIELD, parse_raw(VSHM_PROTO_FRONTEND, 44, 5, p, 2056, 0, self->m, &self->err));
	memset(p, 0, sizeof(p));
	p[8] = 1;	/* memory_sizes[0] = 1, not a page multiple */
	EXPECT_FAIL(VSHM_EFIELD, parse_raw(VSHM_PROTO_FRONTEND, 44, 5, p, 2056, 0, self->m, &self->err));
	memset(p, 0, sizeof(p));
	p[5] = 1;	/* GET_REGION shmid 256 */
	EXPECT_FAIL(VSHM_EFIELD, parse_raw(VSHM_PROTO_CONTROL, 3, 1, p, 8, 0, self->m, &self->err));
	memset(p, 0, sizeof(p));
	p[0] = 0x80;	/* ADD_DEVICE unknown flag */
	EXPECT_FAIL(VSHM_EFIELD, parse_raw(VSHM_PROTO_CONTROL, 2, 1, p, 16, 1, self->m, &self->err));
}

/* Proves an unknown control request number is rejected with VSHM_EREQUEST, while unknown vhost-user back-end requests pass as opaque. */
TEST_F(codec, unknown_request)
{
	EXPECT_FAIL(VSHM_EREQUEST, parse_raw(VSHM_PROTO_CONTROL, 0, 1, NULL, 0, 1, self->m, &self->err));
	EXPECT_FAIL(VSHM_EREQUEST, parse_raw(VSHM_PROTO_CONTROL, 99, 1, NULL, 0, 0, self->m, &self->err));
	ASSERT_EQ(0, parse_raw(VSHM_PROTO_BACKEND, 99, 1, "abc", 3, 2, self->m, &self->err));
	EXPECT_EQ(2, self->m->nfds);
	vshm_msg_release(self->m);
	EXPECT_EQ(self->fds0, count_open_fds());
}

/* Proves a frame shorter than its header says is rejected with VSHM_ETRUNC. */
TEST_F(codec, truncated)
{
	uint8_t buf[20] = { 9, 0, 0, 0, 1, 0, 0, 0, 40, 0, 0, 0 };
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	EXPECT_FAIL(VSHM_ETRUNC, (int)vshm_msg_parse(VSHM_PROTO_BACKEND, buf, 20, &fd, 1, self->m, &self->err));
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	EXPECT_FAIL(VSHM_ETRUNC, (int)vshm_msg_parse(VSHM_PROTO_BACKEND, buf, 5, &fd, 1, self->m, &self->err));
}

/* Proves decoders refuse a message of another type (VSHM_EREPLY) and every code has a name. */
TEST_F(codec, wrong_type_and_names)
{
	uint64_t v;
	int c;

	ASSERT_EQ(0, vshm_encode_reply_u64(self->m, VSHM_VU_BACKEND_SHMEM_MAP, 0));
	EXPECT_EQ(-VSHM_EREPLY, vshm_decode_reply_u64(self->m, VSHM_VU_BACKEND_SHMEM_UNMAP, &v, &self->err));
	for (c = VSHM_ERR_BASE + 1; c <= VSHM_ERR_LAST; c++)
		EXPECT_NE(NULL, strstr(vshm_strerror(-c), " "));
	EXPECT_STREQ("SHMEM_MAP", vshm_request_name(VSHM_PROTO_BACKEND, 9));
	EXPECT_STREQ("GET_SHMEM_CONFIG", vshm_request_name(VSHM_PROTO_FRONTEND, 44));
	EXPECT_STREQ("ADD_DEVICE", vshm_request_name(VSHM_PROTO_CONTROL, 2));
}

TEST_HARNESS_MAIN
