package dev.gguflens.lens;

import java.util.List;

/**
 * Direct logit attribution of one token (or the difference of two) at one position: the logit (pre-softcap, the
 * logit scale included) written as the sum of what each part of the network added to the final residual, each
 * part projected through the final norm with its scale frozen at the final residual's value.
 *
 * @param answerId          the attributed token
 * @param otherId           the token subtracted ({@code --vs}), or -1
 * @param embedding         the part of the embedding (the residual entering block 0)
 * @param blocks            one entry per block
 * @param constant          what no part writes: the final norm's bias and the output bias (scaled), 0 for most models
 * @param sumOfParts        embedding + every block's attention and MLP + constant
 * @param reference         llama.cpp's own logit (difference), before the softcap when the model has one; NaN
 *                          when the softcap cannot be inverted (|logit| at the cap)
 * @param frozenNormScale   1 / rms (RMSNorm) or 1 / std (LayerNorm) of the final residual, the frozen factor
 * @param softcap           the final logit softcap c when the model has one (logit = c tanh(z / c)), else NaN
 * @param headsPostNormed   whether heads were taken through an attention post-norm with its scale frozen
 */
public record Attribution(int answerId, int otherId, double embedding, List<Block> blocks, double constant,
                          double sumOfParts, double reference, double frozenNormScale, double softcap,
                          boolean headsPostNormed) {

    /**
     * @param block     block index
     * @param attention what the block's attention added to the residual (mid-block state minus block input)
     * @param mlp       what the block's MLP added (block output minus mid-block state)
     * @param heads     each head's share of the attention part (output projection columns of that head)
     * @param bias      the attention output bias's share (0 without one)
     * @param remainder attention - sum(heads) - bias: float rounding in llama.cpp, its 8-bit rounding of the
     *                  activations before a quantised output projection, or anything else the model does between
     *                  {@code kqv_out} and the residual that this split does not model
     */
    public record Block(int block, double attention, double mlp, double[] heads, double bias, double remainder) {
        public Block {
            heads = heads.clone();
        }

        @Override
        public double[] heads() {
            return heads.clone();
        }

        public double head(int h) {
            return heads[h];
        }

        public int headCount() {
            return heads.length;
        }
    }

    public Attribution {
        blocks = List.copyOf(blocks);
        if (answerId < 0) throw new IllegalArgumentException("answer id " + answerId + " < 0");
    }

    /**
     * Several attributions added part by part (a whole answer: one per token, each at the position that predicts it);
     * sums of logits, since each part is linear in them. The answer id, frozen norm scale and softcap are the first's.
     */
    public static Attribution sum(List<Attribution> terms) {
        if (terms.isEmpty()) throw new IllegalArgumentException("nothing to sum");
        Attribution first = terms.getFirst();
        double embedding = 0, constant = 0, sumOfParts = 0, reference = 0;
        int blockCount = first.blocks().size();
        double[] attention = new double[blockCount], mlp = new double[blockCount], bias = new double[blockCount],
                remainder = new double[blockCount];
        double[][] heads = new double[blockCount][];
        for (int b = 0; b < blockCount; b++) heads[b] = new double[first.blocks().get(b).headCount()];
        for (Attribution t : terms) {
            if (t.blocks().size() != blockCount) throw new IllegalArgumentException("attributions of different models");
            embedding += t.embedding();
            constant += t.constant();
            sumOfParts += t.sumOfParts();
            reference += t.reference();
            for (int b = 0; b < blockCount; b++) {
                Block block = t.blocks().get(b);
                attention[b] += block.attention();
                mlp[b] += block.mlp();
                bias[b] += block.bias();
                remainder[b] += block.remainder();
                for (int h = 0; h < heads[b].length; h++) heads[b][h] += block.head(h);
            }
        }
        List<Block> blocks = new java.util.ArrayList<>(blockCount);
        for (int b = 0; b < blockCount; b++) {
            blocks.add(new Block(first.blocks().get(b).block(), attention[b], mlp[b], heads[b], bias[b], remainder[b]));
        }
        return new Attribution(first.answerId(), first.otherId(), embedding, blocks, constant, sumOfParts, reference,
                first.frozenNormScale(), first.softcap(), first.headsPostNormed());
    }

    /** |sum of parts - reference| / max(|reference|, 1e-12); NaN without a reference. */
    public double relativeError() {
        return Math.abs(sumOfParts - reference) / Math.max(Math.abs(reference), 1e-12);
    }

    public boolean hasOther() {
        return otherId >= 0;
    }

    public boolean hasSoftcap() {
        return !Double.isNaN(softcap);
    }
}
