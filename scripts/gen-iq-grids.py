#!/usr/bin/env python3
"""Extracts the i-quant codebook grids (numeric tables, i.e. facts) from ggml-common.h of the pinned
llama.cpp into one binary resource read by dev.gguflens.quant.IqGrids.

Layout of the output (all little-endian, tables back to back in this order, each entry expanded to its
bytes exactly as ggml stores it in memory):
  iq2xxs_grid  256 x uint64 -> 2048 bytes     iq2xs_grid 512 x uint64 -> 4096 bytes
  iq2s_grid   1024 x uint64 -> 8192 bytes     iq3xxs_grid 256 x uint32 -> 1024 bytes
  iq3s_grid    512 x uint32 -> 2048 bytes     iq1s_grid 2048 x uint64 -> 16384 bytes
Usage: scripts/gen-iq-grids.py [path/to/ggml-common.h] [output]
"""
import re
import struct
import sys
from pathlib import Path

TABLES = [("uint64_t", "iq2xxs_grid", 256), ("uint64_t", "iq2xs_grid", 512), ("uint64_t", "iq2s_grid", 1024),
          ("uint32_t", "iq3xxs_grid", 256), ("uint32_t", "iq3s_grid", 512), ("uint64_t", "iq1s_grid", 2048)]

header = Path(sys.argv[1] if len(sys.argv) > 1 else
              Path.home() / ".cache/gguf-lens/llama.cpp-v0.5.0/ggml/src/ggml-common.h").read_text()
out = Path(sys.argv[2] if len(sys.argv) > 2 else
           Path(__file__).resolve().parent.parent / "src/main/resources/dev/gguflens/quant/iq-grids.raw")

blob = bytearray()
for ctype, name, count in TABLES:
    m = re.search(r"GGML_TABLE_BEGIN\(" + ctype + r",\s*" + name + r",\s*\w+\)(.*?)GGML_TABLE_END", header, re.S)
    if not m:
        sys.exit(f"{name}: table not found in header")
    values = [int(v, 16) for v in re.findall(r"0x[0-9a-fA-F]+", m.group(1))]
    if len(values) != count:
        sys.exit(f"{name}: expected {count} entries, found {len(values)}")
    blob += struct.pack("<" + ("Q" if ctype == "uint64_t" else "I") * count, *values)
out.write_bytes(bytes(blob))
print(f"wrote {len(blob)} bytes to {out}")
