#!/usr/bin/env bash
# Writes a random-weight model with Qwen3-8B's exact shapes and metadata as Q4_K_M (~4.7 GiB), for measuring
# the probe's speed and memory at full size without downloading weights:
#   scripts/make-qwen3-8b-shaped.sh [OUT.gguf] [--blocks N] [--seed N]
# Default OUT: models/qwen3-8b-shaped-Q4_K_M.gguf (git-ignored). qwen3, 36 blocks, n_embd 4096, n_ff 12288,
# 32 heads, 8 KV heads, head dim 128, untied output.weight, the pinned llama.cpp tree's Qwen2 BPE tokenizer
# (151936 tokens, Qwen3's vocabulary size). Types follow llama.cpp's Q4_K_M: Q6_K for output.weight and for
# attn_v/ffn_down in blocks 0-3, 6, 9, ..., 30 and 31-35; Q4_K for every other matrix; F32 norms. The quantised
# blocks are generated while the file is written (`gguf-lens make-shaped-model`, a hidden subcommand so this
# script reuses bin/gguf-lens's build and JDK discovery): no F16 intermediate (16 GB) and ~100 MB of memory.
# Weights have standard deviation 1/sqrt(fan-in), embeddings 1, so activations stay finite through 36 blocks.
# Takes about a minute (disk-bound). Never commit the file.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-}" in
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
out="$root/models/qwen3-8b-shaped-Q4_K_M.gguf"
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    out="$1"
    shift
fi
llama_cpp=$("$root/scripts/fetch-llama-cpp.sh")
vocab="$llama_cpp/models/ggml-vocab-qwen2.gguf"
[ -f "$vocab" ] || { echo "make-qwen3-8b-shaped: no tokenizer at $vocab" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
"$root/bin/gguf-lens" make-shaped-model "$out" --vocab "$vocab" "$@"
chmod a+r "$out"   # written as a private temporary file, then renamed
