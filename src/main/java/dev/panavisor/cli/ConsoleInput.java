package dev.panavisor.cli;

import dev.panavisor.vmm.Machine;
import java.io.FileInputStream;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;

/**
 * Copies the user's keystrokes (standard input) to the guest console on a daemon thread. The UART's receive FIFO
 * is small, so bytes it cannot take yet are offered again a moment later instead of being dropped.
 */
final class ConsoleInput {
    private ConsoleInput() {
    }

    static void start(Machine machine) {
        InputStream in = new FileInputStream(FileDescriptor.in);
        Thread.ofPlatform().name("console-input").daemon().start(() -> pump(in, machine));
    }

    static void pump(InputStream in, Machine machine) {
        byte[] buffer = new byte[256];
        try {
            int n;
            while (machine.isRunning() && (n = in.read(buffer)) > 0) {
                int offset = 0;
                while (offset < n && machine.isRunning()) {
                    int taken = machine.typeIntoConsole(buffer, offset, n - offset);
                    offset += taken;
                    if (taken == 0) {
                        Thread.sleep(1);
                    }
                }
            }
        } catch (IOException | InterruptedException e) {
            // End of input: the guest keeps running without a keyboard.
        }
    }
}
