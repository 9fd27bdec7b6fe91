package dev.panavisor.devices.virtio.console;

/**
 * Bytes the user typed that the guest has not taken yet: a fixed-size ring buffer.
 *
 * <p>Input waits here until the driver posts receive buffers. The bound keeps a guest that never reads its console
 * from making the VMM hold unbounded memory; what does not fit is dropped and counted, as a full UART FIFO would.
 */
final class InputFifo {
    private final byte[] buffer;
    private int head;
    private int size;
    private long dropped;

    InputFifo(int capacity) {
        this.buffer = new byte[capacity];
    }

    /** Appends as much of {@code bytes[offset..offset+length)} as fits; returns how many bytes were kept. */
    int offer(byte[] bytes, int offset, int length) {
        int accepted = Math.min(length, buffer.length - size);
        for (int i = 0; i < accepted; i++) {
            buffer[(head + size + i) % buffer.length] = bytes[offset + i];
        }
        size += accepted;
        dropped += length - accepted;
        return accepted;
    }

    /** Removes up to {@code max} bytes into {@code dst}; returns how many. */
    int take(byte[] dst, int max) {
        int n = Math.min(max, size);
        for (int i = 0; i < n; i++) {
            dst[i] = buffer[(head + i) % buffer.length];
        }
        head = (head + n) % buffer.length;
        size -= n;
        return n;
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    long dropped() {
        return dropped;
    }
}
