package dev.panavisor.vmm;

import dev.panavisor.bus.Bus;
import dev.panavisor.kvm.ExitData;
import dev.panavisor.kvm.VcpuExit;
import dev.panavisor.memory.MappedGuestMemory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A child JVM for {@link NoClassGeneratedOnVcpuTest}. Its argument says what it does after its marker, i.e. what is
 * watched for classes generated on the spot:
 * <ul>
 *   <li>{@code cold}: handles a VM's first exit;</li>
 *   <li>{@code ahead}: the same, after linking the exit handler's switch first, as {@code run}'s link-ahead thread
 *       does;</li>
 *   <li>{@code printk}: reads the guest's first timestamped console line, as a vCPU thread does in the 8250's
 *       exit when the run keeps a timeline ({@code --timeline}, {@code --jfr});</li>
 *   <li>{@code concat}: the string concatenation {@code PrintkReader.micros} made before it computed the digits,
 *       which generates a class at its first run (so the check can fail);</li>
 *   <li>{@code boot}: a boot's worth of exits through fresh devices ({@link ExitPathWarmUp.Round}), a virtio
 *       device's DRIVER_OK among them, with no {@code --verbose} listener on its transport;</li>
 *   <li>{@code boot-listened}: the same with a lifecycle listener, which gets lines built with
 *       {@code String.format} (so the check that the first case uses no {@code java.util.Formatter} can fail);</li>
 *   <li>{@code ring-cold}, {@code ring-ahead}: a drain of KVM's coalesced ring, without and after
 *       {@code CoalescedRing.linkAhead}, as {@code run}'s link-ahead thread calls it;</li>
 *   <li>{@code marker}: the init's boot marker, which wakes a thread waiting for it as {@code Machine.run}'s main
 *       thread does ({@link BootTimer#afterMarkerUnless}).</li>
 * </ul>
 */
public final class FirstExitMain {
    static final String MARKER = "watched from here";

    private FirstExitMain() {
    }

    public static void main(String[] args) {
        String what = args[0];
        if (what.equals("ahead")) {
            ExitHandler.linkAhead();
        }
        if (what.equals("ring-ahead")) {
            dev.panavisor.kvm.CoalescedRing.linkAhead();
        }
        ExitHandler handler = new ExitHandler(new Bus("port I/O"), new Bus("MMIO"));
        List<PrintkReader.Line> lines = new ArrayList<>();
        PrintkReader printk = new PrintkReader(System::nanoTime, lines::add);
        byte[] line = "[    0.123456] Linux version 6.1\r\n".getBytes(StandardCharsets.US_ASCII);
        String fraction = args.length > 1 ? args[1] : "25"; // not a constant, as a timestamp's digits are not
        BootTimer timer = new BootTimer(System.nanoTime());
        Thread waiter = what.equals("marker") ? waitingForTheMarker(timer) : null;
        System.out.println(MARKER);
        switch (what) {
            case "cold", "ahead" -> handler.handle(new VcpuExit.IoOut(0x80, 1, 1, ExitData.of(0)));
            case "printk" -> printk.write(line, 0, line.length);
            case "concat" -> System.out.println(fraction + "000000"); // PrintkReader.micros's before the change
            case "boot", "boot-listened" -> playBoot(what.equals("boot-listened"));
            case "ring-cold", "ring-ahead" -> drainOneWrite();
            case "marker" -> {
                timer.write(0, 1, BootTimer.MARKER); // as a vCPU thread does in the port's exit
                joinQuietly(waiter);
            }
            default -> throw new IllegalArgumentException(what);
        }
        System.out.print("done, lines read: "); // no concatenation here: it would be watched too
        System.out.println(lines.size());
    }

    /** A thread waiting for the marker (or a VM's end that never comes), as Machine.run's main thread does. */
    private static Thread waitingForTheMarker(BootTimer timer) {
        java.util.concurrent.CompletableFuture<Void> end = new java.util.concurrent.CompletableFuture<>();
        Runnable nothing = () -> { };
        Thread waiter = Thread.ofPlatform().start(() -> timer.afterMarkerUnless(end, nothing));
        while (waiter.getState() != Thread.State.WAITING) {
            Thread.onSpinWait();
        }
        return waiter;
    }

    private static void joinQuietly(Thread thread) {
        try {
            thread.join();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A drain of KVM's coalesced ring holding one byte for the UART, as a vCPU thread makes before an exit. */
    private static void drainOneWrite() {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment page = arena.allocate(4096);
            page.set(java.lang.foreign.ValueLayout.JAVA_INT, 4, 1);
            dev.panavisor.kvm.CoalescedRing ring = new dev.panavisor.kvm.CoalescedRing(page);
            if (!ring.isEmpty()) {
                ring.drain((pio, address, size, value) -> { }, true);
            }
        }
    }

    private static void playBoot(boolean listened) {
        try (MappedGuestMemory memory = MappedGuestMemory.allocate(256 << 10)) {
            ExitPathWarmUp.Round round = new ExitPathWarmUp.Round(memory);
            if (listened) {
                round.transport().onLifecycle(line -> { });
            }
            round.play();
        }
    }
}
