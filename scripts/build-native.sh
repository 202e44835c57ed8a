#!/usr/bin/env bash
# Builds the gguf-lens JNI library (llama.cpp + ggml linked statically) and caches it.
#   scripts/build-native.sh [--install-into DIR] [--cuda] [--portable]
#     --install-into DIR  copy the library to DIR/native/<os>-<arch>/libgguflens.<so|dylib>
#     --cuda              build the CUDA backend in (GGML_CUDA)
#     --portable          no -march=native (GGML_NATIVE OFF): a library that runs on any CPU of this arch
#   Environment (for Maven builds, which call this script): GGUFLENS_CUDA=ON, GGUFLENS_PORTABLE=ON.
# The library lands in ${GGUF_LENS_CACHE:-~/.cache/gguf-lens}/native/<key>/, key = hash of the llama.cpp
# commit, native/ sources, the JNI class (llama/Native.java), this script, the options and OS/arch (and the
# CPU's features for native builds); a cached library is reused as is. The CMake build tree is shared by every
# key with the same llama.cpp, options and native/CMakeLists.txt (a CMake change gets a tree of its own, so
# checkouts with different CMake files never reconfigure each other's tree), so a change to the shim recompiles
# only the shim. The shim includes the header `javac -h` writes for llama/Native.java: a Java/C signature
# mismatch fails the build. Without --install-into it prints the library's path.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
install_into=""
cuda=$([ "${GGUFLENS_CUDA:-OFF}" = ON ] && echo ON || echo OFF)
native=$([ "${GGUFLENS_PORTABLE:-OFF}" = ON ] && echo OFF || echo ON)
while [ $# -gt 0 ]; do
    case "$1" in
        --install-into) install_into="${2:?--install-into needs a directory}"; shift 2 ;;
        --cuda) cuda=ON; shift ;;
        --portable) native=OFF; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "build-native: unknown option '$1' (expected --install-into DIR, --cuda, --portable)" >&2; exit 2 ;;
    esac
done

case "$(uname -s)" in
    Linux) os=linux; ext=so ;;
    Darwin) os=macos; ext=dylib ;;
    *) echo "build-native: unsupported OS $(uname -s) (Linux and macOS are supported)" >&2; exit 1 ;;
esac
case "$(uname -m)" in
    x86_64|amd64) arch=x86_64 ;;
    arm64|aarch64) arch=aarch64 ;;
    *) arch=$(uname -m) ;;
esac

sha() { if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -c1-16; else shasum -a 256 | cut -c1-16; fi; }
cpus() { nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2; }

llama_dir=$(bash "$root/scripts/fetch-llama-cpp.sh")
llama_rev=$(git -C "$llama_dir" rev-parse HEAD 2>/dev/null || echo unknown)
# A user checkout may carry local edits: fold them into the key.
llama_dirty=$(git -C "$llama_dir" status --porcelain --untracked-files=no 2>/dev/null | sha || true)

# -march=native code depends on this machine's CPU, so its features are part of the key.
cpu_features=portable
if [ "$native" = ON ]; then
    if [ -r /proc/cpuinfo ]; then
        cpu_features=$(grep -m1 -E '^(flags|Features)' /proc/cpuinfo | sha)
    else
        cpu_features=$(sysctl -n machdep.cpu.brand_string hw.optional 2>/dev/null | sha || echo unknown)
    fi
fi
options="cuda=$cuda native=$native os=$os arch=$arch cpu=$cpu_features"
# Everything that changes the CMake configuration (rather than only the shim's source) picks the build tree.
cmake_sha=$(cat "$root/native/CMakeLists.txt" | sha)
build_key=$(printf '%s\n' "$llama_dir" "$llama_rev" "$llama_dirty" "$options" "$cmake_sha" | sha)
jni_class="src/main/java/dev/gguflens/llama/Native.java"
sources_sha=$(cd "$root" && find native -type f ! -name '*.md' | LC_ALL=C sort | xargs cat scripts/build-native.sh "$jni_class" | sha)
key=$(printf '%s\n' "$build_key" "$sources_sha" | sha)

cache="${GGUF_LENS_CACHE:-$HOME/.cache/gguf-lens}/native"
out_dir="$cache/$key"
lib="$out_dir/libgguflens.$ext"

if [ ! -f "$out_dir/complete" ]; then
    build_dir="$cache/build-$build_key"
    mkdir -p "$build_dir"
    # Two builds (e.g. parallel Maven runs) must not share the build tree at the same time.
    exec 9>"$build_dir.lock"
    if command -v flock >/dev/null 2>&1; then flock 9; fi
    if [ ! -f "$out_dir/complete" ]; then
        # The JDK that gives jni.h and compiles Native.java for its header: Maven passes the JDK 25 its toolchain
        # selected as TOOLCHAIN_JAVA_HOME (one JDK search, Maven's); run by hand, $JAVA_HOME or the javac on PATH.
        java_home="${TOOLCHAIN_JAVA_HOME:-${JAVA_HOME:-}}"
        if [ ! -f "$java_home/include/jni.h" ] && command -v javac >/dev/null 2>&1; then
            java_home=$(cd "$(dirname "$(readlink -f "$(command -v javac)" 2>/dev/null || command -v javac)")/.." && pwd)
        fi
        if [ ! -f "$java_home/include/jni.h" ]; then
            echo "build-native: no JDK with include/jni.h found (looked at \$TOOLCHAIN_JAVA_HOME, \$JAVA_HOME, javac on PATH); set JAVA_HOME to a JDK" >&2
            exit 1
        fi
        generator=()
        command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
        echo "build-native: building llama.cpp + JNI shim ($options) in $build_dir" >&2
        # CMake ties a build tree to one source path, but the tree is shared by every checkout (clones, CI,
        # worktrees): configure from a copy of native/ at a path fixed by the tree's own key.
        src_copy="$build_dir-src"
        rm -rf "$src_copy"
        cp -R "$root/native" "$src_copy"
        # The JNI declarations come from the Java class itself; the shim includes this header, so a
        # parameter or return type that differs between Native.java and gguflens_jni.cpp is a compile error.
        javac_out=$(mktemp -d)
        "$java_home/bin/javac" -h "$src_copy/src" -d "$javac_out" -implicit:none \
            -sourcepath "$root/src/main/java" "$root/$jni_class" >&2
        rm -rf "$javac_out"
        [ -f "$src_copy/src/dev_gguflens_llama_Native.h" ] ||
            { echo "build-native: javac -h wrote no dev_gguflens_llama_Native.h" >&2; exit 1; }
        if [ -f "$build_dir/CMakeCache.txt" ] &&
            ! grep -qxF "CMAKE_HOME_DIRECTORY:INTERNAL=$src_copy" "$build_dir/CMakeCache.txt"; then
            rm -rf "$build_dir"   # made from another source path (older layout): start it afresh
            mkdir -p "$build_dir"
        fi
        [ -f "$build_dir/CMakeCache.txt" ] && generator=()   # keep the generator the tree was made with
        JAVA_HOME="$java_home" cmake "${generator[@]}" -S "$src_copy" -B "$build_dir" \
            -DCMAKE_BUILD_TYPE=Release -DLLAMA_CPP_DIR="$llama_dir" -DJAVA_HOME="$java_home" \
            -DGGUFLENS_CUDA="$cuda" -DGGML_NATIVE="$native" >&2
        cmake --build "$build_dir" --config Release --target gguflens -j"$(cpus)" >&2
        built=$(find "$build_dir" -maxdepth 2 -name "libgguflens.$ext" -type f | head -n 1)
        [ -n "$built" ] || { echo "build-native: the build produced no libgguflens.$ext" >&2; exit 1; }
        # A native method that Native.java declares but the shim never defines links fine and fails only
        # when called: compare the header's entry points with the library's exported symbols.
        exported=$( (nm -D --defined-only "$built" 2>/dev/null || nm -gU "$built") | awk '{ sub(/^_/, "", $NF); print $NF }')
        missing=$(grep -o 'Java_dev_gguflens_llama_Native_[A-Za-z0-9_]*' "$src_copy/src/dev_gguflens_llama_Native.h" |
            LC_ALL=C sort -u | while read -r fn; do printf '%s\n' "$exported" | grep -qxF "$fn" || echo "$fn"; done)
        [ -z "$missing" ] || { echo "build-native: Native.java declares methods the shim does not define: $missing" >&2; exit 1; }
        mkdir -p "$out_dir"
        cp "$built" "$lib.partial"
        mv "$lib.partial" "$lib"
        echo "$options llama.cpp=$llama_rev sources=$sources_sha" > "$out_dir/complete"
    fi
fi

if [ -n "$install_into" ]; then
    dest="$install_into/native/$os-$arch"
    mkdir -p "$dest"
    cp "$lib" "$dest/libgguflens.$ext"
else
    echo "$lib"
fi
