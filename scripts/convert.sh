#!/usr/bin/env bash
# Converts a Hugging Face checkpoint directory to GGUF with the pinned llama.cpp's convert_hf_to_gguf.py,
# then optionally quantises it with gguf-lens (llama.cpp's own quantiser through the binding).
#
# Usage: scripts/convert.sh [--outtype f16|bf16|f32] [--quantize TYPE[,TYPE...]] [--name NAME] SOURCE OUT_DIR
#   SOURCE   a Hugging Face checkpoint directory (config.json, *.safetensors or *.bin, tokenizer files),
#            or an existing .gguf file: then only the quantisation stage runs
#   OUT_DIR  receives NAME-F16.gguf (or -BF16/-F32) and NAME-TYPE.gguf for each --quantize type
#   --outtype    float type of the converted file (default f16)
#   --quantize   e.g. Q8_0,Q6_K,Q5_K_M,Q4_K_M,Q3_K_M,Q2_K (see 'gguf-lens quantize --help')
#   --name       file name stem (default: the SOURCE directory's / file's name)
#
# Conversion needs Python 3 with torch, numpy, sentencepiece and transformers (pip install torch numpy
# sentencepiece transformers protobuf; llama.cpp pins versions in requirements/requirements-convert_hf_to_gguf.txt)
# and gguf-py, which is taken from the llama.cpp tree through PYTHONPATH. Environment:
#   PYTHON         the Python interpreter (default python3)
#   LLAMA_CPP_DIR  a llama.cpp checkout (default: the pinned tree from scripts/fetch-llama-cpp.sh)
#   GGUF_LENS      the command that runs gguf-lens (default: bin/gguf-lens of this checkout)
# Exit codes: 0 success, 1 failure (missing package, converter or quantiser error), 2 invalid usage.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '5,13p' "$0" | sed 's/^# \{0,1\}//'; }
fail() { echo "convert.sh: $*" >&2; exit 1; }
usage_error() { echo "convert.sh: $*" >&2; echo "Try 'scripts/convert.sh --help'." >&2; exit 2; }

outtype=f16
quantize=""
name=""
positional=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --outtype) [ $# -ge 2 ] || usage_error "--outtype needs a value (f16, bf16 or f32)"; outtype="$2"; shift 2 ;;
        --outtype=*) outtype="${1#*=}"; shift ;;
        --quantize) [ $# -ge 2 ] || usage_error "--quantize needs a list of types, e.g. Q8_0,Q4_K_M"; quantize="$2"; shift 2 ;;
        --quantize=*) quantize="${1#*=}"; shift ;;
        --name) [ $# -ge 2 ] || usage_error "--name needs a value"; name="$2"; shift 2 ;;
        --name=*) name="${1#*=}"; shift ;;
        --) shift; positional+=("$@"); break ;;
        -*) usage_error "unknown option '$1'" ;;
        *) positional+=("$1"); shift ;;
    esac
done
[ ${#positional[@]} -eq 2 ] || usage_error "expected SOURCE and OUT_DIR, got ${#positional[@]} argument(s)"
source_path="${positional[0]}"
out_dir="${positional[1]}"
case "$outtype" in
    f16|bf16|f32) ;;
    *) usage_error "--outtype '$outtype' must be f16, bf16 or f32" ;;
esac
if [ -n "$quantize" ] && ! [[ "$quantize" =~ ^[A-Za-z0-9_]+(,[A-Za-z0-9_]+)*$ ]]; then
    usage_error "--quantize '$quantize' must be a comma-separated list of types such as Q8_0,Q4_K_M"
fi
[ -e "$source_path" ] || usage_error "SOURCE '$source_path' does not exist"

if [ -f "$source_path" ]; then
    case "$source_path" in
        *.gguf|*.GGUF) ;;
        *) usage_error "SOURCE '$source_path' is a file but not a .gguf (give a checkpoint directory or a GGUF)" ;;
    esac
    [ -n "$quantize" ] || usage_error "SOURCE is already a GGUF and no --quantize types were given: nothing to do"
    if [ -z "$name" ]; then
        name="$(basename "$source_path")"
        name="${name%.gguf}"
        name="${name%.GGUF}"
    fi
    converted="$source_path"
else
    [ -f "$source_path/config.json" ] || usage_error "SOURCE '$source_path' is not a Hugging Face checkpoint (no config.json)"
    [ -n "$name" ] || name="$(basename "$(cd "$source_path" && pwd)")"
fi
mkdir -p "$out_dir" || fail "cannot create OUT_DIR '$out_dir'"

if [ -d "$source_path" ]; then
    python="${PYTHON:-python3}"
    command -v "$python" >/dev/null 2>&1 || fail "Python interpreter '$python' not found (set PYTHON to a Python 3 with torch, numpy, sentencepiece, transformers)"
    if [ -n "${LLAMA_CPP_DIR:-}" ]; then
        tree="$LLAMA_CPP_DIR"
    else
        tree="$("$root/scripts/fetch-llama-cpp.sh")" || fail "no llama.cpp tree (scripts/fetch-llama-cpp.sh failed; set LLAMA_CPP_DIR)"
    fi
    [ -f "$tree/convert_hf_to_gguf.py" ] || fail "$tree has no convert_hf_to_gguf.py (is LLAMA_CPP_DIR a llama.cpp checkout?)"
    [ -d "$tree/gguf-py/gguf" ] || fail "$tree has no gguf-py/gguf"
    missing="$(PYTHONPATH="$tree/gguf-py${PYTHONPATH:+:$PYTHONPATH}" "$python" -c '
import importlib.util, sys
print(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))
' torch numpy sentencepiece transformers gguf 2>/dev/null)" || fail "'$python' could not run a Python check (is it Python 3?)"
    if [ -n "$missing" ]; then
        fail "Python packages missing for $python: $missing (install with: $python -m pip install ${missing/gguf/} ; gguf comes from $tree/gguf-py)"
    fi
    upper="$(echo "$outtype" | tr '[:lower:]' '[:upper:]')"
    converted="$out_dir/$name-$upper.gguf"
    partial="$out_dir/.$name-$upper.gguf.partial"
    trap 'rm -f "$partial"' EXIT
    echo "convert.sh: converting $source_path to $converted ($outtype) ..." >&2
    PYTHONPATH="$tree/gguf-py${PYTHONPATH:+:$PYTHONPATH}" "$python" "$tree/convert_hf_to_gguf.py" \
        --outtype "$outtype" --outfile "$partial" "$source_path" >&2 || fail "convert_hf_to_gguf.py failed for $source_path"
    mv -f "$partial" "$converted"
    trap - EXIT
    echo "$converted"
fi

if [ -n "$quantize" ]; then
    if [ -n "${GGUF_LENS:-}" ]; then
        read -r -a tool <<< "$GGUF_LENS"
    else
        tool=("$root/bin/gguf-lens")
    fi
    IFS=',' read -r -a types <<< "$quantize"
    for type in "${types[@]}"; do
        upper="$(echo "$type" | tr '[:lower:]' '[:upper:]')"
        target="$out_dir/$name-$upper.gguf"
        echo "convert.sh: quantising to $upper -> $target ..." >&2
        "${tool[@]}" quantize -q "$converted" "$target" "$upper" || fail "quantisation to $upper failed"
        echo "$target"
    done
fi
