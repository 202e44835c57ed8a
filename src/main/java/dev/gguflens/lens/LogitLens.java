package dev.gguflens.lens;

import dev.gguflens.lens.LensResult.CopyCollapse;
import dev.gguflens.lens.LensResult.LayerRecord;
import dev.gguflens.lens.LensResult.Milestone;
import dev.gguflens.lens.LensResult.Milestones;
import dev.gguflens.lens.LensResult.PositionConsistency;
import dev.gguflens.lens.LensResult.TokenProbability;
import dev.gguflens.lens.LensResult.TrackedRank;
import dev.gguflens.quant.ParallelFor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The logit lens: every (layer, position) residual is prepared by the lens kind, then all of them,
 * together with each position's final row (the NORM lens at the last layer), go as one batch through
 * a single streamed pass over the output weight, a vocabulary block at a time. Per-row statistics are
 * updated online, so the batch x n_vocab logits never exist at once.
 */
public final class LogitLens {
    /** Aim for about this many logits per block across the whole batch (float + double buffers ~ 24 MiB). */
    private static final int TARGET_BLOCK_ELEMENTS = 1 << 21;
    private static final int MIN_BLOCK_ROWS = 256;
    private static final int MAX_BLOCK_ROWS = 8192;
    private static final double LN2 = Math.log(2.0);

    private LogitLens() {}

    public static LensResult run(LensHead head, LayerStates states, LensRequest request, int threads) {
        int perPass = positionsPerPass(states.layers(), head.embeddingLength(), Runtime.getRuntime().maxMemory());
        return inPasses(head, states, request, threads, 0, perPass);
    }

    /**
     * How many positions one pass over the output weight takes so that its buffers stay within a quarter of the
     * heap: per lens vector the prepared input (n_embd floats), the products and logits of a block of at least
     * {@link #MIN_BLOCK_ROWS} rows (float + double) and its statistics (~1 KiB), for every layer plus a final row.
     * The launcher sizes the heap from the model, not the prompt (Qwen3-8B: 556 MiB), and all positions of a long
     * prompt would not fit in one pass (2,048 tokens x 37 layers x 19 KiB = 1.4 GiB); 11 tokens take one pass.
     */
    static int positionsPerPass(int layers, int width, long maxHeapBytes) {
        long perVector = 4L * width + 12L * MIN_BLOCK_ROWS + 1024;
        return Math.clamp(passBudgetBytes(maxHeapBytes) / (perVector * (layers + 1)), 1, Integer.MAX_VALUE);
    }

    /**
     * Vocabulary rows per streamed block when a pass keeps {@code statisticsRows} rows of statistics (its product's
     * vectors plus one reference row per position): about {@link #TARGET_BLOCK_ELEMENTS} logits per block. The one
     * rule for the lens, its warm-up ({@link LensWarmup}) and the bare-product timing ({@link #bareProductNanos}).
     */
    public static int blockRows(int statisticsRows) {
        return Math.clamp(TARGET_BLOCK_ELEMENTS / Math.max(1, statisticsRows), MIN_BLOCK_ROWS, MAX_BLOCK_ROWS);
    }

    /** Vectors one pass multiplies by the output weight: one per layer and position, plus a final NORM row per position for the other kinds. */
    static int productVectors(int layers, int positions, LensKind kind) {
        return kind == LensKind.NORM ? layers * positions : (layers + 1) * positions;
    }

    /**
     * The output-weight products alone, as {@link #run(LensHead, LayerStates, LensRequest, int)} runs them for
     * {@code request} over {@code layers} layers: the same passes of positions, vectors per pass and vocabulary
     * blocks, without the norm, the statistics or the tracked tokens' rows. For {@code --timings}: lens time minus
     * this is what the rest of the lens adds. Returns nanoseconds.
     */
    public static long bareProductNanos(LensHead head, int layers, LensRequest request, int threads) {
        LogitProjection output = head.output();
        int vocab = output.rows();
        int positions = request.positions().length;
        int perPass = positionsPerPass(layers, head.embeddingLength(), Runtime.getRuntime().maxMemory());
        int passes = positions <= perPass ? 1 : Math.ceilDiv(positions, perPass);
        // The groups inPasses makes, each with the block run() picks.
        int[] vectors = new int[passes], blocks = new int[passes];
        int xSize = 0, ySize = 0;
        for (int pass = 0; pass < passes; pass++) {
            int count = passStart(positions, pass + 1, passes) - passStart(positions, pass, passes);
            vectors[pass] = productVectors(layers, count, request.kind()) + (request.checkHead() && pass == passes - 1 ? 1 : 0);
            blocks[pass] = Math.min(blockRows(statisticsRows(layers, count, request)), vocab);
            xSize = Math.max(xSize, vectors[pass] * output.columns());
            ySize = Math.max(ySize, vectors[pass] * blocks[pass]);
        }
        float[] x = new float[xSize];
        Arrays.fill(x, 0.01f);
        float[] y = new float[ySize];
        long start = System.nanoTime();
        for (int pass = 0; pass < passes; pass++) {
            for (int row = 0; row < vocab; row += blocks[pass]) {
                output.multiply(x, vectors[pass], row, Math.min(vocab, row + blocks[pass]), y, threads);
            }
        }
        return System.nanoTime() - start;
    }

    /** The heap one pass of lens vectors may fill: a quarter, leaving the rest to reports and the JVM. */
    public static long passBudgetBytes(long maxHeapBytes) {
        return maxHeapBytes / 4;
    }

    /**
     * The lens over the request's positions, {@code perPass} at a time, each group one streamed pass over the
     * output weight; records, consistency and milestones are as one pass would give them (every statistic is per
     * row, the milestones and kept rows belong to the last position, which the last group holds).
     */
    static LensResult inPasses(LensHead head, LayerStates states, LensRequest request, int threads, int blockRows, int perPass) {
        int[] positions = request.positions();
        if (positions.length <= perPass) return run(head, states, request, threads, blockRows);
        int passes = Math.ceilDiv(positions.length, perPass);
        List<LensResult> parts = new ArrayList<>(passes);
        for (int pass = 0; pass < passes; pass++) {
            int from = passStart(positions.length, pass, passes), to = passStart(positions.length, pass + 1, passes);
            boolean last = pass == passes - 1;
            float[][] reference = request.referenceLogits() == null ? null : Arrays.copyOfRange(request.referenceLogits(), from, to);
            parts.add(run(head, states, new LensRequest(request.kind(), request.topK(), Arrays.copyOfRange(positions, from, to),
                    request.tracked(), reference, request.promptTokenIds(), request.copyCandidate(),
                    last && request.keepLastPositionLogProbs(), last && request.checkHead()), threads, blockRows));
        }
        int layers = states.layers();
        List<LayerRecord> records = new ArrayList<>(layers * positions.length);
        for (int layer = 0; layer < layers; layer++) {
            for (LensResult part : parts) {
                for (int i = 0; i < part.positions().length; i++) records.add(part.record(layer, i));
            }
        }
        List<PositionConsistency> consistency = parts.stream().flatMap(p -> p.consistency().stream()).toList();
        LensResult last = parts.getLast();
        return new LensResult(request.kind(), layers, positions, records, consistency, last.milestones(),
                last.lastPositionLogProbs(), last.headCheck());
    }

    /**
     * As {@link #run(LensHead, LayerStates, LensRequest, int)} with a fixed block size (0: automatic); for tests and
     * the warm-up. The choice is made here, outside {@link #pass}'s hot loops: C2 compiles pass (OSR) during the
     * warm-up, which gives a block size, and a branch the warm-up never took would trap in the real lens's pass.
     */
    static LensResult run(LensHead head, LayerStates states, LensRequest request, int threads, int blockRows) {
        int statisticsRows = statisticsRows(states.layers(), request.positions().length, request);
        return pass(head, states, request, threads, blockRows > 0 ? blockRows : blockRows(statisticsRows));
    }

    /** The first position of pass {@code pass} when {@code positions} are split evenly into {@code passes} (pass = passes: the end). */
    private static int passStart(int positions, int pass, int passes) {
        return (int) ((long) positions * pass / passes);
    }

    /** Rows of statistics a pass over {@code positions} positions keeps: its product's vectors plus a reference row per position. */
    private static int statisticsRows(int layers, int positions, LensRequest request) {
        return statisticsRows(layers, positions, request.kind(), request.referenceLogits() != null);
    }

    /** Statistics rows of a pass: its product vectors plus, with llama.cpp's logits, one reference row per position. */
    static int statisticsRows(int layers, int positions, LensKind kind, boolean referenceLogits) {
        return productVectors(layers, positions, kind) + (referenceLogits ? positions : 0);
    }

    /** One streamed pass over the output weight for all the request's positions, {@code blockRows} vocabulary rows at a time. */
    private static LensResult pass(LensHead head, LayerStates states, LensRequest request, int threads, int blockRows) {
        int layers = states.layers();
        int width = states.embeddingLength();
        int vocab = head.vocabularySize();
        int[] positions = request.positions();
        int positionCount = positions.length;
        validate(head, states, request, threads);

        boolean finalIsLensRow = request.kind() == LensKind.NORM;
        int lensRows = layers * positionCount;
        int batch = productVectors(layers, positionCount, request.kind());
        int[] finalRow = new int[positionCount];
        for (int i = 0; i < positionCount; i++) {
            finalRow[i] = finalIsLensRow ? (layers - 1) * positionCount + i : lensRows + i;
        }
        int referenceRows = request.referenceLogits() == null ? 0 : positionCount;
        // The head check's rounded-activation vector rides as one more product column, after the batch rows.
        boolean checkHead = request.checkHead();
        int columns = batch + (checkHead ? 1 : 0);

        // Lens inputs, one vector per batch row.
        float[] x = new float[columns * width];
        double[] residualNorms = new double[lensRows];
        float[] h = new float[width];
        for (int layer = 0; layer < layers; layer++) {
            for (int i = 0; i < positionCount; i++) {
                states.copyState(layer, positions[i], h, 0);
                double squares = 0;
                for (float v : h) {
                    if (!Float.isFinite(v)) {
                        throw new IllegalArgumentException("layer " + layer + " position " + positions[i]
                                + ": residual state has a non-finite value (" + v + ")");
                    }
                    squares += (double) v * v;
                }
                int row = layer * positionCount + i;
                residualNorms[row] = Math.sqrt(squares);
                head.prepare(request.kind(), h, 0, x, row * width);
                if (!finalIsLensRow && layer == layers - 1) head.prepare(LensKind.NORM, h, 0, x, finalRow[i] * width);
            }
        }
        int checkedRow = finalRow[positionCount - 1];
        if (checkHead) System.arraycopy(HeadConsistency.roundedInput(head, x, checkedRow * width), 0, x, batch * width, width);
        // The check's whole rows: the float lens's final row at the last position and the rounded activations'.
        double[] checkedLens = checkHead ? new double[vocab] : null, checkedEmulated = checkHead ? new double[vocab] : null;

        RowStatistics[] stats = new RowStatistics[batch + referenceRows];
        List<TrackedToken> tracked = request.tracked();
        int[] trackedIds = tracked.stream().mapToInt(TrackedToken::id).toArray();
        double[][] trackedLogits = trackedLogits(head, x, batch, trackedIds, threads);
        int capacity = Math.max(2, request.topK());
        for (int r = 0; r < batch; r++) stats[r] = new RowStatistics(capacity, trackedIds, trackedLogits[r]);
        for (int r = 0; r < referenceRows; r++) stats[batch + r] = new RowStatistics(1, new int[0], new double[0]);

        int block = Math.min(blockRows, vocab);
        // Raw lens logits of the last position, one row per layer; turned into log-probs once the lse is known.
        float[][] kept = request.keepLastPositionLogProbs() ? new float[layers][vocab] : null;
        float[] products = new float[columns * block];
        double[] logits = new double[(batch + referenceRows) * block];
        for (int rowStart = 0; rowStart < vocab; rowStart += block) {
            int start = rowStart;
            int n = Math.min(block, vocab - start);
            head.output().multiply(x, columns, start, start + n, products, threads);
            ParallelFor.each(batch + referenceRows, threads, r -> {
                if (r < batch) {
                    for (int j = 0; j < n; j++) logits[r * n + j] = head.transformLogit(start + j, products[r * n + j]);
                } else {
                    float[] reference = request.referenceLogits()[r - batch];
                    for (int j = 0; j < n; j++) logits[r * n + j] = reference[start + j];
                }
            });
            ParallelFor.each(batch + referenceRows, threads, r -> {
                int compared = r < batch ? finalRowOf(r, positionCount, finalRow) : finalRow[r - batch];
                stats[r].accept(logits, r * n, logits, compared * n, n, start);
            });
            if (kept != null) {
                for (int layer = 0; layer < layers; layer++) {
                    int r = layer * positionCount + positionCount - 1;
                    for (int j = 0; j < n; j++) kept[layer][start + j] = (float) logits[r * n + j];
                }
            }
            if (checkHead) {
                System.arraycopy(logits, checkedRow * n, checkedLens, start, n);
                for (int j = 0; j < n; j++) checkedEmulated[start + j] = head.transformLogit(start + j, products[batch * n + j]);
            }
        }
        LensResult result = summarize(head, states, request, stats, finalRow, residualNorms, batch);
        HeadConsistency headCheck = checkHead
                ? HeadConsistency.of(head, checkedLens, checkedEmulated, request.referenceLogits()[positionCount - 1]) : null;
        if (kept == null && headCheck == null) return result;
        if (kept != null) {
            for (int layer = 0; layer < layers; layer++) {
                double lse = stats[layer * positionCount + positionCount - 1].logSumExp();
                float[] row = kept[layer];
                for (int v = 0; v < vocab; v++) row[v] = (float) (row[v] - lse);
            }
        }
        return new LensResult(result.kind(), result.layers(), result.positions(), result.records(),
                result.consistency(), result.milestones(), kept, headCheck);
    }

    /** Lens row layer*P + i and extra final row lensRows + i both belong to position index i (lensRows is a multiple of P). */
    private static int finalRowOf(int row, int positionCount, int[] finalRow) {
        return finalRow[row % positionCount];
    }

    /** The tracked tokens' logits for every batch row, from a small pass over just those vocabulary rows. */
    private static double[][] trackedLogits(LensHead head, float[] x, int batch, int[] ids, int threads) {
        double[][] out = new double[batch][ids.length];
        float[] y = new float[batch];
        for (int k = 0; k < ids.length; k++) {
            head.output().multiply(x, batch, ids[k], ids[k] + 1, y, threads);
            for (int r = 0; r < batch; r++) out[r][k] = head.transformLogit(ids[k], y[r]);
        }
        return out;
    }

    private static LensResult summarize(LensHead head, LayerStates states, LensRequest request, RowStatistics[] stats,
                                        int[] finalRow, double[] residualNorms, int batch) {
        int layers = states.layers();
        int[] positions = request.positions();
        int positionCount = positions.length;
        List<TrackedToken> tracked = request.tracked();
        List<LayerRecord> records = new ArrayList<>(layers * positionCount);
        for (int layer = 0; layer < layers; layer++) {
            for (int i = 0; i < positionCount; i++) {
                int row = layer * positionCount + i;
                RowStatistics s = stats[row];
                double lse = s.logSumExp();
                if (!Double.isFinite(lse)) {
                    throw new IllegalStateException("layer " + layer + " position " + positions[i]
                            + ": logits are not finite (output weight or residual out of float range)");
                }
                int[] ids = s.top().sortedIds();
                double[] topLogits = s.top().sortedLogits();
                List<TokenProbability> top = new ArrayList<>(request.topK());
                for (int k = 0; k < Math.min(request.topK(), ids.length); k++) {
                    top.add(new TokenProbability(ids[k], Math.exp(topLogits[k] - lse)));
                }
                List<TrackedRank> ranks = new ArrayList<>(tracked.size());
                for (int k = 0; k < tracked.size(); k++) {
                    ranks.add(new TrackedRank(tracked.get(k).id(), tracked.get(k).text(), s.trackedRank(k),
                            s.probabilityOf(s.trackedLogit(k)), s.trackedLogit(k) - lse));
                }
                double entropy = s.entropyNats();
                double kl = s.klNats(stats[finalRow[i]].logSumExp());
                records.add(new LayerRecord(layer, positions[i], List.copyOf(top), entropy, entropy / LN2,
                        List.copyOf(ranks), kl / LN2, s.cosine(), residualNorms[row]));
            }
        }
        List<PositionConsistency> consistency = new ArrayList<>();
        if (request.referenceLogits() != null) {
            for (int i = 0; i < positionCount; i++) {
                RowStatistics reference = stats[batch + i];
                RowStatistics lens = stats[finalRow[i]];
                int referenceTop = reference.top().sortedIds()[0];
                int lensTop = lens.top().sortedIds()[0];
                consistency.add(new PositionConsistency(positions[i], reference.klNats(lens.logSumExp()) / LN2,
                        reference.maxAbsDiff(), referenceTop == lensTop, referenceTop, lensTop));
            }
        }
        double[] runnerUp = new double[layers];
        for (int layer = 0; layer < layers; layer++) {
            RowStatistics s = stats[layer * positionCount + positionCount - 1];
            double[] topLogits = s.top().sortedLogits();
            runnerUp[layer] = topLogits.length >= 2 ? s.probabilityOf(topLogits[1]) : 0.0;
        }
        LensResult partial = new LensResult(request.kind(), layers, positions, records, consistency, null);
        return new LensResult(request.kind(), layers, positions, records, consistency,
                milestones(partial, request, runnerUp));
    }

    /**
     * Milestones at the last requested position; see {@link Milestones}. {@code runnerUp[layer]} is the
     * second-best probability there (kept apart because top-k may be 1).
     */
    static Milestones milestones(LensResult result, LensRequest request, double[] runnerUp) {
        int layers = result.layers();
        int last = result.positions().length - 1;
        double depth = Math.max(1, layers - 1);
        Optional<Milestone> rank1 = Optional.empty(), rank5 = Optional.empty(), rank10 = Optional.empty();
        Optional<Milestone> kl1 = Optional.empty(), klHalf = Optional.empty();
        Optional<CopyCollapse> copy = Optional.empty();
        int[] prompt = request.promptTokenIds().clone();
        Arrays.sort(prompt);
        for (int layer = 0; layer < layers; layer++) {
            LayerRecord rec = result.record(layer, last);
            Milestone here = new Milestone(layer, layer / depth);
            if (!rec.tracked().isEmpty()) {
                int rank = rec.tracked().getFirst().rank();
                if (rank1.isEmpty() && rank == 1) rank1 = Optional.of(here);
                if (rank5.isEmpty() && rank <= 5) rank5 = Optional.of(here);
                if (rank10.isEmpty() && rank <= 10) rank10 = Optional.of(here);
            }
            if (kl1.isEmpty() && rec.klToFinalBits() < 1.0) kl1 = Optional.of(here);
            if (klHalf.isEmpty() && rec.klToFinalBits() < 0.5) klHalf = Optional.of(here);
            if (copy.isEmpty() && rec.topK().size() >= 1) {
                TokenProbability first = rec.topK().getFirst();
                double margin = first.probability() - runnerUp[layer];
                if (first.probability() > 0.95 && margin > 0.1 && Arrays.binarySearch(prompt, first.id()) >= 0
                        && request.copyCandidate().test(first.id())) {
                    copy = Optional.of(new CopyCollapse(layer, layer / depth, first.id(), first.probability(), margin));
                }
            }
        }
        return new Milestones(rank1, rank5, rank10, kl1, klHalf, copy);
    }

    private static void validate(LensHead head, LayerStates states, LensRequest request, int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads " + threads + " must be >= 1");
        if (states.layers() < 1) throw new IllegalArgumentException("layer states: no layers captured");
        if (states.embeddingLength() != head.embeddingLength()) {
            throw new IllegalArgumentException("layer states have width " + states.embeddingLength()
                    + " but the " + head.architecture() + " head expects n_embd " + head.embeddingLength());
        }
        for (int p : request.positions()) {
            if (p < 0 || p >= states.positions()) {
                throw new IllegalArgumentException("position " + p + " is outside the " + states.positions()
                        + " captured positions");
            }
        }
        for (TrackedToken t : request.tracked()) {
            if (t.id() >= head.vocabularySize()) {
                throw new IllegalArgumentException("tracked token '" + t.text() + "' has id " + t.id()
                        + ", beyond the vocabulary of " + head.vocabularySize());
            }
        }
        if (request.referenceLogits() != null) {
            for (int i = 0; i < request.referenceLogits().length; i++) {
                float[] row = request.referenceLogits()[i];
                if (row == null || row.length != head.vocabularySize()) {
                    throw new IllegalArgumentException("reference logits for position " + request.positions()[i]
                            + " have " + (row == null ? 0 : row.length) + " values, expected n_vocab "
                            + head.vocabularySize());
                }
            }
        }
    }
}
