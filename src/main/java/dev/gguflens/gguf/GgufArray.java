package dev.gguflens.gguf;

import java.util.List;
import java.util.Objects;

/**
 * A GGUF array value: one element type and the elements in their Java representation (see
 * {@link GgufValue}). Arrays may nest: with element type ARRAY every element is a {@code GgufArray}.
 */
public record GgufArray(GgufValueType elementType, List<Object> values) {
    public GgufArray {
        Objects.requireNonNull(elementType, "elementType");
        values = List.copyOf(values);
        for (int i = 0; i < values.size(); i++) {
            Object v = values.get(i);
            if (!elementType.accepts(v)) {
                throw new IllegalArgumentException("array element " + i + " (" + v + ") is not a valid " + elementType);
            }
        }
    }

    public int size() {
        return values.size();
    }

    public Object get(int index) {
        return values.get(index);
    }

    /** Elements of a STRING array. */
    @SuppressWarnings("unchecked")
    public List<String> strings() {
        requireType(GgufValueType.STRING);
        return (List<String>) (List<?>) values;
    }

    /** Elements of an integer array as longs. */
    public long[] longs() {
        if (!elementType.isInteger()) throw new IllegalStateException("array of " + elementType + " is not an integer array");
        long[] out = new long[values.size()];
        for (int i = 0; i < out.length; i++) out[i] = (Long) values.get(i);
        return out;
    }

    /** Elements of a FLOAT32/FLOAT64 array as doubles. */
    public double[] doubles() {
        if (!elementType.isFloat()) throw new IllegalStateException("array of " + elementType + " is not a float array");
        double[] out = new double[values.size()];
        for (int i = 0; i < out.length; i++) out[i] = (Double) values.get(i);
        return out;
    }

    private void requireType(GgufValueType t) {
        if (elementType != t) throw new IllegalStateException("array of " + elementType + " is not an array of " + t);
    }

    @Override
    public String toString() {
        return elementType + values.toString();
    }
}
