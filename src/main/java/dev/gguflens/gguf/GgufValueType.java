package dev.gguflens.gguf;

/** GGUF metadata value types with their on-disk ids (gguf.h). */
public enum GgufValueType {
    UINT8(0), INT8(1), UINT16(2), INT16(3), UINT32(4), INT32(5), FLOAT32(6), BOOL(7),
    STRING(8), ARRAY(9), UINT64(10), INT64(11), FLOAT64(12);

    private static final GgufValueType[] BY_ID = values();

    /** The id written in the file. */
    public final int id;

    GgufValueType(int id) {
        this.id = id;
    }

    /** The type with this id, or null for an unknown id. */
    public static GgufValueType byId(long id) {
        // declaration order equals id order, so the ordinal is the id
        return id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
    }

    /** Bytes of one value on disk, or -1 for the variable-length STRING and ARRAY. */
    public int fixedSize() {
        return switch (this) {
            case UINT8, INT8, BOOL -> 1;
            case UINT16, INT16 -> 2;
            case UINT32, INT32, FLOAT32 -> 4;
            case UINT64, INT64, FLOAT64 -> 8;
            case STRING, ARRAY -> -1;
        };
    }

    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }

    public boolean isFloat() {
        return this == FLOAT32 || this == FLOAT64;
    }

    /** Whether {@code value} is the Java representation this type uses (see {@link GgufValue}). */
    boolean accepts(Object value) {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> value instanceof Long l && inRange(l);
            case FLOAT32, FLOAT64 -> value instanceof Double;
            case BOOL -> value instanceof Boolean;
            case STRING -> value instanceof String;
            case ARRAY -> value instanceof GgufArray;
        };
    }

    /** Range check for integer types; UINT64 and INT64 accept every long (UINT64 as its bit pattern). */
    boolean inRange(long v) {
        return switch (this) {
            case UINT8 -> v >= 0 && v <= 0xFFL;
            case INT8 -> v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE;
            case UINT16 -> v >= 0 && v <= 0xFFFFL;
            case INT16 -> v >= Short.MIN_VALUE && v <= Short.MAX_VALUE;
            case UINT32 -> v >= 0 && v <= 0xFFFF_FFFFL;
            case INT32 -> v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE;
            default -> true;
        };
    }
}
