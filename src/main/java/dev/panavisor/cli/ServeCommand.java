package dev.panavisor.cli;

import dev.panavisor.api.ApiRoutes;
import dev.panavisor.api.ApiServer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code panavisor serve --api-sock PATH}: Firecracker's REST API on a UNIX socket (docs/api.md). */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve Firecracker's REST API on a UNIX domain socket: configure a VM with PUT /boot-source, "
                + "/drives/{id} and /machine-config, start it with PUT /actions {\"action_type\": \"InstanceStart\"}.",
                "The VM runs as a 'panavisor run' process with this terminal as its console, started with serve "
                        + "and waiting, warm, for InstanceStart; serve ends when the VM does, with its exit status "
                        + "(docs/api.md)."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0-255:the VM's run ended with this status (see 'panavisor run --help')",
                "1:the socket could not be served (the message says why)",
                "2:bad usage (an unknown option, an empty --api-sock)",
                "143, 130:a termination signal ended serve (and its VM)"})
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--api-sock", required = true, paramLabel = "PATH",
            description = "The UNIX domain socket to serve the API on; it must not exist yet.")
    Path apiSocket;

    @Override
    public Integer call() {
        if (apiSocket.toString().isEmpty()) {
            throw new UsageException("--api-sock needs a path");
        }
        PrintWriter err = spec.commandLine().getErr();
        ChildRunLauncher launcher = new ChildRunLauncher();
        String version = new VersionProvider().getVersion()[0].replace("panavisor ", "");
        ApiRoutes routes = new ApiRoutes(launcher, line -> say(err, "warning: " + line), version);
        ApiServer server = ApiServer.start(apiSocket, routes);
        try {
            // On SIGTERM or SIGINT: the VM process is told to stop (it flushes its disks on its own) and the socket
            // file goes, as it does when the VM ends.
            // Nothing printed here: a stderr pipe nobody reads would hold the hook, and the process, in the write.
            Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("serve-stop").unstarted(() -> {
                launcher.stop();
                server.stop();
            }));
            say(err, "serving the API on " + apiSocket);
            // The VM's process starts now, before any request, so that InstanceStart finds it warm (docs/api.md).
            launcher.startStandby(line -> say(err, line));
            return launcher.ended().join();
        } finally {
            stop(server, err);
        }
    }

    private static void stop(ApiServer server, PrintWriter err) {
        if (!server.stop()) {
            say(err, "the API server did not stop within " + ApiServer.STOP_MILLIS / 1000 + " s; its threads are "
                    + "left to end with this process");
        }
    }

    private static void say(PrintWriter err, String line) {
        synchronized (err) {
            err.println("panavisor: " + line);
            err.flush();
        }
    }
}
