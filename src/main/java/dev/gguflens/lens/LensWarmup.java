package dev.gguflens.lens;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.llama.RandomWeights;
import dev.gguflens.quant.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Makes the first lens of a fresh process as fast as a later one. Without it a one-shot probe pays, inside its
 * lens time, for the first touch of the output weight (Qwen3-8B's Q6_K output: 510 MB of page faults, or disk
 * reads when the file is not cached) and for the JIT: the Vector API kernels run interpreted, orders of magnitude
 * slower, until C2 has compiled them. A background thread started before llama.cpp loads the model does both
 * while llama.cpp works: it reads the output weight's pages in ({@link LogitProjection#prefetch}) unless the lens
 * will read llama.cpp's own (already resident) pages, then runs the
 * whole lens (norm, product, statistics, consistency check) on a small synthetic head of the output weight's type
 * and width until its time per run stops falling, so the real lens finds its code compiled.
 */
public final class LensWarmup {
    /**
     * The synthetic head: 256 rows (the lens's smallest streaming block) of at most 1024 columns. What makes C2
     * compile a kernel is how often it runs and loops, not how big its matrix is, and until then every vector
     * operation runs interpreted (~1000x slower), so the smaller the matrix the sooner the compiled code exists.
     */
    private static final int ROWS = 256;
    private static final int MAX_COLS = 1024;
    /**
     * Vocabulary rows per streaming block of the synthetic lens: several blocks, the last one partial, as in the
     * real lens (151,936 rows in blocks of up to 8,192), so the loop over blocks goes round while warming too. (A JIT
     * log still shows C2's code for that loop and for the row statistics discarded once, by uncommon traps, at the
     * real lens's first block: branches the synthetic logits never take.)
     */
    private static final int BLOCK_ROWS = 96;
    /** Runs of the whole synthetic lens (C2's thresholds: thousands of calls), within a wall-clock budget. */
    private static final int RUNS = 300;
    private static final long BUDGET_NANOS = 30_000_000_000L;
    /**
     * Warming stops earlier once the code has stopped changing: after at least {@link #MIN_RUNS} runs, when none of
     * the last {@link #PLATEAU_RUNS} beat the best by {@link #PLATEAU_GAIN} and the JIT compiled nothing meanwhile.
     * It shares the cores with llama.cpp's load and forward pass, so every run past that point only slows the
     * forward (Qwen3-8B-shaped, 2 cores: a run took 7-15 s interpreted, 10-60 ms compiled, and the 30 s budget ran
     * on into the forward). Run times alone stop falling too early: the kernels sit at C1 (which does not
     * intrinsify the Vector API) until their counters reach C2's thresholds; stopped after 40 runs with only 20
     * to compare, C2 compiled the tile kernels during the real lens instead, and the first last-position lens took
     * 2.4-3.2x the second.
     */
    private static final int MIN_RUNS = 100;
    private static final int PLATEAU_RUNS = 30;
    private static final double PLATEAU_GAIN = 0.05;
    /** Output weights below this are quick to touch and their lens is short: no warm-up (e.g. the test models). */
    public static final long MIN_OUTPUT_BYTES = 64L << 20;

    private static final boolean DEBUG = System.getenv("GGUF_LENS_DEBUG_WARMUP") != null;

    private final Thread thread;
    /** Set when the real lens is about to start: warming stops after its current (small) run. */
    private volatile boolean stop;
    private volatile int runs;

    private LensWarmup(Thread thread) {
        this.thread = thread;
    }

    /**
     * Starts warming for a lens over {@code layers} x {@code positions} vectors of {@code head}.
     *
     * @param positions prompt positions the lens will read (1 for the last position alone); the kernels are the
     *                  same for every batch of more than one vector, so an estimate will do
     * @param prefetch  whether to read the output weight's pages in through {@code head}'s mapping first: not when
     *                  the lens will read them through llama.cpp's mapping, which llama.cpp faults in itself (a second
     *                  mapping's pages count again in the resident set)
     */
    public static LensWarmup start(LensHead head, int layers, int positions, int threads, boolean prefetch) {
        LensWarmup[] self = new LensWarmup[1];
        Thread t = Thread.ofPlatform().daemon().name("gguf-lens-warmup")
                .unstarted(() -> self[0].run(head, layers, positions, threads, prefetch));
        self[0] = new LensWarmup(t);
        t.start();
        return self[0];
    }

    /** Stops warming after its current run and waits for that; a failed warm-up is ignored (it only costs speed). */
    public void await() {
        stop = true;
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Synthetic lens runs completed so far. */
    public int runs() {
        return runs;
    }

    public boolean isRunning() {
        return thread.isAlive();
    }

    private void run(LensHead head, int layers, int positions, int threads, boolean prefetch) {
        try {
            if (prefetch) head.output().prefetch();
            GgmlType type = head.output().weightType();
            int cols = Math.min(head.embeddingLength(), MAX_COLS);
            if (cols % type.blockSize != 0) cols = head.embeddingLength();
            try (Arena arena = Arena.ofShared()) {
                MemorySegment weights = RandomWeights.supports(type)
                        ? RandomWeights.allocate(arena, type, ROWS, cols, 7) : null;
                if (weights == null) return;   // a type the generator lacks (i-quants): first touch only
                LensHead synthetic = new LensHead(head.architecture(), head.norm(), ones(cols),
                        head.normBias() == null ? null : new float[cols], head.epsilon(),
                        LogitProjection.of(new WeightMatrix(type, weights, ROWS, cols)), null, head.logitScale(), head.softcap());
                warm(synthetic, layers, Math.max(1, positions), threads);
            }
        } catch (RuntimeException | Error e) {
            if (DEBUG) e.printStackTrace();
            // Warming is an optimisation: the real lens reports any real problem with the head itself.
        }
    }

    private void warm(LensHead head, int layers, int positions, int threads) {
        SplittableRandom random = new SplittableRandom(3);
        int cols = head.embeddingLength();
        float[][][] states = new float[layers][positions][cols];
        for (float[][] layer : states) for (float[] row : layer) for (int i = 0; i < cols; i++) row[i] = (float) random.nextGaussian();
        int[] at = IntStream.range(0, positions).toArray();
        float[][] reference = new float[positions][ROWS];
        for (float[] row : reference) for (int i = 0; i < ROWS; i++) row[i] = (float) random.nextGaussian();
        LensRequest request = new LensRequest(LensKind.NORM, 10, at, List.of(new TrackedToken("warm-up", 1)), reference,
                new int[] {1, 2, 3}, id -> true);
        long start = System.nanoTime();
        long best = Long.MAX_VALUE;
        int bestRun = 0;
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean jitTimed = jit != null && jit.isCompilationTimeMonitoringSupported();
        long compiledMs = jitTimed ? jit.getTotalCompilationTime() : 0;
        int quietSince = 0;
        String end = "all " + RUNS + " runs";
        for (int run = 0; run < RUNS; run++) {
            if (stop) {
                end = "stopped by the lens";
                break;
            }
            if (System.nanoTime() - start >= BUDGET_NANOS) {
                end = "time budget";
                break;
            }
            if (run >= MIN_RUNS && run - bestRun >= PLATEAU_RUNS && run - quietSince >= PLATEAU_RUNS) {
                end = "no faster run and no compilation in the last " + PLATEAU_RUNS;
                break;
            }
            long t0 = System.nanoTime();
            LogitLens.run(head, LayerStates.of(states), request, threads, BLOCK_ROWS);
            HeadConsistency.of(head, states[layers - 1][positions - 1], reference[positions - 1], threads);
            long took = System.nanoTime() - t0;
            if (took < best * (1 - PLATEAU_GAIN)) bestRun = run;
            best = Math.min(best, took);
            long nowCompiledMs = jitTimed ? jit.getTotalCompilationTime() : 0;
            if (nowCompiledMs != compiledMs) {
                compiledMs = nowCompiledMs;
                quietSince = run;
            }
            runs = run + 1;
            if (DEBUG && run % 20 == 0) System.err.printf("gguf-lens warm-up: run %d %.1f ms (M=%d)%n", run, took / 1e6, layers * positions);
        }
        if (DEBUG) System.err.printf("gguf-lens warm-up: done after %d runs, %.1f s (%s); best run %.1f ms%n", runs,
                (System.nanoTime() - start) / 1e9, end, best / 1e6);
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        Arrays.fill(v, 1f);
        return v;
    }
}
