package dev.panavisor.image;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The name of one cache entry: a SHA-256 over every input that can change the built bytes.
 *
 * <p>Each input is added with a label and its length ({@code label \0 length \0 bytes}), so two different
 * lists of inputs can never hash the same stream by moving a boundary ("ab"+"c" vs "a"+"bc"). A key starts
 * with the kind of artifact ({@code kernel-}, {@code rootfs-}) so a cache directory listing reads well.
 */
public final class CacheKey {
    /** Hex digits of the digest kept in the entry name: 64 bits, plenty for a local cache. */
    static final int NAME_HEX_DIGITS = 16;

    private final String kind;
    private final MessageDigest digest;

    private CacheKey(String kind) {
        this.kind = kind;
        try {
            this.digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
        add("kind", kind);
    }

    /** Starts a key for an artifact of the given kind (lower-case letters, e.g. "kernel"). */
    public static CacheKey of(String kind) {
        if (!kind.matches("[a-z]+")) {
            throw new IllegalArgumentException("cache key kind must be lower-case letters: " + kind);
        }
        return new CacheKey(kind);
    }

    public CacheKey add(String label, byte[] value) {
        digest.update(label.getBytes(StandardCharsets.UTF_8));
        digest.update((byte) 0);
        digest.update(Long.toString(value.length).getBytes(StandardCharsets.US_ASCII));
        digest.update((byte) 0);
        digest.update(value);
        return this;
    }

    public CacheKey add(String label, String value) {
        return add(label, value.getBytes(StandardCharsets.UTF_8));
    }

    /** The entry name, e.g. {@code kernel-3f9a0c1d2e4b5a69}. Finishes the key: call once. */
    public String name() {
        String hex = HexFormat.of().formatHex(digest.digest());
        return kind + "-" + hex.substring(0, NAME_HEX_DIGITS);
    }
}
