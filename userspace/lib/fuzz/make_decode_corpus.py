#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Write the seed corpus of fuzz_decode: one file per message kind.
# Byte 0: protocol (1 front-end, 2 back-end, 3 control) | fds << 2.
import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
os.makedirs(out, exist_ok=True)


def frame(req, flags, payload):
    return struct.pack("<III", req, flags, len(payload)) + payload


def seed(name, proto, nfds, *frames):
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([proto | (nfds << 2)]) + b"".join(frames))


mmap = struct.pack("<B7xQQQQ", 3, 0, 0x10000, 0x2000, 1)
seed("shmem_map", 2, 1, frame(9, 0x9, mmap))
seed("shmem_unmap", 2, 0, frame(10, 0x1, mmap))
seed("mem_read", 2, 0, frame(11, 0x1, struct.pack("<QI", 0x100000, 64)))
seed("mem_read_reply", 2, 0, frame(11, 0x5, struct.pack("<Q", 0) + bytes(range(64))))
seed("mem_read_fail", 2, 0, frame(11, 0x5, struct.pack("<Q", 14)))
seed("mem_write", 2, 0, frame(12, 0x9, struct.pack("<QI", 0x100000, 16) + b"A" * 16))
seed("reply_ack", 2, 0, frame(9, 0x5, struct.pack("<Q", 0)))
seed("shared_object_add", 2, 1, frame(6, 0x1, bytes(range(16))))
seed("opaque_backend", 2, 2, frame(200, 0x1, b"opaque"))
seed("two_frames", 2, 1, frame(9, 0x1, mmap), frame(10, 0x1, mmap))
cfg = struct.pack("<II", 2, 0) + struct.pack("<Q", 1 << 20) * 2 + bytes(8 * 254)
seed("shmem_config", 1, 0, frame(44, 0x1, b""), frame(44, 0x5, cfg))
seed("ctl_hello", 3, 0, frame(1, 0x1, struct.pack("<IIQ", 1, 1, 0)))
seed("ctl_add_device", 3, 2, frame(2, 0x1, struct.pack("<IIQ", 1, 2, 0) + struct.pack("<QQ", 4096, 8192)))
seed("ctl_get_region_reply", 3, 1, frame(3, 0x5, struct.pack("<IIQII", 0, 0, 4096, 1, 0)))
seed("ctl_mem_table", 3, 1, frame(5, 0x1, struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0, 1 << 20, 0, 0)))
seed("ctl_stats_reply", 3, 0, frame(8, 0x5, struct.pack("<II", 0, 0) + bytes(128)))
seed("ctl_list_mappings", 3, 0, frame(10, 0x1, struct.pack("<IIII", 1, 0, 0, 0)),
     frame(10, 0x5, struct.pack("<IIII", 0, 0, 1, 1) + struct.pack("<QQQII", 0, 4096, 0, 1, 0)))
seed("ctl_error_reply", 3, 0, frame(7, 0x5, struct.pack("<II", 2, 0)))


def limit(name, scope, lim, used):
    return struct.pack("<24sIIQQ", name.encode(), scope, 0, lim, used)


# GET_LIMITS as a 1.2 broker answers it, and as 1.3, which adds entries.
LIMITS_1_2 = [("devices", 1, 64, 2), ("clients", 1, 16, 1), ("ram_ranges", 1, 32, 0),
              ("open_fds", 1, 1024, 20), ("mappings", 2, 4096, 3),
              ("shared_objects", 2, 256, 0), ("inflight_bytes", 2, 1 << 20, 0),
              ("msg_rate", 2, 20000, 5), ("shmids", 2, 256, 2)]
LIMITS_1_3 = LIMITS_1_2 + [("closer_threads", 1, 65, 2), ("close_queue", 1, 4096, 0),
                           ("closing_fds", 2, 64, 0)]
for tag, entries in (("1_2", LIMITS_1_2), ("1_3", LIMITS_1_3)):
    body = struct.pack("<IIII", 0, 0, len(entries), len(entries))
    seed("ctl_limits_reply_" + tag, 3, 0, frame(18, 0x1, b""),
         frame(18, 0x5, body + b"".join(limit(*e) for e in entries)))

