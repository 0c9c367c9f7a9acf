// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Device back-end helpers: SHMEM_MAP / SHMEM_UNMAP, MEM_READ / MEM_WRITE on
 * a backend channel, and guest address translation with a fallback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Send msg and push it out completely. */
static int send_all(struct vshm_chan *ch, const struct vshm_msg *msg,
		    int timeout_ms, struct vshm_err *err)
{
	int ret = vshm_chan_send(ch, msg, err);

	if (ret)
		return ret;
	ret = vshm_chan_flush_wait(ch, timeout_ms);
	if (ret)
		return vshmi_fail(err, -ret, "sending %s: %s",
				  vshm_request_name(VSHM_PROTO_BACKEND, msg->hdr.request),
				  vshm_strerror(ret));
	return 0;
}

/* Wait for the u64 reply to request; non-zero status as -errno. */
static int wait_ack(struct vshm_chan *ch, struct vshm_msg *msg, uint32_t request,
		    int timeout_ms, struct vshm_err *err)
{
	uint64_t status;
	int ret;

	ret = vshm_chan_recv_wait(ch, msg, timeout_ms, err);
	if (ret)
		return ret;
	ret = vshm_decode_reply_u64(msg, request, &status, err);
	vshm_msg_release(msg);
	if (ret)
		return ret;
	ret = vshmi_status_to_err(status);
	if (ret)
		return vshmi_fail(err, -ret, "front-end refused %s: status %llu (%s)",
				  vshm_request_name(VSHM_PROTO_BACKEND, request),
				  (unsigned long long)status, vshm_strerror(ret));
	return 0;
}

static int send_mmap(struct vshm_chan *ch, uint32_t request,
		     const struct vshm_vu_mmap *m, int fd, uint32_t flags,
		     int timeout_ms, struct vshm_err *err)
{
	bool wait = flags & VSHM_BE_WAIT_ACK;
	struct vshm_msg *msg;
	int ret;

	if (flags & ~VSHM_BE_WAIT_ACK)
		return vshmi_fail(err, EINVAL, "unknown helper flags 0x%x", flags);
	msg = malloc(sizeof(*msg));
	if (!msg)
		return vshmi_fail(err, ENOMEM, "no memory for a message");
	if (request == VSHM_VU_BACKEND_SHMEM_MAP)
		ret = vshm_encode_shmem_map(msg, m, fd, wait);
	else
		ret = vshm_encode_shmem_unmap(msg, m, wait);
	if (ret)
		vshmi_fail(err, -ret, "encoding: %s", vshm_strerror(ret));
	else
		ret = send_all(ch, msg, timeout_ms, err);
	if (!ret && wait)
		ret = wait_ack(ch, msg, request, timeout_ms, err);
	free(msg);
	return ret;
}

int vshm_be_shmem_map(struct vshm_chan *ch, uint8_t shmid, int fd,
		      uint64_t fd_offset, uint64_t shm_offset, uint64_t len,
		      bool writable, enum vshm_flag_encoding enc, uint32_t flags,
		      int timeout_ms, struct vshm_err *err)
{
	struct vshm_vu_mmap m = {
		.shmid = shmid, .fd_offset = fd_offset, .shm_offset = shm_offset,
		.len = len, .flags = vshm_mmap_flags_make(writable, enc),
	};

	if (fd < 0)
		return vshmi_fail(err, EBADF, "SHMEM_MAP needs a source fd");
	return send_mmap(ch, VSHM_VU_BACKEND_SHMEM_MAP, &m, fd, flags,
			 timeout_ms, err);
}

int vshm_be_shmem_unmap(struct vshm_chan *ch, uint8_t shmid,
			uint64_t shm_offset, uint64_t len, uint32_t flags,
			int timeout_ms, struct vshm_err *err)
{
	struct vshm_vu_mmap m = {
		.shmid = shmid, .shm_offset = shm_offset, .len = len,
	};

	return send_mmap(ch, VSHM_VU_BACKEND_SHMEM_UNMAP, &m, -1, flags,
			 timeout_ms, err);
}

static int mem_read_block(struct vshm_chan *ch, struct vshm_msg *msg,
			  uint64_t ga, uint8_t *buf, uint32_t size,
			  int timeout_ms, struct vshm_err *err)
{
	const uint8_t *data;
	uint64_t status;
	int ret;

	vshm_encode_mem_read(msg, ga, size);
	ret = send_all(ch, msg, timeout_ms, err);
	if (ret)
		return ret;
	ret = vshm_chan_recv_wait(ch, msg, timeout_ms, err);
	if (ret)
		return ret;
	ret = vshm_decode_mem_read_reply(msg, size, &status, &data, err);
	if (!ret && status) {
		ret = vshmi_status_to_err(status);
		vshmi_fail(err, -ret, "MEM_READ of %u bytes at 0x%llx refused: %s",
			   size, (unsigned long long)ga, vshm_strerror(ret));
	} else if (!ret) {
		memcpy(buf, data, size);
	}
	vshm_msg_release(msg);
	return ret;
}

static int mem_write_block(struct vshm_chan *ch, struct vshm_msg *msg,
			   uint64_t ga, const uint8_t *buf, uint32_t size,
			   int timeout_ms, struct vshm_err *err)
{
	int ret;

	vshm_encode_mem_write(msg, ga, buf, size, true);
	ret = send_all(ch, msg, timeout_ms, err);
	return ret ? ret : wait_ack(ch, msg, VSHM_VU_BACKEND_MEM_WRITE,
				    timeout_ms, err);
}

static int mem_rw(struct vshm_chan *ch, uint64_t ga, void *buf, size_t len,
		  bool write, int timeout_ms, struct vshm_err *err)
{
	struct vshm_msg *msg;
	size_t done = 0;
	int ret = 0;

	if (ga + len < ga)
		return vshmi_fail(err, EOVERFLOW, "guest range 0x%llx + %zu wraps",
				  (unsigned long long)ga, len);
	if (!len)
		return 0;
	msg = malloc(sizeof(*msg));
	if (!msg)
		return vshmi_fail(err, ENOMEM, "no memory for a message");
	while (!ret && done < len) {
		uint32_t n = len - done > VSHM_MEM_DATA_MAX ?
			     VSHM_MEM_DATA_MAX : (uint32_t)(len - done);

		if (write)
			ret = mem_write_block(ch, msg, ga + done,
					      (const uint8_t *)buf + done, n,
					      timeout_ms, err);
		else
			ret = mem_read_block(ch, msg, ga + done,
					     (uint8_t *)buf + done, n,
					     timeout_ms, err);
		done += n;
	}
	free(msg);
	return ret;
}

int vshm_be_mem_read(struct vshm_chan *ch, uint64_t guest_address, void *buf,
		     size_t len, int timeout_ms, struct vshm_err *err)
{
	return mem_rw(ch, guest_address, buf, len, false, timeout_ms, err);
}

int vshm_be_mem_write(struct vshm_chan *ch, uint64_t guest_address,
		      const void *buf, size_t len, int timeout_ms,
		      struct vshm_err *err)
{
	return mem_rw(ch, guest_address, (void *)buf, len, true, timeout_ms, err);
}

/* The entry holding ga, or NULL; *next_start is the lowest entry start above ga. */
static const struct vshm_mem_region *lookup(const struct vshm_mem_region *t,
					    size_t n, uint64_t ga,
					    uint64_t *next_start)
{
	size_t i;

	*next_start = UINT64_MAX;
	for (i = 0; i < n; i++) {
		if (ga >= t[i].guest_addr && ga - t[i].guest_addr < t[i].size)
			return &t[i];
		if (t[i].guest_addr > ga && t[i].guest_addr < *next_start)
			*next_start = t[i].guest_addr;
	}
	return NULL;
}

void *vshm_translate(const struct vshm_mem_region *table, size_t n,
		     uint64_t guest_address, size_t len)
{
	const struct vshm_mem_region *e;
	uint64_t next, off;

	e = lookup(table, n, guest_address, &next);
	if (!e)
		return NULL;
	off = guest_address - e->guest_addr;
	if (len > e->size - off)
		return NULL;
	return (uint8_t *)e->host + off;
}

static int guest_rw(const struct vshm_mem_region *t, size_t n,
		    struct vshm_chan *ch, uint64_t ga, uint8_t *buf, size_t len,
		    bool write, int timeout_ms, struct vshm_err *err)
{
	size_t done = 0;
	int ret;

	if (ga + len < ga)
		return vshmi_fail(err, EOVERFLOW, "guest range 0x%llx + %zu wraps",
				  (unsigned long long)ga, len);
	while (done < len) {
		uint64_t pos = ga + done, next, chunk;
		const struct vshm_mem_region *e = lookup(t, n, pos, &next);

		if (e) {
			uint64_t off = pos - e->guest_addr;

			chunk = e->size - off;
			if (chunk > len - done)
				chunk = len - done;
			if (write)
				memcpy((uint8_t *)e->host + off, buf + done, chunk);
			else
				memcpy(buf + done, (uint8_t *)e->host + off, chunk);
		} else {
			chunk = next - pos;
			if (chunk > len - done)
				chunk = len - done;
			if (!ch)
				return vshmi_fail(err, EFAULT,
						  "guest address 0x%llx is not in the memory table and there is no channel to fall back to",
						  (unsigned long long)pos);
			ret = mem_rw(ch, pos, buf + done, chunk, write,
				     timeout_ms, err);
			if (ret)
				return ret;
		}
		done += chunk;
	}
	return 0;
}

int vshm_guest_read(const struct vshm_mem_region *table, size_t n,
		    struct vshm_chan *ch, uint64_t guest_address, void *buf,
		    size_t len, int timeout_ms, struct vshm_err *err)
{
	return guest_rw(table, n, ch, guest_address, buf, len, false,
			timeout_ms, err);
}

int vshm_guest_write(const struct vshm_mem_region *table, size_t n,
		     struct vshm_chan *ch, uint64_t guest_address,
		     const void *buf, size_t len, int timeout_ms,
		     struct vshm_err *err)
{
	return guest_rw(table, n, ch, guest_address, (uint8_t *)buf, len, true,
			timeout_ms, err);
}
