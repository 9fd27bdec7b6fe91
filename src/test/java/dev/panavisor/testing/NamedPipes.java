package dev.panavisor.testing;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.function.Executable;

/** Named pipes (FIFOs) as bad input: a file argument that is not a file, whose open waits for a writer. */
public final class NamedPipes {
    private NamedPipes() {
    }

    /** Makes a FIFO at {@code path} with mkfifo(1) and returns the path. */
    public static Path make(Path path) throws IOException, InterruptedException {
        int status = new ProcessBuilder("mkfifo", path.toString()).inheritIO().start().waitFor();
        if (status != 0) {
            throw new IOException("mkfifo " + path + " ended with status " + status);
        }
        return path;
    }

    /**
     * Asserts that {@code opening} throws {@code expected} rather than waiting for a writer that never comes. The
     * limit only turns that wait into a failure; it checks no speed.
     */
    public static <T extends Throwable> T refusedWithoutWaiting(Class<T> expected, Executable opening) {
        return Assertions.assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> Assertions.assertThrows(expected, opening));
    }
}
