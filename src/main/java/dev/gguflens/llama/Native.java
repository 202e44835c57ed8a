package dev.gguflens.llama;

/** The JNI entry points of libgguflens (native/src/gguflens_jni.cpp). Strings cross as UTF-8 bytes. */
final class Native {
    private Native() {}

    static native void init();
    static native void setVerbose(boolean verbose);
    static native byte[][] recentLog();

    /** Loads the ggml backend modules in a folder; one "name TAB reason" per module that gave no usable backend. */
    static native byte[][] backendsLoad(byte[] directory);
    /** One "backend TAB type TAB name TAB description TAB total bytes" per ggml device, in ggml's order. */
    static native byte[][] devices();
    /** Registers an rpc-server's devices (host:port); returns how many it offers. */
    static native int rpcAddServer(byte[] endpoint);
    /** Peak resident set size of the process in bytes (getrusage), -1 if unknown. */
    static native long peakRssBytes();

    /** devices: indices into {@link #devices()} that may hold layers; null = llama.cpp's own choice. */
    static native long modelLoad(byte[] path, int gpuLayers, boolean mmap, boolean repack, boolean vocabOnly,
                                 ProgressListener listener, int[] devices, int mainGpu, int splitMode);
    static native void modelFree(long model);
    /** {address, bytes, ggml type} of a weight held in host memory in ggml's layout; null when absent, on a device or repacked. */
    static native long[] modelTensorHost(long model, byte[] name);
    /** {n_layer, n_embd, n_vocab, n_ctx_train, bos, eos}. */
    static native int[] modelInfo(long model);
    static native byte[] modelMeta(long model, byte[] key);
    static native byte[] chatTemplate(long model);
    static native int[] tokenize(long model, byte[] text, boolean addSpecial, boolean parseSpecial);
    static native byte[] tokenPiece(long model, int token);
    static native byte[] tokenText(long model, int token);

    /** kvType: a ggml_type id; flashAttention: a llama_flash_attn_type (-1 auto, 0 off, 1 on). */
    static native long contextCreate(long model, int contextSize, int batchSize, int threads, int sequences, int kvType,
                                     int flashAttention);
    static native void contextFree(long context);
    /** {n_ctx per sequence, n_batch, 1 if the last capture's graph used flash attention else 0}. */
    static native int[] contextInfo(long context);
    static native void capture(long context, int[] tokens, long layers, long resultNorm, long logits, byte[][] extraNames);
    static native long extraWidth(long context, int index);
    static native void extraCopy(long context, int index, long address);

    /** Interventions applied by the eval callback in the next capture/decode calls, until cleared. */
    static native void interventionsSet(long context, byte[][] names, boolean[] add, int[][] rows, int[][] columns,
                                        long[] values, long[] widths, boolean[] broadcast);
    static native void interventionsClear(long context);
    /** One llama_decode on top of the KV cache; logits of outputRows (ascending) go to logits [outputs][n_vocab]. */
    static native void decode(long context, int[] tokens, int[] positions, int[] sequences, int[] outputRows, long logits);
    static native void sequenceCopy(long context, int source, int destination, int fromPosition, int toPosition);
    static native void sequenceRemove(long context, int sequence);

    static native void quantize(byte[] input, byte[] output, int ftype, int threads, byte[][] imatrixNames, float[][] imatrixData);

    /** Y[m][rows] = X[m][cols] . W^T with ggml's CPU backend on caller-owned memory; returns a handle. */
    static native long matmulCreate(int type, long rows, long cols, long weight, long weightBytes, int m,
                                    long input, long output, int threads);
    static native void matmulCompute(long handle);
    static native void matmulFree(long handle);
}
