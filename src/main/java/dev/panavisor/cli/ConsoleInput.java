package dev.panavisor.cli;

import dev.panavisor.vmm.Machine;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Copies the user's keystrokes (standard input) to the guest console on a daemon thread. The console devices'
 * input buffers are bounded, so bytes they cannot take yet are offered again a moment later instead of dropped.
 *
 * <p>The terminal is raw while the guest runs, so Ctrl-C goes to the guest. {@link #ESCAPE} followed by 'x'
 * (Ctrl-A x, as in QEMU) ends the VM from the host side: the way out of a guest that hangs or never reboots.
 */
final class ConsoleInput {
    static final int ESCAPE = 0x01; // Ctrl-A

    private ConsoleInput() {
    }

    static void start(Machine machine) {
        InputStream in = new FileInputStream(FileDescriptor.in);
        Thread.ofPlatform().name("console-input").daemon().start(() -> pump(in, machine));
    }

    static void pump(InputStream in, Machine machine) {
        byte[] buffer = new byte[256];
        boolean escaped = false;
        try {
            int n;
            while (machine.isRunning() && (n = in.read(buffer)) > 0) {
                for (int i = 0; i < n; i++) {
                    int b = buffer[i] & 0xff;
                    if (escaped) {
                        escaped = false;
                        if (b == 'x') {
                            machine.stop("stopped from the console (Ctrl-A x)");
                            return;
                        }
                        if (b != ESCAPE) { // Ctrl-A Ctrl-A types one Ctrl-A
                            deliver(machine, new byte[] {ESCAPE}, 0, 1);
                        }
                    } else if (b == ESCAPE) {
                        escaped = true;
                        continue;
                    }
                    deliver(machine, buffer, i, 1);
                }
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            // End of input, or the VM is gone: the guest keeps running (or has ended) without a keyboard.
        }
    }

    private static void deliver(Machine machine, byte[] bytes, int offset, int length) throws InterruptedException {
        StdinForwarder.deliver(machine::typeIntoConsole, machine::isRunning, bytes, offset, length);
    }
}
