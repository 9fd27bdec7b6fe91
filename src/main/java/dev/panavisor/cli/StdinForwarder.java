package dev.panavisor.cli;

import dev.panavisor.vmm.CommandStreams;
import java.io.IOException;
import java.io.InputStream;
import java.util.function.BooleanSupplier;

/**
 * Copies this process's stdin to the guest command's stdin ({@code run --exec}) on a daemon thread, byte for byte,
 * and ends the command's stdin when this one ends, as {@code docker run -i} does. The device's input buffer is
 * bounded: bytes it cannot take yet are offered again a moment later, so a large pipe is never dropped from, and
 * a guest that reads slowly slows the writer down.
 */
final class StdinForwarder {
    /** Where bytes go: takes what fits now and returns how many. */
    interface Sink {
        int offer(byte[] bytes, int offset, int length);
    }

    private StdinForwarder() {
    }

    static void start(InputStream in, CommandStreams streams, BooleanSupplier running) {
        Thread.ofPlatform().name("stdin-forward").daemon()
                .start(() -> pump(in, streams::offerInput, streams::endInput, running));
    }

    /**
     * Copies {@code in} to {@code sink} while {@code running}, then runs {@code end} once. A read error counts as
     * the end of input: the command must not wait for bytes that cannot come.
     */
    static void pump(InputStream in, Sink sink, Runnable end, BooleanSupplier running) {
        byte[] buffer = new byte[16 * 1024];
        try {
            for (int n; running.getAsBoolean() && (n = in.read(buffer)) >= 0; ) {
                deliver(sink, running, buffer, 0, n);
            }
        } catch (IOException e) {
            // stdin is closed or unreadable: end of input
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        end.run();
    }

    /** Offers {@code bytes[offset..offset+length)} until all are taken or {@code running} turns false. */
    static void deliver(Sink sink, BooleanSupplier running, byte[] bytes, int offset, int length)
            throws InterruptedException {
        int done = 0;
        while (done < length && running.getAsBoolean()) {
            int taken = sink.offer(bytes, offset + done, length - done);
            done += taken;
            if (taken == 0) {
                Thread.sleep(1);
            }
        }
    }
}
