#!/usr/bin/env bash
# The GPU check: one script for a fresh machine with an NVIDIA GPU, meant to finish in under 10 minutes on 16
# cores, build included. It
#   1. builds the native folder with the CUDA backend for the visible GPU's architecture only, with ggml's
#      flash-attention CUDA kernels off (GGML_CUDA_FA=OFF: their ~80 template instances are most of a CUDA
#      build; llama.cpp then runs attention without flash attention on the GPU) and NCCL off;
#   2. runs the probe, compare and binding consistency tests on the random-weight models twice, with
#      -ngl 0 (the CPU) and -ngl 99 (every layer on the GPU): ProbeReferenceTest (the probe against a
#      double-precision lens and llama.cpp's logits), ComparisonQuantisationTest (compare),
#      RandomArchitecturesTest (the capture) and OffloadConsistencyTest, which fails unless on F32 models the
#      GPU run's per-layer lens equals the CPU run's within KL <= 1e-4 bits at every layer and the GPU run's
#      last layer equals llama.cpp's GPU logits within the same bound;
#   3. prints a summary table, and exits non-zero unless everything passed (and the GPU checks really ran).
# Needs: a JDK 25 (JAVA_HOME or javac on PATH), cmake, a C++ compiler, the CUDA toolkit with cuBLAS (nvcc on PATH or in /usr/local/cuda/bin),
# an NVIDIA driver; Maven's dependencies and the pinned llama.cpp are fetched unless already cached
# (~/.m2, ~/.cache/gguf-lens, or LLAMA_CPP_DIR).
#   scripts/gpu-check.sh             the check
#   scripts/gpu-check.sh --cpu-only  every step but the CUDA build, on the CPU build of a machine without a GPU:
#                                    both test passes run with -ngl 0 and the GPU comparison compares a second
#                                    CPU run with the first (same bound, same llama.cpp logits check, same
#                                    table), so the script's logic is tested where no GPU is (--dry-run: same)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
cpu_only=false
case "${1:-}" in
    --cpu-only|--dry-run) cpu_only=true ;;
    "") ;;
    *) echo "gpu-check: unknown option ${1} (use --cpu-only or nothing)" >&2; exit 2 ;;
esac

# Maven finds the JDK 25 itself (toolchains); the native build needs $JAVA_HOME or a javac on PATH.
if [ -z "${JAVA_HOME:-}" ] && ! command -v javac >/dev/null 2>&1; then
    echo "gpu-check: set JAVA_HOME to a JDK 25 (or put its javac on PATH)" >&2
    exit 1
fi
log_dir="$root/target/gpu-check"
rm -rf "$log_dir"
mkdir -p "$log_dir"
start=$(date +%s)

gpu="none"
device_ngl=99      # the second test pass: every layer on the GPU
label=gpu          # OffloadConsistencyTest's summary lines: OFFLOAD|gpu ARCH|...
if [ "$cpu_only" = false ]; then
    if ! gpu=$(nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader 2>/dev/null) ||
        [ -z "$gpu" ]; then
        echo "gpu-check: no NVIDIA GPU is visible (nvidia-smi failed); use --cpu-only on a machine without one" >&2
        exit 1
    fi
    command -v nvcc >/dev/null 2>&1 || export PATH="/usr/local/cuda/bin:$PATH"
    command -v nvcc >/dev/null 2>&1 || { echo "gpu-check: no nvcc (CUDA toolkit) found" >&2; exit 1; }
    # Only the visible GPUs' architectures, as real code: no PTX for others, no JIT at the first run.
    cuda_arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | tr -d '. ' | sort -u | sed 's/$/-real/' | paste -sd';' -)
    export GGUFLENS_CUDA=ON GGUFLENS_CUDA_ARCH="$cuda_arch"
    export GGUFLENS_CMAKE_ARGS="-DGGML_CUDA_FA=OFF -DGGML_CUDA_FA_ALL_QUANTS=OFF -DGGML_CUDA_NCCL=OFF"
    echo "gpu-check: $gpu; CUDA architectures $cuda_arch; $(nvcc --version | tail -n 1)"
else
    device_ngl=0 label=cpu
    gpu="none (--cpu-only: the CPU build, a second -ngl 0 run in the GPU's place)"
    echo "gpu-check: --cpu-only: CPU build, -ngl 0 against -ngl 0"
fi

echo "gpu-check: building the native folder (log: $log_dir/build.log)"
build_start=$(date +%s)
if ! bash scripts/build-native.sh --install-into target/classes > "$log_dir/build.log" 2>&1; then
    tail -n 40 "$log_dir/build.log" >&2
    echo "gpu-check: FAILED: the native build" >&2
    exit 1
fi
build_s=$(( $(date +%s) - build_start ))
ls target/classes/native/*/ > "$log_dir/folder.txt"

# GPU_CHECK_TESTS narrows the list (e.g. a quick --cpu-only run of this script with OffloadConsistencyTest alone).
tests="${GPU_CHECK_TESTS:-ProbeReferenceTest,ComparisonQuantisationTest,RandomArchitecturesTest,OffloadConsistencyTest}"
declare -A result seconds ngl_of
ngl_of[cpu]=0 ngl_of[device]=$device_ngl
for pass in cpu device; do
    ngl=${ngl_of[$pass]}
    echo "gpu-check: $pass pass, tests with -ngl $ngl (log: $log_dir/tests-$pass.log)"
    t0=$(date +%s)
    rm -rf target/surefire-reports
    # Maven's own native step finds the folder just built (same options, same cache key).
    if ./mvnw -B test -Dtest="$tests" -Dsurefire.failIfNoSpecifiedTests=false -Dgguflens.test.gpuLayers="$ngl" \
        -Dgguflens.test.cpuStandIn="$cpu_only" > "$log_dir/tests-$pass.log" 2>&1; then
        result[$pass]=PASS
    else
        result[$pass]=FAIL
    fi
    seconds[$pass]=$(( $(date +%s) - t0 ))
    cp -r target/surefire-reports "$log_dir/surefire-$pass" 2>/dev/null || true
done

# Test counts from surefire's XML: tests, failures + errors, skipped.
counts() {
    awk -F'"' '/<testsuite / {
        for (i = 1; i < NF; i++) {
            if ($i ~ / tests=$/) t += $(i + 1); if ($i ~ / failures=$/ || $i ~ / errors=$/) f += $(i + 1)
            if ($i ~ / skipped=$/) s += $(i + 1)
        }
    } END { printf "%d run, %d failed, %d skipped", t, f, s }' "$1"/TEST-*.xml 2>/dev/null || echo "no reports"
}

# The device comparisons come from the device pass (on a GPU its -ngl 99 run against a -ngl 0 run in the same test).
gpu_lines=$(grep -h "^OFFLOAD|$label " "$log_dir/tests-device.log" 2>/dev/null | sort -u || true)
rpc_line=$(grep -h '^OFFLOAD|rpc ' "$log_dir/tests-cpu.log" 2>/dev/null | head -n 1 || true)
expected_gpu_lines=4   # one per RandomModels architecture
status=PASS
[ "${result[cpu]}" = PASS ] && [ "${result[device]}" = PASS ] || status=FAIL
gpu_count=$(printf '%s' "$gpu_lines" | grep -c . || true)
case ",$tests," in *,OffloadConsistencyTest,*)
    if [ "$gpu_count" -ne "$expected_gpu_lines" ]; then
        status=FAIL   # the device comparisons did not all run (on a GPU: the CUDA backend found no device)
        echo "gpu-check: $gpu_count of $expected_gpu_lines device comparisons ran" >&2
    fi ;;
esac

echo
echo "=== gpu-check summary ==="
printf '%-28s %s\n' "GPU" "$gpu"
printf '%-28s %s s (folder: %s)\n' "native build" "$build_s" "$(paste -sd' ' "$log_dir/folder.txt")"
for pass in cpu device; do
    printf '%-28s %s in %s s (%s)\n' "$pass pass, -ngl ${ngl_of[$pass]}" "${result[$pass]}" "${seconds[$pass]}" "$(counts "$log_dir/surefire-$pass")"
done
echo
printf '%-14s %-10s %-12s %-6s %-14s\n' "lens check" "offloaded" "max KL bits" "layer" "last vs logits"
print_line() {
    IFS='|' read -r _ what offloaded kl layer last _ <<< "$1"
    printf '%-14s %-10s %-12s %-6s %-14s\n' "$what" "$offloaded" "$kl" "$layer" "$last"
}
if [ -n "$gpu_lines" ]; then
    while read -r line; do print_line "$line"; done <<< "$gpu_lines"
else
    printf '%-14s %s\n' "$label" "no comparison ran"
fi
[ -n "$rpc_line" ] && print_line "$rpc_line"
echo "(bound: KL <= 1e-4 bits per layer, F32 random-weight models; last vs logits = the lens at the last layer"
echo " against llama.cpp's own logits of the same run)"
first_backend=$(printf '%s\n' "$gpu_lines" | head -n 1 | cut -d'|' -f7)
[ -n "$first_backend" ] && echo "backend line of a $label report: $first_backend"
echo "total: $(( $(date +%s) - start )) s"
echo "gpu-check: $status"
[ "$status" = PASS ]
