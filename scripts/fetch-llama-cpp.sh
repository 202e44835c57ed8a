#!/usr/bin/env bash
# Prints the path of a llama.cpp source tree at the pinned version, fetching it when needed.
#   1. $LLAMA_CPP_DIR when set (the user's own checkout; a warning when it is not the pinned version)
#   2. the cached clone under ${GGUF_LENS_CACHE:-~/.cache/gguf-lens}/llama.cpp-<tag>
#   3. otherwise: `npm pack node-llama-cpp@<version>` and `git clone` of its llama/gitRelease.bundle
# Idempotent, and offline once the cache is there. Progress goes to stderr; stdout is the path only.
set -euo pipefail

NODE_LLAMA_CPP_VERSION=3.22.1
PINNED_TAG=v0.5.0            # llama/llama.cpp.info.json of node-llama-cpp@3.22.1
PINNED_COMMIT=de3ff81        # the bundle's one (squashed) commit
cache="${GGUF_LENS_CACHE:-$HOME/.cache/gguf-lens}"

case "${1:-}" in
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --pinned-tag) echo "$PINNED_TAG"; exit 0 ;;
esac

if [ -n "${LLAMA_CPP_DIR:-}" ]; then
    if [ ! -f "$LLAMA_CPP_DIR/include/llama.h" ]; then
        echo "fetch-llama-cpp: LLAMA_CPP_DIR=$LLAMA_CPP_DIR is not a llama.cpp checkout (no include/llama.h)" >&2
        exit 1
    fi
    head=$(git -C "$LLAMA_CPP_DIR" rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
    if [ "$head" != "$PINNED_COMMIT" ]; then
        echo "fetch-llama-cpp: note: LLAMA_CPP_DIR is at $head, not the pinned $PINNED_TAG ($PINNED_COMMIT); the build may differ from the tested one" >&2
    fi
    (cd "$LLAMA_CPP_DIR" && pwd)
    exit 0
fi

dest="$cache/llama.cpp-$PINNED_TAG"
if [ -f "$dest/include/llama.h" ] && [ -f "$dest/.gguf-lens-complete" ]; then
    echo "$dest"
    exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "fetch-llama-cpp: downloading node-llama-cpp@$NODE_LLAMA_CPP_VERSION (llama.cpp $PINNED_TAG) ..." >&2
(cd "$work" && npm pack --silent "node-llama-cpp@$NODE_LLAMA_CPP_VERSION" >/dev/null) || {
    echo "fetch-llama-cpp: npm pack node-llama-cpp@$NODE_LLAMA_CPP_VERSION failed (offline?); set LLAMA_CPP_DIR to a llama.cpp checkout instead" >&2
    exit 1
}
tar -xzf "$work"/node-llama-cpp-*.tgz -C "$work" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json
tag=$(sed -n 's/.*"tag": *"\([^"]*\)".*/\1/p' "$work/package/llama/llama.cpp.info.json")
if [ "$tag" != "$PINNED_TAG" ]; then
    echo "fetch-llama-cpp: node-llama-cpp@$NODE_LLAMA_CPP_VERSION names llama.cpp $tag, expected $PINNED_TAG" >&2
    exit 1
fi
rm -rf "$dest.partial"
git clone -q "$work/package/llama/gitRelease.bundle" "$dest.partial" 2>/dev/null
git -C "$dest.partial" -c advice.detachedHead=false checkout -q HEAD
rm -rf "$dest"
mv "$dest.partial" "$dest"
touch "$dest/.gguf-lens-complete"
echo "fetch-llama-cpp: llama.cpp $PINNED_TAG at $dest" >&2
echo "$dest"
