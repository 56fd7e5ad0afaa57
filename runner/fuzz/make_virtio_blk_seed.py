#!/usr/bin/env python3
"""Writes a seed for fuzz_virtio_blk: a well-behaved driver that brings the device up (features,
the request queue) and submits a write, a read, a flush and a GET_ID, so the fuzzer starts from
a working device instead of having to find the handshake by chance.
Usage: make_virtio_blk_seed.py OUT_FILE"""
import struct, sys

out = bytearray([0])   # read-write disk
def wr(off, val):      # register write, 4 bytes
    out.extend(struct.pack("<BHI", 0 | (3 << 2), off, val))
def mem(addr, data):   # guest memory write (<= 255 bytes)
    out.extend(struct.pack("<BIB", 2, addr, len(data)) + data)
def run():
    out.append(3)

wr(0x70, 0); wr(0x70, 1); wr(0x70, 3)
wr(0x24, 0); wr(0x20, (1 << 9) | (1 << 2))     # FLUSH | SEG_MAX
wr(0x24, 1); wr(0x20, 1)                        # VERSION_1
wr(0x70, 11)                                    # FEATURES_OK
wr(0x30, 0); wr(0x38, 8)
wr(0x80, 0x10000); wr(0x90, 0x11000); wr(0xa0, 0x12000)
wr(0x44, 1)
wr(0x70, 15)                                    # DRIVER_OK
DATA, STATUS = 0x30000, 0x40000
def request(slot, head, rtype, sector, data_len, writable):
    hdr = 0x20000 + 0x100 * slot
    mem(hdr, struct.pack("<IIQ", rtype, 0, sector))
    d = head
    descs = [(hdr, 16, 1, d + 1)]
    if data_len:
        descs.append((DATA, data_len, 1 | (2 if writable else 0), d + 2))
    descs.append((STATUS, 1, 2, 0))
    for i, (a, l, f, n) in enumerate(descs):
        if i == len(descs) - 1:
            f &= ~1
        mem(0x10000 + 16 * (d + i), struct.pack("<QIHH", a, l, f, n))
    mem(0x11004 + 2 * slot, struct.pack("<H", head))
    mem(0x11000, struct.pack("<HH", 0, slot + 1))
    run()

mem(DATA, b"arrow" * 51)                        # 255 bytes; the request covers 512
request(0, 0, 1, 3, 512, False)                 # OUT sector 3
request(1, 3, 0, 3, 512, True)                  # IN sector 3
request(2, 6, 4, 0, 0, False)                   # FLUSH
request(3, 0, 8, 0, 20, True)                   # GET_ID
open(sys.argv[1], "wb").write(bytes(out))
