#!/usr/bin/env python3
"""Writes a seed for fuzz_virtio_net: a well-behaved driver that brings the device up (features,
both queues), posts an RX buffer and a TX frame, and lets the device run — so the fuzzer starts
from a working device instead of having to find the whole handshake by chance.
Usage: make_virtio_net_seed.py OUT_FILE"""
import struct, sys

out = bytearray()
def wr(off, val):      # register write, 4 bytes
    out.extend(struct.pack("<BHI", 0 | (3 << 3), off, val))
def mem(addr, data):   # guest memory write (<= 255 bytes)
    out.extend(struct.pack("<BIB", 2, addr, len(data)) + data)
def run():
    out.append(3)
def frame(data):
    out.extend(struct.pack("<BH", 4, len(data)) + data)

wr(0x70, 0); wr(0x70, 1); wr(0x70, 3)
wr(0x24, 0); wr(0x20, (1 << 5) | (1 << 15))   # MAC | MRG_RXBUF
wr(0x24, 1); wr(0x20, 1)                        # VERSION_1
wr(0x70, 11)                                    # FEATURES_OK
for q, base in ((0, 0x10000), (1, 0x20000)):
    wr(0x30, q); wr(0x38, 8)
    wr(0x80, base); wr(0x90, base + 0x1000); wr(0xa0, base + 0x2000)
    wr(0x44, 1)
wr(0x70, 15)                                    # DRIVER_OK
# RX: descriptor 0 -> 0x30000, 2048 bytes, device-writable; avail idx 1
mem(0x10000, struct.pack("<QIHH", 0x30000, 2048, 2, 0))
mem(0x11000, struct.pack("<HHH", 0, 1, 0))
# TX: descriptor 0 -> 0x40000, header + a 60-byte frame; avail idx 1
mem(0x40000, bytes(12) + b"\xff" * 6 + bytes([0x52, 0x54, 0, 0x12, 0x34, 0x56]) + b"\x08\x06" + bytes(46))
mem(0x20000, struct.pack("<QIHH", 0x40000, 72, 0, 0))
mem(0x21000, struct.pack("<HHH", 0, 1, 0))
wr(0x50, 1)
run()
frame(bytes(60))
run()
open(sys.argv[1], "wb").write(bytes(out))
