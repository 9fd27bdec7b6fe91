package dev.panavisor.devices.virtio.net;

import java.io.IOException;

/**
 * Where a {@link VirtioNet} device's transmitted frames go: a TAP interface in the VMM, a list in tests. Frames
 * travelling the other way are pushed into the device ({@link VirtioNet#receive}) by whoever reads the host side,
 * because only that side knows when a frame arrives.
 */
public interface NetBackend {
    /**
     * Sends one Ethernet frame (destination MAC first, no virtio-net header, no frame check sequence).
     *
     * @throws IOException when the host side refuses it; the device counts the frame as dropped
     */
    void transmit(byte[] frame, int length) throws IOException;

    /** A short name for messages, such as {@code tap0}. */
    String name();
}
