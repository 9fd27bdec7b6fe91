package dev.panavisor.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Whether this process runs as root (effective uid 0), read from /proc/self/status. */
public final class Privileges {
    private Privileges() {
    }

    public static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    String[] ids = line.substring(4).trim().split("\\s+");
                    return ids.length > 1 && ids[1].equals("0"); // real, effective, saved, fs
                }
            }
        } catch (IOException e) {
            // No /proc: certainly not a Linux host Panavisor can use; "not root" gives the clearer message.
        }
        return false;
    }
}
