package dev.panavisor.vmm;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.CountDownLatch;

/**
 * A host stream whose reader has stopped reading (a full pipe): every write blocks until {@link #letGo} counts down,
 * then keeps what it was given in {@link #received}. {@link #entered} counts down at the first write.
 */
final class StuckReader extends OutputStream {
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch letGo = new CountDownLatch(1);
    final ByteArrayOutputStream received = new ByteArrayOutputStream();

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
        entered.countDown();
        try {
            letGo.await();
        } catch (InterruptedException e) {
            throw new java.io.InterruptedIOException();
        }
        received.write(b, off, len);
    }
}
