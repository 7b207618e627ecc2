"""Writes the seed corpus of every harness to tests/fuzz/corpus/<harness>/.

The seeds follow each harness's input layout (see the comment at the top of each
fuzz_*.cpp): a flags byte and the mask size, then the payload. They cover the valid forms
and the edges each harness is meant to reach; libFuzzer mutates from there. Deterministic:
running it again rewrites the same files.

    python3 tests/fuzz/make_corpus.py
"""

from __future__ import annotations

import hashlib
import math
import shutil
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent


def coco_string(counts: list[int]) -> bytes:
    """COCO compressed string of counts (the format's rules, written out here)."""
    out = bytearray()
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        while True:
            ch = x & 0x1F
            x >>= 5
            more = x != -1 if ch & 0x10 else x != 0
            if more:
                ch |= 0x20
            out.append(ch + 48)
            if not more:
                break
    return bytes(out)


def u8(v: int) -> bytes:
    return struct.pack("<B", v & 0xFF)


def u16(v: int) -> bytes:
    return struct.pack("<H", v & 0xFFFF)


def u32(v: int) -> bytes:
    return struct.pack("<I", v & 0xFFFFFFFF)


def f64(v: float) -> bytes:
    return struct.pack("<d", v)


def coco_seeds() -> list[bytes]:
    seeds = []
    # flags, h, w, string. Valid strings of known masks (golden vectors among them).
    valid = [
        (1, 41, [8, 12, 6, 15]),
        (4, 5, [20]),
        (1, 3, [0, 3]),
        (10, 100, [0, 1000]),
        (0, 5, []),
        (5, 0, [0]),
        (3, 3, [0, 9]),
        (3, 3, [9]),
        (4, 4, [1, 2, 3, 4, 5, 1]),
        (2 ** 20, 2 ** 20, [2 ** 40]),  # a count of 41 bits
        (2 ** 31, 2 ** 31, [2 ** 62]),  # the largest mask
        (2 ** 31, 2 ** 31, [0, 2 ** 61, 2 ** 61]),
        (2 ** 31, 2 ** 31, [2 ** 61, 1, 2 ** 61 - 2, 1]),  # 13-group deltas
        (8192, 8192, [8192 * 8192]),  # pycocotools' 6*m buffer overflow case
        (7, 9, [3, 4, 0, 5, 6, 0, 45]),  # zero-length runs
        (16, 16, [10, 20, 30, 40, 50, 60, 46]),
    ]
    for h, w, counts in valid:
        seeds.append(u8(0) + u32(h) + u32(w) + coco_string(counts))
        seeds.append(u8(0x6) + u32(h) + u32(w) + coco_string(counts))
    # Auto-sized (flags bit 0): any valid stream.
    for counts in ([5, 5, 5], [0, 1, 2, 3, 4, 5, 6], [100, 2, 100, 2, 100], [1] * 40):
        seeds.append(u8(0x11) + u32(0) + u32(0) + coco_string(counts))
    # Malformed: alphabet, truncation, negative count, overflow, padding groups.
    for text in (b"\x01\x02", b"0p", b"8<6", b"0`", b"00000000000000", b"P0", b"ooooooooooooo0",
                 b"oooooooooooooo", b"0Xo", b"1" * 20, b"0000o" + b"o" * 12 + b"1",
                 b"000" + b"o" * 12 + b"?", b"000" + b"o" * 12 + b"O"):
        seeds.append(u8(0x01) + u32(1) + u32(1) + text)
    return seeds


def counts_seeds() -> list[bytes]:
    seeds = []

    def pack(width: int, values: list[int]) -> bytes:
        return b"".join(int(v).to_bytes(width, "little") for v in values)

    cases = [
        (0, 4, 5, [8, 12]),
        (0, 3, 3, [0, 9]),
        (1, 100, 100, [5000, 5000]),
        (2, 1000, 1000, [0, 500000, 500000]),
        (3, 2 ** 31, 2 ** 31, [2 ** 62]),
        (3, 2 ** 31, 2 ** 31, [2 ** 64 - 1, 2]),  # wraps a 64-bit sum
        (3, 2 ** 32 - 1, 2 ** 32 - 1, [1]),  # size beyond 2^62
        (3, 0, 7, []),
        (0, 5, 0, [0, 0, 0]),
        (0, 6, 6, [1, 0, 0, 35]),
    ]
    for width_code, h, w, counts in cases:
        width = 1 << width_code
        for extra in (0, 4, 4 | 16):
            seeds.append(u8(width_code | extra) + u32(h) + u32(w) + pack(width, counts))
    seeds.append(u8(3 | 8) + u32(2 ** 15) + u32(2 ** 15) + pack(8, [2 ** 61, 2 ** 62 - 2 ** 61]))
    seeds.append(u8(3 | 8 | 4) + u32(0xFFFF) + u32(0xFFFF) + pack(8, [2 ** 40, 3, 2 ** 50]))
    return seeds


def decode_seeds() -> list[bytes]:
    seeds = []
    cases = [
        (1, 0, 4, 5, [8, 12]),
        (1, 1, 4, 5, [8, 12, 0, 20]),
        (1, 3, 6, 6, [1, 2, 3, 4, 5, 6, 7, 8] * 4),
        (1, 0, 1, 100, [0, 3, 7, 90]),
        (1, 0, 100, 1, [50, 50]),
        (1, 0, 65, 67, [64, 1, 64, 1, 200, 3]),
        (1, 2, 130, 70, [129, 2, 255, 255, 255, 1, 0, 1]),
        (0, 0, 3, 3, [9]),
        (0, 0, 3, 3, [4, 4]),
        (0, 1, 3, 3, [4, 5, 1, 8]),
        (1, 0, 0, 10, []),
        (1 | 8, 0, 5, 0, []),
        (1 | 8 | 16, 1, 0, 0, []),
        (1 | 4, 3, 32, 32, [17, 40, 3, 90, 100, 7] * 3),
        (1 | 2, 1, 512, 512, [0x1234, 0x80, 0xFFFF, 0x10]),
        (1 | 0x30, 2, 10, 10, [0, 10, 5, 5, 50, 30]),
    ]
    for flags, nm1, h, w, counts in cases:
        width = 2 if flags & 2 else 1
        seeds.append(u8(flags) + u8(nm1) + u16(h) + u16(w)
                     + b"".join(int(c).to_bytes(width, "little") for c in counts))
    return seeds


def fal_seeds() -> list[bytes]:
    seeds = []
    cases = [
        (0, 4, 5, b"1 3 10 5"),
        (1, 4, 5, b"1 3 10 5"),
        (2, 4, 5, b"1 3 10 5"),
        (3, 4, 5, b"1 3 10 5"),
        (3, 4, 5, b"1 20"),
        (1, 4, 5, b"0 20"),
        (3, 10, 10, b"  5 3\n9 2\t\t40 1 \r\n"),
        (3, 10, 10, b"5 3 8 2"),  # touching runs join
        (3, 10, 10, b"5 3 6 2"),  # overlap
        (3, 10, 10, b"95 6"),  # past the end
        (3, 10, 10, b"5 0"),  # length 0
        (3, 10, 10, b"5 3 9"),  # odd tokens
        (3, 10, 10, b"5 -3"),
        (3, 10, 10, b"99999999999999999999999 1"),
        (3, 10, 10, b""),
        (1, 1, 100, b"3 4 50 50"),
        (3, 100, 1, b"3 4 50 50"),
        (3, 70, 130, b"1 64 65 64 129 2 5000 300 9000 100"),
        (0 | 8, 100, 100, b"0 1 4000000000 12345 9000000000 1"),
        (3 | 16, 10, 10, b"1 3;4 4 50 2"),
        (3 | 4 | 16, 10, 10, b"1 3 20 5;60 41"),
        (2, 0, 10, b""),
        (3, 0, 0, b"1 1"),
    ]
    for flags, h, w, text in cases:
        seeds.append(u8(flags) + u16(h) + u16(w) + text)
    return seeds


def polygon_seeds() -> list[bytes]:
    seeds = []

    def doubles(values: list[float]) -> bytes:
        return b"".join(f64(v) for v in values)

    square = [0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 10.0]
    small = [0.5, 0.5, 3.5, 0.5, 3.5, 3.5, 0.5, 3.5]
    tri = [1.2, 7.9, 13.4, 2.2, 9.9, 15.5]
    for h, w, poly in ((20, 20, square), (6, 6, small), (17, 19, tri), (5, 5, square)):
        seeds.append(u8(0) + u32(h) + u32(w) + doubles(poly))
        seeds.append(u8(1) + u32(h) + u32(w) + b"".join(u16(int(v * 8)) for v in poly))
        seeds.append(u8(8) + u32(h) + u32(w) + doubles(poly))
    for bad in (math.nan, math.inf, -math.inf, 1e30, -1e30, 1e8, 1e8 + 1, 1e300, 5e-324):
        seeds.append(u8(0) + u32(10) + u32(10) + doubles([bad, 0.0, 5.0, 5.0, 0.0, 5.0]))
    seeds.append(u8(0) + u32(1000) + u32(1000) + doubles([-1e8, -1e8, 1e8, -1e8, 0.0, 1e8]))
    seeds.append(u8(0) + u32(100) + u32(100) + doubles([-3.7, -2.2, 50.1, -9.9, 120.0, 130.5]))
    seeds.append(u8(0 | 16) + u32(2 ** 15) + u32(2 ** 15) + doubles(tri))
    seeds.append(u8(0) + u32(2 ** 32 - 1) + u32(2 ** 32 - 1) + doubles(tri))
    seeds.append(u8(2) + u32(30) + u32(30) + bytes([0, 0, 20, 0, 20, 20, 0xF6, 0xF6]))
    seeds.append(u8(3) + u32(30) + u32(30) + doubles([1.0, 1.0, 9.0]) + u8(4) + doubles([5.0] * 3) + u8(1))
    # Boxes.
    seeds.append(u8(4) + u32(20) + u32(20) + doubles([0.4, 0.4, 2.2, 2.2, 3, 4, 10, 12]))
    seeds.append(u8(4) + u32(20) + u32(20) + doubles([1e308, 0, 1e308, 5]))
    seeds.append(u8(4) + u32(20) + u32(20) + doubles([-5, -5, 100, 100]))
    seeds.append(u8(4) + u32(0) + u32(20) + doubles([1, 1, 2, 2]))
    seeds.append(u8(5) + u32(40) + u32(40) + b"".join(u16(v) for v in (8, 8, 80, 80, 0xFFF0, 16, 64, 64)))
    seeds.append(u8(0) + u32(10) + u32(10))  # no vertices
    return seeds


def ops_seeds() -> list[bytes]:
    # flags, p0..p7, h, w, counts (one byte each): see fuzz_ops.cpp.
    seeds = []
    shapes = [(0, 4), (4, 0), (1, 1), (1, 9), (9, 1), (7, 5), (16, 16), (24, 20), (40, 3)]
    for k, (h, w) in enumerate(shapes):
        total = h * w
        rng = (k * 7919 + 13) % 251
        counts = []
        left = total
        while left > 0 and len(counts) < 120:
            c = 1 + (rng * (len(counts) + 3)) % max(1, min(left, 9))
            counts.append(min(c, left))
            left -= counts[-1]
        for flags in (0, 1 | 2, 4, 8 | 2, 16):
            params = bytes([(k * 5 + flags) % 256, 3 + k, 1, 2, 5, 4, 9 + k, 7 + flags])
            seeds.append(u8(flags) + params + u8(h) + u8(w) + bytes(min(c, 255) for c in counts))
    # a checkerboard column pattern and zero-length runs
    seeds.append(u8(2) + bytes(8) + u8(6) + u8(6) + bytes([1] * 36))
    seeds.append(u8(0) + bytes([2, 5, 0, 0, 3, 3, 6, 6]) + u8(5) + u8(5) + bytes([3, 0, 2, 0, 0, 4, 1, 0, 6]))
    return seeds


def rings_seeds() -> list[bytes]:
    # flags, h (u16), w (u16), coordinates: see fuzz_rings.cpp.
    seeds = []
    square = [1, 1, 5, 1, 5, 4, 1, 4]
    hole = [2, 2, 2, 3, 3, 3, 3, 2]
    for flags in (1, 1 | 4, 1 | 16, 1 | 4 | 16):
        seeds.append(u8(flags) + u16(6) + u16(7) + bytes((v * 4) & 0xFF for v in square + hole))
    for flags in (0, 3, 3 | 32):
        seeds.append(u8(flags) + u16(9) + u16(11) + b"".join(f64(v) for v in [0.5, 0.25, 8.75, 1.5, 3.3, 7.9, -2, 4, 12.5, 6.5]))
    seeds.append(u8(2) + u16(40) + u16(30) + b"".join(u16(v * 64) for v in [3, 3, 25, 3, 25, 35, 3, 35, 10, 10, 18, 10, 18, 20]))
    return seeds


def main() -> None:
    sets = {
        "fuzz_coco_string": coco_seeds(),
        "fuzz_counts": counts_seeds(),
        "fuzz_decode": decode_seeds(),
        "fuzz_fal": fal_seeds(),
        "fuzz_polygon": polygon_seeds(),
        "fuzz_ops": ops_seeds(),
        "fuzz_rings": rings_seeds(),
    }
    for name, seeds in sets.items():
        folder = HERE / "corpus" / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for seed in seeds:
            (folder / hashlib.sha1(seed).hexdigest()[:16]).write_bytes(seed)
        print(f"{name}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
