package dev.panavisor.lab;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Keeps the last few lines written to it: the L1 console or QEMU's own messages, shown when a lab fails; the guest
 * console of {@code run --exec}, shown when the guest ends without the command's status.
 */
public final class ConsoleTail extends LineSink {
    private final int limit;
    private final Deque<String> lines = new ArrayDeque<>();

    public ConsoleTail(int limit) {
        this.limit = limit;
    }

    @Override
    synchronized void line(String text) {
        if (lines.size() == limit) {
            lines.removeFirst();
        }
        lines.addLast(text.replaceAll("\\p{Cntrl}", ""));
    }

    public synchronized String text() {
        return String.join("\n", lines) + (lines.isEmpty() ? "" : "\n");
    }
}
