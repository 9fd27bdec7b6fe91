package dev.panavisor.cli;

import dev.panavisor.vmm.Machine;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Copies the user's keystrokes (standard input) to the guest console. The console devices' input buffers are
 * bounded, so bytes they cannot take yet are offered again a moment later instead of dropped.
 *
 * <p>The terminal is raw while the guest runs, so Ctrl-C goes to the guest. {@link #ESCAPE} followed by 'x'
 * (Ctrl-A x, as in QEMU) ends the VM from the host side: the way out of a guest that hangs or never reboots.
 *
 * <p>Two threads, so that the way out is always read: {@code console-input} reads stdin, acts on Ctrl-A x and
 * queues every other byte; {@code console-type} hands the queued bytes to the console device, waiting as long as the
 * device has no room (a guest that reads no input, its UART's 64-byte FIFO full) or its lock is held (a vCPU
 * waiting for the console's reader, docs/security.md). Until 2026-12-06 one thread did both, and a guest that hung
 * after 64 typed bytes no longer let Ctrl-A x through. The queue holds {@link #QUEUED_READS} reads of at most
 * {@link #READ_SIZE} bytes; keys typed while it is full are dropped, as a UART's receiver drops bytes on overrun,
 * and the reader goes on reading, so Ctrl-A x still gets through.
 */
final class ConsoleInput {
    static final int ESCAPE = 0x01; // Ctrl-A
    static final int READ_SIZE = 256;
    static final int QUEUED_READS = 1024;

    private ConsoleInput() {
    }

    static void start(Machine machine) {
        InputStream in = new FileInputStream(FileDescriptor.in);
        BlockingQueue<byte[]> typed = new ArrayBlockingQueue<>(QUEUED_READS);
        Thread.ofPlatform().name("console-type").daemon()
                .start(() -> type(typed, machine::typeIntoConsole, machine::isRunning));
        Thread.ofPlatform().name("console-input").daemon().start(() -> pump(in, machine::isRunning,
                () -> machine.stop("stopped from the console (Ctrl-A x)"), typed));
    }

    /** Reads {@code in} while {@code running}: Ctrl-A x runs {@code stop}; the other bytes go to {@code typed}. */
    static void pump(InputStream in, BooleanSupplier running, Runnable stop, BlockingQueue<byte[]> typed) {
        byte[] buffer = new byte[READ_SIZE];
        byte[] keys = new byte[READ_SIZE + 1]; // + the Ctrl-A of a read before, typed with this read's first byte
        boolean escaped = false;
        try {
            int n;
            while (running.getAsBoolean() && (n = in.read(buffer)) > 0) {
                int count = 0;
                for (int i = 0; i < n; i++) {
                    int b = buffer[i] & 0xff;
                    if (escaped) {
                        escaped = false;
                        if (b == 'x') {
                            stop.run();
                            return;
                        }
                        if (b != ESCAPE) { // Ctrl-A Ctrl-A types one Ctrl-A
                            keys[count++] = ESCAPE;
                        }
                    } else if (b == ESCAPE) {
                        escaped = true;
                        continue;
                    }
                    keys[count++] = (byte) b;
                }
                if (count > 0) {
                    typed.offer(Arrays.copyOf(keys, count)); // full: dropped (see above), never waited for
                }
            }
        } catch (IOException | RuntimeException e) {
            // End of input, or the VM is gone: the guest keeps running (or has ended) without a keyboard.
        }
    }

    /** Hands what {@code typed} holds to {@code console}, in order, while {@code running}; ends soon after it. */
    static void type(BlockingQueue<byte[]> typed, StdinForwarder.Sink console, BooleanSupplier running) {
        try {
            while (running.getAsBoolean()) {
                byte[] keys = typed.poll(100, TimeUnit.MILLISECONDS);
                if (keys != null) {
                    StdinForwarder.deliver(console, running, keys, 0, keys.length);
                }
            }
        } catch (InterruptedException | RuntimeException e) {
            // The VM is gone.
        }
    }
}
