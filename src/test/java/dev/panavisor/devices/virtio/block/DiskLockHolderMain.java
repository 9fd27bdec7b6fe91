package dev.panavisor.devices.virtio.block;

import java.nio.file.Path;

/**
 * Another VMM's process, for FileDiskBackendTest: opens the image in {@code args[0]} for writing (taking its
 * exclusive lock, as a running VM holds it), says "open" on stdout, and keeps it until its stdin closes.
 */
public final class DiskLockHolderMain {
    private DiskLockHolderMain() {
    }

    public static void main(String[] args) throws Exception {
        try (FileDiskBackend disk = FileDiskBackend.open(Path.of(args[0]), false)) {
            System.out.println("open " + disk.sizeBytes());
            System.out.flush();
            while (System.in.read() >= 0) {
                // wait for the parent to close our stdin
            }
        }
    }
}
