#!/usr/bin/env python3
"""Writes the seed corpus of the ring reader fuzzer (tests/ring/corpus/).

Small rings (64 slots, 4352 bytes) in the layout of include/hakmem/ring_format.h,
each steering the fuzzer into one branch of the reader: a clean stream ring, a
lapped flight ring, unfinished and retired slots, and a cut-off header.
Run it again after a layout change: python3 tests/ring/make_corpus.py
"""
import os
import struct

MAGIC = 0x31474E524D4B4148
CAP = 64
BUSY, COMMITTED, ABANDONED = 1, 2, 3


def commit(ticket, state):
    return ((ticket + 1) << 2) | state


def header(mode, head, tail=0, dropped=0, pid=0x7FFFFFFF):
    line0 = struct.pack("<QIIIIQIIIIQQ", MAGIC, 1, 256, 64, mode, CAP, pid, 1, 1, 1, 1000, 2000)
    return (line0 + struct.pack("<Q56x", head) + struct.pack("<Q56x", tail) +
            struct.pack("<QI52x", dropped, 1))


def event(word, ticket, etype=9):
    return struct.pack("<QQIHBBQQQQQ", word, 1000 + ticket, 42, etype, 3, 0,
                       0x7F0000000000 + ticket * 4096, 65536, ticket, 1, 2)


def ring(mode, head, slots, **kw):
    body = bytearray(64 * CAP)
    for ticket, state in slots:
        body[(ticket % CAP) * 64:(ticket % CAP + 1) * 64] = event(commit(ticket, state), ticket)
    return header(mode, head, **kw) + bytes(body)


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    seeds = {
        "stream_10": ring(1, 10, [(t, COMMITTED) for t in range(10)]),
        "stream_full_dropped": ring(1, 64, [(t, COMMITTED) for t in range(64)], dropped=7),
        "flight_lapped": ring(2, 200, [(t, COMMITTED) for t in range(136, 200)]),
        "unfinished": ring(1, 8, [(0, COMMITTED), (1, BUSY), (2, COMMITTED), (3, ABANDONED),
                                  (5, COMMITTED), (6, BUSY), (7, COMMITTED)]),
        "stream_wrapped_tail": ring(1, 90, [(t, COMMITTED) for t in range(26, 90)], tail=40),
        "cut_header": header(1, 3)[:100],
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
