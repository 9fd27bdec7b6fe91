package dev.panavisor.devices.virtio.net;

/**
 * The check of a transmitted frame's virtio-net header against the offloads the driver accepted, for a backend the
 * header goes to (a TAP with {@code vnet_hdr}, whose kernel finishes checksums and cuts segments as the header
 * asks): virtio 1.2 §5.1.6.2.1. The driver may set only NEEDS_CSUM in {@code flags}, and only with CSUM; a segment
 * (gso_type TCPV4 or TCPV6) needs HOST_TSO4 or HOST_TSO6, a size, and NEEDS_CSUM; nothing else was offered (UDP, ECN).
 * A frame that asks for more would have the host's network stack do work the device never agreed to:
 * {@link TransmitBatch} drops it and counts it.
 */
final class TransmitHeader {
    private TransmitHeader() {
    }

    /**
     * Null when the 12-byte header at {@code offset} of {@code frame}, followed by {@code frameLength} bytes of frame,
     * asks only what {@code acceptedOffloads} allow; else why not.
     */
    static String refusal(byte[] frame, int offset, int frameLength, long acceptedOffloads) {
        int flags = frame[offset] & 0xff;
        int gsoType = frame[offset + 1] & 0xff;
        int gsoSize = le16(frame, offset + 4);
        int csumStart = le16(frame, offset + 6);
        int csumOffset = le16(frame, offset + 8);
        if ((flags & ~ReceivedHeader.HDR_F_NEEDS_CSUM) != 0) {
            return "transmit header sets flags 0x" + Integer.toHexString(flags) + ": a driver sets only NEEDS_CSUM";
        }
        boolean needsCsum = flags != 0;
        if (needsCsum && (acceptedOffloads & VirtioNet.F_CSUM) == 0) {
            return "transmit header asks for a checksum, and the driver did not accept CSUM";
        }
        if (needsCsum && csumStart + csumOffset + 2 > frameLength) {
            return "transmit header's checksum at " + csumStart + "+" + csumOffset + " lies beyond the frame's "
                    + frameLength + " bytes";
        }
        boolean gsoOk = switch (gsoType) {
            case ReceivedHeader.GSO_NONE -> true;
            case ReceivedHeader.GSO_TCPV4 -> (acceptedOffloads & VirtioNet.F_HOST_TSO4) != 0;
            case ReceivedHeader.GSO_TCPV6 -> (acceptedOffloads & VirtioNet.F_HOST_TSO6) != 0;
            default -> false;
        };
        if (!gsoOk) {
            return "transmit header asks for segmentation of GSO type " + gsoType + ", which the driver did not accept";
        }
        if (gsoType != ReceivedHeader.GSO_NONE && (!needsCsum || gsoSize == 0)) {
            return "transmit header asks for segmentation without " + (needsCsum ? "a segment size" : "NEEDS_CSUM");
        }
        return null;
    }

    private static int le16(byte[] bytes, int at) {
        return (bytes[at] & 0xff) | (bytes[at + 1] & 0xff) << 8;
    }
}
