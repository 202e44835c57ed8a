package dev.gguflens.download;

import java.nio.file.Path;

/**
 * Hears about downloads as they happen, e.g. to draw a progress bar. All methods default to doing nothing;
 * they are called on the downloading thread.
 */
public interface DownloadListener {

    /** A file transfer begins; {@code resumeFrom} bytes are already on disk from an earlier try. */
    default void started(HubFile file, long resumeFrom) {}

    /** {@code bytesOnDisk} of the file's {@link HubFile#size()} bytes are now on disk. */
    default void progress(HubFile file, long bytesOnDisk) {}

    /** The transfer ended, successfully or not (then an exception follows, or another try). */
    default void stopped(HubFile file) {}

    /** A one-line remark for the user: already present, resuming, retrying, hub unreachable. */
    default void note(String message) {}

    DownloadListener SILENT = new DownloadListener() {};
}
