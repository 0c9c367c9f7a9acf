#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# Write the seed corpus of fuzz_dispatch: one scenario per file.
# A segment is [op u8][len u16 LE][bytes]; op bits 0-1: 0 backend channel,
# 1 control connection, 2 forward socket, 3 back-end hang-up; bits 2-4:
# fds on the segment; bits 5-7: first fd kind (0 rw memfd, 1 read-only
# memfd, 2 write-sealed memfd, 3 /dev/null, 4-5 socket).  The harness's
# device has regions shmid 0 (256 KiB at guest 0x200000) and shmid 2
# (64 KiB, not placed); guest RAM is 64 KiB at 0x100000.
import os
import struct
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
os.makedirs(out, exist_ok=True)

BE, CTL, FW, HUP = 0, 1, 2, 3
V, NEED, REPLY = 0x1, 0x8, 0x4


def frame(req, flags, payload):
    return struct.pack("<III", req, flags, len(payload)) + payload


def seg(op, data=b"", nfds=0, kind=0):
    return bytes([op | (nfds << 2) | (kind << 5)]) + struct.pack("<H", len(data)) + data


def seed(name, *segs, forward=False):
    # The first byte is also the first op: odd gives the device a forward socket.
    body = b"".join(segs)
    with open(os.path.join(out, name), "wb") as f:
        f.write(body if not forward else seg(CTL) + body)


def mmap(shmid, fd_off, off, length, flags):
    return struct.pack("<B7xQQQQ", shmid, fd_off, off, length, flags)


def mem(ga, size, data=b""):
    return struct.pack("<QI", ga, size) + data


m0 = frame(9, V | NEED, mmap(0, 0, 0x1000, 0x4000, 1))
u0 = frame(10, V | NEED, mmap(0, 0, 0x1000, 0x4000, 0))
seed("map_unmap", seg(BE, m0, 1, 0), seg(BE, u0))
seed("map_ro_source_rw", seg(BE, m0, 1, 1))
seed("map_sealed", seg(BE, m0, 1, 2))
seed("map_devnull", seg(BE, m0, 1, 3))
seed("map_read_write", seg(BE, m0, 1, 0),
     seg(BE, frame(12, V | NEED, mem(0x201000, 32, b"w" * 32))),
     seg(BE, frame(11, V, mem(0x201000, 64))),
     seg(BE, frame(11, V, mem(0x200000, 64))))
seed("ram_read_write", seg(BE, frame(12, V | NEED, mem(0x100000, 4096, b"r" * 4096))),
     seg(BE, frame(11, V, mem(0x100000 + 60000, 65536))),
     seg(BE, frame(11, V, mem(0x100000, 65536))))
seed("split_frame", seg(BE, m0[:7], 1, 0), seg(BE, m0[7:30]), seg(BE, m0[30:]), seg(HUP))
seed("half_then_hangup", seg(BE, frame(12, V, mem(0x100000, 100, b"x" * 100))[:50]), seg(HUP))
seed("forwarded", seg(BE, frame(3, V | NEED, b"\0" * 8), 2, 0),
     seg(FW, frame(3, V | REPLY, struct.pack("<Q", 0)), 1, 0),
     seg(BE, frame(8, V, bytes(range(16)))), forward=True)
seed("no_forward", seg(BE, frame(1, V | NEED, b"\0" * 16)))
seed("reply_from_backend", seg(BE, frame(9, V | REPLY, struct.pack("<Q", 0))))
seed("bad_version", seg(BE, frame(9, 0x2, mmap(0, 0, 0, 0x1000, 1)), 1, 0))
seed("draft_flags", seg(BE, frame(9, V | NEED, mmap(2, 0x1000, 0, 0x1000, 3)), 1, 0))
seed("many_maps", *[seg(BE, frame(9, V | NEED, mmap(0, 0, i * 0x1000, 0x1000, 0)), 1, 0)
                    for i in range(20)])
hello = frame(1, V, struct.pack("<IIQ", 1, 1, 0))
seed("ctl_hello_stats", seg(CTL, hello),
     seg(CTL, frame(8, V, struct.pack("<II", 0xffffffff, 0))),
     seg(CTL, frame(9, V, b"")))
seed("ctl_add_device", seg(CTL, hello),
     seg(CTL, frame(2, V, struct.pack("<IIQ", 0, 2, 0) + struct.pack("<QQ", 4096, 8192)), 1, 4),
     seg(CTL, frame(2, V, struct.pack("<IIQ", 1, 1, 0) + struct.pack("<Q", 4096)), 2, 4))
seed("ctl_region_addr", seg(CTL, hello),
     seg(CTL, frame(4, V, struct.pack("<IIQ", 1, 2, 0x400000))),
     seg(CTL, frame(3, V, struct.pack("<II", 1, 0))),
     seg(CTL, frame(10, V, struct.pack("<IIII", 1, 0, 0, 0))))
seed("ctl_mem_table", seg(CTL, hello),
     seg(CTL, frame(5, V, struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0x800000, 4096, 0, 0)), 1, 0),
     seg(CTL, frame(5, V, struct.pack("<II", 0, 0))))
seed("ctl_reset_remove", seg(BE, m0, 1, 0), seg(CTL, hello),
     seg(CTL, frame(6, V, struct.pack("<II", 1, 0))),
     seg(CTL, frame(7, V, struct.pack("<II", 1, 0))),
     seg(BE, u0))
seed("ctl_before_hello", seg(CTL, frame(8, V, struct.pack("<II", 0xffffffff, 0))))
seed("ctl_inspect", seg(BE, m0, 1, 0),
     seg(CTL, frame(1, V, struct.pack("<IIQ", 1, 5, 0))),
     seg(CTL, frame(14, V, struct.pack("<II", 0xffffffff, 0))),
     seg(CTL, frame(14, V, struct.pack("<II", 1, 1))),
     seg(CTL, frame(15, V, b"")),
     seg(CTL, frame(16, V, struct.pack("<II", 0, 0))),
     seg(CTL, frame(17, V, struct.pack("<II", 0, 0))),
     seg(CTL, frame(18, V, b"")))
