package dev.panavisor.devices.virtio.net;

import java.util.HexFormat;
import java.util.Locale;

/**
 * A 48-bit Ethernet MAC address (IEEE 802), as {@code virtio_net_config.mac} carries it (virtio 1.2 §5.1.4).
 *
 * <p>The default is locally administered (bit 1 of the first octet set: not from a vendor's range, so it cannot
 * clash with a real card) and unicast (bit 0 clear): {@code 02:70:76:00:00:01}, whose second and third octets are
 * "pv" in ASCII. Two guests on one bridge need different addresses: give the second one {@code mac=}.
 */
public record MacAddress(byte[] octets) {
    public static final int LENGTH = 6;
    /** The default guest MAC: locally administered, unicast. */
    public static final MacAddress DEFAULT = parse("02:70:76:00:00:01");

    public MacAddress {
        if (octets.length != LENGTH) {
            throw new IllegalArgumentException("a MAC address has 6 octets, not " + octets.length);
        }
        octets = octets.clone();
    }

    /**
     * Parses six two-digit hexadecimal octets separated by colons ({@code 02:00:00:aa:bb:cc}).
     *
     * @throws IllegalArgumentException naming what is wrong: the format, or a multicast address (bit 0 of the
     *         first octet), which no card may have as its own
     */
    public static MacAddress parse(String text) {
        String[] parts = text.split(":", -1);
        if (parts.length != LENGTH) {
            throw new IllegalArgumentException("MAC address '" + text + "' is not six hex octets like 02:00:00:00:00:01");
        }
        byte[] octets = new byte[LENGTH];
        for (int i = 0; i < LENGTH; i++) {
            if (!parts[i].matches("[0-9a-fA-F]{2}")) {
                throw new IllegalArgumentException("MAC address '" + text + "' is not six hex octets like "
                        + "02:00:00:00:00:01");
            }
            octets[i] = (byte) Integer.parseInt(parts[i], 16);
        }
        if ((octets[0] & 1) != 0) {
            throw new IllegalArgumentException("MAC address '" + text + "' is a multicast address (the first "
                    + "octet is odd); a network card needs a unicast one");
        }
        return new MacAddress(octets);
    }

    @Override
    public byte[] octets() {
        return octets.clone();
    }

    /** Octet {@code i}, 0 to 255. */
    public int octet(int i) {
        return octets[i] & 0xff;
    }

    @Override
    public String toString() {
        return HexFormat.ofDelimiter(":").formatHex(octets).toLowerCase(Locale.ROOT);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof MacAddress mac && java.util.Arrays.equals(octets, mac.octets);
    }

    @Override
    public int hashCode() {
        return java.util.Arrays.hashCode(octets);
    }
}
