package dev.gguflens.lens;

import java.util.List;
import java.util.Optional;

/**
 * The lens output.
 *
 * @param kind        the lens kind used
 * @param layers      number of layers (n_layer + 1)
 * @param positions   the requested positions
 * @param records     one record per (layer, position), layer-major: index {@code layer * positions.length + i}
 * @param consistency one entry per requested position when reference logits were given, else empty
 * @param milestones  milestones at the last requested position
 * @param lastPositionLogProbs per layer, the natural-log probabilities of every vocabulary token at the last
 *                    requested position (float32), or null unless the request asked to keep them
 * @param headCheck   the head consistency check at the last requested position, or null unless the request asked for it
 */
public record LensResult(LensKind kind, int layers, int[] positions, List<LayerRecord> records,
                         List<PositionConsistency> consistency, Milestones milestones, float[][] lastPositionLogProbs,
                         HeadConsistency headCheck) {

    public LensResult {
        records = List.copyOf(records);
        consistency = List.copyOf(consistency);
    }

    /** A result without a head check. */
    public LensResult(LensKind kind, int layers, int[] positions, List<LayerRecord> records,
                      List<PositionConsistency> consistency, Milestones milestones, float[][] lastPositionLogProbs) {
        this(kind, layers, positions, records, consistency, milestones, lastPositionLogProbs, null);
    }

    /** A result without kept log-probability rows. */
    public LensResult(LensKind kind, int layers, int[] positions, List<LayerRecord> records,
                      List<PositionConsistency> consistency, Milestones milestones) {
        this(kind, layers, positions, records, consistency, milestones, null);
    }

    /** The record for {@code layer} at the {@code positionIndex}-th requested position. */
    public LayerRecord record(int layer, int positionIndex) {
        return records.get(layer * positions.length + positionIndex);
    }

    /** A token and its probability. */
    public record TokenProbability(int id, double probability) {}

    /**
     * A tracked token's standing: rank 1 is the top token; tokens with equal logits share the better rank.
     * {@code logProbability} is natural-log, taken from the logit and log-sum-exp (finite where p underflows).
     */
    public record TrackedRank(int id, String text, int rank, double probability, double logProbability) {}

    /**
     * One (layer, position) of the lens.
     *
     * @param topK          the top tokens, highest logit first; equal logits ordered by lower id first
     * @param klToFinalBits KL(this layer || final) in bits, final = NORM lens at the last layer
     * @param cosToFinal    cosine between this layer's logits and the final logits
     * @param residualNorm  L2 norm of the residual state before any norm
     */
    public record LayerRecord(int layer, int position, List<TokenProbability> topK, double entropyNats,
                              double entropyBits, List<TrackedRank> tracked, double klToFinalBits, double cosToFinal,
                              double residualNorm) {}

    /**
     * How the lens at the last layer (NORM) agrees with llama.cpp's own logits at one position.
     *
     * @param klBits          KL(reference || lens) in bits
     * @param maxAbsLogitDiff the largest |reference - lens| over the vocabulary
     * @param top1Agree       whether both put the same token first (ties by lower id)
     */
    public record PositionConsistency(int position, double klBits, double maxAbsLogitDiff, boolean top1Agree,
                                      int referenceTop1, int lensTop1) {}

    /** The first layer at which something happened, and that layer as a fraction of depth (layer / n_layer). */
    public record Milestone(int layer, double depthFraction) {}

    /** Copy collapse: the top-1 token is a prompt token with p > 0.95 and a margin p1 - p2 > 0.1. */
    public record CopyCollapse(int layer, double depthFraction, int tokenId, double probability, double margin) {}

    /** Milestones at the last requested position; empty when never reached (or when there is no tracked token). */
    public record Milestones(Optional<Milestone> firstRank1, Optional<Milestone> firstRankAtMost5,
                             Optional<Milestone> firstRankAtMost10, Optional<Milestone> firstKlBelow1Bit,
                             Optional<Milestone> firstKlBelowHalfBit, Optional<CopyCollapse> copyCollapse) {}
}
