package dev.panavisor.devices.virtio.block;

import java.io.IOException;

/**
 * A transfer stopped part-way because the VM is ending ({@link DiskBackend#abandonTransfers()}): not a failure of the
 * host's file, so the user is not told of it as one. The request it belonged to is answered with an I/O error, which
 * no guest will read.
 */
public final class TransferAbandonedException extends IOException {
    public TransferAbandonedException(String disk, long moved, long expected) {
        super("transfer on " + disk + " abandoned after " + moved + " of " + expected + " bytes: the VM is ending");
    }
}
