package dev.panavisor.cli;

import dev.panavisor.PanavisorException;
import dev.panavisor.cli.StandbyHandOff.Message;
import dev.panavisor.kvm.Kvm;
import dev.panavisor.kvm.VcpuExit;
import dev.panavisor.lab.Lab;
import dev.panavisor.lab.LinuxGuests;
import dev.panavisor.vmm.ExitPathWarmUp;
import dev.panavisor.vmm.HostTerminal;
import dev.panavisor.vmm.TinyGuest;
import dev.panavisor.vmm.TinyPrograms;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code panavisor standby --socket PATH} (hidden): the VM process {@code serve} starts before anyone asks for a
 * VM, so that InstanceStart finds a JVM that is already up (a warm start, docs/api.md). It does everything a
 * {@code run} does before it knows its VM: the JVM's start, run's command model (picocli), the first use of
 * /dev/kvm and the FFM calls behind it (a tiny guest runs to its HLT), then connects to serve's private socket,
 * says it is ready, and waits for serve's messages ({@link StandbyHandOff}):
 * <ul>
 *   <li>a Prepare, each time the API's configuration is complete enough to start: the standby runs that
 *       {@code run} command line up to the point where the VM is built (memory mapped, kernel and initrd loaded,
 *       devices made), says so, and waits. This is what QEMU has done when started paused ({@code -S}). A later
 *       Prepare closes that VM and builds the new one. A failure is kept quiet (the configuration may still change):
 *       the start that follows runs afresh and reports it. Only where this host runs guests itself; through the
 *       lab there is nothing to build here.</li>
 *   <li>a Start: the built VM runs when its arguments are those it was built with; otherwise the arguments run as
 *       {@code panavisor run} would run them (same checks, same seccomp confinement, same exit status).</li>
 * </ul>
 * End of file before a Start means serve ended without a VM: the process ends with status 0.
 */
@Command(name = "standby", hidden = true, mixinStandardHelpOptions = true,
        description = "A warm 'panavisor run' that waits on a socket for its arguments (started by serve).")
final class StandbyCommand implements Callable<Integer> {
    @Option(names = "--socket", required = true, paramLabel = "PATH", description = "serve's hand-off socket.")
    Path socket;

    /** Runs a {@code run} command line; with a gate, asks it before the built VM's first KVM_RUN. */
    interface Runner {
        int run(List<String> arguments, RunCommand.StartGate gate);
    }

    @Override
    public Integer call() throws IOException {
        CtrlAltDelSignal.holdUntilBuilt(); // serve's SendCtrlAltDel may come before the VM it starts is built
        PanavisorCommand.newCommandLine(PanavisorCommand.NO_MAIN_NANOS, "run"); // run's model, built once to warm up
        boolean direct = warmUp(socket.resolveSibling("warm-up.sock"));
        SocketChannel connected;
        try {
            connected = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            throw new CommandFailedException("cannot reach serve's hand-off socket " + socket + ": " + e.getMessage());
        }
        try (SocketChannel channel = connected) {
            channel.write(ByteBuffer.wrap(new byte[] {StandbyHandOff.READY}));
            return serve(channel, direct, StandbyCommand::execute);
        } catch (IOException e) { // serve's connection reset, or a message it never finished
            throw new CommandFailedException("the hand-off from serve failed: " + e.getMessage());
        }
    }

    /** One {@code run}, with its own command model; a gated run's error lines wait until the gate opens. */
    private static int execute(List<String> arguments, RunCommand.StartGate gate) {
        CommandLine root = PanavisorCommand.newCommandLine(PanavisorCommand.NO_MAIN_NANOS, "run");
        if (gate != null) {
            HeldWriter held = new HeldWriter(new PrintWriter(System.err, true));
            root.setErr(new PrintWriter(held, true));
            RunCommand run = (RunCommand) root.getSubcommands().get("run").getCommand();
            run.startGate = () -> {
                boolean go = gate.proceed();
                if (go) {
                    held.release();
                }
                return go;
            };
        }
        return root.execute(arguments.toArray(String[]::new));
    }

    /**
     * Answers serve's messages on {@code channel} until one starts a VM or the stream ends, and returns that run's
     * status (0 for no VM). {@code prepare}: whether Prepare builds VMs here (else each is answered NOT_BUILT).
     */
    static int serve(ByteChannel channel, boolean prepare, Runner runner) throws IOException {
        Message next = StandbyHandOff.read(channel);
        while (true) {
            switch (next) {
                case Message.End end -> {
                    return ExitCodes.OK;
                }
                case Message.Start start -> {
                    channel.close(); // now: the run's seccomp filter would not let the JDK load what closing needs
                    return runner.run(start.arguments(), null);
                }
                case Message.Prepare built when !prepare -> {
                    say(channel, StandbyHandOff.NOT_BUILT);
                    next = StandbyHandOff.read(channel);
                }
                case Message.Prepare built -> {
                    Gate gate = new Gate(channel, built.arguments());
                    int status = runner.run(built.arguments(), gate);
                    if (gate.started) {
                        return status;
                    }
                    if (gate.next == null) { // it failed before its VM was built
                        say(channel, StandbyHandOff.NOT_BUILT);
                        next = StandbyHandOff.read(channel);
                    } else {
                        next = gate.next;
                    }
                }
            }
        }
    }

    /** Asked by a prepared run with its VM built: waits for serve's next message, and runs on a matching Start. */
    private static final class Gate implements RunCommand.StartGate {
        private final ByteChannel channel;
        private final List<String> arguments;
        boolean started;
        /** The message that ended the wait without a start; null until then. */
        Message next;

        Gate(ByteChannel channel, List<String> arguments) {
            this.channel = channel;
            this.arguments = arguments;
        }

        @Override
        public boolean proceed() {
            try {
                say(channel, StandbyHandOff.BUILT);
                Message message = StandbyHandOff.read(channel);
                if (message instanceof Message.Start start && start.arguments().equals(arguments)) {
                    // Closed on a thread of its own: even warmed up (warmUp), a close took this thread 90-180 ms
                    // in the lab while serve answered the request beside it, and the vCPUs need not wait for it.
                    // Should it come after the run's seccomp filter, close(2) is allowed there.
                    Thread.ofPlatform().name("hand-off-close").daemon().start(() -> closeQuietly(channel));
                    started = true;
                    return true;
                }
                next = message;
            } catch (IOException e) {
                next = new Message.End(); // serve is gone
            }
            return false;
        }
    }

    private static void closeQuietly(ByteChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // serve has its own side closed already; nothing waits for this one.
        }
    }

    private static void say(ByteChannel channel, byte what) {
        try {
            channel.write(ByteBuffer.wrap(new byte[] {what}));
        } catch (IOException e) {
            // serve closes its side once it has sent a Start; what it misses then no longer matters.
        }
    }

    /**
     * The first use of a native call costs a JVM hundreds of milliseconds in the lab (each new call shape generates
     * classes and a stub), and so does the first use of some JDK parts: pay for what a run does after InstanceStart
     * now. Each step below was measured on that path in the lab (docs/performance.md, "Warm start"):
     * <ul>
     *   <li>KVM, with the smallest VM there is, on a thread bound as a vCPU thread is (the kick signal's mask and
     *       KVM_SET_SIGNAL_MASK): 200-330 ms. Its program makes one exit of each kind a boot makes (a port read and
     *       write, an MMIO read and write), whose first decoding from the kvm_run page cost a boot's first port read
     *       6-10 ms and its first MMIO read 3-7 ms in the lab;</li>
     *   <li>the terminal's calls (isatty and the rest, linked together): 130 ms;</li>
     *   <li>closing a connected socket after reading from it, as the hand-off's socket is closed once the Start
     *       is read: 180-280 ms. The first close loads a library of the JDK's (which run's seccomp filter would
     *       refuse later), and a connected socket's close takes a path of its own (a lambda's generated class and
     *       its initialization): closing an unconnected socket, as this did before, left that part to the start.
     *       </li>
     *   <li>inside the lab, the thread CPU clock of the stall watchdog (ThreadMXBean): 60-80 ms;</li>
     *   <li>the exits a boot makes, played through scratch devices ({@link ExitPathWarmUp}): the guest's exits then
     *       find their paths run and compiled (measured in docs/performance.md, "The guest's exits, warmed
     *       up").</li>
     * </ul>
     * Where this host cannot run guests directly, the run will go to the lab and there is nothing to warm here
     * (false: nor to build).
     */
    private static boolean warmUp(Path scratchSocket) {
        if (LinuxGuests.locate().route() != LinuxGuests.Route.DIRECT) {
            return false;
        }
        Thread vcpuLike = Thread.ofPlatform().name("standby-warm-up").start(() -> {
            try (Kvm kvm = Kvm.open(); TinyGuest guest = TinyGuest.longMode(kvm, TinyPrograms.everyKindOfExit())) {
                guest.vcpu().bindToCurrentThread();
                try {
                    VcpuExit exit;
                    do {
                        exit = guest.run();
                        if (exit instanceof VcpuExit.MmioRead read) {
                            read.reply(0);
                        } else if (exit instanceof VcpuExit.IoIn in) {
                            in.data().set(0, 0); // as a device's reply: the port read's path on the kvm_run page
                        }
                    } while (exit instanceof VcpuExit.IoIn || exit instanceof VcpuExit.IoOut
                            || exit instanceof VcpuExit.MmioRead || exit instanceof VcpuExit.MmioWrite);
                } finally {
                    guest.vcpu().unbindThread();
                }
            } catch (PanavisorException e) {
                // Not fatal: the run itself will meet the same problem and say so in its own words.
            }
        });
        HostTerminal.stdinIsTerminal();
        closeAConnectedSocket(scratchSocket);
        try {
            ExitPathWarmUp.run();
        } catch (RuntimeException e) {
            // Not fatal: the guest's first exits then run cold, as in a cold run.
        }
        if (Lab.insideLab()) {
            ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        }
        try {
            vcpuLike.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return true;
    }

    /**
     * Binds {@code path} (in serve's private directory, beside the hand-off socket), connects to it, reads a byte
     * through the connection and closes it. A failure costs only the warm-up: the start pays for the close then.
     */
    static void closeAConnectedSocket(Path path) {
        boolean bound = false; // a file already at the path is not this process's to remove
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(path));
            bound = true;
            try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(path));
                    SocketChannel peer = server.accept()) {
                peer.write(ByteBuffer.wrap(new byte[] {StandbyHandOff.READY}));
                client.read(ByteBuffer.allocate(1));
            }
        } catch (IOException e) {
            // not fatal: see above
        } finally {
            try {
                if (bound) {
                    Files.deleteIfExists(path);
                }
            } catch (IOException e) {
                // serve removes its directory, this file with it
            }
        }
    }
}
