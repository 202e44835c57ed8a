package dev.gguflens.download;

/**
 * One file of a hub repository, as its tree listing reports it.
 *
 * @param path   path inside the repository ({@code Qwen3-8B-Q4_K_M.gguf}, possibly with folders)
 * @param size   size in bytes
 * @param sha256 lower-case hex SHA-256 of the content (the LFS oid), or null for a small non-LFS file
 */
public record HubFile(String path, long size, String sha256) {

    /** The last path segment. */
    public String fileName() {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? path : path.substring(slash + 1);
    }
}
