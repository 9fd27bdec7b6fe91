package dev.panavisor.lab;

import java.nio.file.Path;

/**
 * A host directory shared into the lab over 9p (virtio-9p), mounted inside at its own absolute path.
 *
 * @param tag  the 9p mount tag that names the share between QEMU and L1 ("rw0", "scratch1", ...)
 * @param path the host directory, absolute and normalized
 * @param kind writable (changes reach the host) or scratch (read-only share under a tmpfs overlay inside)
 */
record Export(String tag, Path path, Kind kind) {
    enum Kind {
        WRITABLE, SCRATCH
    }
}
