package dev.gguflens.download;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A stand-in for the Hugging Face hub on 127.0.0.1 (ephemeral port): the tree API, {@code resolve/main} answered with
 * a redirect to a "CDN" path (on {@code localhost}, a different origin), and a CDN that honours {@code Range}.
 * Knobs make it cut a body short, ignore Range, stall, or list a wrong sha256.
 */
public final class FakeHub implements AutoCloseable {

    /** One request the fake hub saw. */
    public record Seen(String path, String range, String authorization) {}

    private static final Pattern RESOLVE = Pattern.compile("^/([^/]+)/([^/]+)/resolve/main/(.+)$");
    private static final Pattern CDN = Pattern.compile("^/cdn/([^/]+)/([^/]+)/(.+)$");
    private static final Pattern TREE = Pattern.compile("^/api/models/([^/]+)/([^/]+)/tree/main$");

    private final HttpServer server;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final Map<String, Map<String, byte[]>> repos = new ConcurrentHashMap<>();
    private final Map<String, String> listedSha = new ConcurrentHashMap<>();
    private final Map<String, Integer> cutAfter = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> cdnRequests = new ConcurrentHashMap<>();
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private volatile boolean honourRange = true;
    private volatile long stallMillis;

    public FakeHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** Adds a file to a repository ("owner/repo"); the listing reports its true sha256 unless overridden. */
    public FakeHub put(String repoId, String path, byte[] content) {
        repos.computeIfAbsent(repoId, k -> Collections.synchronizedMap(new LinkedHashMap<>())).put(path, content);
        return this;
    }

    /** The listing reports {@code sha256} for this file instead of its real hash. */
    public FakeHub listSha(String repoId, String path, String sha256) {
        listedSha.put(repoId + "/" + path, sha256);
        return this;
    }

    /** The first CDN request for this file sends the full Content-Length but only {@code bytes} bytes, then hangs up. */
    public FakeHub cutFirstDownloadAfter(String repoId, String path, int bytes) {
        cutAfter.put(repoId + "/" + path, bytes);
        return this;
    }

    /** Like {@link #cutFirstDownloadAfter}, but after the bytes it stalls for {@code millis} before hanging up. */
    public FakeHub stallFirstDownloadAfter(String repoId, String path, int bytes, long millis) {
        stallMillis = millis;
        return cutFirstDownloadAfter(repoId, path, bytes);
    }

    public FakeHub ignoreRange() {
        honourRange = false;
        return this;
    }

    public List<Seen> seen() {
        return new ArrayList<>(seen);
    }

    /** Requests that fetched file bytes (the CDN), in order. */
    public List<Seen> downloads() {
        return seen.stream().filter(s -> s.path().startsWith("/cdn/")).toList();
    }

    public static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getRawPath();
        seen.add(new Seen(path, ex.getRequestHeaders().getFirst("Range"), ex.getRequestHeaders().getFirst("Authorization")));
        try (ex) {
            Matcher m;
            if ((m = TREE.matcher(path)).matches()) tree(ex, m.group(1) + "/" + m.group(2));
            else if ((m = RESOLVE.matcher(path)).matches()) resolve(ex, m.group(1) + "/" + m.group(2), m.group(3));
            else if ((m = CDN.matcher(path)).matches()) cdn(ex, m.group(1) + "/" + m.group(2), m.group(3));
            else send(ex, 404, "{\"error\":\"Not Found\"}");
        }
    }

    private void tree(HttpExchange ex, String repoId) throws IOException {
        Map<String, byte[]> files = repos.get(repoId);
        if (files == null) {
            send(ex, 404, "{\"error\":\"Repository not found\"}");
            return;
        }
        StringBuilder json = new StringBuilder("[");
        synchronized (files) {
            for (var e : files.entrySet()) {
                if (json.length() > 1) json.append(',');
                String sha = listedSha.getOrDefault(repoId + "/" + e.getKey(), sha256(e.getValue()));
                json.append("{\"type\":\"file\",\"oid\":\"0123456789abcdef0123456789abcdef01234567\",\"size\":")
                        .append(e.getValue().length).append(",\"path\":\"").append(e.getKey())
                        .append("\",\"lfs\":{\"oid\":\"").append(sha).append("\",\"size\":").append(e.getValue().length)
                        .append(",\"pointerSize\":134}}");
            }
        }
        // A folder entry, which the client must skip.
        json.append(json.length() > 1 ? "," : "").append("{\"type\":\"directory\",\"oid\":\"x\",\"size\":0,\"path\":\"docs\"}]");
        send(ex, 200, json.toString());
    }

    private void resolve(HttpExchange ex, String repoId, String file) throws IOException {
        Map<String, byte[]> files = repos.get(repoId);
        if (files == null || !files.containsKey(file)) {
            send(ex, 404, "Entry not found");
            return;
        }
        // The real hub redirects LFS files to a CDN on another host; "localhost" is another origin than 127.0.0.1.
        ex.getResponseHeaders().add("Location", "http://localhost:" + server.getAddress().getPort() + "/cdn/" + repoId + "/" + file);
        ex.sendResponseHeaders(302, -1);
    }

    private void cdn(HttpExchange ex, String repoId, String file) throws IOException {
        Map<String, byte[]> files = repos.get(repoId);
        byte[] data = files == null ? null : files.get(file);
        if (data == null) {
            send(ex, 404, "NoSuchKey");
            return;
        }
        String key = repoId + "/" + file;
        int n = cdnRequests.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        long start = 0;
        String range = ex.getRequestHeaders().getFirst("Range");
        if (range != null && honourRange) {
            Matcher r = Pattern.compile("bytes=(\\d+)-").matcher(range);
            if (!r.matches()) throw new IllegalStateException("unexpected Range " + range);
            start = Long.parseLong(r.group(1));
            if (start >= data.length) {
                ex.getResponseHeaders().add("Content-Range", "bytes */" + data.length);
                ex.sendResponseHeaders(416, -1);
                return;
            }
            ex.getResponseHeaders().add("Content-Range", "bytes " + start + "-" + (data.length - 1) + "/" + data.length);
        }
        int length = (int) (data.length - start);
        ex.sendResponseHeaders(start > 0 ? 206 : 200, length);
        OutputStream body = ex.getResponseBody();
        Integer cut = cutAfter.get(key);
        if (n == 1 && cut != null) {
            body.write(data, (int) start, Math.min(cut, length));
            body.flush();
            if (stallMillis > 0) {
                try {
                    Thread.sleep(stallMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            // Hanging up with bytes missing: closing the exchange now drops the connection.
            ex.close();
            return;
        }
        body.write(data, (int) start, length);
    }

    private static void send(HttpExchange ex, int status, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
