package dev.panavisor.lab;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** How the lab relays one of QEMU's channels to this side, telling a failed read from a failed write. */
final class Relay {
    private Relay() {
    }

    /**
     * Copies {@code in} to {@code sink} (this side's record of a channel, or null) and to {@code copy} (the user's
     * stream, or null) until {@code in} ends; a write to {@code copy} that fails is a {@link UserStreamFailed}.
     */
    static void copyAll(InputStream in, OutputStream sink, OutputStream copy) throws IOException {
        byte[] buffer = new byte[8192];
        for (int n; (n = in.read(buffer)) >= 0; ) {
            if (sink != null) {
                sink.write(buffer, 0, n);
            }
            if (copy != null) {
                try {
                    copy.write(buffer, 0, n);
                    copy.flush();
                } catch (IOException e) {
                    throw new UserStreamFailed(e);
                }
            }
        }
    }

    /** A write to the user's stream failed (not the channel's read): {@link #failure()} is that write's error. */
    static final class UserStreamFailed extends IOException {
        UserStreamFailed(IOException failure) {
            super(failure);
        }

        IOException failure() {
            return (IOException) getCause();
        }
    }
}
