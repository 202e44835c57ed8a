package dev.gguflens.llama;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufException;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An importance matrix for llama.cpp's quantiser, read from the GGUF files {@code llama-imatrix} writes: for
 * every weight, {@code <name>.in_sum2} (summed squared activations, one row per expert) and
 * {@code <name>.counts} (tokens seen per expert). The quantiser wants their ratio, with 1 where an expert saw
 * nothing, exactly as llama.cpp's own quantize tool prepares it. The legacy {@code .dat} format is not read.
 */
public final class ImportanceMatrix {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final String SUMS = ".in_sum2";
    private static final String COUNTS = ".counts";

    private final Path file;
    private final Map<String, float[]> values;

    private ImportanceMatrix(Path file, Map<String, float[]> values) {
        this.file = file;
        this.values = Collections.unmodifiableMap(values);
    }

    public static ImportanceMatrix load(Path file) {
        try (GgufFile gguf = GgufFile.open(file)) {
            for (String key : new String[] {"imatrix.datasets", "imatrix.chunk_count", "imatrix.chunk_size"}) {
                if (gguf.get(key).isEmpty()) {
                    throw new GgufException(file, "not an importance matrix: metadata key " + key
                            + " is missing (write it with llama-imatrix's GGUF output; legacy .dat files are not read)");
                }
            }
            Map<String, float[]> values = new LinkedHashMap<>();
            for (GgufTensor sums : gguf.tensors()) {
                if (!sums.name().endsWith(SUMS)) continue;
                String weight = sums.name().substring(0, sums.name().length() - SUMS.length());
                GgufTensor counts = gguf.tensor(weight + COUNTS).orElseThrow(() ->
                        new GgufException(file, "tensor " + sums.name() + " has no matching " + weight + COUNTS));
                if (sums.type() != GgmlType.F32 || counts.type() != GgmlType.F32) {
                    throw new GgufException(file, "tensors " + sums.name() + " and " + counts.name() + " must be F32");
                }
                long experts = counts.elementCount();
                if (experts == 0 || sums.elementCount() % experts != 0 || sums.elementCount() > Integer.MAX_VALUE) {
                    throw new GgufException(file, "tensor " + sums.name() + " has " + sums.elementCount()
                            + " values, not a multiple of the " + experts + " counts");
                }
                int perExpert = (int) (sums.elementCount() / experts);
                float[] v = new float[(int) sums.elementCount()];
                for (int e = 0; e < experts; e++) {
                    float count = Math.round(counts.data().getAtIndex(F32, e));
                    for (int i = 0; i < perExpert; i++) {
                        int at = e * perExpert + i;
                        v[at] = count > 0 ? sums.data().getAtIndex(F32, at) / count : 1f;
                    }
                }
                values.put(weight, v);
            }
            if (values.isEmpty()) throw new GgufException(file, "not an importance matrix: no *.in_sum2 tensors");
            return new ImportanceMatrix(file, values);
        }
    }

    public Path file() {
        return file;
    }

    /** Weight name -> importance values (n_embd per expert), in file order. */
    public Map<String, float[]> values() {
        return values;
    }
}
