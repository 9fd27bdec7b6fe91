package dev.panavisor.testing;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import java.util.Random;

/**
 * {@link Random}'s choices drawn from Jazzer's input instead of a seed, for fuzz properties written as a sequence of
 * random choices (the vsock and net devices' hostile drivers): every {@code nextInt}, {@code nextBoolean} and
 * {@code nextBytes} consumes the fuzzer's bytes, so its coverage feedback steers them like any other choice, and an
 * exhausted input yields zeros (Jazzer's own rule), which ends the property's loops.
 */
public final class FuzzRandom extends Random {
    private final transient FuzzedDataProvider data;

    public FuzzRandom(FuzzedDataProvider data) {
        this.data = data;
    }

    /** The fuzzer's input, for helpers that take it directly ({@code HostileDriver}). */
    public FuzzedDataProvider data() {
        return data;
    }

    @Override
    public int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive");
        }
        return data.consumeInt(0, bound - 1);
    }

    @Override
    public int nextInt() {
        return data.consumeInt();
    }

    @Override
    public long nextLong() {
        return data.consumeLong();
    }

    @Override
    public boolean nextBoolean() {
        return data.consumeBoolean();
    }

    @Override
    public void nextBytes(byte[] bytes) {
        byte[] drawn = data.consumeBytes(bytes.length);
        System.arraycopy(drawn, 0, bytes, 0, drawn.length);
        java.util.Arrays.fill(bytes, drawn.length, bytes.length, (byte) 0);
    }

    @Override
    protected int next(int bits) {
        return data.consumeInt() >>> (32 - bits); // anything else Random offers, from the same input
    }
}
