package dev.gguflens.gguf;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A typed GGUF metadata value. Java representation of {@link #value()}:
 * all integer types -> {@link Long} (unsigned types widened, so UINT32 4294967295 is 4294967295L;
 * a UINT64 above {@link Long#MAX_VALUE} is kept as its bit pattern, i.e. a negative long; use
 * {@link Long#toUnsignedString(long)} to print it), FLOAT32/FLOAT64 -> {@link Double} (FLOAT32 widened
 * exactly), BOOL -> {@link Boolean}, STRING -> {@link String}, ARRAY -> {@link GgufArray}.
 */
public record GgufValue(GgufValueType type, Object value) {
    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        if (type == GgufValueType.FLOAT32 && value instanceof Double d && d.floatValue() != d && !d.isNaN()) {
            // a FLOAT32 holds exactly what a float can; anything else would not survive a round trip
            value = (double) d.floatValue();
        }
        if (!type.accepts(value)) {
            throw new IllegalArgumentException("value " + value + " (" + value.getClass().getSimpleName() + ") is not a valid " + type);
        }
    }

    public static GgufValue ofUInt8(long v) { return new GgufValue(GgufValueType.UINT8, v); }
    public static GgufValue ofInt8(long v) { return new GgufValue(GgufValueType.INT8, v); }
    public static GgufValue ofUInt16(long v) { return new GgufValue(GgufValueType.UINT16, v); }
    public static GgufValue ofInt16(long v) { return new GgufValue(GgufValueType.INT16, v); }
    public static GgufValue ofUInt32(long v) { return new GgufValue(GgufValueType.UINT32, v); }
    public static GgufValue ofInt32(long v) { return new GgufValue(GgufValueType.INT32, v); }
    /** {@code v} is taken as an unsigned 64-bit pattern. */
    public static GgufValue ofUInt64(long v) { return new GgufValue(GgufValueType.UINT64, v); }
    public static GgufValue ofInt64(long v) { return new GgufValue(GgufValueType.INT64, v); }
    public static GgufValue ofFloat32(float v) { return new GgufValue(GgufValueType.FLOAT32, (double) v); }
    public static GgufValue ofFloat64(double v) { return new GgufValue(GgufValueType.FLOAT64, v); }
    public static GgufValue ofBool(boolean v) { return new GgufValue(GgufValueType.BOOL, v); }
    public static GgufValue ofString(String v) { return new GgufValue(GgufValueType.STRING, v); }
    public static GgufValue ofArray(GgufArray v) { return new GgufValue(GgufValueType.ARRAY, v); }

    public static GgufValue ofStrings(List<String> v) {
        return ofArray(new GgufArray(GgufValueType.STRING, List.copyOf(v)));
    }

    public static GgufValue ofInt32s(int[] v) {
        return ofArray(new GgufArray(GgufValueType.INT32, Arrays.stream(v).mapToObj(i -> (Object) (long) i).toList()));
    }

    public static GgufValue ofFloat32s(float[] v) {
        Object[] boxed = new Object[v.length];
        for (int i = 0; i < v.length; i++) boxed[i] = (double) v[i];
        return ofArray(new GgufArray(GgufValueType.FLOAT32, Arrays.asList(boxed)));
    }

    /** The value of any integer type (UINT64 as its bit pattern). */
    public long asLong() {
        if (value instanceof Long l) return l;
        throw new IllegalStateException(type + " value " + value + " is not an integer");
    }

    /** The value of any integer or float type as a double (UINT64 read unsigned). */
    public double asDouble() {
        return switch (value) {
            case Double d -> d;
            case Long l when type == GgufValueType.UINT64 && l < 0 -> Double.parseDouble(Long.toUnsignedString(l));
            case Long l -> l;
            default -> throw new IllegalStateException(type + " value is not a number");
        };
    }

    public String asString() {
        if (value instanceof String s) return s;
        throw new IllegalStateException(type + " value is not a string");
    }

    public boolean asBool() {
        if (value instanceof Boolean b) return b;
        throw new IllegalStateException(type + " value is not a bool");
    }

    public GgufArray asArray() {
        if (value instanceof GgufArray a) return a;
        throw new IllegalStateException(type + " value is not an array");
    }

    @Override
    public String toString() {
        return type == GgufValueType.UINT64 ? "UINT64 " + Long.toUnsignedString((Long) value) : type + " " + value;
    }
}
