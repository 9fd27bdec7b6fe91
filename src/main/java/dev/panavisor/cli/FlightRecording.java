package dev.panavisor.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import jdk.jfr.Recording;

/**
 * {@code run --jfr FILE}: a JDK Flight Recorder recording of the run, Panavisor's own events (VM exits, virtio-blk
 * requests, boot phases: {@code dev.panavisor.*}) beside the JVM's default ones, written to FILE when the run ends.
 */
final class FlightRecording implements AutoCloseable {
    static final String[] EVENTS = {"dev.panavisor.VmExit", "dev.panavisor.BlockRequest", "dev.panavisor.BootPhase"};

    private final Recording recording;
    private final Path file;
    private final PrintWriter err;

    private FlightRecording(Recording recording, Path file, PrintWriter err) {
        this.recording = recording;
        this.file = file;
        this.err = err;
    }

    /** A recording can be written at {@code file}: it is no directory, and its directory exists and is writable. */
    static void checkWritable(Path file) {
        Path parent = file.toAbsolutePath().getParent();
        if (Files.isDirectory(file) || (parent != null && !Files.isDirectory(parent))
                || (parent != null && !Files.isWritable(parent))) {
            throw new CommandFailedException("--jfr " + file + ": cannot write a recording there");
        }
    }

    /** Starts recording; a FILE that cannot be written is one line now, not a lost recording at the end. */
    static FlightRecording start(Path file, PrintWriter err) {
        return start(file, err, null);
    }

    /** As above; the phases {@code phases} already has are recorded at once, with their own times. */
    static FlightRecording start(Path file, PrintWriter err, dev.panavisor.vmm.BootTimeline phases) {
        checkWritable(file);
        Recording recording;
        try {
            recording = new Recording(jdk.jfr.Configuration.getConfiguration("default"));
        } catch (IOException | java.text.ParseException e) {
            recording = new Recording();
        }
        for (String event : EVENTS) {
            recording.enable(event).withoutStackTrace();
        }
        recording.setName("panavisor run");
        recording.setToDisk(true);
        try {
            recording.setDestination(file);
        } catch (IOException e) {
            recording.close();
            throw new CommandFailedException("--jfr " + file + ": " + e.getMessage());
        }
        recording.start();
        if (phases != null) {
            phases.emitMarkedPhases();
        }
        err.println("panavisor: recording with JDK Flight Recorder into " + file + " (the seccomp filter is off "
                + "meanwhile: the recorder writes files while the VM runs)");
        err.flush();
        return new FlightRecording(recording, file, err);
    }

    /** Stops the recording, which writes FILE. */
    @Override
    public void close() {
        try {
            recording.stop();
            err.println("panavisor: flight recording written to " + file + " (jfr print --events "
                    + "'dev.panavisor.*' " + file + ")");
        } catch (IllegalStateException e) {
            err.println("panavisor: the flight recording could not be written to " + file + ": " + e.getMessage());
        } finally {
            recording.close();
            err.flush();
        }
    }
}
