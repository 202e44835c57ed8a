package dev.gguflens.llama;

/**
 * One device a loaded ggml backend offers, as ggml describes it.
 *
 * @param index       position in ggml's device list (what the shim passes to llama.cpp)
 * @param backend     the backend's registry name: CPU, CUDA, Metal, RPC, ...
 * @param type        cpu, gpu, igpu, accel or other
 * @param name        e.g. CPU, CUDA0, MTL0, RPC0
 * @param description e.g. the GPU's model, or host:port for an RPC device
 * @param memoryBytes total memory the device reports (0 when it reports none)
 */
public record BackendDevice(int index, String backend, String type, String name, String description, long memoryBytes) {
    public BackendDevice {
        if (index < 0) throw new IllegalArgumentException("device index " + index + " is negative");
        if (backend.isEmpty() || name.isEmpty()) throw new IllegalArgumentException("device " + index + " has no backend or name");
    }

    /** A device llama.cpp can give layers to: a GPU, an integrated GPU or an RPC server's device. */
    public boolean holdsLayers() {
        return type.equals("gpu") || type.equals("igpu");
    }

    public boolean isRpc() {
        return backend.equalsIgnoreCase("RPC");
    }

    /** "CUDA0 (NVIDIA H200)". */
    public String label() {
        return description.isEmpty() || description.equals(name) ? name : name + " (" + description + ")";
    }

    static BackendDevice parse(int index, String line) {
        String[] f = line.split("\t", -1);
        if (f.length != 5) throw new LlamaException("unexpected device line from the shim: " + line);
        return new BackendDevice(index, f[0], f[1], f[2], f[3], Long.parseLong(f[4]));
    }
}
