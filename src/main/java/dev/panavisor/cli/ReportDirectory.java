package dev.panavisor.cli;

import dev.panavisor.host.IoErrors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The directory a report goes to ({@code bench compare --out}), checked before anything is installed, built or
 * measured: a path that is a file, or a directory that cannot be written, used to fail as an internal error, the
 * second only once the whole measurement was done and its results could not be kept.
 */
final class ReportDirectory {
    private ReportDirectory() {
    }

    /**
     * Makes {@code dir} if it is not there and proves a file can be made in it and removed again; its absolute path.
     *
     * @param option the option that named it, for the message ("--out")
     */
    static Path prepare(String option, Path dir) {
        if (dir.toString().isEmpty()) {
            throw new UsageException(option + " needs a directory");
        }
        Path absolute = dir.toAbsolutePath();
        if (Files.exists(absolute) && !Files.isDirectory(absolute)) {
            throw new UsageException(option + " " + dir + ": not a directory"); // as lab --workdir: status 2
        }
        try {
            Files.createDirectories(absolute);
        } catch (IOException e) {
            throw new CommandFailedException(option + " " + dir + ": cannot make the directory: "
                    + oneLine(IoErrors.describe(e)));
        }
        try {
            Files.delete(Files.createTempFile(absolute, ".probe-", ".tmp"));
        } catch (IOException e) {
            throw new CommandFailedException(option + " " + dir + ": cannot write there: "
                    + oneLine(IoErrors.describe(e)));
        }
        return absolute;
    }

    static String oneLine(String message) {
        return message.replaceAll("\\s*\\R\\s*", " ").strip();
    }
}
