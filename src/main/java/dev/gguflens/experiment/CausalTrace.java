package dev.gguflens.experiment;

import dev.gguflens.llama.Capture;
import dev.gguflens.llama.CaptureRequest;
import dev.gguflens.llama.ContextParams;
import dev.gguflens.llama.DecodeBatch;
import dev.gguflens.llama.Intervention;
import dev.gguflens.llama.LlamaContext;
import dev.gguflens.llama.LlamaModel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * Causal tracing (activation patching): the corrupted prompt is run again with one site replaced by the clean
 * prompt's state, once per layer and column, and the answer's probability at the last position is recorded.
 * <p>
 * No work is repeated. With causal attention, positions before the patched one are the corrupted run's at every
 * layer, so each patched run is a sequence that shares the corrupted run's KV cache for that prefix (a sequence
 * copy, no recomputation) and computes only the suffix; many such runs go as parallel sequences into one
 * llama_decode. A site in the last block reaches the last position's prediction only at the last position (the
 * other rows are dropped before the output), so those cells are the corrupted probability and are not run.
 */
public final class CausalTrace {
    /** Where the clean state is written. */
    public enum Site {
        /** the residual stream: rows 0..n_layer as in the probe (0 = block 0's input, l = output of block l-1) */
        RESID,
        /** a block's attention output, before the output projection ({@code kqv_out-i}) */
        ATTN,
        /** a block's MLP output ({@code ffn_out-i}) */
        MLP,
        /** one attention head's slice of {@code kqv_out-i}, at every position */
        HEADS;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * @param batchSize most tokens per llama_decode; fewer where the cached prompt would push the attention past the
     *                  batch's 256-cell size ({@link #decodeLimit}), never fewer than the prompt's length
     * @param timings   also time llama.cpp's plain prompt processing at the same batch size
     */
    public record Settings(Site site, int threads, int batchSize, boolean timings) {
        public Settings {
            if (threads < 1) throw new InvalidInputException("threads", threads, "must be at least 1");
            if (batchSize < 1) throw new InvalidInputException("batch_size", batchSize, "must be at least 1");
        }
    }

    /** One patched run: write {@code values} ([positions][width]) into {@code tensor} at {@code positions}. */
    private record Patch(int row, int column, String tensor, int[] positions, int[] columns, MemorySegment values, int width) {
        int first() {
            return positions[0];
        }
    }

    private CausalTrace() {}

    /**
     * Traces {@code answer} from the clean to the corrupted prompt, which must tokenise to the same length.
     * Uses the session's model with a context of its own (parallel sequences).
     */
    public static TraceReport run(ModelSession session, String cleanPrompt, String corruptPrompt, String answer, Settings settings) {
        int[] clean = session.tokenizePrompt(cleanPrompt);
        int[] corrupt = session.tokenizePrompt(corruptPrompt);
        requireSameLength(session, clean, corrupt);
        int[] answerTokens = session.answerTokens(cleanPrompt, clean, answer);
        int answerId = answerTokens[0];
        // Sequence mode: both prompts go on with the answer's tokens (teacher forcing) and p is the whole answer's.
        boolean whole = session.settings().answerMode() == AnswerMode.SEQUENCE && answerTokens.length > 1;
        int[] scored = whole ? answerTokens : new int[] {answerId};
        int[] cleanRunTokens = whole ? Probe.teacherForced(session, clean, answerTokens) : clean;
        int[] corruptRunTokens = whole ? Probe.teacherForced(session, corrupt, answerTokens) : corrupt;
        LlamaModel model = session.model();
        int n = clean.length;
        int runLength = corruptRunTokens.length;
        int blocks = model.layerCount();
        int batch = decodeLimit(settings.batchSize(), runLength);
        ProbeReport.ModelInfo info = Probe.modelInfo(session);

        int sequences = Math.min(LlamaContext.MAX_SEQUENCES, batch);
        // The cache holds the corrupted run plus one decode's tokens: no more cells than a decode can see.
        int contextSize = runLength + batch;
        try (LlamaContext ctx = LlamaContext.create(model, session.contextParams(contextSize, batch), sequences);
             Arena arena = Arena.ofConfined()) {
            List<String> extras = new ArrayList<>();
            for (int i = 0; i < blocks; i++) {
                if (settings.site() == Site.ATTN || settings.site() == Site.HEADS) extras.add("kqv_out-" + i);
                if (settings.site() == Site.MLP) extras.add("ffn_out-" + i);
            }
            double pClean, pCorrupt;
            List<Patch> patches;
            int columns;
            List<String> columnLabels;
            try (Capture cleanRun = ctx.capture(cleanRunTokens, new CaptureRequest(settings.site() == Site.RESID, false, true, extras))) {
                for (String name : extras) {
                    if (cleanRun.extraWidth(name) == 0) {
                        throw new UnsupportedOperationException("the llama.cpp graph of architecture " + model.architecture()
                                + " has no tensor " + name + ", which the " + settings.site().label() + " site patches");
                    }
                }
                pClean = answerProbability(cleanRun, n, scored);
                if (settings.site() == Site.HEADS) {
                    Integer heads = info.nHead();
                    if (heads == null || heads < 1) throw new UnsupportedOperationException("the model's head count is unknown");
                    columns = heads;
                    columnLabels = IntStream.range(0, heads).mapToObj(h -> "h" + h).toList();
                } else {
                    columns = n;
                    columnLabels = Arrays.stream(corrupt).mapToObj(session::tokenText).toList();
                }
                patches = plan(settings.site(), cleanRun, n, blocks, columns, arena);
                // The corrupted run goes last: the KV cache then holds it as sequence 0, the prefix every patch shares.
                try (Capture corruptRun = ctx.capture(corruptRunTokens, new CaptureRequest(false, false, true, List.of()))) {
                    pCorrupt = answerProbability(corruptRun, n, scored);
                }
                int rows = settings.site() == Site.RESID ? blocks + 1 : blocks;
                double[][] p = new double[rows][columns];
                for (double[] row : p) Arrays.fill(row, pCorrupt);  // cells with no path to the last position
                Stats stats = execute(ctx, corruptRunTokens, patches, scored, batch, p, settings.timings(), arena);

                TraceReport.Timings timings = null;
                if (settings.timings()) {
                    long cells = (long) rows * columns;
                    timings = new TraceReport.Timings(cells, stats.runs, stats.positions, cells * runLength, stats.decodes,
                            stats.largestBatch, stats.traceNanos / 1e6, stats.plainDecodes, stats.plainPositions, runLength,
                            stats.plainNanos / 1e6);
                }
                List<TraceReport.Row> reportRows = new ArrayList<>();
                for (int r = 0; r < rows; r++) reportRows.add(new TraceReport.Row(r, p[r]));
                return new TraceReport(info, settings.site().label(), cleanPrompt, corruptPrompt, tokenInfos(session, clean),
                        tokenInfos(session, corrupt), answer, answerId, session.tokenText(answerId), pClean, pCorrupt,
                        settings.site() == Site.HEADS ? "head" : "position", columnLabels, reportRows, timings,
                        session.kvCache(ctx, contextSize), session.settings().answerMode().optionName(),
                        tokenInfos(session, answerTokens));
            }
        }
    }

    private static void requireSameLength(ModelSession session, int[] clean, int[] corrupt) {
        if (clean.length == corrupt.length) return;
        int i = 0;
        while (i < Math.min(clean.length, corrupt.length) && clean[i] == corrupt[i]) i++;
        String at = i < Math.min(clean.length, corrupt.length)
                ? "; they first differ at token " + i + ": '" + session.tokenText(clean[i]) + "' vs '" + session.tokenText(corrupt[i]) + "'"
                : "";
        throw new InvalidInputException("the clean prompt has " + clean.length + " tokens and the corrupted one "
                + corrupt.length + "; a trace needs the same length" + at);
    }

    private static List<ProbeReport.TokenInfo> tokenInfos(ModelSession session, int[] tokens) {
        return Arrays.stream(tokens).mapToObj(id -> new ProbeReport.TokenInfo(id, session.tokenText(id))).toList();
    }

    /**
     * The patched runs, one per cell that can reach the last prompt position, from the clean run's states at the
     * prompt's {@code n} positions (the run may go on with teacher-forced answer tokens, which are never patched).
     */
    private static List<Patch> plan(Site site, Capture cleanRun, int n, int blocks, int columns, Arena arena) {
        List<Patch> patches = new ArrayList<>();
        switch (site) {
            case RESID -> {
                int width = cleanRun.embeddingLength();
                for (int layer = 0; layer <= blocks; layer++) {
                    // Layer n_layer is the last block's output: only its last row reaches the prediction.
                    for (int pos = layer == blocks ? n - 1 : 0; pos < n; pos++) {
                        patches.add(new Patch(layer, pos, Intervention.residualTensor(layer), new int[] {pos}, null,
                                row(cleanRun.layerStates(layer), pos, width), width));
                    }
                }
            }
            case ATTN, MLP -> {
                String base = site == Site.ATTN ? "kqv_out-" : "ffn_out-";
                for (int block = 0; block < blocks; block++) {
                    String name = base + block;
                    int width = cleanRun.extraWidth(name);
                    MemorySegment all = cleanRun.extra(name).orElseThrow();
                    for (int pos = block == blocks - 1 ? n - 1 : 0; pos < n; pos++) {
                        patches.add(new Patch(block, pos, name, new int[] {pos}, null, row(all, pos, width), width));
                    }
                }
            }
            case HEADS -> {
                for (int block = 0; block < blocks; block++) {
                    String name = "kqv_out-" + block;
                    int width = cleanRun.extraWidth(name);
                    if (width % columns != 0) {
                        throw new UnsupportedOperationException(name + " has " + width + " columns, not a multiple of " + columns + " heads");
                    }
                    int headDim = width / columns;
                    MemorySegment all = cleanRun.extra(name).orElseThrow();
                    for (int head = 0; head < columns; head++) {
                        MemorySegment values = arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * headDim);
                        for (int pos = 0; pos < n; pos++) {
                            MemorySegment.copy(all, ((long) pos * width + (long) head * headDim) * Float.BYTES, values,
                                    (long) pos * headDim * Float.BYTES, (long) headDim * Float.BYTES);
                        }
                        int[] cols = IntStream.range(head * headDim, (head + 1) * headDim).toArray();
                        patches.add(new Patch(block, head, name, IntStream.range(0, n).toArray(), cols, values, headDim));
                    }
                }
            }
        }
        return patches;
    }

    private static MemorySegment row(MemorySegment rows, int index, int width) {
        return rows.asSlice((long) index * width * Float.BYTES, (long) width * Float.BYTES);
    }

    /**
     * New tokens per decode. llama.cpp's attention reads the KV cache up to its last used cell rounded up to 256
     * ({@code llama_kv_cache::get_n_kv}) for every token of a batch, whatever its sequence, so a decode whose
     * {@code prompt + tokens} cells cross a 256-cell boundary that {@code batch} tokens alone would not costs up to
     * 1.5x per token at 512 (768 cells read instead of 512). The limit keeps the cells within the batch's own bucket.
     */
    static int decodeLimit(int batch, int prompt) {
        int bucket = (batch + KV_CELL_PAD - 1) / KV_CELL_PAD * KV_CELL_PAD;
        return Math.max(prompt, Math.min(batch, bucket - prompt));
    }

    /** llama.cpp pads the attended KV cells to a multiple of this (llama_kv_cache::get_n_kv, n_pad 256). */
    private static final int KV_CELL_PAD = 256;

    private static final class Stats {
        long positions;
        int runs;
        int decodes;
        int largestBatch;
        long traceNanos;
        int plainDecodes;
        long plainPositions;
        long plainNanos;
    }

    /**
     * Packs the patched runs into decodes of at most {@code batch} tokens and 255 sequences (sequence 0 holds the
     * corrupted prompt), each run a sequence that shares the corrupted prefix before its first patched position.
     * The decodes are balanced (equal token counts within one run's suffix). With {@code timePlain}, up to
     * {@link #PLAIN_SAMPLES} decodes spread over the trace are each followed by a plain decode of as many tokens
     * ({@link #plainDecodeNanos}), so both are timed at the same batch sizes under the same machine load.
     */
    private static Stats execute(LlamaContext ctx, int[] corrupt, List<Patch> patches, int[] scored, int batch, double[][] p,
                                 boolean timePlain, Arena arena) {
        int n = corrupt.length;
        int k = scored.length;  // outputs per run: its last k positions predict the k scored tokens
        int vocab = ctx.model().vocabSize();
        int maxRuns = ctx.sequences() - 1;
        List<Patch> order = new ArrayList<>(patches);
        // Layer by layer: every patched tensor stops the graph computation once per decode (the eval callback
        // writes it before its consumers run), so a decode that patches few tensors stops few times.
        order.sort(Comparator.comparingInt(Patch::row).thenComparing(Comparator.comparingInt(Patch::first).reversed()));
        MemorySegment logits = arena.allocate(ValueLayout.JAVA_FLOAT, (long) Math.min(maxRuns, order.size()) * k * vocab);
        long remainingTokens = 0;
        for (Patch patch : order) remainingTokens += n - patch.first();
        int remainingDecodes = decodeCount(order, n, batch, maxRuns);
        int plannedDecodes = remainingDecodes;
        int samples = timePlain ? Math.min(PLAIN_SAMPLES, plannedDecodes) : 0;
        MemorySegment plainLogits = arena.allocate(ValueLayout.JAVA_FLOAT, vocab);
        Stats stats = new Stats();
        int next = 0;
        while (next < order.size()) {
            long start = System.nanoTime();
            long target = (remainingTokens + Math.max(1, remainingDecodes) - 1) / Math.max(1, remainingDecodes);
            int tokens = 0;
            int end = next;
            while (end < order.size() && end - next < maxRuns && tokens < target && tokens + (n - order.get(end).first()) <= batch) {
                tokens += n - order.get(end).first();
                end++;
            }
            List<Patch> group = order.subList(next, end);
            int[] ids = new int[tokens], positions = new int[tokens], sequences = new int[tokens], outputs = new int[group.size() * k];
            List<Intervention> interventions = new ArrayList<>();
            int row = 0;
            for (int run = 0; run < group.size(); run++) {
                Patch patch = group.get(run);
                int seq = run + 1;
                int first = patch.first();
                if (first > 0) ctx.copySequence(0, seq, 0, first);
                int[] rows = new int[patch.positions().length];
                for (int i = 0; i < rows.length; i++) rows[i] = row + patch.positions()[i] - first;
                interventions.add(new Intervention(patch.tensor(), false, rows, patch.columns(), patch.values(), patch.width(), false));
                for (int pos = first; pos < n; pos++, row++) {
                    ids[row] = corrupt[pos];
                    positions[row] = pos;
                    sequences[row] = seq;
                }
                for (int j = 0; j < k; j++) outputs[run * k + j] = row - k + j;
            }
            try {
                ctx.decode(new DecodeBatch(ids, positions, sequences, outputs), interventions, logits);
            } finally {
                for (int run = 0; run < group.size(); run++) ctx.removeSequence(run + 1);
            }
            for (int run = 0; run < group.size(); run++) {
                Patch patch = group.get(run);
                double product = 1;
                for (int j = 0; j < k; j++) {
                    product *= probability(logits.asSlice(((long) run * k + j) * vocab * Float.BYTES,
                            (long) vocab * Float.BYTES), scored[j]);
                }
                p[patch.row()][patch.column()] = product;
            }
            stats.traceNanos += System.nanoTime() - start;
            int d = stats.decodes;
            // Spread over the trace: after decode d when (d+1)*samples/planned steps up (always after the last).
            if (stats.plainDecodes < samples && (long) (d + 1) * samples / plannedDecodes > (long) d * samples / plannedDecodes) {
                stats.plainNanos += plainDecodeNanos(ctx, corrupt, tokens, plainLogits);
                stats.plainPositions += tokens;
                stats.plainDecodes++;
            }
            stats.positions += tokens;
            stats.runs += group.size();
            stats.decodes++;
            stats.largestBatch = Math.max(stats.largestBatch, tokens);
            remainingTokens -= tokens;
            remainingDecodes--;
            next = end;
        }
        return stats;
    }

    /** Decodes that first-fit packing of the runs (in order) into {@code batch} tokens and {@code maxRuns} needs. */
    private static int decodeCount(List<Patch> order, int n, int batch, int maxRuns) {
        int decodes = 0, tokens = 0, runs = 0;
        for (Patch patch : order) {
            int suffix = n - patch.first();
            if (runs == 0 || tokens + suffix > batch || runs == maxRuns) {
                decodes++;
                tokens = 0;
                runs = 0;
            }
            tokens += suffix;
            runs++;
        }
        return decodes;
    }

    /** Plain decodes timed beside the trace's, each right after one of them (so no cold first run either). */
    static final int PLAIN_SAMPLES = 3;

    /**
     * Time of llama.cpp processing {@code size} tokens as one plain sequence on top of the cached {@code prompt}
     * (sequence 0), as every decode of the trace does: the same context, batch size, KV cache cells read by the
     * attention and thread count, without patches, parallel sequences or extra outputs.
     */
    private static long plainDecodeNanos(LlamaContext ctx, int[] prompt, int size, MemorySegment logits) {
        int n = prompt.length;
        int[] ids = new int[size], positions = new int[size], sequences = new int[size];
        for (int i = 0; i < size; i++) {
            ids[i] = prompt[i % n];
            positions[i] = n + i;
            sequences[i] = 1;
        }
        DecodeBatch plain = new DecodeBatch(ids, positions, sequences, new int[] {size - 1});
        ctx.copySequence(0, 1, 0, n);
        long start = System.nanoTime();
        try {
            ctx.decode(plain, List.of(), logits);
            return System.nanoTime() - start;
        } finally {
            ctx.removeSequence(1);
        }
    }

    /**
     * The probability of the scored tokens: token j's at position n - 1 + j (one token: the answer's first at the
     * last prompt position; sequence mode: the product over the teacher-forced answer).
     */
    private static double answerProbability(Capture run, int n, int[] scored) {
        double product = 1;
        for (int j = 0; j < scored.length; j++) product *= probability(run.logits(n - 1 + j), scored[j]);
        return product;
    }

    /** softmax(logits)[id] in double. */
    static double probability(MemorySegment logits, int id) {
        long count = logits.byteSize() / Float.BYTES;
        double max = Double.NEGATIVE_INFINITY;
        for (long i = 0; i < count; i++) max = Math.max(max, logits.getAtIndex(ValueLayout.JAVA_FLOAT, i));
        double sum = 0;
        for (long i = 0; i < count; i++) sum += Math.exp(logits.getAtIndex(ValueLayout.JAVA_FLOAT, i) - max);
        return Math.exp(logits.getAtIndex(ValueLayout.JAVA_FLOAT, id) - max) / sum;
    }
}
