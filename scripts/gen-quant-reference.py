#!/usr/bin/env python3
"""Reference data for the dev.gguflens.quant tests, produced by gguf-py of the pinned llama.cpp.

For every type the Java kernels support:
  <TYPE>.blocks.raw   random raw blocks (little-endian, as in a GGUF file) with edge-case scales
  <TYPE>.dequant.f32  gguf.quants.dequantize of those blocks, float32 little-endian
For every type gguf-py can quantise (and gguf-lens' Quantizer implements):
  <TYPE>.input.f32    float32 inputs (rows of 256 values, edge cases included)
  <TYPE>.quant.raw    gguf.quants.quantize of those inputs
Random bytes are free except for the floating scale fields, which are drawn from a list of edge cases
(+-0, f16 max/min normal/min subnormal, subnormals, ordinary values) so that the output is NaN/Inf-free.
Usage: PYTHONPATH=<llama.cpp>/gguf-py scripts/gen-quant-reference.py [output-dir]
"""
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else
           Path(__file__).resolve().parent.parent / "src/test/resources/quant-reference")
rng = np.random.default_rng(20240611)

# byte offsets of the f16 scale fields inside one block (IQ1_M's scale is scattered, handled apart)
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
    T.IQ4_NL: [0], T.IQ4_XS: [0], T.IQ2_XXS: [0], T.IQ2_XS: [0], T.IQ2_S: [0], T.IQ3_XXS: [0],
    T.IQ3_S: [0], T.IQ1_S: [0], T.IQ1_M: [], T.TQ1_0: [52], T.TQ2_0: [64], T.MXFP4: [],
}
EDGE_F16 = [0x0000, 0x8000, 0x7BFF, 0xFBFF, 0x0400, 0x8400, 0x0001, 0x8001, 0x03FF, 0x0200, 0x3C00, 0xBC00]


def f16_scale_bits(n):
    """n f16 bit patterns: edge cases first, then finite random ones (no exponent 31 = Inf/NaN)."""
    out = list(EDGE_F16[:n])
    while len(out) < n:
        if rng.random() < 0.5:
            out.append(int(np.float16(rng.normal() * 0.02).view(np.uint16)))
        else:
            bits = int(rng.integers(0, 1 << 16))
            if (bits >> 10) & 0x1F != 0x1F:
                out.append(bits)
    rng.shuffle(out)
    return out


def raw_blocks(qtype, n_blocks):
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    data = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for off in F16_FIELDS[qtype]:
        bits = f16_scale_bits(n_blocks)
        data[:, off] = [b & 0xFF for b in bits]
        data[:, off + 1] = [b >> 8 for b in bits]
    if qtype == T.IQ1_M:  # f16 scale = top nibbles of the four u16 scale words at bytes 48..55
        for i, bits in enumerate(f16_scale_bits(n_blocks)):
            for k in range(4):
                hi = 49 + 2 * k
                data[i, hi] = (data[i, hi] & 0x0F) | (((bits >> (4 * k)) & 0xF) << 4)
    if n_blocks > 2:  # an all-zero block and an all-ones block (extreme quant indices)
        data[-1, :] = 0
        data[-2, :] = 0xFF
        for off in F16_FIELDS[qtype]:
            data[-2, off:off + 2] = [0x00, 0x3C]  # 1.0
        if qtype == T.IQ1_M:
            data[-2, 48:56] = 0x0F | 0x30  # scale nibbles 0x3333 -> f16 0.2249
    if qtype == T.MXFP4:  # e8m0 exponent byte: both subnormal cases, 1.0, and the largest without overflow
        data[:, 0] %= 251
        data[:5, 0] = [0, 1, 2, 128, 250]
    return data


def scalar_values(qtype, n):
    if qtype == T.F32:
        v = np.concatenate([np.array([0.0, -0.0, 1e-45, -1e-45, 3.4028235e38, -3.4028235e38, 1.1754944e-38],
                                     dtype=np.float32), rng.normal(size=n - 7).astype(np.float32)])
        return v.view(np.uint8)
    bits = rng.integers(0, 1 << 16, size=n).astype(np.uint16)
    if qtype == T.F16:
        bits[(bits >> 10 & 0x1F) == 0x1F] &= 0xBFFF  # exponent 31 (Inf/NaN) -> 15
        bits[:len(EDGE_F16)] = EDGE_F16
    else:  # BF16
        bits[(bits >> 7 & 0xFF) == 0xFF] &= 0xBFFF
        bits[:6] = [0x0000, 0x8000, 0x0001, 0x8001, 0x7F7F, 0x0080]
    return bits.view(np.uint8)


def quant_inputs(rows, cols=256):
    x = (rng.normal(size=(rows, cols)) * rng.choice([1e-3, 0.05, 1.0, 300.0], size=(rows, 1))).astype(np.float32)
    x[0, :] = 0.0                                       # all-zero row: scale 0, id 0
    x[1, :] = 0.75                                      # all-equal row
    x[2, :32] = -np.arange(32, dtype=np.float32)        # negative extreme, exact half-way points
    x[2, 32:64] = np.arange(32, dtype=np.float32) / 2
    x[3, :] = rng.normal(size=cols).astype(np.float32) * 1e-30  # tiny (subnormal ones would make 1/d overflow: UB in C)
    x[4, :] = rng.integers(-8, 8, size=cols).astype(np.float32) + 0.5  # ties
    x[5, :128] = np.float32(-0.0)
    return x


def write(name, arr):
    (OUT / name).write_bytes(np.ascontiguousarray(arr).tobytes())


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    total = 0
    for qtype in [T.F32, T.F16, T.BF16]:
        raw = scalar_values(qtype, 512)
        deq = quants.dequantize(raw.view(np.float32) if qtype == T.F32 else raw, qtype).astype(np.float32)
        write(f"{qtype.name}.blocks.raw", raw)
        write(f"{qtype.name}.dequant.f32", deq.astype("<f4"))
        total += raw.nbytes + deq.nbytes
    for qtype in F16_FIELDS:
        block_size, _ = GGML_QUANT_SIZES[qtype]
        n_blocks = 48 if block_size == 32 else 10
        raw = raw_blocks(qtype, n_blocks)
        deq = quants.dequantize(raw, qtype)
        assert deq.dtype == np.float32 and np.isfinite(deq).all(), qtype.name
        write(f"{qtype.name}.blocks.raw", raw)
        write(f"{qtype.name}.dequant.f32", deq.astype("<f4"))
        total += raw.nbytes + deq.nbytes
    for qtype in [T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.TQ1_0, T.TQ2_0]:
        x = quant_inputs(12)
        q = quants.quantize(x, qtype)
        write(f"{qtype.name}.input.f32", x.astype("<f4"))
        write(f"{qtype.name}.quant.raw", q.view(np.uint8))
        total += x.nbytes + q.nbytes
    print(f"wrote {total} bytes to {OUT}")


main()
