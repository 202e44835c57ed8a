package dev.gguflens.download;

import java.net.URI;

/** No connection to the hub at all (refused, unknown host, offline, connect timeout), as opposed to an HTTP error. */
public final class HubUnreachableException extends DownloadException {
    private final URI url;
    private final String reason;

    HubUnreachableException(URI url, String reason, Throwable cause) {
        super("cannot reach " + url + " (" + reason + ")", cause);
        this.url = url;
        this.reason = reason;
    }

    public URI url() {
        return url;
    }

    public String reason() {
        return reason;
    }
}
