package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * y = x · Wᵀ for a quantised W without materialising W in float. For m = 1 each row is decoded straight from native
 * memory into vector registers where {@link RowKernels} has a kernel. For m > 1 at 256 bits, rows a multiple of 256
 * long, {@link ColumnLaneTiles} serves (x's vectors across the lanes). Otherwise (the lane-wise path: K in the
 * lanes) a tile of {@link #BLOCKED_TILE} rows
 * ({@link #TALL_TILE} when m spans more than one M block) is decoded once ({@link VectorDecoder} at every width from 128 bits) into a float scratch laid out K block by K block,
 * as x is ({@link #chunkMajor}), and multiplied against the m vectors {@link #M_BLOCK} at a time: per K block, a
 * 4-row x 2-vector register kernel (4 x 6 where the CPU has 32 vector registers) accumulates lane-wise partial sums.
 * When cols is not a multiple of the vector length, the older full-K 4x3 kernel serves.
 */
public final class FusedMatmul {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    /** Rows decoded together; also the register-block height of the inner kernel. */
    static final int ROW_TILE = 4;
    /**
     * Rows decoded together on the K-blocked path (used when cols is a multiple of the vector length): every vector
     * block of x streamed from L3 serves this many rows, so a taller tile halves that traffic; 16 rows x 4096
     * floats (256 KiB) still leave room in a 512 KiB L2 for the x slices and accumulators.
     */
    static final int BLOCKED_TILE = 16;
    /**
     * Rows decoded together when m spans more than one {@link #M_BLOCK}: y is vector-major (y[i*rows + r]), so a tile
     * writes its rows' outputs for each vector to a different place of y, 592 x 151936 floats (360 MB) at M = 592
     * over Qwen3's vocabulary, each 16-row write of 64 B on its own page; 64 rows write 256 B per page visit.
     * Whole product, 2 threads, wall clock, in alternation (TileTuning, all 151936 rows, M = 592): 0.82-0.84x the
     * time of 16 rows for Q8_0 (load 2.4-3.6), 0.49-0.63x for Q6_K (load 4.8-5.3); over 8192 rows (y 19 MB)
     * 64-row tiles (K blocks of 1024 and 2048) measured 0.98-1.06x, so the gain comes with y's size. At M = 37
     * 16 rows stayed as fast or faster (64 rows 1.01-1.15x, Q8_0 and Q6_K, all rows), so one M block keeps
     * {@link #BLOCKED_TILE}. M between 49 and 591 was not measured.
     */
    static final int TALL_TILE = 64;
    /** Rows a thread takes at a time from the shared counter of the m > 1 path: 4 tiles of 16, one tall tile. */
    static final int GRAB_ROWS = 64;
    /**
     * Rows after which the m > 1 paths' tilings repeat (the lane-wise path's grabs of {@link #GRAB_ROWS}, the
     * column-lane path's tiles of {@link ColumnLaneTiles#TILE_ROWS}): row ranges equal modulo this run the same
     * partial tiles and tail kernels. Public: the lens warm-up reproduces the real blocks' sizes modulo it.
     */
    public static final int TILING_PERIOD_ROWS = leastCommonMultiple(GRAB_ROWS, ColumnLaneTiles.TILE_ROWS);   // 192

    private static int leastCommonMultiple(int a, int b) {
        int x = a, y = b;
        while (y != 0) {
            int rest = x % y;
            x = y;
            y = rest;
        }
        return a / x * b;
    }
    /**
     * Columns per K block: a whole row at n_embd up to 4096 (Qwen3-8B, Llama-3-8B), longer rows in blocks of 4096.
     * Blocks of 512 (four weight rows in L1 while the M block's x slices pass) were slower here: at 256 bits, one
     * thread's CPU time, 8192 x 4096, M = 37, blocks of 4096 took 0.89-1.01x the time of 512 (median 0.94-0.97x)
     * for Q8_0, Q4_K, F16 and Q6_K, and 0.79-0.82x at M = 592 (Q4_K, 2048 rows); 1024 fell between (TileTuning,
     * load 3-9 from other jobs). Each block reloads and stores its accumulators, so fewer blocks also mean fewer of
     * those. The accumulators keep the same per-lane FMA sequence, so the result does not depend on this value, on
     * {@link #M_BLOCK} or on the register block.
     */
    public static final int K_CHUNK = 4096;   // public: the lens warm-up keeps its rows within one K block too (lens/LensWarmup)
    /**
     * Vectors per M block: their lane-wise partial sums (48 x 16 x lanes) stay in L1/L2 while the tile's rows
     * pass over them. At M = 592 (Q4_K, 2048 x 4096, one thread's CPU time) blocks of 24, 96 and all 592 vectors,
     * a 32-row tile and the vector groups outside the row groups all measured within 0.90-1.06x of this (TileTuning,
     * load 3-7), so it stays.
     */
    public static final int M_BLOCK = 48;   // public: the lens warm-up reproduces M modulo this (lens/LensWarmup)
    /**
     * Vectors per register block: 6 (4 x 6 = 24 accumulators) where the CPU has 32 vector registers (AVX-512,
     * and AArch64's NEON/SVE), else 2 (8 accumulators + 2 x + 1 w of AVX2/SSE's 16 registers). 4 x 3 fills all 16
     * and C2's 4x-unrolled loop spilled accumulators to the stack (hsdis), and 4 x 6 spilled more: with the operands
     * in L1, one thread, 4 x 2 did 42-50 GFLOP/s at 256 bits against 34-37 (4 x 3) and 18-24 (4 x 6), and 44 at 128
     * bits against 19 (KLab, best of 10, load 4-6). In the whole product (F16, 8192 x 4096, M = 37, one thread's CPU
     * time, TileTuning) 4 x 2 took 0.82-0.87x the time of 4 x 3 at 256 bits and 0.83x at 128 (load 3-5).
     */
    static final int REGISTER_VECTORS = LANES >= 16 || "aarch64".equals(System.getProperty("os.arch")) ? 6 : 2;

    /**
     * How the tile path blocks the product: rows decoded per tile, columns per K block, vectors per M block, the
     * loop order inside a K block (vector groups outside the 4-row groups, or inside) and the register block's
     * width (2, 3 or 6 vectors). Every combination performs the same per-lane FMA sequence, so none changes a result bit.
     */
    record Blocking(int tileRows, int kChunk, int mBlock, boolean vectorsOuter, int registerVectors) {
        Blocking {
            if (tileRows < 4 || tileRows % 4 != 0) throw new IllegalArgumentException("tile of " + tileRows + " rows");
            if (kChunk < LANES || kChunk % LANES != 0) throw new IllegalArgumentException("K block of " + kChunk + " columns");
            if (mBlock < 1) throw new IllegalArgumentException("M block of " + mBlock + " vectors");
            if (registerVectors != 2 && registerVectors != 3 && registerVectors != 6) throw new IllegalArgumentException("register block of " + registerVectors + " vectors");
        }

        /**
         * The blocking used for {@code type} and m vectors: the same for every type, as no type measured better with
         * another; {@link #TALL_TILE} rows when m spans more than one M block.
         * At 256 bits, M = 37, 8192 x 4096, one thread's CPU time, blockings alternating in one process (TileTuning,
         * load 7-9 from other jobs), against 16 rows / K 512 / M 48 / rows outside (the former default): K 256 with
         * vector groups outside took 1.01-1.21x, 32 rows / K 256 / vectors outside 1.02-1.29x, 8 rows / K 512 /
         * vectors outside 1.00-1.07x, a single K block of 4096 0.86-1.06x (see {@link #K_CHUNK}) for F16, Q6_K,
         * Q8_0 and Q4_K alike, so K blocking is not what made F16 slower than the other types.
         */
        static Blocking of(GgmlType type, int m, int registerVectors) {
            return new Blocking(m > M_BLOCK ? TALL_TILE : BLOCKED_TILE, K_CHUNK, M_BLOCK, false, registerVectors);
        }
    }

    /** Bytes of heap weight rows copied at once into native scratch for the m = 1 row kernels. */
    static final int ROW_CHUNK_BYTES = 16 * 1024;
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private FusedMatmul() {
    }

    /** All rows: y[i*rows + r] = sum_k x[i*cols + k] * W[r][k]. */
    public static void multiply(WeightMatrix w, float[] x, int m, float[] y, int threads) {
        multiply(w, x, m, 0, w.rows(), y, threads);
    }

    /**
     * y[i*(rowEnd-rowStart) + (r-rowStart)] = sum_k x[i*cols + k] * W[r][k] for i < m, rowStart <= r < rowEnd.
     * Each weight block is decoded once and used for all m vectors; rows are split over {@code threads}
     * threads (1 = the caller's thread only). Weights in a thread-confined segment (Arena.ofConfined) are read
     * on the caller's thread only, whatever {@code threads} says; use a shared or global arena to spread them.
     */
    public static void multiply(WeightMatrix w, float[] x, int m, int rowStart, int rowEnd, float[] y, int threads) {
        multiplyChecked(w, x, m, rowStart, rowEnd, y, threads, null);
    }

    /** As {@link #multiply(WeightMatrix, float[], int, int, int, float[], int)} with the register block's width (2, 3 or 6) chosen; for tests. */
    static void multiply(WeightMatrix w, float[] x, int m, int rowStart, int rowEnd, float[] y, int threads, int registerVectors) {
        multiply(w, x, m, rowStart, rowEnd, y, threads, Blocking.of(w.type(), m, registerVectors));
    }

    /**
     * As {@link #multiply(WeightMatrix, float[], int, int, int, float[], int)} on the lane-wise tile path (K in the
     * lanes) with its blocking chosen, also where {@link ColumnLaneTiles} would serve; for tests and tuning.
     */
    static void multiply(WeightMatrix w, float[] x, int m, int rowStart, int rowEnd, float[] y, int threads, Blocking blocking) {
        Objects.requireNonNull(blocking, "blocking");
        multiplyChecked(w, x, m, rowStart, rowEnd, y, threads, blocking);
    }

    /** The one place that checks the arguments and picks the path; blocking null: the default path for m. */
    private static void multiplyChecked(WeightMatrix w, float[] x, int m, int rowStart, int rowEnd, float[] y, int threads,
                                        Blocking blocking) {
        if (blocking != null && blocking.kChunk() % w.type().blockSize != 0) {
            throw new IllegalArgumentException("K blocks of " + blocking.kChunk() + " do not hold whole " + w.type() + " blocks");
        }
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
        // The m = 1 row kernels read native weights by address, past the segment's own checks: check here that
        // the caller may read it (open, and its own if confined) rather than read freed memory.
        MemorySegment data = w.data();
        if (!data.scope().isAlive()) throw new IllegalStateException("multiply: the weight segment's arena is closed");
        if (!data.isAccessibleBy(Thread.currentThread())) {
            throw new WrongThreadException("multiply: the weight segment is confined to another thread");
        }

        // Split into `threads` contiguous chunks whose sizes are multiples of the row tile. A segment confined to
        // the caller's thread cannot be read from the pool, so it is multiplied on the caller's thread alone.
        int tiles = (outRows + ROW_TILE - 1) / ROW_TILE;
        int parts = data.isAccessibleBy(ParallelFor.POOL_PROBE) ? Math.min(threads, tiles) : 1;
        if (blocking == null && ColumnLaneTiles.serves(m, cols)) {
            ColumnLaneTiles.multiply(w, x, m, rowStart, rowEnd, y, parts);
            return;
        }
        Blocking chosen = blocking != null ? blocking : Blocking.of(w.type(), m, REGISTER_VECTORS);
        float[] xk = cols % LANES == 0 ? chunkMajor(x, m, cols, chosen.kChunk()) : x;
        if (parts == 1) {
            new RangeWorker(w, x, xk, m, rowStart, outRows, y, chosen).run(rowStart, rowEnd);
            return;
        }
        if (m > 1 && cols % LANES == 0) {
            // Threads take the next few tiles as they finish (not one fixed half each), so a core slowed by
            // other work does not hold the whole product back; every row's bits are the same either way.
            int grab = Math.max(1, GRAB_ROWS / chosen.tileRows()) * chosen.tileRows();
            int grabs = (outRows + grab - 1) / grab;
            AtomicInteger next = new AtomicInteger();
            ParallelFor.parts(Math.min(parts, grabs), p -> {
                RangeWorker worker = new RangeWorker(w, x, xk, m, rowStart, outRows, y, chosen);
                for (int g = next.getAndIncrement(); g < grabs; g = next.getAndIncrement()) {
                    int from = rowStart + g * grab;
                    worker.run(from, Math.min(rowEnd, from + grab));
                }
            });
            return;
        }
        int[] bounds = new int[parts + 1];
        for (int p = 0; p <= parts; p++) {
            bounds[p] = Math.min(rowEnd, rowStart + (int) ((long) tiles * p / parts) * ROW_TILE);
        }
        ParallelFor.parts(parts, p -> new RangeWorker(w, x, xk, m, rowStart, outRows, y, chosen).run(bounds[p], bounds[p + 1]));
    }

    /**
     * x laid out K block by K block: block c holds, for every vector v, its columns [c*kChunk, c*kChunk + kc)
     * contiguously at c*kChunk*m + v*kc, as the tile is laid out. With one K block (cols <= kChunk) and for m = 1
     * this is x itself.
     */
    static float[] chunkMajor(float[] x, int m, int cols, int kChunk) {
        if (m == 1 || kChunk >= cols) return x;  // one K block: the layout is x's own
        float[] out = new float[m * cols];
        for (int k0 = 0; k0 < cols; k0 += kChunk) {
            int kc = Math.min(kChunk, cols - k0);
            for (int v = 0; v < m; v++) System.arraycopy(x, v * cols + k0, out, k0 * m + v * kc, kc);
        }
        return out;
    }

    /** Per-thread scratch and the loop over row tiles. */
    private static final class RangeWorker {
        private final GgmlType type;
        private final MemorySegment data;
        private final float[] x;
        /** x in K-block-major order ({@link #chunkMajor}) for the blocked path. */
        private final float[] xk;
        private final int m, cols, rowStart, outRows;
        private final float[] y;
        private final long rowBytes;
        private final boolean blocked;
        private final int tileRows;
        private final int kChunk;
        private final int mBlock;
        private final boolean vectorsOuter;
        private final int registerVectors;
        private byte[] raw;
        private short[] halves;
        private float[] tile;
        private float[] acc;
        private final float[] sums = new float[ROW_TILE * 3];

        RangeWorker(WeightMatrix w, float[] x, float[] xk, int m, int rowStart, int outRows, float[] y, Blocking blocking) {
            this.registerVectors = blocking.registerVectors();
            this.kChunk = blocking.kChunk();
            this.mBlock = blocking.mBlock();
            this.vectorsOuter = blocking.vectorsOuter();
            this.xk = xk;
            this.type = w.type();
            this.data = w.data();
            this.x = x;
            this.m = m;
            this.cols = w.cols();
            this.rowStart = rowStart;
            this.outRows = outRows;
            this.y = y;
            this.rowBytes = w.rowBytes();
            this.blocked = cols % LANES == 0;
            this.tileRows = blocked ? blocking.tileRows() : ROW_TILE;
        }

        void run(int from, int to) {
            if (from >= to) return;
            if (m == 1 && RowKernels.handles(type)) {
                // Native weights (mapped files, arena allocations) are read in place; others are copied a few
                // rows at a time into a native scratch, as the kernels address raw memory (see dotRows for why).
                RowKernels.Prepared prepared = RowKernels.prepare(type, x, cols);
                if (data.isNative()) {
                    RowKernels.dotRows(type, data.address() + from * rowBytes, to - from, rowBytes, x, cols, prepared,
                            y, from - rowStart);
                } else {
                    int chunkRows = (int) Math.max(1, ROW_CHUNK_BYTES / rowBytes);
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment scratch = arena.allocate(chunkRows * rowBytes, 64);
                        for (int r = from; r < to; r += chunkRows) {
                            int nr = Math.min(chunkRows, to - r);
                            MemorySegment.copy(data, r * rowBytes, scratch, 0, nr * rowBytes);
                            RowKernels.dotRows(type, scratch.address(), nr, rowBytes, x, cols, prepared, y, r - rowStart);
                        }
                    }
                }
                return;
            }
            if (m == 1 && type == GgmlType.F16 && !VectorDecoder.ENABLED) {
                // One row at a time through L1: halves copied, widened by the auto-vectorised exact
                // float16ToFloat loop (vcvtph2ps), then a 4-chain dot. The tiled path's 8-row float tile
                // spills to L2 and its K-blocked partial sums cost more than the product itself at m = 1.
                f16Rows(data, rowBytes, from, to, x, cols, y, from - rowStart);
                return;
            }
            if (tile == null) {
                tile = new float[tileRows * cols];
                if (type == GgmlType.F16 && !blocked) halves = new short[tileRows * cols];
                else if (type != GgmlType.F32) raw = new byte[(int) (tileRows * rowBytes)];
            }
            if (blocked) {
                if (acc == null) acc = new float[Math.min(m, mBlock) * tileRows * LANES];
                for (int r = from; r < to; r += tileRows) {
                    int nr = Math.min(tileRows, to - r);
                    decodeChunkMajor(r, nr);
                    for (int v0 = 0; v0 < m; v0 += mBlock) blockedTile(r - rowStart, nr, v0, Math.min(mBlock, m - v0));
                }
                return;
            }
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

        /**
         * The decoded tile times vectors [v0, v0 + mv), blocked over K so that four weight rows stay in L1 while
         * every vector group of the block passes, and the block's x slices and lane-wise partial sums ({@code acc})
         * stay in L2. Every kernel performs the same per-lane FMA sequence (k ascending), so the result does not
         * depend on which kernel handled an output or on the blocking.
         */
        private void blockedTile(int outRow, int nr, int v0, int mv) {
            int accV = tileRows * LANES;
            java.util.Arrays.fill(acc, 0, mv * accV, 0f);
            int fullRows = nr & ~3;
            for (int k0 = 0; k0 < cols; k0 += kChunk) {
                int kc = Math.min(kChunk, cols - k0);
                int wBase = k0 * tileRows;
                int xBase = k0 * m + v0 * kc;
                if (vectorsOuter) {
                    // each group of vectors' K slices (L1) meets every 4-row group of the tile's K block (L1 too)
                    int v = 0;
                    if (registerVectors == 6) {
                        for (; v + 6 <= mv; v += 6) {
                            for (int r = 0; r < fullRows; r += 4) k4x6(tile, wBase + r * kc, kc, xk, xBase + v * kc, kc, acc, v * accV + r * LANES, accV);
                        }
                    }
                    if (registerVectors == 2) {
                        for (; v + 2 <= mv; v += 2) {
                            for (int r = 0; r < fullRows; r += 4) k4x2(tile, wBase + r * kc, kc, xk, xBase + v * kc, kc, acc, v * accV + r * LANES, accV);
                        }
                    }
                    for (; v + 3 <= mv; v += 3) {
                        for (int r = 0; r < fullRows; r += 4) k4x3(tile, wBase + r * kc, kc, xk, xBase + v * kc, kc, acc, v * accV + r * LANES, accV);
                    }
                    for (; v < mv; v++) {
                        for (int r = 0; r < fullRows; r += 4) k4x1(tile, wBase + r * kc, kc, xk, xBase + v * kc, kc, acc, v * accV + r * LANES);
                    }
                } else {
                    // each 4-row group (L1) meets every vector's K slice of the M block (L2)
                    for (int r = 0; r < fullRows; r += 4) {
                        int wo = wBase + r * kc;
                        int v = 0;
                        if (registerVectors == 6) {
                            for (; v + 6 <= mv; v += 6) k4x6(tile, wo, kc, xk, xBase + v * kc, kc, acc, v * accV + r * LANES, accV);
                        }
                        if (registerVectors == 2) {
                            for (; v + 2 <= mv; v += 2) k4x2(tile, wo, kc, xk, xBase + v * kc, kc, acc, v * accV + r * LANES, accV);
                        }
                        for (; v + 3 <= mv; v += 3) k4x3(tile, wo, kc, xk, xBase + v * kc, kc, acc, v * accV + r * LANES, accV);
                        for (; v < mv; v++) k4x1(tile, wo, kc, xk, xBase + v * kc, kc, acc, v * accV + r * LANES);
                    }
                }
                for (int r = fullRows; r < nr; r++) {
                    for (int v = 0; v < mv; v++) k1x1(tile, wBase + r * kc, xk, xBase + v * kc, kc, acc, v * accV + r * LANES);
                }
            }
            for (int v = 0; v < mv; v++) {
                int yo = (v0 + v) * outRows + outRow;
                for (int r = 0; r < nr; r++) y[yo + r] = FloatLanes.sum(FloatVector.fromArray(SPECIES, acc, v * accV + r * LANES));
            }
        }

        /**
         * Rows [r, r + nr) decoded into the tile K block by K block, as {@link #chunkMajor} lays out x: row rr's
         * columns [k0, k0 + kc) at k0*tileRows + rr*kc (K_CHUNK is a multiple of every block size).
         */
        private void decodeChunkMajor(int r, int nr) {
            long off = r * rowBytes;
            if (decodesFromRaw(type)) MemorySegment.copy(data, ValueLayout.JAVA_BYTE, off, raw, 0, (int) (nr * rowBytes));
            for (int rr = 0; rr < nr; rr++) {
                for (int k0 = 0; k0 < cols; k0 += kChunk) {
                    int kc = Math.min(kChunk, cols - k0);
                    decodeSpan(type, data, off + rr * rowBytes, raw, (int) (rr * rowBytes), k0, kc, tile, k0 * tileRows + rr * kc);
                }
            }
        }

        private void decodeRows(int r, int nr) {
            long off = r * rowBytes;
            int n = nr * cols;
            switch (type) {
                case F32 -> MemorySegment.copy(data, F32_LE, off, tile, 0, n);
                case F16 -> {
                    // A plain loop over Float.float16ToFloat is auto-vectorised by C2 (vcvtph2ps) and is exact.
                    MemorySegment.copy(data, I16_LE, off, halves, 0, n);
                    f16ToFloat(halves, 0, tile, 0, n);
                }
                default -> {
                    MemorySegment.copy(data, ValueLayout.JAVA_BYTE, off, raw, 0, (int) (nr * rowBytes));
                    BlockDecoder.decode(type, raw, 0, tile, 0, n / type.blockSize);
                }
            }
        }
    }

    /** Whether the m > 1 paths decode {@code type} from a copy of its raw bytes (F32 and F16 are read in place). */
    static boolean decodesFromRaw(GgmlType type) {
        return type != GgmlType.F32 && type != GgmlType.F16;
    }

    /**
     * Columns [k0, k0 + kc) of one weight row as floats at t[to ..], for both m > 1 paths: F32 copied and F16 widened
     * straight from the weight's memory (the row at byte {@code rowOffset} of {@code data}), the other types decoded
     * from the row's raw bytes copied beforehand to {@code raw} at {@code rawOffset}. k0 and kc are multiples of the
     * type's block. (The column-lane path widens F16 from its own copy of the rows instead: it reads 256 columns of 48
     * rows at a time, see ColumnLaneTiles.Worker.run.)
     */
    static void decodeSpan(GgmlType type, MemorySegment data, long rowOffset, byte[] raw, int rawOffset, int k0, int kc,
                           float[] t, int to) {
        switch (type) {
            case F32 -> MemorySegment.copy(data, F32_LE, rowOffset + 4L * k0, t, to, kc);
            // widened straight from the weight's memory: on the lane-wise path (whole rows of 4096, one stream each)
            // 8192 x 4096 from DRAM, one thread, 9.6 ms against 11.2 copying the halves to a short array first
            // (F16Lab, load 3.5), same bits
            case F16 -> f16ToFloat(data, rowOffset + 2L * k0, t, to, kc);
            default -> BlockDecoder.decode(type, raw, rawOffset + k0 / type.blockSize * type.typeSize, t, to, kc / type.blockSize);
        }
    }

    /** t[to..to+n) = the n halves at byte offset {@code off} of {@code data} widened, by a loop C2 auto-vectorises (vcvtph2ps); exact. */
    static void f16ToFloat(MemorySegment data, long off, float[] t, int to, int n) {
        for (int i = 0; i < n; i++) t[to + i] = Float.float16ToFloat(data.get(I16_LE, off + 2L * i));
    }

    /** t[to..to+n) = h[from..from+n) widened, by a loop C2 auto-vectorises (vcvtph2ps); exact. */
    static void f16ToFloat(short[] h, int from, float[] t, int to, int n) {
        for (int i = 0; i < n; i++) t[to + i] = Float.float16ToFloat(h[from + i]);
    }

    /** acc[ao..] += w[wo..wo+kc) * x[xo..xo+kc), lane-wise. */
    static void k1x1(float[] w, int wo, float[] x, int xo, int kc, float[] acc, int ao) {
        FloatVector a = FloatVector.fromArray(SPECIES, acc, ao);
        for (int k = 0; k < kc; k += LANES) {
            a = FloatVector.fromArray(SPECIES, w, wo + k).fma(FloatVector.fromArray(SPECIES, x, xo + k), a);
        }
        a.intoArray(acc, ao);
    }

    /** Four rows (stride n) against one vector, lane-wise partial sums at acc[ao + r*LANES]. */
    static void k4x1(float[] w, int wo, int n, float[] x, int xo, int kc, float[] acc, int ao) {
        FloatVector a0 = FloatVector.fromArray(SPECIES, acc, ao);
        FloatVector a1 = FloatVector.fromArray(SPECIES, acc, ao + LANES);
        FloatVector a2 = FloatVector.fromArray(SPECIES, acc, ao + 2 * LANES);
        FloatVector a3 = FloatVector.fromArray(SPECIES, acc, ao + 3 * LANES);
        for (int k = 0; k < kc; k += LANES) {
            FloatVector xv = FloatVector.fromArray(SPECIES, x, xo + k);
            a0 = FloatVector.fromArray(SPECIES, w, wo + k).fma(xv, a0);
            a1 = FloatVector.fromArray(SPECIES, w, wo + n + k).fma(xv, a1);
            a2 = FloatVector.fromArray(SPECIES, w, wo + 2 * n + k).fma(xv, a2);
            a3 = FloatVector.fromArray(SPECIES, w, wo + 3 * n + k).fma(xv, a3);
        }
        a0.intoArray(acc, ao);
        a1.intoArray(acc, ao + LANES);
        a2.intoArray(acc, ao + 2 * LANES);
        a3.intoArray(acc, ao + 3 * LANES);
    }

    /**
     * Four rows (stride n) against two vectors (stride n): 8 accumulators, the two x vectors held and each weight
     * vector loaded once for two FMAs (11 of 16 vector registers, so C2's 4x-unrolled loop does not spill).
     * Vector j's partial sums for row r are at acc[ao + j*accV + r*LANES].
     */
    static void k4x2(float[] w, int wo, int n, float[] x, int xo, int kc, float[] acc, int ao, int accV) {
        int b0 = ao, b1 = ao + accV;
        final int l1 = LANES, l2 = 2 * LANES, l3 = 3 * LANES;
        FloatVector a00 = FloatVector.fromArray(SPECIES, acc, b0), a01 = FloatVector.fromArray(SPECIES, acc, b0 + l1);
        FloatVector a02 = FloatVector.fromArray(SPECIES, acc, b0 + l2), a03 = FloatVector.fromArray(SPECIES, acc, b0 + l3);
        FloatVector a10 = FloatVector.fromArray(SPECIES, acc, b1), a11 = FloatVector.fromArray(SPECIES, acc, b1 + l1);
        FloatVector a12 = FloatVector.fromArray(SPECIES, acc, b1 + l2), a13 = FloatVector.fromArray(SPECIES, acc, b1 + l3);
        for (int k = 0; k < kc; k += LANES) {
            FloatVector x0 = FloatVector.fromArray(SPECIES, x, xo + k);
            FloatVector x1 = FloatVector.fromArray(SPECIES, x, xo + n + k);
            FloatVector wv = FloatVector.fromArray(SPECIES, w, wo + k);
            a00 = wv.fma(x0, a00); a10 = wv.fma(x1, a10);
            wv = FloatVector.fromArray(SPECIES, w, wo + n + k);
            a01 = wv.fma(x0, a01); a11 = wv.fma(x1, a11);
            wv = FloatVector.fromArray(SPECIES, w, wo + 2 * n + k);
            a02 = wv.fma(x0, a02); a12 = wv.fma(x1, a12);
            wv = FloatVector.fromArray(SPECIES, w, wo + 3 * n + k);
            a03 = wv.fma(x0, a03); a13 = wv.fma(x1, a13);
        }
        a00.intoArray(acc, b0); a01.intoArray(acc, b0 + l1); a02.intoArray(acc, b0 + l2); a03.intoArray(acc, b0 + l3);
        a10.intoArray(acc, b1); a11.intoArray(acc, b1 + l1); a12.intoArray(acc, b1 + l2); a13.intoArray(acc, b1 + l3);
    }

    /**
     * Four rows (stride n) against three vectors (stride n): 12 accumulators, the three x vectors held and each
     * weight vector loaded once for three FMAs, so with the weight and x registers it fits 16 vector registers.
     * Vector j's partial sums for row r are at acc[ao + j*accV + r*LANES].
     */
    static void k4x3(float[] w, int wo, int n, float[] x, int xo, int kc, float[] acc, int ao, int accV) {
        int b0 = ao, b1 = ao + accV, b2 = ao + 2 * accV;
        final int l1 = LANES, l2 = 2 * LANES, l3 = 3 * LANES;
        FloatVector a00 = FloatVector.fromArray(SPECIES, acc, b0), a01 = FloatVector.fromArray(SPECIES, acc, b0 + l1);
        FloatVector a02 = FloatVector.fromArray(SPECIES, acc, b0 + l2), a03 = FloatVector.fromArray(SPECIES, acc, b0 + l3);
        FloatVector a10 = FloatVector.fromArray(SPECIES, acc, b1), a11 = FloatVector.fromArray(SPECIES, acc, b1 + l1);
        FloatVector a12 = FloatVector.fromArray(SPECIES, acc, b1 + l2), a13 = FloatVector.fromArray(SPECIES, acc, b1 + l3);
        FloatVector a20 = FloatVector.fromArray(SPECIES, acc, b2), a21 = FloatVector.fromArray(SPECIES, acc, b2 + l1);
        FloatVector a22 = FloatVector.fromArray(SPECIES, acc, b2 + l2), a23 = FloatVector.fromArray(SPECIES, acc, b2 + l3);
        for (int k = 0; k < kc; k += LANES) {
            FloatVector x0 = FloatVector.fromArray(SPECIES, x, xo + k);
            FloatVector x1 = FloatVector.fromArray(SPECIES, x, xo + n + k);
            FloatVector x2 = FloatVector.fromArray(SPECIES, x, xo + 2 * n + k);
            FloatVector wv = FloatVector.fromArray(SPECIES, w, wo + k);
            a00 = wv.fma(x0, a00); a10 = wv.fma(x1, a10); a20 = wv.fma(x2, a20);
            wv = FloatVector.fromArray(SPECIES, w, wo + n + k);
            a01 = wv.fma(x0, a01); a11 = wv.fma(x1, a11); a21 = wv.fma(x2, a21);
            wv = FloatVector.fromArray(SPECIES, w, wo + 2 * n + k);
            a02 = wv.fma(x0, a02); a12 = wv.fma(x1, a12); a22 = wv.fma(x2, a22);
            wv = FloatVector.fromArray(SPECIES, w, wo + 3 * n + k);
            a03 = wv.fma(x0, a03); a13 = wv.fma(x1, a13); a23 = wv.fma(x2, a23);
        }
        a00.intoArray(acc, b0); a01.intoArray(acc, b0 + l1); a02.intoArray(acc, b0 + l2); a03.intoArray(acc, b0 + l3);
        a10.intoArray(acc, b1); a11.intoArray(acc, b1 + l1); a12.intoArray(acc, b1 + l2); a13.intoArray(acc, b1 + l3);
        a20.intoArray(acc, b2); a21.intoArray(acc, b2 + l1); a22.intoArray(acc, b2 + l2); a23.intoArray(acc, b2 + l3);
    }

    /**
     * Four rows (stride n) against six vectors (stride n): 24 accumulators, and each loaded weight
     * vector feeds six FMAs. Vector j's partial sums for row r are at acc[ao + j*accV + r*LANES].
     */
    static void k4x6(float[] w, int wo, int n, float[] x, int xo, int kc, float[] acc, int ao, int accV) {
        int b0 = ao, b1 = ao + accV, b2 = ao + 2 * accV, b3 = ao + 3 * accV, b4 = ao + 4 * accV, b5 = ao + 5 * accV;
        final int l1 = LANES, l2 = 2 * LANES, l3 = 3 * LANES;
        FloatVector a00 = FloatVector.fromArray(SPECIES, acc, b0), a01 = FloatVector.fromArray(SPECIES, acc, b0 + l1);
        FloatVector a02 = FloatVector.fromArray(SPECIES, acc, b0 + l2), a03 = FloatVector.fromArray(SPECIES, acc, b0 + l3);
        FloatVector a10 = FloatVector.fromArray(SPECIES, acc, b1), a11 = FloatVector.fromArray(SPECIES, acc, b1 + l1);
        FloatVector a12 = FloatVector.fromArray(SPECIES, acc, b1 + l2), a13 = FloatVector.fromArray(SPECIES, acc, b1 + l3);
        FloatVector a20 = FloatVector.fromArray(SPECIES, acc, b2), a21 = FloatVector.fromArray(SPECIES, acc, b2 + l1);
        FloatVector a22 = FloatVector.fromArray(SPECIES, acc, b2 + l2), a23 = FloatVector.fromArray(SPECIES, acc, b2 + l3);
        FloatVector a30 = FloatVector.fromArray(SPECIES, acc, b3), a31 = FloatVector.fromArray(SPECIES, acc, b3 + l1);
        FloatVector a32 = FloatVector.fromArray(SPECIES, acc, b3 + l2), a33 = FloatVector.fromArray(SPECIES, acc, b3 + l3);
        FloatVector a40 = FloatVector.fromArray(SPECIES, acc, b4), a41 = FloatVector.fromArray(SPECIES, acc, b4 + l1);
        FloatVector a42 = FloatVector.fromArray(SPECIES, acc, b4 + l2), a43 = FloatVector.fromArray(SPECIES, acc, b4 + l3);
        FloatVector a50 = FloatVector.fromArray(SPECIES, acc, b5), a51 = FloatVector.fromArray(SPECIES, acc, b5 + l1);
        FloatVector a52 = FloatVector.fromArray(SPECIES, acc, b5 + l2), a53 = FloatVector.fromArray(SPECIES, acc, b5 + l3);
        for (int k = 0; k < kc; k += LANES) {
            FloatVector w0 = FloatVector.fromArray(SPECIES, w, wo + k);
            FloatVector w1 = FloatVector.fromArray(SPECIES, w, wo + n + k);
            FloatVector w2 = FloatVector.fromArray(SPECIES, w, wo + 2 * n + k);
            FloatVector w3 = FloatVector.fromArray(SPECIES, w, wo + 3 * n + k);
            FloatVector xv = FloatVector.fromArray(SPECIES, x, xo + k);
            a00 = w0.fma(xv, a00); a01 = w1.fma(xv, a01); a02 = w2.fma(xv, a02); a03 = w3.fma(xv, a03);
            xv = FloatVector.fromArray(SPECIES, x, xo + n + k);
            a10 = w0.fma(xv, a10); a11 = w1.fma(xv, a11); a12 = w2.fma(xv, a12); a13 = w3.fma(xv, a13);
            xv = FloatVector.fromArray(SPECIES, x, xo + 2 * n + k);
            a20 = w0.fma(xv, a20); a21 = w1.fma(xv, a21); a22 = w2.fma(xv, a22); a23 = w3.fma(xv, a23);
            xv = FloatVector.fromArray(SPECIES, x, xo + 3 * n + k);
            a30 = w0.fma(xv, a30); a31 = w1.fma(xv, a31); a32 = w2.fma(xv, a32); a33 = w3.fma(xv, a33);
            xv = FloatVector.fromArray(SPECIES, x, xo + 4 * n + k);
            a40 = w0.fma(xv, a40); a41 = w1.fma(xv, a41); a42 = w2.fma(xv, a42); a43 = w3.fma(xv, a43);
            xv = FloatVector.fromArray(SPECIES, x, xo + 5 * n + k);
            a50 = w0.fma(xv, a50); a51 = w1.fma(xv, a51); a52 = w2.fma(xv, a52); a53 = w3.fma(xv, a53);
        }
        a00.intoArray(acc, b0); a01.intoArray(acc, b0 + l1); a02.intoArray(acc, b0 + l2); a03.intoArray(acc, b0 + l3);
        a10.intoArray(acc, b1); a11.intoArray(acc, b1 + l1); a12.intoArray(acc, b1 + l2); a13.intoArray(acc, b1 + l3);
        a20.intoArray(acc, b2); a21.intoArray(acc, b2 + l1); a22.intoArray(acc, b2 + l2); a23.intoArray(acc, b2 + l3);
        a30.intoArray(acc, b3); a31.intoArray(acc, b3 + l1); a32.intoArray(acc, b3 + l2); a33.intoArray(acc, b3 + l3);
        a40.intoArray(acc, b4); a41.intoArray(acc, b4 + l1); a42.intoArray(acc, b4 + l2); a43.intoArray(acc, b4 + l3);
        a50.intoArray(acc, b5); a51.intoArray(acc, b5 + l1); a52.intoArray(acc, b5 + l2); a53.intoArray(acc, b5 + l3);
    }

    /** y[yo + r - from] = row r of an F16 matrix times x, for from <= r < to (its own method: a small compile). */
    static void f16Rows(MemorySegment data, long rowBytes, int from, int to, float[] x, int cols, float[] y, int yo) {
        short[] h = new short[cols];
        float[] row = new float[cols];
        for (int r = from; r < to; r++) {
            MemorySegment.copy(data, I16_LE, r * rowBytes, h, 0, cols);
            for (int i = 0; i < cols; i++) row[i] = Float.float16ToFloat(h[i]);
            y[yo + r - from] = dotRow(row, x, cols);
        }
    }

    /** sum_k w[k] * x[k] with four independent FMA chains (one chain would wait on FMA latency). */
    static float dotRow(float[] w, float[] x, int n) {
        FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
        int k = 0;
        for (; k + 4 * LANES <= n; k += 4 * LANES) {
            a0 = FloatVector.fromArray(SPECIES, w, k).fma(FloatVector.fromArray(SPECIES, x, k), a0);
            a1 = FloatVector.fromArray(SPECIES, w, k + LANES).fma(FloatVector.fromArray(SPECIES, x, k + LANES), a1);
            a2 = FloatVector.fromArray(SPECIES, w, k + 2 * LANES).fma(FloatVector.fromArray(SPECIES, x, k + 2 * LANES), a2);
            a3 = FloatVector.fromArray(SPECIES, w, k + 3 * LANES).fma(FloatVector.fromArray(SPECIES, x, k + 3 * LANES), a3);
        }
        for (; k + LANES <= n; k += LANES) {
            a0 = FloatVector.fromArray(SPECIES, w, k).fma(FloatVector.fromArray(SPECIES, x, k), a0);
        }
        float sum = FloatLanes.sum(a0.add(a1).add(a2.add(a3)));
        for (; k < n; k++) sum = Math.fma(w[k], x[k], sum);
        return sum;
    }

    static float dot1x1(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(SPECIES);
        int bound = SPECIES.loopBound(n);
        int k = 0;
        for (; k < bound; k += LANES) {
            acc = FloatVector.fromArray(SPECIES, a, ao + k).fma(FloatVector.fromArray(SPECIES, b, bo + k), acc);
        }
        float sum = FloatLanes.sum(acc);
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
        float s0 = FloatLanes.sum(a0), s1 = FloatLanes.sum(a1);
        float s2 = FloatLanes.sum(a2), s3 = FloatLanes.sum(a3);
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
        out[0] = FloatLanes.sum(a00);
        out[1] = FloatLanes.sum(a01);
        out[2] = FloatLanes.sum(a02);
        out[3] = FloatLanes.sum(a03);
        out[4] = FloatLanes.sum(a10);
        out[5] = FloatLanes.sum(a11);
        out[6] = FloatLanes.sum(a12);
        out[7] = FloatLanes.sum(a13);
        out[8] = FloatLanes.sum(a20);
        out[9] = FloatLanes.sum(a21);
        out[10] = FloatLanes.sum(a22);
        out[11] = FloatLanes.sum(a23);
        for (; k < n; k++) {
            for (int v = 0; v < 3; v++) {
                float xk = x[xo + v * n + k];
                for (int r = 0; r < 4; r++) out[v * 4 + r] = Math.fma(w[r * n + k], xk, out[v * 4 + r]);
            }
        }
    }
}
