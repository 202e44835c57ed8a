package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * y = x · Wᵀ for a quantised W without materialising W in float: a tile of {@link #ROW_TILE} rows is
 * decoded once into a small float scratch and then multiplied against all m input vectors, with
 * register blocking of 4 rows x 3 vectors so every loaded weight vector feeds three FMAs.
 */
public final class FusedMatmul {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    /** Rows decoded together; also the register-block height of the inner kernel. */
    static final int ROW_TILE = 4;
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One shared pool for all calls; threads are created on demand, reused, and never block JVM exit. */
    private static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "gguf-lens-matmul");
        t.setDaemon(true);
        return t;
    });

    private FusedMatmul() {
    }

    /** All rows: y[i*rows + r] = sum_k x[i*cols + k] * W[r][k]. */
    public static void multiply(WeightMatrix w, float[] x, int m, float[] y, int threads) {
        multiply(w, x, m, 0, w.rows(), y, threads);
    }

    /**
     * y[i*(rowEnd-rowStart) + (r-rowStart)] = sum_k x[i*cols + k] * W[r][k] for i < m, rowStart <= r < rowEnd.
     * Each weight block is decoded once and used for all m vectors; rows are split over {@code threads}
     * threads (1 = the caller's thread only).
     */
    public static void multiply(WeightMatrix w, float[] x, int m, int rowStart, int rowEnd, float[] y, int threads) {
        Objects.requireNonNull(w, "w");
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(y, "y");
        Kernels.requireSupported(w.type(), null);
        if (m < 0) throw new IllegalArgumentException("multiply: m must be >= 0, got " + m);
        if (threads < 1) throw new IllegalArgumentException("multiply: threads must be >= 1, got " + threads);
        if (rowStart < 0 || rowStart > rowEnd || rowEnd > w.rows()) {
            throw new IllegalArgumentException("multiply: row range [" + rowStart + ", " + rowEnd
                    + ") is not within the " + w.rows() + " rows of the matrix");
        }
        int cols = w.cols();
        int outRows = rowEnd - rowStart;
        if ((long) m * cols > x.length) {
            throw new IllegalArgumentException("multiply: x holds " + x.length + " floats, need m*cols = " + (long) m * cols);
        }
        if ((long) m * outRows > y.length) {
            throw new IllegalArgumentException("multiply: y holds " + y.length + " floats, need m*rows = " + (long) m * outRows);
        }
        if (m == 0 || outRows == 0) return;

        // Split into `threads` contiguous chunks whose sizes are multiples of the row tile.
        int tiles = (outRows + ROW_TILE - 1) / ROW_TILE;
        int parts = Math.min(threads, tiles);
        if (parts == 1) {
            new RangeWorker(w, x, m, rowStart, outRows, y).run(rowStart, rowEnd);
            return;
        }
        List<Future<?>> futures = new ArrayList<>(parts - 1);
        int[] bounds = new int[parts + 1];
        for (int p = 0; p <= parts; p++) {
            bounds[p] = Math.min(rowEnd, rowStart + (int) ((long) tiles * p / parts) * ROW_TILE);
        }
        for (int p = 1; p < parts; p++) {
            int from = bounds[p], to = bounds[p + 1];
            futures.add(POOL.submit(() -> new RangeWorker(w, x, m, rowStart, outRows, y).run(from, to)));
        }
        Throwable failure = null;
        try {
            new RangeWorker(w, x, m, rowStart, outRows, y).run(bounds[0], bounds[1]);
        } catch (RuntimeException | Error e) {
            failure = e;
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) failure = e.getCause();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) failure = e;
            }
        }
        if (failure instanceof RuntimeException re) throw re;
        if (failure instanceof Error er) throw er;
        if (failure != null) throw new IllegalStateException("multiply interrupted", failure);
    }

    /** Per-thread scratch and the loop over row tiles. */
    private static final class RangeWorker {
        private final GgmlType type;
        private final MemorySegment data;
        private final float[] x;
        private final int m, cols, rowStart, outRows;
        private final float[] y;
        private final long rowBytes;
        private final byte[] raw;
        private final float[] tile;
        private final float[] sums = new float[ROW_TILE * 3];

        RangeWorker(WeightMatrix w, float[] x, int m, int rowStart, int outRows, float[] y) {
            this.type = w.type();
            this.data = w.data();
            this.x = x;
            this.m = m;
            this.cols = w.cols();
            this.rowStart = rowStart;
            this.outRows = outRows;
            this.y = y;
            this.rowBytes = w.rowBytes();
            this.raw = type == GgmlType.F32 ? null : new byte[(int) (ROW_TILE * rowBytes)];
            this.tile = new float[ROW_TILE * cols];
        }

        void run(int from, int to) {
            for (int r = from; r < to; r += ROW_TILE) {
                int nr = Math.min(ROW_TILE, to - r);
                decodeRows(r, nr);
                int outRow = r - rowStart;
                if (nr == ROW_TILE) {
                    int i = 0;
                    for (; i + 3 <= m; i += 3) {
                        dot4x3(tile, cols, x, i * cols, sums);
                        for (int v = 0; v < 3; v++) {
                            int yo = (i + v) * outRows + outRow;
                            for (int rr = 0; rr < ROW_TILE; rr++) y[yo + rr] = sums[v * ROW_TILE + rr];
                        }
                    }
                    for (; i < m; i++) {
                        dot4x1(tile, cols, x, i * cols, sums);
                        int yo = i * outRows + outRow;
                        for (int rr = 0; rr < ROW_TILE; rr++) y[yo + rr] = sums[rr];
                    }
                } else {
                    for (int rr = 0; rr < nr; rr++) {
                        for (int i = 0; i < m; i++) {
                            y[i * outRows + outRow + rr] = dot1x1(tile, rr * cols, x, i * cols, cols);
                        }
                    }
                }
            }
        }

        private void decodeRows(int r, int nr) {
            long off = r * rowBytes;
            int n = nr * cols;
            if (type == GgmlType.F32) {
                MemorySegment.copy(data, F32_LE, off, tile, 0, n);
            } else {
                MemorySegment.copy(data, ValueLayout.JAVA_BYTE, off, raw, 0, (int) (nr * rowBytes));
                BlockDecoder.decode(type, raw, 0, tile, 0, n / type.blockSize);
            }
        }
    }

    static float dot1x1(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(SPECIES);
        int bound = SPECIES.loopBound(n);
        int k = 0;
        for (; k < bound; k += LANES) {
            acc = FloatVector.fromArray(SPECIES, a, ao + k).fma(FloatVector.fromArray(SPECIES, b, bo + k), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; k < n; k++) sum = Math.fma(a[ao + k], b[bo + k], sum);
        return sum;
    }

    /** Four consecutive weight rows (stride n) against one vector; out[r] for r < 4. */
    static void dot4x1(float[] w, int n, float[] x, int xo, float[] out) {
        FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
        int bound = SPECIES.loopBound(n);
        int k = 0;
        for (; k < bound; k += LANES) {
            FloatVector xv = FloatVector.fromArray(SPECIES, x, xo + k);
            a0 = FloatVector.fromArray(SPECIES, w, k).fma(xv, a0);
            a1 = FloatVector.fromArray(SPECIES, w, n + k).fma(xv, a1);
            a2 = FloatVector.fromArray(SPECIES, w, 2 * n + k).fma(xv, a2);
            a3 = FloatVector.fromArray(SPECIES, w, 3 * n + k).fma(xv, a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; k < n; k++) {
            float xk = x[xo + k];
            s0 = Math.fma(w[k], xk, s0);
            s1 = Math.fma(w[n + k], xk, s1);
            s2 = Math.fma(w[2 * n + k], xk, s2);
            s3 = Math.fma(w[3 * n + k], xk, s3);
        }
        out[0] = s0;
        out[1] = s1;
        out[2] = s2;
        out[3] = s3;
    }

    /** Four weight rows against three consecutive vectors (stride n); out[v*4 + r]. */
    static void dot4x3(float[] w, int n, float[] x, int xo, float[] out) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z, a20 = z, a21 = z, a22 = z, a23 = z;
        int bound = SPECIES.loopBound(n);
        int k = 0;
        for (; k < bound; k += LANES) {
            FloatVector w0 = FloatVector.fromArray(SPECIES, w, k);
            FloatVector w1 = FloatVector.fromArray(SPECIES, w, n + k);
            FloatVector w2 = FloatVector.fromArray(SPECIES, w, 2 * n + k);
            FloatVector w3 = FloatVector.fromArray(SPECIES, w, 3 * n + k);
            FloatVector x0 = FloatVector.fromArray(SPECIES, x, xo + k);
            a00 = w0.fma(x0, a00);
            a01 = w1.fma(x0, a01);
            a02 = w2.fma(x0, a02);
            a03 = w3.fma(x0, a03);
            FloatVector x1 = FloatVector.fromArray(SPECIES, x, xo + n + k);
            a10 = w0.fma(x1, a10);
            a11 = w1.fma(x1, a11);
            a12 = w2.fma(x1, a12);
            a13 = w3.fma(x1, a13);
            FloatVector x2 = FloatVector.fromArray(SPECIES, x, xo + 2 * n + k);
            a20 = w0.fma(x2, a20);
            a21 = w1.fma(x2, a21);
            a22 = w2.fma(x2, a22);
            a23 = w3.fma(x2, a23);
        }
        out[0] = a00.reduceLanes(VectorOperators.ADD);
        out[1] = a01.reduceLanes(VectorOperators.ADD);
        out[2] = a02.reduceLanes(VectorOperators.ADD);
        out[3] = a03.reduceLanes(VectorOperators.ADD);
        out[4] = a10.reduceLanes(VectorOperators.ADD);
        out[5] = a11.reduceLanes(VectorOperators.ADD);
        out[6] = a12.reduceLanes(VectorOperators.ADD);
        out[7] = a13.reduceLanes(VectorOperators.ADD);
        out[8] = a20.reduceLanes(VectorOperators.ADD);
        out[9] = a21.reduceLanes(VectorOperators.ADD);
        out[10] = a22.reduceLanes(VectorOperators.ADD);
        out[11] = a23.reduceLanes(VectorOperators.ADD);
        for (; k < n; k++) {
            for (int v = 0; v < 3; v++) {
                float xk = x[xo + v * n + k];
                for (int r = 0; r < 4; r++) out[v * 4 + r] = Math.fma(w[r * n + k], xk, out[v * 4 + r]);
            }
        }
    }
}
