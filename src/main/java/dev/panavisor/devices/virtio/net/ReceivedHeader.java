package dev.panavisor.devices.virtio.net;

/**
 * The check of a received frame's virtio-net header against the offloads the driver accepted (virtio 1.2
 * §5.1.6.4.1): a partial checksum needs GUEST_CSUM, a TCP segment GUEST_TSO4 or GUEST_TSO6, and nothing else (UDP,
 * ECN) was offered. The host side should never hand over more, but a frame queued before the driver's features took
 * effect (after a reset) could; {@link VirtioNet} drops it and counts it.
 */
final class ReceivedHeader {
    /** virtio_net_hdr flags (§5.1.6): the checksum is partial (the driver must finish it), or already checked. */
    static final int HDR_F_NEEDS_CSUM = 1;
    static final int HDR_F_DATA_VALID = 2;
    /** gso_type values (§5.1.6). */
    static final int GSO_NONE = 0;
    static final int GSO_TCPV4 = 1;
    static final int GSO_TCPV6 = 4;

    private ReceivedHeader() {
    }

    /**
     * Null when the header at the start of {@code frame} asks only what {@code acceptedOffloads} allow, else why
     * not. Without GUEST_CSUM the DATA_VALID hint is cleared in {@code frame}: flags must then be 0.
     */
    static String refusal(byte[] frame, long acceptedOffloads) {
        int flags = frame[0] & 0xff;
        int gsoType = frame[1] & 0xff;
        boolean csum = (acceptedOffloads & VirtioNet.F_GUEST_CSUM) != 0;
        if ((flags & HDR_F_NEEDS_CSUM) != 0 && !csum) {
            return "received frame has a partial checksum and the driver did not accept GUEST_CSUM";
        }
        boolean gsoOk = switch (gsoType) {
            case GSO_NONE -> true;
            case GSO_TCPV4 -> (acceptedOffloads & VirtioNet.F_GUEST_TSO4) != 0;
            case GSO_TCPV6 -> (acceptedOffloads & VirtioNet.F_GUEST_TSO6) != 0;
            default -> false;
        };
        if (!gsoOk) {
            return "received frame is a segment of GSO type " + gsoType + ", which the driver did not accept";
        }
        if (!csum) {
            frame[0] = 0;
        }
        return null;
    }
}
