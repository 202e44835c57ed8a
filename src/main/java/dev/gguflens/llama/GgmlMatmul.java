package dev.gguflens.llama;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * ggml's own CPU matrix product Y = X · Wᵀ on a weight given as raw ggml bytes (for example an mmapped GGUF
 * tensor), for comparing the Java kernels against it. The one-node graph ({@code ggml_mul_mat}) is built once
 * in the constructor with the weight tensor pointing at {@code weight} (nothing is copied) and input/output
 * tensors in off-heap buffers owned by this object; {@link #compute()} runs only the graph, so callers can time
 * it. As in llama.cpp, ggml first converts X to the weight's dot-product type: Q8_K for k-quants, Q8_0 for
 * Q8_0/Q4_0/..., F16 for F16, BF16 for BF16, and keeps F32 for F32.
 *
 * <p>Not thread-safe; the weight segment must stay alive until {@link #close()}.
 */
public final class GgmlMatmul implements AutoCloseable {
    /** Weight types ggml's CPU backend has a matmul kernel for (its type_traits_cpu vec_dot). */
    public static final Set<GgmlType> SUPPORTED_TYPES = Set.copyOf(EnumSet.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16,
            GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.Q2_K, GgmlType.Q3_K,
            GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.IQ2_XXS, GgmlType.IQ2_XS, GgmlType.IQ3_XXS,
            GgmlType.IQ1_S, GgmlType.IQ4_NL, GgmlType.IQ3_S, GgmlType.IQ2_S, GgmlType.IQ4_XS, GgmlType.IQ1_M,
            GgmlType.TQ1_0, GgmlType.TQ2_0, GgmlType.MXFP4));
    /** ggml asserts that a buffer made from a pointer is aligned to this (TENSOR_ALIGNMENT). */
    private static final long GGML_ALIGNMENT = 32;

    private final GgmlType type;
    private final int rows, cols, m;
    private final MemorySegment weight;   // kept reachable: native code reads it on every compute
    private final Arena arena = Arena.ofShared();
    private final MemorySegment input;
    private final MemorySegment output;
    private long handle;

    /**
     * Prepares Y[m][rows] = X[m][cols] · W[rows][cols]ᵀ.
     *
     * @param weight  {@code rows} rows of {@code type.rowBytes(cols)} bytes, 32-byte aligned (GGUF tensor data is)
     * @param threads ggml's n_threads
     */
    public GgmlMatmul(GgmlType type, MemorySegment weight, int rows, int cols, int m, int threads) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(weight, "weight");
        if (!SUPPORTED_TYPES.contains(type)) {
            throw new IllegalArgumentException("ggml matmul: weight type " + type + " has no ggml CPU matmul kernel; supported: "
                    + SUPPORTED_TYPES.stream().map(Enum::name).sorted().toList());
        }
        if (rows <= 0 || cols <= 0 || m <= 0 || threads <= 0) {
            throw new IllegalArgumentException("ggml matmul: rows " + rows + ", cols " + cols + ", m " + m + " and threads "
                    + threads + " must all be > 0");
        }
        if (cols % type.blockSize != 0) {
            throw new IllegalArgumentException("ggml matmul: cols " + cols + " is not a multiple of the " + type
                    + " block size " + type.blockSize);
        }
        long need = rows * type.rowBytes(cols);
        if (weight.byteSize() < need) {
            throw new IllegalArgumentException("ggml matmul: a " + rows + " x " + cols + " " + type + " weight needs " + need
                    + " bytes but the segment holds " + weight.byteSize());
        }
        if (!weight.isNative() || weight.address() % GGML_ALIGNMENT != 0) {
            throw new IllegalArgumentException("ggml matmul: the weight must be native memory aligned to " + GGML_ALIGNMENT
                    + " bytes (address 0x" + Long.toHexString(weight.address()) + ")");
        }
        LlamaBackend.init();
        this.type = type;
        this.rows = rows;
        this.cols = cols;
        this.m = m;
        this.weight = weight;
        this.input = arena.allocate((long) m * cols * Float.BYTES, 64);
        this.output = arena.allocate((long) m * rows * Float.BYTES, 64);
        try {
            this.handle = Native.matmulCreate(type.id, rows, cols, weight.address(), need, m, input.address(),
                    output.address(), threads);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    public GgmlType type() {
        return type;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public int m() {
        return m;
    }

    /** Copies the m input vectors (x[i*cols ..]) into the graph's input buffer. */
    public void setInput(float[] x) {
        if (x.length < (long) m * cols) {
            throw new IllegalArgumentException("ggml matmul: x holds " + x.length + " floats, need m*cols = " + (long) m * cols);
        }
        MemorySegment.copy(x, 0, input, ValueLayout.JAVA_FLOAT, 0, m * cols);
    }

    /** Runs the prepared graph once: Y = X · Wᵀ for the current input. Only this is worth timing. */
    public void compute() {
        Native.matmulCompute(liveHandle());
    }

    /** Copies Y out: y[i*rows + r] = x_i · W_r, the layout of FusedMatmul.multiply. */
    public void getOutput(float[] y) {
        if (y.length < (long) m * rows) {
            throw new IllegalArgumentException("ggml matmul: y holds " + y.length + " floats, need m*rows = " + (long) m * rows);
        }
        liveHandle();
        MemorySegment.copy(output, ValueLayout.JAVA_FLOAT, 0, y, 0, m * rows);
    }

    /** setInput, compute and getOutput in one call. */
    public float[] multiply(float[] x) {
        setInput(x);
        compute();
        float[] y = new float[m * rows];
        getOutput(y);
        return y;
    }

    private long liveHandle() {
        if (handle == 0) throw new IllegalStateException("ggml matmul: already closed");
        return handle;
    }

    @Override
    public void close() {
        if (handle == 0) return;
        Native.matmulFree(handle);
        handle = 0;
        arena.close();
        Reference.reachabilityFence(weight);
    }
}
