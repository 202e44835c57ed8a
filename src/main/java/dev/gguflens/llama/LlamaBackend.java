package dev.gguflens.llama;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Process-wide llama.cpp state: loads the native library and every ggml backend module in its folder that
 * works on this machine, registers RPC servers, and routes llama.cpp's log into a ring buffer (always) and
 * {@link System.Logger} (only when verbose).
 */
public final class LlamaBackend {
    private static final System.Logger LOG = System.getLogger("dev.gguflens.llama.native");
    private static volatile boolean initialised;
    private static volatile boolean verbose;

    private LlamaBackend() {}

    /** Idempotent; every entry point of this package calls it. */
    public static void init() {
        if (initialised) return;
        synchronized (LlamaBackend.class) {
            if (initialised) return;
            java.nio.file.Path library = NativeLibrary.load();
            Native.init();
            Native.setVerbose(verbose);
            List<String> problems = new ArrayList<>();
            for (byte[] p : Native.backendsLoad(library.getParent().toString().getBytes(StandardCharsets.UTF_8))) {
                problems.add(new String(p, StandardCharsets.UTF_8).replace('\t', ':').replace('\n', ' '));
            }
            initialised = true;
            if (!problems.isEmpty()) {
                // A GPU module that cannot run here (no driver, no device) is not an error: say so once.
                String why = String.join("; ", problems);
                if (why.length() > 300) why = why.substring(0, 300) + "...";
                boolean anyGpu = devices().stream().anyMatch(BackendDevice::holdsLayers);
                System.err.println("gguf-lens: backend not usable here (" + why + ")"
                        + (anyGpu ? "" : ": running on the CPU"));
            }
        }
    }

    /** Every device of the loaded backends, in ggml's order (the CPU, GPUs, RPC servers' devices). */
    public static List<BackendDevice> devices() {
        init();
        byte[][] lines = Native.devices();
        List<BackendDevice> out = new ArrayList<>(lines.length);
        for (int i = 0; i < lines.length; i++) out.add(BackendDevice.parse(i, new String(lines[i], StandardCharsets.UTF_8)));
        return out;
    }

    /**
     * The devices a model's layers may go to, as llama.cpp chooses them by default: RPC servers first (fewer
     * network transfers), then GPUs, then integrated GPUs only when there is no discrete one.
     */
    static List<BackendDevice> offloadDevices() {
        List<BackendDevice> all = devices();
        List<BackendDevice> out = new ArrayList<>();
        // ggml cannot unregister an RPC server's devices: only those of servers in use now count.
        all.stream().filter(d -> d.isRpc() && d.holdsLayers() && rpcServers.contains(d.description())).forEach(out::add);
        List<BackendDevice> gpus = all.stream().filter(d -> !d.isRpc() && d.type().equals("gpu")).toList();
        out.addAll(gpus);
        if (gpus.isEmpty()) all.stream().filter(d -> !d.isRpc() && d.type().equals("igpu")).forEach(out::add);
        return out;
    }

    private static final java.util.Set<String> rpcServers = java.util.concurrent.ConcurrentHashMap.newKeySet();
    // A host name or IPv4 address: ggml's RPC client splits host:port at the first ':', so IPv6 literals cannot work.
    private static final Pattern ENDPOINT = Pattern.compile("[A-Za-z0-9._-]+:[0-9]{1,5}");

    /**
     * Adds the devices of llama.cpp's {@code rpc-server} at {@code host:port}, so models loaded afterwards put
     * layers there (llama.cpp's --rpc). Throws when the text is no host:port or no server answers.
     */
    public static synchronized int addRpcServer(String endpoint) {
        if (!ENDPOINT.matcher(endpoint).matches()) {
            throw new IllegalArgumentException("RPC server '" + endpoint + "' is not host:port (a host name or IPv4 address;"
                    + " llama.cpp's RPC client takes no IPv6 literal)");
        }
        int port = Integer.parseInt(endpoint.substring(endpoint.lastIndexOf(':') + 1));
        if (port < 1 || port > 65535) throw new IllegalArgumentException("RPC server '" + endpoint + "': port outside 1..65535");
        init();
        checkRpcServer(endpoint);
        int devices = Native.rpcAddServer(endpoint.getBytes(StandardCharsets.UTF_8));
        rpcServers.add(endpoint);
        return devices;
    }

    /**
     * Throws a {@link LlamaException} naming the server unless an idle rpc-server of this llama.cpp answers at
     * host:port ({@link RpcHandshake}): ggml's own RPC client would abort the process instead.
     */
    static void checkRpcServer(String endpoint) {
        RpcHandshake.check(endpoint);
    }

    /** Models loaded afterwards no longer use this server (its devices stay known to ggml, unused). */
    public static void removeRpcServer(String endpoint) {
        rpcServers.remove(endpoint);
    }

    /** The process's peak resident set size in bytes (getrusage, on Linux and macOS), -1 where unknown. */
    public static long peakRssBytes() {
        init();
        return Native.peakRssBytes();
    }

    /** Forward llama.cpp's log lines to System.Logger (they are always kept in {@link #recentLog()}). */
    public static void setVerbose(boolean on) {
        verbose = on;
        if (initialised) Native.setVerbose(on);
    }

    /** The most recent llama.cpp log lines (up to 256), oldest first. */
    public static List<String> recentLog() {
        init();
        byte[][] lines = Native.recentLog();
        List<String> out = new ArrayList<>(lines.length);
        for (byte[] line : lines) out.add(new String(line, StandardCharsets.UTF_8));
        return out;
    }

    /** Called from native code for each complete log line while verbose. Levels are ggml_log_level. */
    @SuppressWarnings("unused")
    private static void onNativeLog(int level, byte[] text) {
        System.Logger.Level l = switch (level) {
            case 4 -> System.Logger.Level.ERROR;
            case 3 -> System.Logger.Level.WARNING;
            case 1 -> System.Logger.Level.DEBUG;
            default -> System.Logger.Level.INFO;
        };
        LOG.log(l, new String(text, StandardCharsets.UTF_8));
    }
}
