package dev.gguflens.download;

import java.io.IOException;

/** A model could not be resolved or fetched; the message is one line meant for the user. */
public class DownloadException extends IOException {
    public DownloadException(String message) {
        super(message);
    }

    public DownloadException(String message, Throwable cause) {
        super(message, cause);
    }
}
