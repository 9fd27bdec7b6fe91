package dev.panavisor.devices.virtio.net;

import java.io.IOException;

/**
 * Where a {@link VirtioNet} device's transmitted frames go: a TAP interface in the VMM, a list in tests. Frames
 * travelling the other way are pushed into the device ({@link VirtioNet#receive}) by whoever reads the host side,
 * because only that side knows when a frame arrives.
 */
public interface NetBackend {
    /**
     * Sends one Ethernet frame (destination MAC first, no frame check sequence), preceded by its 12-byte virtio-net
     * header when this backend carries {@link #offloads()}, and without one otherwise: {@code length} bytes of
     * {@code frame} from {@code offset}. Called by the device's worker, without the transport's lock.
     *
     * @throws IOException when the host side refuses it; the device counts the frame as dropped
     */
    void transmit(byte[] frame, int offset, int length) throws IOException;

    /** A short name for messages, such as {@code tap0}. */
    String name();

    /**
     * The longest frame (without the virtio-net header) the host side takes; a longer one is dropped by the device,
     * never sent. Default: {@link VirtioNet#MAX_FRAME}.
     */
    default int maxFrame() {
        return VirtioNet.MAX_FRAME;
    }

    /**
     * The offload features ({@link VirtioNet#F_CSUM} and the others of §5.1.3) this backend can carry honestly:
     * its host side takes frames with a partial checksum or a TCP segment of up to 64 KiB and finishes them, and can
     * hand over such frames. A backend that offers any carries the virtio-net header in both directions: transmit
     * gets header and frame, and frames it delivers ({@link VirtioNet#receive}) start with one. 0 (the default):
     * plain, finished frames both ways.
     */
    default long offloads() {
        return 0;
    }

    /**
     * Which of {@link #offloads()} the driver accepted, at DRIVER_OK (and 0 at a reset): the host side must from now
     * on hand over only frames the guest can take (no partial checksum without GUEST_CSUM, no segment without
     * GUEST_TSO4/6). Called under the transport's lock.
     *
     * @throws IOException when the host side refuses; the device then needs a reset
     */
    default void offloadsAccepted(long features) throws IOException {
    }
}
