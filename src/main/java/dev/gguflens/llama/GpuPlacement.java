package dev.gguflens.llama;

import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Which devices get a model's offloaded layers (llama.cpp's {@code --main-gpu} and {@code --split-mode}). A null
 * field was not given and takes llama.cpp's default (main device 0, split by layer).
 *
 * @param mainGpu   index into the devices that can hold layers, in llama.cpp's order (RPC servers first, then
 *                  GPUs): with split mode none the one device that gets every offloaded layer, with row the one
 *                  that keeps intermediate results and the KV cache; ignored with layer
 * @param splitMode how layers are spread over several devices
 */
public record GpuPlacement(Integer mainGpu, SplitMode splitMode) {
    /** Nothing given: llama.cpp's defaults. */
    public static final GpuPlacement DEFAULT = new GpuPlacement(null, null);

    public GpuPlacement {
        if (mainGpu != null && mainGpu < 0) throw new IllegalArgumentException("main GPU " + mainGpu + " is negative");
    }

    public boolean given() { return mainGpu != null || splitMode != null; }

    int mainGpuOrDefault() { return mainGpu == null ? 0 : mainGpu; }

    SplitMode splitModeOrDefault() { return splitMode == null ? SplitMode.LAYER : splitMode; }

    /** The devices that get layers: with split mode none only the main one (as llama.cpp keeps only it). */
    List<BackendDevice> devicesUsed(List<BackendDevice> offloadDevices) {
        if (splitModeOrDefault() != SplitMode.NONE || offloadDevices.isEmpty()) return offloadDevices;
        return List.of(offloadDevices.get(Math.min(mainGpuOrDefault(), offloadDevices.size() - 1)));
    }

    /**
     * What cannot run: {@code field} is main_gpu or split_mode, {@code value} what was given, {@code text} the
     * problem, written to follow "FIELD VALUE".
     */
    public record Problem(String field, Object value, String text) {
        @Override
        public String toString() {
            return field + " " + value + " " + text;
        }
    }

    /**
     * Why this placement cannot run on these devices (llama.cpp would refuse it or abort), or null when it can:
     * a main GPU outside the devices, or row split on a device without split buffers (none of the backends this
     * project builds has them: the pinned ggml offers them on SYCL and Hexagon only, no longer on CUDA).
     * With no device at all nothing is checked: {@link #warning} says the options have no effect.
     */
    public Problem problem(List<BackendDevice> offloadDevices) {
        if (offloadDevices.isEmpty()) return null;
        if (mainGpu != null && mainGpu >= offloadDevices.size()) {
            return new Problem("main_gpu", mainGpu, "is not one of the " + offloadDevices.size() + " device(s) that can hold"
                    + " layers (" + listed(offloadDevices) + "); use 0.." + (offloadDevices.size() - 1));
        }
        if (splitModeOrDefault() == SplitMode.ROW) {
            for (BackendDevice d : devicesUsed(offloadDevices)) {
                if (!SPLIT_BUFFER_BACKENDS.contains(d.backend())) {
                    return new Problem("split_mode", "row", "needs split buffers, which " + d.label() + " (" + d.backend()
                            + " backend) does not have in the pinned llama.cpp (only SYCL and Hexagon do); use layer or none");
                }
            }
        }
        return null;
    }

    static final List<String> SPLIT_BUFFER_BACKENDS = List.of("SYCL", "HTP");

    /** Non-null when the options were given but no device holds layers, so they change nothing. */
    String warning(List<BackendDevice> offloadDevices) {
        if (!given() || !offloadDevices.isEmpty()) return null;
        String flags = (splitMode == null ? "" : "--split-mode " + splitMode.llamaName())
                + (splitMode != null && mainGpu != null ? " " : "") + (mainGpu == null ? "" : "--main-gpu " + mainGpu);
        return flags + " has no effect: no GPU or RPC device holds layers (-ngl 0, a CPU-only build, or no driver/device)";
    }

    private static String listed(List<BackendDevice> devices) {
        return IntStream.range(0, devices.size()).mapToObj(i -> i + ": " + devices.get(i).label()).collect(Collectors.joining(", "));
    }
}
