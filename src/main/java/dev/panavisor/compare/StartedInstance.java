package dev.panavisor.compare;

import dev.panavisor.host.ExitCleanup;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * An {@link Instance} started for a measurement, with all it takes to undo it: its process and everything under it
 * killed, then, for a container, its runtime's removal ({@code runc delete -f}, {@code podman rm -f}). A runtime
 * that was killed needs the removal (its state, its cgroup, podman's conmon, which is no child of the killed
 * process, and the container under it); one that ended by itself with status 0 has removed its container already
 * ({@code runc run} and {@code podman run --rm} do), so it is not run then: inside the lab a removal costs seconds.
 *
 * <p>Registered with the run's {@link ExitCleanup} from its start to its stop, so a SIGTERM or Ctrl-C mid-measurement
 * undoes it too. {@link #close()} stops it on the normal path and reports a removal that overran on the progress
 * output; the hook stops it without a word.
 */
final class StartedInstance implements AutoCloseable {
    /** How long a container's removal may take before it is killed: a runtime stuck on its lock or its storage. */
    static final long REMOVAL_SECONDS = 60;

    private final Instance instance;
    private final Launcher.Launch launch;
    private final String name;
    private final ExitCleanup cleanup;
    private final Consumer<String> warnings;
    private boolean stopped;

    private StartedInstance(Instance instance, Launcher.Launch launch, String name, ExitCleanup cleanup,
            Consumer<String> warnings) {
        this.instance = instance;
        this.launch = launch;
        this.name = name;
        this.cleanup = cleanup;
        this.warnings = warnings;
    }

    /**
     * Starts {@code launch} as the instance {@code name}; {@code warnings} gets one line when its stop leaves
     * something behind.
     */
    static StartedInstance start(Launcher.Launch launch, String name, ExitCleanup cleanup, Consumer<String> warnings)
            throws IOException, InterruptedException {
        return cleanup.make(() -> new StartedInstance(Instance.start(launch.command(), launch.readyText(),
                launch.readyFile()), launch, name, cleanup, warnings), started -> started::stopQuietly);
    }

    Instance instance() {
        return instance;
    }

    String name() {
        return name;
    }

    /** Stops the instance (see the class comment) and says on the progress output what may be left behind. */
    @Override
    public void close() {
        stop().ifPresent(warnings);
    }

    private void stopQuietly() {
        stop();
    }

    /** Kills the instance and removes its container if the runtime did not; a line when that failed. */
    private Optional<String> stop() {
        try {
            synchronized (this) { // the hook and the main thread may both stop it: the second waits, then returns
                if (stopped) {
                    return Optional.empty();
                }
                stopped = true;
                boolean removal = !launch.cleanup().isEmpty() && !instance.endedCleanly();
                instance.close();
                return removal ? removeContainer() : Optional.empty();
            }
        } finally {
            cleanup.forget(this);
        }
    }

    private Optional<String> removeContainer() {
        String command = String.join(" ", launch.cleanup());
        Process removal;
        try {
            removal = new ProcessBuilder(launch.cleanup()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            return Optional.of("'" + command + "' could not be run (" + e.getMessage() + "); " + name
                    + " may be left behind");
        }
        try {
            if (removal.waitFor(REMOVAL_SECONDS, TimeUnit.SECONDS)) {
                return Optional.empty();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        removal.destroyForcibly();
        try {
            removal.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return Optional.of("'" + command + "' did not end within " + REMOVAL_SECONDS + " s and was killed; " + name
                + " may be left behind");
    }
}
