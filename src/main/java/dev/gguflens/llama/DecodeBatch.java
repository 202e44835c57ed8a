package dev.gguflens.llama;

import java.util.Arrays;

/**
 * Tokens for one {@link LlamaContext#decode}: row i is {@code tokens[i]} at {@code positions[i]} in sequence
 * {@code sequences[i]}; {@code outputRows} (ascending) are the rows whose logits are wanted.
 */
public record DecodeBatch(int[] tokens, int[] positions, int[] sequences, int[] outputRows) {
    public DecodeBatch {
        tokens = tokens.clone();
        positions = positions.clone();
        sequences = sequences.clone();
        outputRows = outputRows.clone();
        if (tokens.length == 0) throw new IllegalArgumentException("a batch needs at least one token");
        if (positions.length != tokens.length || sequences.length != tokens.length) {
            throw new IllegalArgumentException("tokens, positions and sequences differ in length: " + tokens.length + ", "
                    + positions.length + ", " + sequences.length);
        }
        if (Arrays.stream(positions).anyMatch(p -> p < 0)) throw new IllegalArgumentException("negative position in a batch");
        for (int i = 0; i < outputRows.length; i++) {
            if (outputRows[i] < 0 || outputRows[i] >= tokens.length || (i > 0 && outputRows[i] <= outputRows[i - 1])) {
                throw new IllegalArgumentException("output rows must be ascending rows of the batch: " + Arrays.toString(outputRows));
            }
        }
    }

    public int size() {
        return tokens.length;
    }

    @Override
    public int[] tokens() { return tokens.clone(); }
    @Override
    public int[] positions() { return positions.clone(); }
    @Override
    public int[] sequences() { return sequences.clone(); }
    @Override
    public int[] outputRows() { return outputRows.clone(); }
}
