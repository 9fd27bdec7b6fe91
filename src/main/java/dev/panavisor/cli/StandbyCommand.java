package dev.panavisor.cli;

import dev.panavisor.PanavisorException;
import dev.panavisor.kvm.Kvm;
import dev.panavisor.kvm.VcpuExit;
import dev.panavisor.lab.LinuxGuests;
import dev.panavisor.vmm.TinyGuest;
import dev.panavisor.vmm.TinyPrograms;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
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
 * says it is ready, and waits. What it reads then is a {@code run} command line ({@link StandbyHandOff}); it runs
 * it exactly as {@code panavisor run} would (same checks, same seccomp confinement, same exit status). End of file
 * before any argument means serve ended without a VM: the process ends with status 0.
 */
@Command(name = "standby", hidden = true, mixinStandardHelpOptions = true,
        description = "A warm 'panavisor run' that waits on a socket for its arguments (started by serve).")
final class StandbyCommand implements Callable<Integer> {
    @Option(names = "--socket", required = true, paramLabel = "PATH", description = "serve's hand-off socket.")
    Path socket;

    @Override
    public Integer call() throws IOException {
        CommandLine run = PanavisorCommand.newCommandLine(PanavisorCommand.NO_MAIN_NANOS, "run");
        warmUp();
        List<String> arguments;
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            channel.write(ByteBuffer.wrap(new byte[] {StandbyHandOff.READY}));
            arguments = StandbyHandOff.read(channel);
        }
        if (arguments.isEmpty()) {
            return ExitCodes.OK;
        }
        return run.execute(arguments.toArray(String[]::new));
    }

    /**
     * The first use of KVM through FFM costs a JVM hundreds of milliseconds in the lab (each new native call shape
     * generates classes and a stub): pay it now, with the smallest VM there is. Where this host cannot run guests
     * directly, the run will go to the lab and there is nothing to warm here.
     */
    private static void warmUp() {
        if (LinuxGuests.locate().route() != LinuxGuests.Route.DIRECT) {
            return;
        }
        try (Kvm kvm = Kvm.open(); TinyGuest guest = TinyGuest.realMode(kvm, TinyPrograms.powersOfTwo())) {
            VcpuExit exit;
            do {
                exit = guest.run();
            } while (exit instanceof VcpuExit.IoOut);
        } catch (PanavisorException e) {
            // Not fatal: the run itself will meet the same problem and say so in its own words.
        }
    }
}
