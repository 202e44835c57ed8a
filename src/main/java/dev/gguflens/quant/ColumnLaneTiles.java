package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The product y = x · Wᵀ for m > 1 vectors with x's vectors across the vector lanes and the weights broadcast: an
 * outer-product register block of {@link #BLOCK_ROWS} weight rows times two vectors of lanes (12 accumulators), each
 * step two loads of x and six broadcast loads of single weights for 12 FMAs (a last panel of one vector: 8 rows,
 * {@link #ONE_VECTOR_BLOCK_ROWS}). The lane-wise path of
 * {@link FusedMatmul} (K in the lanes) loads a whole vector for every 4/3 FMAs and at large m streams its x slices
 * from L3; this one loads fewer bytes per FMA and keeps a K block of the tile and of each panel of x in L1/L2, and
 * its outputs need no horizontal sums. Whole product against the lane-wise path, same process, alternating (2
 * threads, Zen 3 AVX2, 16384 x 4096 rows, median of 5-11): Q6_K 0.71x the time at m = 37, 0.58-0.62x at 297;
 * Q8_0 0.86x / 0.58x (m = 37 / 592), Q4_K 0.71x / 0.65x, F16 0.91x / 0.45x; 81-94 GFLOP/s at m = 37-48 and
 * 118-140 at 297-592, decoding included (more than bench's FMA peak loop read then, 110-116; its chains now run
 * through the addend and read 143-205, see experiment/MachineRoofline).
 *
 * <p>The tile's rows are stored at the constant stride {@link #K_BLOCK}, so the six rows of a register block are
 * six displacements from one index: C2 then emits one broadcast load per weight and no address arithmetic (with a
 * variable stride it added a lea per broadcast, ~25% more instructions per FMA).
 *
 * <p>Each output is the sum over K blocks, in ascending order, of that block's FMA chain started from zero:
 * {@code s = 0; for k in block: s = fma(w[k], x[k], s); total += s}. Every lane is one output, so the result does
 * not depend on the vector width, on the panel an output falls in, on the row block, on the tile or on the threads.
 */
final class ColumnLaneTiles {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    /** Columns per K block: a multiple of every ggml block size (32, 256), and the tile's constant row stride. */
    static final int K_BLOCK = 256;
    /** Weight rows per register block: 6 x 2 vectors = 12 accumulators + 2 x + 1 broadcast of AVX2's 16 registers. */
    static final int BLOCK_ROWS = 6;
    /**
     * Weight rows per register block of a one-vector panel: 8 accumulators, each taking an FMA per column, are enough
     * chains to keep both FMA units busy (FMA latency 4 cycles); 6 rows left each chain's latency as the bound (16
     * FMAs per 8 cycles of latency against 12 per 6). m = 37 (panels of 2, 2 and 1 vectors), 32768 x 4096 on two
     * AVX2 threads: 0.97x the time of the 6-row kernel for F16 and Q6_K; 12 rows spilled (2.5x the time).
     */
    static final int ONE_VECTOR_BLOCK_ROWS = 8;
    /** Vectors of x per panel: two vectors of lanes (the last panel is one vector when the rest fits one). */
    static final int PANEL = 2 * LANES;
    /**
     * Rows decoded per tile: 8 register blocks. y is vector-major (y[i*rows + r]), so a tile writes 192 B of each
     * vector's outputs at a time (16 rows wrote 64 B to a page each, which cost up to 2x at M = 592 over Qwen3's
     * vocabulary, see FusedMatmul.TALL_TILE); the tile's raw rows (Q6_K at 4096: 161 KiB) and one K block of it
     * decoded (48 KiB) stay in L2.
     */
    static final int TILE_ROWS = 48;
    /**
     * Every m > 1 takes this path where it serves, so that, as on the lane-wise path, an output's bits do not depend
     * on how many vectors share the product: the lens's folded head check equals the check on its own (m = 2), and
     * a position's lens is the same in every grouping of positions. That costs where a panel is mostly empty lanes
     * (Q6_K, 16384 x 4096, 2 threads, time against the lane-wise path: m = 2 1.62x, 4 1.36x, 6 1.29x, 8 0.83x,
     * 9 1.21x, 12 0.96x, 16 0.80x, 24 0.74x): such small products are the standalone head check and toy models.
     */
    static final int MIN_VECTORS = 2;
    /**
     * Only at 256 bits, where it was measured. At 128 bits on x86 (16 registers) it took 1.07x the lane-wise path's
     * time at m = 37 and 0.97x at 297 (Q6_K); NEON (32 registers) and AVX-512 were not measured, so they keep the
     * lane-wise path (tuned at 512 bits; at 128 bits measured only as x86 narrowed to 16 bytes). The kernels work
     * at every width (FusedMatmulTest checks their bits at 128, 256 and the machine's own width).
     * -Dgguflens.quant.columnLanes=false turns the path off.
     */
    static final boolean ENABLED = LANES == 8 && VectorDecoder.ENABLED
            && Boolean.parseBoolean(System.getProperty("gguflens.quant.columnLanes", "true"));

    private ColumnLaneTiles() {
    }

    /** Whether this path serves m vectors of cols columns. */
    static boolean serves(int m, int cols) {
        return ENABLED && m >= MIN_VECTORS && cols % K_BLOCK == 0;
    }

    /**
     * x packed into panels: panel p holds vectors [p*PANEL, p*PANEL + width(p)) as [k][width(p)] (column k of every
     * vector of the panel together), zero-padded past m, panel p starting at p*PANEL*cols. Into the calling thread's
     * scratch array, kept between calls: the lens multiplies the same vectors block after block of the vocabulary,
     * and a fresh array (10 MB at m = 592) cost 5 ms per block in allocation and first touch, 45 times a lens pass.
     */
    static float[] panels(float[] x, int m, int cols, int parts) {
        int count = panelCount(m);
        int size = count * PANEL * cols;
        float[] scratch = PANEL_SCRATCH.get();
        if (scratch == null || scratch.length < size) {
            scratch = new float[size];
            if (size <= MAX_KEPT_PANEL_FLOATS) PANEL_SCRATCH.set(scratch);
        }
        float[] packed = scratch;
        // On the product's threads too: 2.9 ms at m = 592 on the caller's thread alone, while the others waited
        int tasks = Math.min(parts, count);
        ParallelFor.parts(tasks, q -> {
            for (int p = q; p < count; p += tasks) packPanel(x, m, cols, p, packed);
        });
        return packed;
    }

    private static void packPanel(float[] x, int m, int cols, int p, float[] packed) {
        int width = panelWidth(p, m), base = p * PANEL * cols, vectors = Math.min(width, m - p * PANEL);
        for (int j = 0; j < vectors; j++) {
            int from = (p * PANEL + j) * cols;
            for (int k = 0; k < cols; k++) packed[base + k * width + j] = x[from + k];
        }
        for (int j = vectors; j < width; j++) {
            for (int k = 0; k < cols; k++) packed[base + k * width + j] = 0f;
        }
    }

    /** Each calling thread's panel scratch, up to {@link #MAX_KEPT_PANEL_FLOATS} (64 MiB: m = 4096 at n_embd 4096). */
    private static final ThreadLocal<float[]> PANEL_SCRATCH = new ThreadLocal<>();
    private static final int MAX_KEPT_PANEL_FLOATS = 16 << 20;

    static int panelCount(int m) {
        return (m + PANEL - 1) / PANEL;
    }

    /** PANEL, or one vector of lanes for a last panel whose vectors fit in one. */
    static int panelWidth(int p, int m) {
        return m - p * PANEL <= LANES ? LANES : PANEL;
    }

    /** y[i*(rowEnd-rowStart) + r - rowStart] for i < m and rows [rowStart, rowEnd); arguments checked by FusedMatmul. */
    static void multiply(WeightMatrix w, float[] x, int m, int rowStart, int rowEnd, float[] y, int parts) {
        float[] packed = panels(x, m, w.cols(), parts);
        int outRows = rowEnd - rowStart;
        // Threads take the next tile as they finish, so a core slowed by other work does not hold the product back
        // (one part runs on the caller's thread, as a weight confined to it must).
        int tiles = (outRows + TILE_ROWS - 1) / TILE_ROWS;
        AtomicInteger next = new AtomicInteger();
        ParallelFor.parts(Math.min(parts, tiles), p -> {
            Worker worker = new Worker(w, packed, m, rowStart, outRows, y);
            for (int t = next.getAndIncrement(); t < tiles; t = next.getAndIncrement()) {
                int from = rowStart + t * TILE_ROWS;
                worker.run(from, Math.min(rowEnd, from + TILE_ROWS));
            }
        });
    }

    /** One thread's scratch: the tile's raw rows, one K block of them decoded, and the tile's running sums. */
    private static final class Worker {
        private final GgmlType type;
        private final MemorySegment data;
        private final long rowBytes;
        private final int cols, m, rowStart, outRows, panels;
        private final float[] packed, y;
        private final byte[] raw;
        /** F16's tile rows as halves, copied row by row like the other types' raw bytes (see {@link #run}). */
        private final short[] halves;
        private final float[] tile = new float[TILE_ROWS * K_BLOCK];
        /** Running sums: panel p, tile row r at (p*TILE_ROWS + r)*PANEL, one lane per vector of the panel. */
        private final float[] totals;

        Worker(WeightMatrix w, float[] packed, int m, int rowStart, int outRows, float[] y) {
            this.type = w.type();
            this.data = w.data();
            this.rowBytes = w.rowBytes();
            this.cols = w.cols();
            this.m = m;
            this.rowStart = rowStart;
            this.outRows = outRows;
            this.packed = packed;
            this.y = y;
            this.panels = panelCount(m);
            this.raw = FusedMatmul.decodesFromRaw(type) ? new byte[(int) (TILE_ROWS * rowBytes)] : null;
            this.halves = type == GgmlType.F16 ? new short[TILE_ROWS * cols] : null;
            this.totals = new float[panels * TILE_ROWS * PANEL];
        }

        void run(int from, int to) {
            int nr = to - from;
            // The tile's rows copied whole, one stream after another, before its K blocks are decoded: F16 widened
            // straight from the weight instead read 48 rows 512 bytes at a time, 48 short streams the prefetchers
            // did not keep up with (m = 37, 32768 x 4096 on two AVX2 threads: 104 against 84 ms, the same bits).
            if (raw != null) MemorySegment.copy(data, ValueLayout.JAVA_BYTE, from * rowBytes, raw, 0, (int) (nr * rowBytes));
            if (halves != null) MemorySegment.copy(data, FusedMatmul.I16_LE, from * rowBytes, halves, 0, nr * cols);
            Arrays.fill(totals, 0f);
            int fullRows = nr - nr % BLOCK_ROWS, fullOneVectorRows = nr - nr % ONE_VECTOR_BLOCK_ROWS;
            for (int k0 = 0; k0 < cols; k0 += K_BLOCK) {
                decodeBlock(from, nr, k0);
                for (int p = 0; p < panels; p++) {
                    int width = panelWidth(p, m);
                    int xo = p * PANEL * cols + k0 * width;
                    int to0 = p * TILE_ROWS * PANEL;
                    if (width == PANEL) {
                        for (int r = 0; r < fullRows; r += BLOCK_ROWS) k6x2(tile, r * K_BLOCK, packed, xo, totals, to0 + r * PANEL);
                        for (int r = fullRows; r < nr; r++) k1x2(tile, r * K_BLOCK, packed, xo, totals, to0 + r * PANEL);
                    } else {
                        for (int r = 0; r < fullOneVectorRows; r += ONE_VECTOR_BLOCK_ROWS) k8x1(tile, r * K_BLOCK, packed, xo, totals, to0 + r * PANEL);
                        for (int r = fullOneVectorRows; r < nr; r++) k1x1(tile, r * K_BLOCK, packed, xo, totals, to0 + r * PANEL);
                    }
                }
            }
            int outRow = from - rowStart;
            for (int i = 0; i < m; i++) {
                int t = (i / PANEL * TILE_ROWS) * PANEL + i % PANEL;
                int yo = i * outRows + outRow;
                for (int r = 0; r < nr; r++) y[yo + r] = totals[t + r * PANEL];
            }
        }

        /** Columns [k0, k0 + K_BLOCK) of rows [from, from + nr) into the tile, row r at r*K_BLOCK. */
        private void decodeBlock(int from, int nr, int k0) {
            if (halves != null) {
                for (int r = 0; r < nr; r++) FusedMatmul.f16ToFloat(halves, r * cols + k0, tile, r * K_BLOCK, K_BLOCK);
                return;
            }
            for (int r = 0; r < nr; r++) {
                FusedMatmul.decodeSpan(type, data, (from + r) * rowBytes, raw, (int) (r * rowBytes), k0, K_BLOCK, tile, r * K_BLOCK);
            }
        }
    }

    private static void addInto(float[] t, int o, FloatVector v) {
        FloatVector.fromArray(SPECIES, t, o).add(v).intoArray(t, o);
    }

    /**
     * Six tile rows (at w[wo + r*K_BLOCK]) times a panel of two vectors of lanes (x[xo + k*PANEL], + LANES) over one
     * K block; the block's sums added to t[to + r*PANEL], + LANES.
     */
    static void k6x2(float[] w, int wo, float[] x, int xo, float[] t, int to) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z, a40 = z, a41 = z, a50 = z, a51 = z;
        for (int k = 0; k < K_BLOCK; k++) {
            int xk = xo + k * PANEL, wk = wo + k;
            FloatVector x0 = FloatVector.fromArray(SPECIES, x, xk), x1 = FloatVector.fromArray(SPECIES, x, xk + LANES);
            FloatVector b = FloatVector.broadcast(SPECIES, w[wk]);
            a00 = b.fma(x0, a00); a01 = b.fma(x1, a01);
            b = FloatVector.broadcast(SPECIES, w[wk + K_BLOCK]);
            a10 = b.fma(x0, a10); a11 = b.fma(x1, a11);
            b = FloatVector.broadcast(SPECIES, w[wk + 2 * K_BLOCK]);
            a20 = b.fma(x0, a20); a21 = b.fma(x1, a21);
            b = FloatVector.broadcast(SPECIES, w[wk + 3 * K_BLOCK]);
            a30 = b.fma(x0, a30); a31 = b.fma(x1, a31);
            b = FloatVector.broadcast(SPECIES, w[wk + 4 * K_BLOCK]);
            a40 = b.fma(x0, a40); a41 = b.fma(x1, a41);
            b = FloatVector.broadcast(SPECIES, w[wk + 5 * K_BLOCK]);
            a50 = b.fma(x0, a50); a51 = b.fma(x1, a51);
        }
        addInto(t, to, a00); addInto(t, to + LANES, a01);
        addInto(t, to + PANEL, a10); addInto(t, to + PANEL + LANES, a11);
        addInto(t, to + 2 * PANEL, a20); addInto(t, to + 2 * PANEL + LANES, a21);
        addInto(t, to + 3 * PANEL, a30); addInto(t, to + 3 * PANEL + LANES, a31);
        addInto(t, to + 4 * PANEL, a40); addInto(t, to + 4 * PANEL + LANES, a41);
        addInto(t, to + 5 * PANEL, a50); addInto(t, to + 5 * PANEL + LANES, a51);
    }

    /**
     * Eight tile rows times a last panel of one vector of lanes (x[xo + k*LANES]), as {@link #k6x2} otherwise. Two
     * columns per step, each accumulator's FMAs still in ascending k: that also keeps the method over C2's inlining
     * size (325 bytes of bytecode), since inlined into {@code Worker.run} a kernel's vectors were boxed (4-5x the
     * time at m = 37 and 40, with the six-row kernel this replaced).
     */
    static void k8x1(float[] w, int wo, float[] x, int xo, float[] t, int to) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z;
        for (int k = 0; k < K_BLOCK; k += 2) {
            int wk = wo + k, xk = xo + k * LANES;
            FloatVector x0 = FloatVector.fromArray(SPECIES, x, xk), x1 = FloatVector.fromArray(SPECIES, x, xk + LANES);
            a0 = FloatVector.broadcast(SPECIES, w[wk]).fma(x0, a0);
            a1 = FloatVector.broadcast(SPECIES, w[wk + K_BLOCK]).fma(x0, a1);
            a2 = FloatVector.broadcast(SPECIES, w[wk + 2 * K_BLOCK]).fma(x0, a2);
            a3 = FloatVector.broadcast(SPECIES, w[wk + 3 * K_BLOCK]).fma(x0, a3);
            a4 = FloatVector.broadcast(SPECIES, w[wk + 4 * K_BLOCK]).fma(x0, a4);
            a5 = FloatVector.broadcast(SPECIES, w[wk + 5 * K_BLOCK]).fma(x0, a5);
            a6 = FloatVector.broadcast(SPECIES, w[wk + 6 * K_BLOCK]).fma(x0, a6);
            a7 = FloatVector.broadcast(SPECIES, w[wk + 7 * K_BLOCK]).fma(x0, a7);
            a0 = FloatVector.broadcast(SPECIES, w[wk + 1]).fma(x1, a0);
            a1 = FloatVector.broadcast(SPECIES, w[wk + 1 + K_BLOCK]).fma(x1, a1);
            a2 = FloatVector.broadcast(SPECIES, w[wk + 1 + 2 * K_BLOCK]).fma(x1, a2);
            a3 = FloatVector.broadcast(SPECIES, w[wk + 1 + 3 * K_BLOCK]).fma(x1, a3);
            a4 = FloatVector.broadcast(SPECIES, w[wk + 1 + 4 * K_BLOCK]).fma(x1, a4);
            a5 = FloatVector.broadcast(SPECIES, w[wk + 1 + 5 * K_BLOCK]).fma(x1, a5);
            a6 = FloatVector.broadcast(SPECIES, w[wk + 1 + 6 * K_BLOCK]).fma(x1, a6);
            a7 = FloatVector.broadcast(SPECIES, w[wk + 1 + 7 * K_BLOCK]).fma(x1, a7);
        }
        addInto(t, to, a0); addInto(t, to + PANEL, a1); addInto(t, to + 2 * PANEL, a2); addInto(t, to + 3 * PANEL, a3);
        addInto(t, to + 4 * PANEL, a4); addInto(t, to + 5 * PANEL, a5); addInto(t, to + 6 * PANEL, a6); addInto(t, to + 7 * PANEL, a7);
    }

    /** One tile row (the rows past the last register block) times a panel of two vectors of lanes. */
    static void k1x2(float[] w, int wo, float[] x, int xo, float[] t, int to) {
        FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0;
        for (int k = 0; k < K_BLOCK; k++) {
            int xk = xo + k * PANEL;
            FloatVector b = FloatVector.broadcast(SPECIES, w[wo + k]);
            a0 = b.fma(FloatVector.fromArray(SPECIES, x, xk), a0);
            a1 = b.fma(FloatVector.fromArray(SPECIES, x, xk + LANES), a1);
        }
        addInto(t, to, a0);
        addInto(t, to + LANES, a1);
    }

    /** One tile row times a last panel of one vector of lanes. */
    static void k1x1(float[] w, int wo, float[] x, int xo, float[] t, int to) {
        FloatVector a = FloatVector.zero(SPECIES);
        for (int k = 0; k < K_BLOCK; k++) a = FloatVector.broadcast(SPECIES, w[wo + k]).fma(FloatVector.fromArray(SPECIES, x, xo + k * LANES), a);
        addInto(t, to, a);
    }
}
