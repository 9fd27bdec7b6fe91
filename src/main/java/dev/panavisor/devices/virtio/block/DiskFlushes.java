package dev.panavisor.devices.virtio.block;

import java.io.IOException;

/**
 * A disk's flushes: one at a time, and all failing once one has failed.
 *
 * <p>Why both. When the host kernel fails to write a file's dirty pages back (a disk error, a full thin pool, a
 * network file system gone), Linux marks those pages clean, with the data still only in memory or lost, and reports
 * the error to the next {@code fdatasync} on each open file, once. A second {@code fdatasync} returns 0. So:
 * <ul>
 *   <li>a driver that retries a flush the host failed would be told OK for writes that never reached the disk
 *       (virtio 1.2 §5.2.6.2: a flush completes once the writes before it are durable). After a failure no flush can
 *       vouch for them, and every later one fails (QEMU's file-posix does the same: {@code page_cache_inconsistent});
 *   <li>two flushes at once on helper threads (writes made durable one by one when the driver took no F_FLUSH) can
 *       swap errors: the first sees the error of the second's pages, the second returns 0 and its write is answered
 *       OK. One at a time, the second sees the first's failure here.
 * </ul>
 * Until the device is made again, which is the VM's end: a reset of the device does not bring back lost writes.
 */
final class DiskFlushes {
    private final DiskBackend disk;
    /** The first flush that failed; guarded by this. */
    private IOException failed;

    DiskFlushes(DiskBackend disk) {
        this.disk = disk;
    }

    /** Flushes the disk, or throws: its own failure, or that an earlier flush failed. */
    synchronized void flush() throws IOException {
        if (failed != null) {
            throw new IOException("an earlier flush failed (" + failed.getMessage() + "), so writes before it may "
                    + "be lost and no later flush can succeed");
        }
        try {
            disk.flush();
        } catch (TransferAbandonedException e) {
            throw e; // the VM is ending: nothing was lost
        } catch (IOException e) {
            failed = e;
            throw e;
        }
    }
}
