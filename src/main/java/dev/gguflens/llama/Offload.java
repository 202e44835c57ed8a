package dev.gguflens.llama;

import java.util.List;

/**
 * Where a loaded model's layers went: the devices llama.cpp was given and how many layers it put there.
 * llama.cpp counts the output layer as one more layer (n_layer + 1 in all), offloaded first.
 *
 * @param devices   the non-CPU devices llama.cpp was given, in its order (RPC first); empty = CPU only
 * @param requested the -ngl asked for (-1 = all)
 * @param offloaded layers placed on those devices
 * @param total     n_layer + 1
 */
public record Offload(List<BackendDevice> devices, int requested, int offloaded, int total) {
    public Offload {
        devices = List.copyOf(devices);
        if (requested < -1) throw new IllegalArgumentException("requested " + requested + " < -1");
        if (offloaded < 0 || offloaded > total) throw new IllegalArgumentException("offloaded " + offloaded + " outside 0.." + total);
    }

    /** What llama.cpp does with n_gpu_layers given these devices. */
    static Offload of(List<BackendDevice> devices, int requested, int nLayer) {
        int total = nLayer + 1;
        int offloaded = devices.isEmpty() ? 0 : requested < 0 ? total : Math.min(requested, total);
        return new Offload(devices, requested, offloaded, total);
    }

    /** Non-null when -ngl asked for layers on a device but there is none to take them. */
    public String warning() {
        if (requested > 0 && devices.isEmpty()) {
            return "-ngl " + requested + " asks for layers on a GPU, but no GPU or RPC backend is loaded (CPU-only build,"
                    + " or no driver/device): all " + total + " layers run on the CPU";
        }
        return null;
    }
}
