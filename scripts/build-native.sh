#!/usr/bin/env bash
# Builds the gguf-lens native folder (the JNI shim + llama.cpp + ggml and its backend modules) and caches it.
#   scripts/build-native.sh [--install-into DIR] [--cuda] [--cuda-arch LIST] [--no-metal] [--cpu-variants] [--portable]
#     --install-into DIR  copy the folder to DIR/native/<os>-<arch>/ (what the jar carries)
#     --cuda              also build ggml's CUDA backend module (needs the CUDA toolkit with cuBLAS)
#     --cuda-arch LIST    CUDA architectures (CMake list, e.g. 89 or "86-real;90-real"); default: the visible
#                         GPUs' (nvidia-smi), else the portable list 75-virtual;80-virtual;86-real;89-real;90-virtual
#     --no-metal          (macOS) no Metal backend module
#     --cpu-variants      every CPU variant ggml has for this architecture (GGML_CPU_ALL_VARIANTS; implies
#                         --portable): the best one for the running CPU is loaded; many minutes more to build
#     --portable          not tuned to this CPU: on x86-64 ggml's baseline (AVX2, FMA, F16C, BMI2: CPUs from
#                         2013 on), on arm64 the compiler's default; for any x86-64 CPU use --cpu-variants
#   Environment (for Maven builds, which call this script): GGUFLENS_CUDA=ON, GGUFLENS_CUDA_ARCH=LIST,
#   GGUFLENS_METAL=OFF, GGUFLENS_CPU_VARIANTS=ON, GGUFLENS_PORTABLE=ON, MACOSX_DEPLOYMENT_TARGET (default 13.3).
# The folder: libgguflens, libllama, libggml, libggml-base, the modules libggml-<backend>[-<variant>].so
# (cpu, rpc, cuda, metal, blas), rpc-server, and files.txt (sha256, size and name of each, which
# NativeLibrary reads). Every file finds its neighbours through rpath $ORIGIN / @loader_path, so the folder
# can be copied anywhere, e.g. to another machine with the same OS and architecture.
# The folder lands in ${GGUF_LENS_CACHE:-~/.cache/gguf-lens}/native/<key>/, key = hash of the llama.cpp
# commit, native/ sources, the JNI class (llama/Native.java), this script, the options and OS/arch (and the
# CPU's features for native builds); a cached folder is reused as is. The CMake build tree is shared by every
# key with the same llama.cpp, options and native/CMakeLists.txt (a CMake change gets a tree of its own, so
# checkouts with different CMake files never reconfigure each other's tree), so a change to the shim recompiles
# only the shim. The shim includes the header `javac -h` writes for llama/Native.java: a Java/C signature
# mismatch fails the build. Without --install-into it prints the path of libgguflens in the cached folder.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
install_into=""
cuda=$([ "${GGUFLENS_CUDA:-OFF}" = ON ] && echo ON || echo OFF)
cuda_arch="${GGUFLENS_CUDA_ARCH:-}"
metal=$([ "${GGUFLENS_METAL:-ON}" = OFF ] && echo OFF || echo ON)
cpu_variants=$([ "${GGUFLENS_CPU_VARIANTS:-OFF}" = ON ] && echo ON || echo OFF)
native=$([ "${GGUFLENS_PORTABLE:-OFF}" = ON ] && echo OFF || echo ON)
while [ $# -gt 0 ]; do
    case "$1" in
        --install-into) install_into="${2:?--install-into needs a directory}"; shift 2 ;;
        --cuda) cuda=ON; shift ;;
        --cuda-arch) cuda_arch="${2:?--cuda-arch needs a list such as 89 or 86-real;90-real}"; shift 2 ;;
        --no-metal) metal=OFF; shift ;;
        --cpu-variants) cpu_variants=ON; shift ;;
        --portable) native=OFF; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "build-native: unknown option '$1' (expected --install-into DIR, --cuda, --cuda-arch LIST, --no-metal, --cpu-variants, --portable)" >&2; exit 2 ;;
    esac
done
# ggml builds each variant for its own instruction set; -march=native would override them all.
[ "$cpu_variants" = ON ] && native=OFF

case "$(uname -s)" in
    Linux) os=linux; ext=so ;;
    Darwin) os=macos; ext=dylib ;;
    *) echo "build-native: unsupported OS $(uname -s) (Linux and macOS are supported)" >&2; exit 1 ;;
esac
# Java's os.arch says aarch64 on Apple Silicon too (uname says arm64): one name for both.
case "$(uname -m)" in
    x86_64|amd64) arch=x86_64 ;;
    arm64|aarch64) arch=aarch64 ;;
    *) arch=$(uname -m) ;;
esac
[ "$os" = macos ] || metal=OFF
osx_target=""
[ "$os" = macos ] && osx_target="${MACOSX_DEPLOYMENT_TARGET:-13.3}"

if [ "$cuda" = ON ]; then
    # ggml's CUDA module links cuBLAS; a toolkit without it stops CMake late with a less direct message.
    nvcc_bin=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
    cuda_home=$(cd "$(dirname "$(readlink -f "$nvcc_bin")")/.." 2>/dev/null && pwd || echo /usr/local/cuda)
    if ! ls "$cuda_home"/include/cublas_v2.h "$cuda_home"/targets/*/include/cublas_v2.h >/dev/null 2>&1; then
        echo "build-native: warning: no cublas_v2.h under $cuda_home: ggml's CUDA module needs cuBLAS (a full CUDA toolkit install)" >&2
    fi
fi
if [ "$cuda" = ON ] && [ -z "$cuda_arch" ]; then
    # The visible GPUs' compute capabilities (9.0 -> 90); without one, ggml's "native" cannot configure.
    gpu_arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | tr -d '. ' | sort -u | paste -sd';' - || true)
    if [[ "$gpu_arch" =~ ^[0-9]+(\;[0-9]+)*$ ]]; then
        cuda_arch="$gpu_arch"
    else
        cuda_arch="75-virtual;80-virtual;86-real;89-real;90-virtual"
    fi
fi

sha() { if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -c1-16; else shasum -a 256 | cut -c1-16; fi; }
file_sha() { if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi; }
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
# ggml refuses GGML_NATIVE with dynamic backends on x86 (the module's feature check needs explicit flags), so
# a build for this CPU turns on exactly the instruction sets /proc/cpuinfo (or sysctl) reports instead.
cpu_flags=()
ggml_native=$native
if [ "$arch" = x86_64 ]; then
    ggml_native=OFF
    if [ "$native" = ON ]; then
        have=$( (grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || sysctl -n machdep.cpu.features machdep.cpu.leaf7_features 2>/dev/null) |
            tr 'A-Z' 'a-z' | tr -d '_.' | tr ' \t' '\n\n')
        for pair in sse42:SSE42 avx:AVX avx2:AVX2 bmi2:BMI2 fma:FMA f16c:F16C avxvnni:AVX_VNNI avx512f:AVX512 \
                    avx512vbmi:AVX512_VBMI avx512vnni:AVX512_VNNI avx512bf16:AVX512_BF16 amxtile:AMX_TILE \
                    amxint8:AMX_INT8 amxbf16:AMX_BF16; do
            if printf '%s\n' "$have" | grep -qxF "${pair%%:*}"; then cpu_flags+=("-DGGML_${pair#*:}=ON"); else cpu_flags+=("-DGGML_${pair#*:}=OFF"); fi
        done
    fi
fi
options="cuda=$cuda cuda_arch=${cuda_arch:-none} metal=$metal cpu_variants=$cpu_variants native=$native os=$os arch=$arch osx=${osx_target:-none} cpu=$cpu_features"
# GGUFLENS_CMAKE_ARGS: extra ggml options for special builds (scripts/gpu-check.sh uses it).
[ -n "${GGUFLENS_CMAKE_ARGS:-}" ] && options="$options cmake_args=$GGUFLENS_CMAKE_ARGS"
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
        # The JDK that gives jni.h and compiles Native.java for its header (javac -h): Maven passes the JDK 25 its toolchain
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
        "$java_home/bin/javac" -h "$src_copy/jni" -d "$javac_out" -implicit:none \
            -sourcepath "$root/src/main/java" "$root/$jni_class" >&2
        rm -rf "$javac_out"
        [ -f "$src_copy/jni/dev_gguflens_llama_Native.h" ] ||
            { echo "build-native: javac -h wrote no dev_gguflens_llama_Native.h" >&2; exit 1; }
        if [ -f "$build_dir/CMakeCache.txt" ] &&
            ! grep -qxF "CMAKE_HOME_DIRECTORY:INTERNAL=$src_copy" "$build_dir/CMakeCache.txt"; then
            rm -rf "$build_dir"   # made from another source path (older layout): start it afresh
            mkdir -p "$build_dir"
        fi
        [ -f "$build_dir/CMakeCache.txt" ] && generator=()   # keep the generator the tree was made with
        extra=()
        [ -n "$osx_target" ] && extra+=("-DCMAKE_OSX_DEPLOYMENT_TARGET=$osx_target")
        [ "$cuda" = ON ] && extra+=("-DGGUFLENS_CUDA_ARCHITECTURES=$cuda_arch")
        read -r -a user_args <<< "${GGUFLENS_CMAKE_ARGS:-}"
        # ${a[@]+"${a[@]}"}: an empty array under set -u, for macOS's bash 3.2.
        JAVA_HOME="$java_home" cmake ${generator[@]+"${generator[@]}"} -S "$src_copy" -B "$build_dir" \
            -DCMAKE_BUILD_TYPE=Release -DLLAMA_CPP_DIR="$llama_dir" -DJAVA_HOME="$java_home" \
            -DGGUFLENS_JNI_HEADER_DIR="$src_copy/jni" \
            -DGGUFLENS_CUDA="$cuda" -DGGUFLENS_METAL="$metal" -DGGUFLENS_CPU_VARIANTS="$cpu_variants" \
            -DGGML_NATIVE="$ggml_native" ${cpu_flags[@]+"${cpu_flags[@]}"} ${extra[@]+"${extra[@]}"} ${user_args[@]+"${user_args[@]}"} >&2
        cmake --build "$build_dir" --config Release --target gguflens rpc-server -j"$(cpus)" >&2
        bin="$build_dir/bin"
        built="$bin/libgguflens.$ext"
        [ -f "$built" ] || { echo "build-native: the build produced no libgguflens.$ext" >&2; exit 1; }
        # A native method that Native.java declares but the shim never defines links fine and fails only
        # when called: compare the header's entry points with the library's exported symbols.
        exported=$( (nm -D --defined-only "$built" 2>/dev/null || nm -gU "$built") | awk '{ sub(/^_/, "", $NF); print $NF }')
        missing=$(grep -o 'Java_dev_gguflens_llama_Native_[A-Za-z0-9_]*' "$src_copy/jni/dev_gguflens_llama_Native.h" |
            LC_ALL=C sort -u | while read -r fn; do printf '%s\n' "$exported" | grep -qxF "$fn" || echo "$fn"; done)
        [ -z "$missing" ] || { echo "build-native: Native.java declares methods the shim does not define: $missing" >&2; exit 1; }
        staging="$out_dir.partial"
        rm -rf "$staging"
        mkdir -p "$staging"
        # The shim, llama, ggml, ggml-base and every backend module the configuration built (stale modules of
        # an earlier configuration of this tree cannot be here: the tree's key includes the configuration).
        for f in "$bin"/lib*."$ext" "$bin"/libggml-*.so "$bin/rpc-server"; do
            [ -f "$f" ] && cp "$f" "$staging/"
        done
        listing=$(cd "$staging" && for f in $(ls | LC_ALL=C sort); do
            printf '%s %s %s\n' "$(file_sha "$f")" "$(wc -c < "$f" | tr -d ' ')" "$f"
        done)
        printf '%s\n' "$listing" > "$staging/files.txt"
        echo "$options llama.cpp=$llama_rev sources=$sources_sha" > "$staging/complete"
        rm -rf "$out_dir"
        mv "$staging" "$out_dir"
    fi
fi

if [ -n "$install_into" ]; then
    dest="$install_into/native/$os-$arch"
    rm -rf "$dest"
    mkdir -p "$dest"
    while read -r _ _ name; do cp "$out_dir/$name" "$dest/$name"; done < "$out_dir/files.txt"
    cp "$out_dir/files.txt" "$dest/files.txt"
else
    echo "$lib"
fi
