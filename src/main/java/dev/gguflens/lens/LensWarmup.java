package dev.gguflens.lens;

import dev.gguflens.quant.FusedMatmul;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.IntStream;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Makes the first lens of a fresh process as fast as a later one. Without it a one-shot probe pays, inside its
 * lens time, for the first touch of the output weight (Qwen3-8B's Q6_K output: 510 MB of page faults, or disk
 * reads when the file is not cached) and for the JIT: the Vector API kernels run interpreted, orders of magnitude
 * slower, until C2 has compiled them. A background thread started before llama.cpp loads the model does both
 * while llama.cpp works: it reads the output weight's pages in ({@link LogitProjection#prefetch}) unless the lens
 * will read llama.cpp's own (already resident) pages, then runs the whole lens (norm, product, statistics,
 * consistency check) on a small head cut from the real one until C2 has compiled what it runs.
 * <p>
 * What it runs has to be what the real lens will run, branch for branch and class for class: C2 compiles from the
 * profile the warm-up leaves, and a branch or receiver class the warm-up never saw becomes an uncommon trap that
 * throws the compiled code away at the real lens's first block (a JIT log of the earlier synthetic warm-up showed
 * that for the statistics and the lens's pass). So the small head is the real output weight's first rows (its
 * type, width and values; the real norm and head transform), the lens request has the real shape (lens kind,
 * top-k, tracked tokens, layers x positions: {@link Expectation}, updated by {@link #expect} once the prompt is
 * known), the states are off-heap segments like a capture's, and the synthetic vocabulary is cut into blocks whose
 * sizes leave the same remainders as the real lens's blocks (modulo 192 rows: the lane-wise path's 64-row grabs,
 * the column-lane path's 48-row tiles and its 6-row register blocks, and every vector length), so the partial
 * tiles, the statistics' tail loops and the tracked tokens' in-block and out-of-block cases all occur.
 */
public final class LensWarmup {
    /**
     * What a lens will be asked: its kind, top-k, captured layers, positions, tracked tokens, whether the last
     * position's log-probabilities are kept (compare), whether llama.cpp's logits come with it (a statistics row per
     * position) and whether it checks the head (one more product vector: the product's M, and M's remainders
     * modulo the register and M blocks decide which tails run).
     */
    public record Expectation(LensKind kind, int topK, int layers, int positions, int trackedTokens, boolean keepLastPosition,
                              boolean referenceLogits, boolean checkHead) {
        public Expectation {
            if (kind == null || topK < 1 || layers < 1 || positions < 1 || trackedTokens < 0 || (checkHead && !referenceLogits)) {
                throw new IllegalArgumentException("lens warm-up: bad expectation " + kind + " top-k " + topK + ", "
                        + layers + " layers, " + positions + " positions, " + trackedTokens + " tracked tokens, reference "
                        + referenceLogits + ", head check " + checkHead);
            }
        }

        /** The probe's main lens: against llama.cpp's logits, with the head check. */
        public Expectation(LensKind kind, int topK, int layers, int positions, int trackedTokens, boolean keepLastPosition) {
            this(kind, topK, layers, positions, trackedTokens, keepLastPosition, true, true);
        }
    }

    /** Columns the synthetic head keeps of a row (plus the row's remainder modulo this), where rows fit one K block. */
    private static final int SHORT_WIDTH = 1024;
    /** Remainders of the real blocks are reproduced modulo this many rows (the product's tilings repeat after it). */
    static final int ROW_PERIOD = FusedMatmul.TILING_PERIOD_ROWS;
    /** Full synthetic blocks: two periods plus the remainder, so every product has at least two grabs for two threads. */
    private static final int FULL_BLOCK_BASE = 2 * ROW_PERIOD;
    /**
     * Runs of the whole synthetic lens per expectation at most (C2's thresholds: thousands of calls). 300 ended a
     * last-position warm-up (runs of 3-10 ms) before C2 had compiled the product's range worker, which it then did
     * during the real lens; the budget and the plateau rule bound it now.
     */
    private static final int RUNS = 5000;
    /**
     * Wall-clock budget for all warming of a process: it shares the cores with llama.cpp's load and forward pass.
     * Under load the JIT needs long: on 2 cores at load ~7 (Qwen3-8B-shaped, --positions all) 30 s ended the
     * warm-up with C2 still to compile the statistics and the product's range worker, which it then did during the
     * real lens; the plateau rule below usually ends it well before this.
     */
    private static final long BUDGET_NANOS = 60_000_000_000L;
    /**
     * Warming of an expectation stops after at least {@link #MIN_RUNS} runs of it and {@link #SETTLED_RUNS} runs in
     * all (the JIT counts calls and loops per method, whatever the shape), once the JIT has nothing queued or in
     * progress. Every run past that point only slows llama.cpp's load and forward pass, which share the cores (its
     * threads wait for each other at every operation, so one descheduled thread holds all back: on 2 cores a warm-up
     * that ran on through the forward pass took it from 5.4 to 27.1 s and from 2.2 to 16.2 s). Neither run times nor
     * a quiet JIT tell when to stop: the kernels sit at C1 (which does not intrinsify the Vector API) until their
     * counters reach C2's thresholds, under load run times swing by more than the JIT's gains, and cold methods
     * called once per run (the lens's summary, the product's wrappers) cross C1's thresholds one after another for
     * thousands of runs, so a rule waiting for 2 s without a compilation never ended. The product's range worker,
     * called ~13 times per run, was the last to reach C2, after ~500 runs (Qwen3-8B-shaped, last position, load 4).
     */
    private static final int MIN_RUNS = 100;
    private static final int SETTLED_RUNS = 600;
    /** Output weights below this are quick to touch and their lens is short: no warm-up (e.g. the test models). */
    public static final long MIN_OUTPUT_BYTES = 64L << 20;

    private static final boolean DEBUG = System.getenv("GGUF_LENS_DEBUG_WARMUP") != null;

    private final Thread thread;
    /** Set when the real lens is about to start: warming stops after its current (small) run. */
    private volatile boolean stop;
    /** The lenses expected, in the order they will run; each is warmed in turn. */
    private volatile List<Expectation> expected;
    private volatile int runs;
    /** Set while the thread waits with every expected shape warmed (or the budget spent). */
    private volatile boolean idle;
    /** Shapes whose synthetic lens has run at least once. */
    private volatile int shapesRun;

    private LensWarmup(Thread thread, Expectation expected) {
        this.thread = thread;
        this.expected = List.of(expected);
    }

    /**
     * Starts warming for a lens of {@code head} as {@code expected}.
     *
     * @param prefetch whether to read the output weight's pages in through {@code head}'s mapping first: not when
     *                 the lens will read them through llama.cpp's mapping, which llama.cpp faults in itself (a second
     *                 mapping's pages count again in the resident set)
     * @param copyRows whether to copy the output weight's first rows into native memory (the lens will read
     *                 llama.cpp's pages, native memory, not {@code head}'s file mapping) or read them in place
     */
    public static LensWarmup start(LensHead head, Expectation expected, int threads, boolean prefetch, boolean copyRows) {
        LensWarmup[] self = new LensWarmup[1];
        Thread t = Thread.ofPlatform().daemon().name("gguf-lens-warmup")
                .unstarted(() -> self[0].run(head, threads, prefetch, copyRows));
        self[0] = new LensWarmup(t, expected);
        t.start();
        return self[0];
    }

    /** The lens will be asked this instead (the prompt is known now): warming goes on with this shape. */
    public void expect(Expectation next) {
        expect(List.of(next));
    }

    /**
     * The run will make these lenses, in this order (the prompt is known now; e.g. the probe's lens, then its
     * sub-layer lens and its answers' lenses, each of another shape): warming goes on with each in turn, from the
     * first, as a shape the warm-up never ran leaves branches and tails that trap in the real lens's compiled code.
     */
    public void expect(List<Expectation> next) {
        List<Expectation> shapes = List.copyOf(new java.util.LinkedHashSet<>(next));
        if (shapes.isEmpty()) throw new IllegalArgumentException("lens warm-up: no lens expected");
        if (shapes.equals(expected)) return;
        expected = shapes;
        LockSupport.unpark(thread);
    }

    /** Stops warming after its current run and waits for that; a failed warm-up is ignored (it only costs speed). */
    public void await() {
        long start = System.nanoTime();
        stop = true;
        LockSupport.unpark(thread);
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (DEBUG) System.err.printf("gguf-lens warm-up: released after waiting %.1f ms for its last run, at JVM uptime %d ms%n",
                (System.nanoTime() - start) / 1e6, uptimeMillis());
    }

    /**
     * Waits until every expected shape has been warmed (or the time budget is spent), then stops the warm-up: for a
     * measurement of the lens's steady state (bench), where a lens timed after a few runs of its own still met
     * C2 compiling (the first of 8 runs after one warm-up run: 1.5x the later ones, Q8_0 M=37).
     */
    public void awaitWarmed() {
        while (thread.isAlive() && !idle) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        await();
    }

    /** Shapes (expectations) warmed so far, each counted at its first completed run. */
    int shapesRun() {
        return shapesRun;
    }

    /** Synthetic lens runs completed so far. */
    public int runs() {
        return runs;
    }

    public boolean isRunning() {
        return thread.isAlive();
    }

    private void run(LensHead head, int threads, boolean prefetch, boolean copyRows) {
        try {
            if (prefetch) head.output().prefetch();
            long deadline = System.nanoTime() + BUDGET_NANOS;
            List<Expectation> warmed = null;
            while (!stop) {
                List<Expectation> now = expected;
                if (now.equals(warmed) || System.nanoTime() >= deadline) {
                    idle = expected == now;
                    if (idle) LockSupport.park(this);   // until a new expectation or the lens
                    idle = false;
                    continue;
                }
                warmed = now;
                for (Expectation shape : now) {
                    if (stop || expected != now) break;
                    // Each shape's synthetic lens in memory of its own, freed once it has been warmed.
                    try (Arena shapeArena = Arena.ofShared()) {
                        Synthetic lens = Synthetic.of(head, shape, shapeArena, copyRows);
                        if (lens == null) return;   // a weight without leading rows: first touch only
                        warm(lens, shape, now, threads, deadline);
                    }
                }
            }
        } catch (RuntimeException | Error e) {
            if (DEBUG) e.printStackTrace();
            // Warming is an optimisation: the real lens reports any real problem with the head itself.
        }
    }

    /** Runs {@code lens} until its code has settled, the budget is spent, the expectation changes or the lens starts. */
    private void warm(Synthetic lens, Expectation shape, List<Expectation> shapes, int threads, long deadline) {
        long start = System.nanoTime();
        long best = Long.MAX_VALUE;
        String end = "all " + RUNS + " runs";
        if (DEBUG) System.err.printf("gguf-lens warm-up: %s, M=%d, blocks of %d rows over %d, at JVM uptime %d ms%n",
                shape, lens.vectors, lens.blockRows, lens.head.vocabularySize(), uptimeMillis());
        int run = 0;
        for (; run < RUNS; run++) {
            if (stop) {
                end = "stopped by the lens";
                break;
            }
            if (expected != shapes) {
                end = "a new expectation";
                break;
            }
            if (System.nanoTime() >= deadline) {
                end = "time budget";
                break;
            }
            if (run >= MIN_RUNS && runs >= SETTLED_RUNS && jitIdle()) {
                end = SETTLED_RUNS + " runs in all and no compilation queued";
                break;
            }
            long t0 = System.nanoTime();
            lens.run(threads);
            long took = System.nanoTime() - t0;
            best = Math.min(best, took);
            runs++;
            if (run == 0) shapesRun++;
            if (DEBUG && run % 100 == 0) System.err.printf("gguf-lens warm-up: run %d %.1f ms%n", run, took / 1e6);
        }
        if (DEBUG) System.err.printf("gguf-lens warm-up: done after %d runs, %.1f s (%s); best run %.1f ms; JVM uptime %d ms%n",
                run, (System.nanoTime() - start) / 1e9, end, best / 1e6, uptimeMillis());
    }

    /** The lens on a head cut from the real one, with a request of the expected shape. */
    private record Synthetic(LensHead head, LayerStates states, LensRequest request, int vectors, int blockRows) {
        void run(int threads) {
            LogitLens.inPasses(head, states, request, threads, blockRows, Integer.MAX_VALUE);
        }

        static Synthetic of(LensHead real, Expectation shape, Arena arena, boolean copyRows) {
            int vocab = real.vocabularySize();
            int width = real.embeddingLength();
            // The real lens's largest pass sets the block size; the synthetic lens takes fewer positions when there
            // are many, as many modulo the product's M block (the same full and partial M blocks, a fraction of the work;
            // the vectors then also stay the same modulo the column-lane path's panel of 16, so its last panel is the same).
            int realPositions = Math.min(shape.positions(),
                    LogitLens.positionsPerPass(shape.layers(), width, Runtime.getRuntime().maxMemory()));
            int realBlock = Math.min(LogitLens.blockRows(
                    LogitLens.statisticsRows(shape.layers(), realPositions, shape.kind(), shape.referenceLogits())), vocab);
            int positions = realPositions;
            if (positions > FusedMatmul.M_BLOCK) {
                positions = (positions - 1) % FusedMatmul.M_BLOCK + 1;
                if (positions == 1) positions += FusedMatmul.M_BLOCK;   // one position would not fill an M block
            }
            int vectors = LogitLens.productVectors(shape.layers(), positions, shape.kind());
            Blocks blocks = Blocks.of(vocab, realBlock);
            int rows = blocks.rows(), trackedAt = blocks.trackedAt();
            // Copied rows can be cut short: up to one K block, the product's path depends on the width only modulo
            // 1024 columns (a multiple of every block size and vector length), so a 4096-wide row is warmed at 1024,
            // a quarter of the work per run and four times the runs (C2 compiles by counts of calls and loops).
            if (copyRows && width > SHORT_WIDTH && width <= FusedMatmul.K_CHUNK) {
                width = SHORT_WIDTH + width % SHORT_WIDTH;
            }
            LogitProjection output = real.output().leading(rows, width, copyRows ? arena : null);
            if (output == null) return null;
            LensHead head = new LensHead(real.architecture(), real.norm(), Arrays.copyOf(real.normWeight(), width),
                    real.normBias() == null ? null : Arrays.copyOf(real.normBias(), width), real.epsilon(),
                    output, real.outputBias() == null ? null : Arrays.copyOf(real.outputBias(), rows),
                    real.logitScale(), real.softcap());

            SplittableRandom random = new SplittableRandom(3);
            int layers = shape.layers();
            MemorySegment stateData = arena.allocate((long) layers * positions * width * Float.BYTES, 64);
            for (long i = 0; i < (long) layers * positions * width; i++) {
                stateData.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian());
            }
            long rowBytes = (long) width * Float.BYTES;
            int perLayer = positions;
            LayerStates states = LayerStates.ofSegments(layers, positions, width,
                    (layer, p) -> stateData.asSlice(((long) layer * perLayer + p) * rowBytes, rowBytes));
            float[][] reference = shape.referenceLogits() ? new float[positions][rows] : null;
            if (reference != null) for (float[] row : reference) for (int i = 0; i < rows; i++) row[i] = (float) (3 * random.nextGaussian());
            List<TrackedToken> tracked = new ArrayList<>();
            for (int k = 0; k < shape.trackedTokens(); k++) tracked.add(new TrackedToken("warm-up", Math.min(rows - 1, trackedAt + k)));
            LensRequest request = new LensRequest(shape.kind(), Math.min(shape.topK(), rows), IntStream.range(0, positions).toArray(),
                    tracked, reference, new int[] {1, 2, 3}, id -> true, shape.keepLastPosition(), shape.checkHead());
            return new Synthetic(head, states, request, vectors, blocks.block());
        }
    }

    /**
     * The synthetic vocabulary's blocking for a real one of {@code vocab} rows in blocks of {@code realBlock}: two
     * full blocks and a last one whose sizes equal the real full and last blocks modulo {@link #ROW_PERIOD} (full
     * blocks of at least two periods, so both threads get a grab), and where the tracked tokens sit: in the middle
     * block, so that blocks before and after them occur too. A real single block becomes a single block.
     */
    record Blocks(int rows, int block, int trackedAt) {
        static Blocks of(int vocab, int realBlock) {
            if (realBlock >= vocab) {
                int rows = Math.min(vocab, FULL_BLOCK_BASE + vocab % ROW_PERIOD);
                return new Blocks(rows, rows, rows / 2);
            }
            int realLast = vocab - (Math.ceilDiv(vocab, realBlock) - 1) * realBlock;
            int block = FULL_BLOCK_BASE + realBlock % ROW_PERIOD;
            int last = realLast == realBlock ? block : ROW_PERIOD + realLast % ROW_PERIOD;
            if (2 * block + last > vocab) return new Blocks(vocab, realBlock, Math.min(vocab - 1, realBlock + realBlock / 2));
            return new Blocks(2 * block + last, block, block + block / 2);
        }
    }

    /** Whether the JIT compiles nothing now and has nothing queued (jcmd's Compiler.queue); true when that cannot be asked. */
    private static boolean jitIdle() {
        try {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            String queue = (String) server.invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerQueue",
                    new Object[] {null}, new String[] {String[].class.getName()});
            // Every compilation in progress or queued is a line naming a method ("pkg.Class::method").
            return queue.lines().noneMatch(line -> line.contains("::"));
        } catch (Exception | Error e) {
            return true;
        }
    }

    private static long uptimeMillis() {
        return ManagementFactory.getRuntimeMXBean().getUptime();
    }
}
