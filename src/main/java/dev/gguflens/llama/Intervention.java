package dev.gguflens.llama;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * A write into a graph tensor while llama.cpp runs: the eval callback overwrites (or adds to) rows of the named
 * tensor right after it is computed and before any node that reads it, so the change flows through the rest of
 * the forward pass. Rows are rows of the call's token list (for {@link LlamaContext#capture} the prompt positions,
 * for {@link LlamaContext#decode} the batch rows). A tensor after the last block's row selection keeps only the
 * output rows; a write to a dropped row has no effect, as it could have none.
 *
 * @param tensor    a graph tensor name ({@code l_out-3}, {@code kqv_out-3}, {@code ffn_inp-3}, {@code ffn_out-3},
 *                  {@code ffn_swiglu-3}, ...) or {@link #RESIDUAL_INPUT}
 * @param add       add the values instead of replacing
 * @param rows      token rows to write, each once
 * @param columns   the columns written, or null for whole rows
 * @param values    {@code [1 or rows.length][width]} floats, alive until the call returns
 * @param width     floats per value row: the tensor's row width, or {@code columns.length}
 * @param broadcast one value row for every row
 */
public record Intervention(String tensor, boolean add, int[] rows, int[] columns, MemorySegment values, int width,
                           boolean broadcast) {
    /** The residual stream entering block 0 (layer 0 of a capture), whatever tensor computes it. */
    public static final String RESIDUAL_INPUT = "@residual_input";

    public Intervention {
        Objects.requireNonNull(values, "values");
        if (tensor == null || tensor.isBlank()) throw new IllegalArgumentException("an intervention needs a tensor name");
        if (rows.length == 0) throw new IllegalArgumentException("an intervention on " + tensor + " needs at least one row");
        rows = rows.clone();
        if (Arrays.stream(rows).anyMatch(r -> r < 0) || Arrays.stream(rows).distinct().count() != rows.length) {
            throw new IllegalArgumentException("rows of an intervention on " + tensor + " must be distinct and >= 0: "
                    + Arrays.toString(rows));
        }
        if (columns != null) {
            columns = columns.clone();
            if (columns.length == 0 || Arrays.stream(columns).anyMatch(c -> c < 0)
                    || Arrays.stream(columns).distinct().count() != columns.length) {
                throw new IllegalArgumentException("columns of an intervention on " + tensor
                        + " must be distinct, >= 0 and not empty: " + Arrays.toString(columns));
            }
            if (width != columns.length) {
                throw new IllegalArgumentException("width " + width + " differs from the " + columns.length + " columns");
            }
        }
        if (width <= 0) throw new IllegalArgumentException("width must be positive, got " + width);
        long needed = (broadcast ? 1L : rows.length) * width * Float.BYTES;
        if (values.byteSize() < needed) {
            throw new IllegalArgumentException("values hold " + values.byteSize() + " bytes, " + needed + " needed");
        }
    }

    /** Replaces whole rows with {@code values} ({@code rows.length} rows of {@code width} floats). */
    public static Intervention replaceRows(String tensor, int[] rows, MemorySegment values, int width) {
        return new Intervention(tensor, false, rows, null, values, width, false);
    }

    /** Sets the given columns of every row to {@code vector} (zero- or mean-ablation of heads and neurons). */
    public static Intervention setColumns(String tensor, int[] rows, int[] columns, float[] vector) {
        return new Intervention(tensor, false, rows, columns, segmentOf(vector), vector.length, true);
    }

    /** Adds {@code vector} to whole rows (steering). */
    public static Intervention addToRows(String tensor, int[] rows, float[] vector) {
        return new Intervention(tensor, true, rows, null, segmentOf(vector), vector.length, true);
    }

    /** The tensor whose rows are residual layer {@code layer} of a capture: 0 = block 0's input, l = l_out-(l-1). */
    public static String residualTensor(int layer) {
        if (layer < 0) throw new IllegalArgumentException("layer must be >= 0, got " + layer);
        return layer == 0 ? RESIDUAL_INPUT : "l_out-" + (layer - 1);
    }

    private static MemorySegment segmentOf(float[] vector) {
        MemorySegment segment = Arena.ofAuto().allocate(ValueLayout.JAVA_FLOAT, Math.max(1, vector.length));
        MemorySegment.copy(vector, 0, segment, ValueLayout.JAVA_FLOAT, 0, vector.length);
        return segment;
    }

    @Override
    public int[] rows() {
        return rows.clone();
    }

    @Override
    public int[] columns() {
        return columns == null ? null : columns.clone();
    }

    /** The largest row index this intervention writes. */
    int maxRow() {
        return Arrays.stream(rows).max().orElse(0);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Intervention i && tensor.equals(i.tensor) && add == i.add && Arrays.equals(rows, i.rows)
                && Arrays.equals(columns, i.columns) && values.equals(i.values) && width == i.width && broadcast == i.broadcast;
    }

    @Override
    public int hashCode() {
        return Objects.hash(tensor, add, Arrays.hashCode(rows), Arrays.hashCode(columns), values, width, broadcast);
    }

    @Override
    public String toString() {
        return "Intervention[" + tensor + (add ? " +=" : " =") + " rows " + Arrays.toString(rows)
                + (columns == null ? "" : " columns " + columns.length) + "]";
    }
}
