package dev.panavisor.vmm;

import dev.panavisor.kvm.Kvm;
import dev.panavisor.measure.Smaps;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * A child JVM for {@link VmLifecycleLeakTest}: creates, runs and closes Machines one after another and prints,
 * after VM 1 and every {@code every}-th, {@code sample VM FDS THREADS MAPPINGS RSS_KIB VIRTUAL_KIB}; at the end
 * {@code total-ms MS}. Each guest prints "ok" on the serial port and resets the machine through the i8042, so each
 * run ends by itself, as a reboot does. Arguments: {@code VMS EVERY DIR}.
 */
public final class LeakCycleMain {
    private LeakCycleMain() {
    }

    public static void main(String[] args) throws Exception {
        int vms = Integer.parseInt(args[0]);
        int every = Integer.parseInt(args[1]);
        Path dir = Path.of(args[2]);
        MachineConfig config = SyntheticGuests.machineWithDisk(dir, SyntheticGuests.SERIAL_OK_THEN_RESET, 32L << 20);
        long started = System.nanoTime();
        try (Kvm kvm = Kvm.open()) {
            for (int vm = 1; vm <= vms; vm++) {
                ByteArrayOutputStream console = new ByteArrayOutputStream();
                Outcome outcome;
                try (Machine machine = Machine.create(kvm, config, console, System.nanoTime())) {
                    outcome = machine.run();
                }
                if (!(outcome instanceof Outcome.Stopped) || !console.toString().equals("ok")) {
                    throw new IllegalStateException("VM " + vm + " ended as " + outcome + " with console '"
                            + console + "'");
                }
                if (vm == 1 || vm % every == 0) {
                    System.gc();
                    System.out.printf("sample %d %d %d %d %d %d%n", vm, count(Path.of("/proc/self/fd")),
                            count(Path.of("/proc/self/task")), lines(Path.of("/proc/self/maps")),
                            Smaps.ofSelf().rss() >> 10, virtualKiB());
                }
            }
        }
        System.out.println("total-ms " + (System.nanoTime() - started) / 1_000_000);
    }

    /**
     * VmSize from /proc/self/status (man proc_pid_status(5)): every mapping's size. The mapping count alone misses a
     * leaked guest memory region: the kernel merges adjacent anonymous mappings with equal flags into one line.
     */
    private static long virtualKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmSize:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmSize in /proc/self/status");
    }

    private static long count(Path directory) throws IOException {
        try (Stream<Path> entries = Files.list(directory)) {
            return entries.count();
        }
    }

    private static long lines(Path file) throws IOException {
        try (Stream<String> lines = Files.lines(file)) {
            return lines.count();
        }
    }
}
