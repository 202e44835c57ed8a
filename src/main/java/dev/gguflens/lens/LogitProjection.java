package dev.gguflens.lens;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.quant.FusedMatmul;
import dev.gguflens.quant.Kernels;
import dev.gguflens.quant.WeightMatrix;

import java.lang.foreign.MemorySegment;

/**
 * The output weight as the lens sees it: {@code rows()} vocabulary rows of {@code columns()} values,
 * multiplied against a batch of input vectors one row range at a time. Kept as an interface so the
 * streaming lens does not care how the weight is stored (F32, quantised, ...).
 */
public interface LogitProjection {
    /** Vocabulary size. */
    int rows();

    /** Embedding length. */
    int columns();

    /**
     * For the {@code m} vectors x_i = x[i*columns() ..] and rows r in [rowStart, rowEnd) writes
     * dot(x_i, W_r) to {@code y[i*(rowEnd-rowStart) + (r-rowStart)]}.
     */
    void multiply(float[] x, int m, int rowStart, int rowEnd, float[] y, int threads);

    /** Rows [rowStart, rowStart+rowCount) as floats, row-major; used by reference checks. */
    float[] dequantizeRows(int rowStart, int rowCount);

    /** The ggml type the weight is stored in (decides how llama.cpp's CPU matmul rounds the activations). */
    default GgmlType weightType() {
        return GgmlType.F32;
    }

    /** Brings the weight's pages into memory ahead of the first product (a memory-mapped file); no-op elsewhere. */
    default void prefetch() {
    }

    /**
     * The first {@code columns} of the first {@code rows} rows as a projection of their own, for warming the kernels
     * on this weight's type and values: copied into {@code arena}'s native memory ({@code columns} a multiple of
     * the type's block), or (arena null; all columns) a view of the same memory. Null where the weight has no such
     * form (the heap-held F32 test matrices).
     */
    default LogitProjection leading(int rows, int columns, java.lang.foreign.Arena arena) {
        return null;
    }

    /** A (possibly quantised) ggml weight, multiplied by the fused kernels without dequantising it whole. */
    static LogitProjection of(WeightMatrix weight) {
        Kernels.requireSupported(weight.type(), null);
        return new LogitProjection() {
            @Override
            public int rows() {
                return weight.rows();
            }

            @Override
            public int columns() {
                return weight.cols();
            }

            @Override
            public void multiply(float[] x, int m, int rowStart, int rowEnd, float[] y, int threads) {
                FusedMatmul.multiply(weight, x, m, rowStart, rowEnd, y, threads);
            }

            @Override
            public float[] dequantizeRows(int rowStart, int rowCount) {
                return Kernels.dequantizeRows(weight, rowStart, rowCount);
            }

            @Override
            public GgmlType weightType() {
                return weight.type();
            }

            @Override
            public void prefetch() {
                // madvise(WILLNEED), then one read per page: page faults now, on the warm-up thread
                if (weight.data().isMapped()) weight.data().load();
            }

            @Override
            public LogitProjection leading(int rows, int columns, java.lang.foreign.Arena arena) {
                WeightMatrix part = new WeightMatrix(weight.type(), arena == null
                        ? weight.data().asSlice(0, rows * weight.rowBytes())
                        : arena.allocate(rows * weight.type().rowBytes(columns), 64), rows, arena == null ? weight.cols() : columns);
                if (arena != null) {
                    for (int r = 0; r < rows; r++) {
                        MemorySegment.copy(weight.data(), r * weight.rowBytes(), part.data(), r * part.rowBytes(), part.rowBytes());
                    }
                }
                return of(part);
            }

            @Override
            public String toString() {
                return weight.type() + " " + weight.rows() + " x " + weight.cols();
            }
        };
    }

    /** A plain F32 row-major matrix held in memory. */
    static LogitProjection ofRowMajor(float[] weights, int rows, int columns) {
        if ((long) rows * columns != weights.length) {
            throw new IllegalArgumentException("output weight: " + weights.length + " values do not make "
                    + rows + " rows of " + columns);
        }
        return new LogitProjection() {
            @Override
            public int rows() {
                return rows;
            }

            @Override
            public int columns() {
                return columns;
            }

            @Override
            public void multiply(float[] x, int m, int rowStart, int rowEnd, float[] y, int threads) {
                int n = rowEnd - rowStart;
                for (int i = 0; i < m; i++) {
                    int xo = i * columns;
                    for (int r = rowStart; r < rowEnd; r++) {
                        int wo = r * columns;
                        float sum = 0f;
                        for (int c = 0; c < columns; c++) sum += x[xo + c] * weights[wo + c];
                        y[i * n + (r - rowStart)] = sum;
                    }
                }
            }

            @Override
            public float[] dequantizeRows(int rowStart, int rowCount) {
                float[] out = new float[rowCount * columns];
                System.arraycopy(weights, rowStart * columns, out, 0, out.length);
                return out;
            }
        };
    }
}
