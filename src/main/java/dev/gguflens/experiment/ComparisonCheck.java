package dev.gguflens.experiment;

import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.ModelHyperparameters;

import java.util.ArrayList;
import java.util.List;

/**
 * Models can be compared layer by layer only when they share architecture, n_layer, n_embd and vocabulary
 * (size and every token's text): otherwise layer i or token id t would not mean the same in both.
 */
public final class ComparisonCheck {
    private ComparisonCheck() {}

    /** Refuses, naming every difference, unless {@code other} matches {@code reference}. */
    public static void requireCompatible(GgufFile reference, GgufFile other) {
        List<String> differences = differences(reference, other);
        if (!differences.isEmpty()) {
            throw new InvalidInputException("cannot compare " + other.path().getFileName() + " with the reference "
                    + reference.path().getFileName() + ": " + String.join("; ", differences));
        }
    }

    /** Each difference as "what: reference value vs other value"; empty when the two are comparable. */
    public static List<String> differences(GgufFile reference, GgufFile other) {
        ModelHyperparameters a = reference.hyperparameters();
        ModelHyperparameters b = other.hyperparameters();
        List<String> out = new ArrayList<>();
        if (!a.architecture().equals(b.architecture())) {
            out.add("architecture " + a.architecture() + " vs " + b.architecture());
        }
        if (a.blockCount() != b.blockCount()) out.add("n_layer " + a.blockCount() + " vs " + b.blockCount());
        if (a.embeddingLength() != b.embeddingLength()) {
            out.add("n_embd " + a.embeddingLength() + " vs " + b.embeddingLength());
        }
        List<String> ta = reference.vocabulary().tokens();
        List<String> tb = other.vocabulary().tokens();
        if (ta.size() != tb.size()) {
            out.add("vocabulary size " + ta.size() + " vs " + tb.size());
        } else {
            int differing = 0;
            int first = -1;
            for (int i = 0; i < ta.size(); i++) {
                if (!ta.get(i).equals(tb.get(i))) {
                    if (first < 0) first = i;
                    differing++;
                }
            }
            if (differing > 0) {
                out.add("vocabulary: " + differing + " token text(s) differ, first token " + first + " '"
                        + ta.get(first) + "' vs '" + tb.get(first) + "'");
            }
        }
        return out;
    }
}
