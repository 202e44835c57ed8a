package dev.gguflens.download;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Talks to the hub's HTTP API: lists a repository's files and opens file downloads. */
final class HubClient implements AutoCloseable {

    private static final int MAX_REDIRECTS = 10;
    private static final Pattern NEXT_LINK = Pattern.compile("<([^>]+)>\\s*;\\s*rel=\"?next\"?");

    private final HubConfig config;
    private final HttpClient http;

    HubClient(HubConfig config) {
        this.config = config;
        // Redirects are followed by hand: the token must not travel to the CDN host, and Range must.
        this.http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(20))
                .build();
    }

    /** Ends the client's selector thread and connections. */
    @Override
    public void close() {
        http.close();
    }

    /** {@code {base}/{owner}/{repo}/resolve/main/{path}}. */
    URI fileUrl(ModelRef ref, String path) {
        return URI.create(config.endpoint() + "/" + encodePath(ref.repoId()) + "/resolve/main/" + encodePath(path));
    }

    /** {@code {base}/{owner}/{repo}}: the page a person would open in a browser. */
    URI repoPage(ModelRef ref) {
        return URI.create(config.endpoint() + "/" + encodePath(ref.repoId()));
    }

    URI treeUrl(ModelRef ref) {
        return URI.create(config.endpoint() + "/api/models/" + encodePath(ref.repoId()) + "/tree/main?recursive=true");
    }

    /** Every file in the repository's main branch (folders included recursively; pages followed). */
    List<HubFile> listFiles(ModelRef ref) throws DownloadException {
        List<HubFile> files = new ArrayList<>();
        URI page = treeUrl(ref);
        for (int pages = 0; page != null; pages++) {
            if (pages > 1000) throw new DownloadException("hub listing of " + ref.repoId() + " does not end (over 1000 pages)");
            HttpResponse<InputStream> response = send(page, -1, "repository " + ref.repoId());
            URI current = response.uri();
            try (InputStream body = response.body()) {
                JsonElement json = JsonParser.parseReader(new InputStreamReader(body, StandardCharsets.UTF_8));
                if (!json.isJsonArray())
                    throw new DownloadException("unexpected answer from " + current + ": expected a JSON list of files");
                parseTree(json.getAsJsonArray(), files, current);
            } catch (JsonParseException | IllegalStateException | UnsupportedOperationException e) {
                throw new DownloadException("unexpected answer from " + current + ": not a file list (" + e.getMessage() + ")", e);
            } catch (IOException e) {
                throw new DownloadException("reading the file list from " + current + " failed: " + describe(e), e);
            }
            page = response.headers().firstValue("Link").map(link -> nextPage(current, link)).orElse(null);
        }
        return files;
    }

    private static void parseTree(JsonArray entries, List<HubFile> into, URI source) throws DownloadException {
        for (JsonElement e : entries) {
            JsonObject entry = e.getAsJsonObject();
            if (!entry.has("type") || !"file".equals(entry.get("type").getAsString())) continue;
            if (!entry.has("path")) throw new DownloadException("unexpected answer from " + source + ": a file entry has no path");
            String path = entry.get("path").getAsString();
            String sha256 = null;
            long size = entry.has("size") ? entry.get("size").getAsLong() : -1;
            if (entry.has("lfs") && entry.get("lfs").isJsonObject()) {
                JsonObject lfs = entry.getAsJsonObject("lfs");
                if (lfs.has("oid")) sha256 = lfs.get("oid").getAsString().toLowerCase(Locale.ROOT);
                if (lfs.has("size")) size = lfs.get("size").getAsLong();
            }
            if (sha256 != null && !sha256.matches("[0-9a-f]{64}"))
                throw new DownloadException("unexpected answer from " + source + ": sha256 of " + path + " is '" + sha256 + "'");
            into.add(new HubFile(path, size, sha256));
        }
    }

    private static URI nextPage(URI current, String linkHeader) {
        Matcher m = NEXT_LINK.matcher(linkHeader);
        return m.find() ? current.resolve(m.group(1)) : null;
    }

    /**
     * GETs {@code url}, following redirects, and returns a 200/206/416 response with its body unread.
     *
     * @param rangeStart first byte wanted ({@code Range: bytes=N-}), or -1 for the whole file
     * @param what       what is fetched, for error messages ("repository a/b", "file x.gguf")
     */
    HttpResponse<InputStream> send(URI url, long rangeStart, String what) throws DownloadException {
        URI target = url;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder request = HttpRequest.newBuilder(target)
                    .timeout(Duration.ofSeconds(60))
                    .header("User-Agent", "gguf-lens")
                    .GET();
            // The token is for the hub only; a CDN gets signed URLs and must not see it.
            if (config.token() != null && sameOrigin(target, config.endpoint()))
                request.header("Authorization", "Bearer " + config.token());
            if (rangeStart > 0) request.header("Range", "bytes=" + rangeStart + "-");
            HttpResponse<InputStream> response;
            try {
                response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DownloadException("interrupted while contacting " + target, e);
            } catch (IOException e) {
                String unreachable = unreachableReason(e);
                if (unreachable != null) throw new HubUnreachableException(target, unreachable, e);
                throw new DownloadException("request to " + target + " failed: " + describe(e), e);
            }
            int status = response.statusCode();
            switch (status) {
                case 200, 206, 416 -> {
                    return response;
                }
                case 301, 302, 303, 307, 308 -> {
                    closeQuietly(response);
                    String location = response.headers().firstValue("Location").orElseThrow(() ->
                            new DownloadException("hub answered " + status + " without a Location header for " + response.uri()));
                    target = response.uri().resolve(location.strip());
                }
                default -> {
                    closeQuietly(response);
                    throw httpError(status, response.uri(), what);
                }
            }
        }
        throw new DownloadException("too many redirects (over " + MAX_REDIRECTS + ") fetching " + url);
    }

    private DownloadException httpError(int status, URI url, String what) {
        return switch (status) {
            case 404 -> new DownloadException(what + " not found on the hub (404): " + url);
            case 401 -> new DownloadException(what + " not found on the hub, or it is private/gated (401 from " + url
                    + "): check the name" + (config.token() == null ? "; for a gated repository set HF_TOKEN" : " and that HF_TOKEN is valid"));
            case 403 -> new DownloadException("access to " + what + " denied (403 from " + url
                    + "): accept the repository's terms on the hub and set HF_TOKEN to a token with read access");
            case 429 -> new RetryableDownloadException("the hub is rate limiting requests (429) for " + url + "; try again later");
            default -> status >= 500
                    ? new RetryableDownloadException("the hub answered " + status + " (server error) for " + url)
                    : new DownloadException("the hub answered " + status + " for " + url);
        };
    }

    /** An HTTP error a later try may not hit (server error, rate limit). */
    static final class RetryableDownloadException extends DownloadException {
        RetryableDownloadException(String message) {
            super(message);
        }
    }

    /** A short human reason if {@code e} means "no connection at all", else null. */
    static String unreachableReason(Throwable e) {
        // The most specific cause wins: the JDK wraps an unknown host in a ConnectException.
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnknownHostException || t instanceof UnresolvedAddressException)
                return "unknown host" + (t.getMessage() == null ? "" : " " + t.getMessage());
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof HttpConnectTimeoutException) return "connection timed out";
            if (t instanceof NoRouteToHostException) return "no route to host";
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException) return t.getMessage() == null ? "connection refused" : t.getMessage().toLowerCase(Locale.ROOT);
        }
        return null;
    }

    static String describe(Throwable e) {
        if (e instanceof InterruptedIOException && e.getMessage() == null) return "timed out";
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    private static boolean sameOrigin(URI a, URI b) {
        return Objects.equals(lower(a.getScheme()), lower(b.getScheme()))
                && Objects.equals(lower(a.getHost()), lower(b.getHost()))
                && a.getPort() == b.getPort();
    }

    private static String lower(String s) {
        return s == null ? null : s.toLowerCase(Locale.ROOT);
    }

    private static void closeQuietly(HttpResponse<InputStream> response) {
        try {
            response.body().close();
        } catch (IOException ignored) {
            // an error body we do not need
        }
    }

    /** Percent-encodes each segment of a '/'-separated path (hub file names may hold spaces or '+'). */
    static String encodePath(String path) {
        StringBuilder out = new StringBuilder();
        for (String segment : path.split("/", -1)) {
            if (!out.isEmpty()) out.append('/');
            try {
                String raw = new URI(null, null, segment, null).getRawPath();
                out.append(raw.replace("+", "%2B").replace(":", "%3A"));
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("cannot encode path segment '" + segment + "'", e);
            }
        }
        return out.toString();
    }
}
