package dev.gguflens.llama;

import java.util.ArrayList;
import java.util.List;

/**
 * Where a loaded model's layers went: the devices llama.cpp was given and how many layers it put there.
 * llama.cpp counts the output layer as one more layer (n_layer + 1 in all), offloaded first.
 *
 * @param devices   the non-CPU devices that hold layers, in llama.cpp's order (RPC first); empty = CPU only
 *                  (with split mode none only the main GPU)
 * @param requested the -ngl asked for (-1 = all)
 * @param offloaded layers placed on those devices
 * @param total     n_layer + 1
 * @param placement main GPU and split mode as given
 * @param warning   non-null when an option asked for a device that is not there (the options then do nothing)
 */
public record Offload(List<BackendDevice> devices, int requested, int offloaded, int total, GpuPlacement placement,
                      String warning) {
    public Offload {
        devices = List.copyOf(devices);
        if (requested < -1) throw new IllegalArgumentException("requested " + requested + " < -1");
        if (offloaded < 0 || offloaded > total) throw new IllegalArgumentException("offloaded " + offloaded + " outside 0.." + total);
        if (placement == null) placement = GpuPlacement.DEFAULT;
    }

    /** What llama.cpp does with n_gpu_layers given these devices and llama.cpp's default placement. */
    static Offload of(List<BackendDevice> devices, int requested, int nLayer) {
        return of(devices, requested, nLayer, GpuPlacement.DEFAULT);
    }

    /** What llama.cpp does with n_gpu_layers, main GPU and split mode given the devices that can hold layers. */
    static Offload of(List<BackendDevice> offloadDevices, int requested, int nLayer, GpuPlacement placement) {
        int total = nLayer + 1;
        List<BackendDevice> used = placement.devicesUsed(offloadDevices);
        int offloaded = used.isEmpty() ? 0 : requested < 0 ? total : Math.min(requested, total);
        List<String> warnings = new ArrayList<>();
        if (requested > 0 && used.isEmpty()) {
            warnings.add("-ngl " + requested + " asks for layers on a GPU, but no GPU or RPC backend is loaded (CPU-only build,"
                    + " or no driver/device): all " + total + " layers run on the CPU");
        }
        String placementWarning = placement.warning(offloadDevices);
        if (placementWarning != null) warnings.add(placementWarning);
        return new Offload(used, requested, offloaded, total, placement, warnings.isEmpty() ? null : String.join("; ", warnings));
    }
}
