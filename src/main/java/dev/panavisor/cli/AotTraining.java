package dev.panavisor.cli;

import dev.panavisor.lab.Lab;
import dev.panavisor.lab.LabConfig;
import dev.panavisor.lab.LinuxGuests;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Records an {@link AotCache} with a training run that boots the default guest with {@code --exec true}: the run
 * whose start-up the cache is for, so it records the classes (and, for the host's cache, the method profiles) of
 * exactly that path (command parsing, image checks, VM creation, loaders, devices, the run loop). With
 * {@code --boot-time} and {@code --timeline} too, whose lines {@code bench boot} reads after its runs: a class the
 * training never loaded comes from the jar, and the first such load of a run reads the jar's whole directory
 * (docs/performance.md, "A jar of Panavisor's own classes"); without {@code --timeline} here, a timed run's
 * {@code PrintkReader} came from the jar and its phase "kernel and initrd loaded" ended about 0.17 s later in the
 * lab than a quiet run's (docs/performance.md, "Before the first KVM_RUN"). It runs where guests boot: directly on
 * a host with hardware KVM, inside the nested lab elsewhere (that records the lab's cache).
 */
final class AotTraining {
    private AotTraining() {
    }

    /**
     * Records the cache for {@code route} unless a fresh one exists; progress and the outcome are one line each on
     * {@code err}. Returns whether a fresh cache is now in place. A failed training run is reported and leaves no
     * cache (the VMM works without one).
     */
    static boolean ensure(LinuxGuests.Route route, Path kernel, Path initrd, PrintWriter err) {
        boolean inLab = route == LinuxGuests.Route.LAB || Lab.insideLab();
        Optional<AotCache> cache = JavaCommand.cache(inLab);
        if (cache.isEmpty() || route == LinuxGuests.Route.NONE) {
            return false;
        }
        if (cache.get().state() == AotCache.State.FRESH) {
            return true;
        }
        AotCache.Recording recording = cache.get().optionsFor(true, err);
        if (!recording.recording()) {
            return false;
        }
        List<String> command = new ArrayList<>(JavaCommand.of(inLab, recording.options()));
        command.addAll(List.of("run", "--kernel=" + kernel.toAbsolutePath(), "--initrd=" + initrd.toAbsolutePath(),
                "--exec=true", "--boot-time", "--timeline"));
        command.addAll(recording.runOptions());
        int status;
        try {
            status = route == LinuxGuests.Route.LAB
                    ? Lab.run(LabConfig.defaults(), command, OutputStream.nullOutputStream(),
                            OutputStream.nullOutputStream())
                    : trainHere(command);
        } catch (IOException | dev.panavisor.PanavisorException e) {
            // The images are built by now: a training run that cannot run (the lab offline, or stalled) costs only
            // the cache, said in the line below, never the build.
            status = -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            status = -1;
        }
        if (status != 0 || !recording.finish()) {
            recording.discard();
            err.println("panavisor: recording the AOT cache failed (training run status " + status
                    + "); Panavisor starts without it");
            err.flush();
            return false;
        }
        err.println("panavisor: AOT cache recorded: " + cache.get().file());
        err.flush();
        return true;
    }

    /**
     * The training run on this host's KVM, given {@link #TRAINING_LIMIT_MINUTES}: a guest that never runs the
     * command (an edited init, say) would otherwise keep {@code image build} waiting without a word.
     */
    private static int trainHere(List<String> command) throws IOException, InterruptedException {
        Process training = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        if (!training.waitFor(TRAINING_LIMIT_MINUTES, java.util.concurrent.TimeUnit.MINUTES)) {
            training.destroyForcibly().waitFor();
            return -1;
        }
        return training.exitValue();
    }

    /** How long the training boot may take on a host's KVM (it takes seconds; the lab has its own limits). */
    static final long TRAINING_LIMIT_MINUTES = 10;
}
