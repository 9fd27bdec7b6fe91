package dev.panavisor.devices.virtio.block;

import dev.panavisor.devices.virtio.VirtioException;

/**
 * A block request that fails, with the status the driver will see. These are answers, not device failures: the
 * device writes the status byte, returns the buffer and carries on with the next request.
 */
public final class BlockRequestException extends VirtioException {
    private final BlockStatus status;
    private final boolean hostSide;

    private BlockRequestException(BlockStatus status, String message) {
        this(status, message, false);
    }

    private BlockRequestException(BlockStatus status, String message, boolean hostSide) {
        super(message);
        this.status = status;
        this.hostSide = hostSide;
    }

    public BlockStatus status() {
        return status;
    }

    /** The host's file failed (not the guest's request): the user must hear of it, not only the guest. */
    public boolean hostSide() {
        return hostSide;
    }

    static BlockRequestException malformed(String message) {
        return new BlockRequestException(BlockStatus.IOERR, "malformed request: " + message);
    }

    static BlockRequestException outOfRange(long sector, long sectors, long capacity) {
        return new BlockRequestException(BlockStatus.IOERR, String.format(
                "request for %d sectors at sector %s is beyond the disk's %d sectors", sectors,
                Long.toUnsignedString(sector), capacity));
    }

    static BlockRequestException readOnly() {
        return new BlockRequestException(BlockStatus.IOERR, "write to a read-only disk");
    }

    static BlockRequestException unsupported(long type) {
        return new BlockRequestException(BlockStatus.UNSUPPORTED, "unsupported request type " + type);
    }

    /** The VM is ending and the transfer stopped part-way: an I/O error for the guest, nothing for the user. */
    static BlockRequestException abandoned(TransferAbandonedException cause) {
        return new BlockRequestException(BlockStatus.IOERR, cause.getMessage());
    }

    static BlockRequestException hostIo(String disk, Exception cause) {
        return new BlockRequestException(BlockStatus.IOERR, "I/O error on " + disk + ": " + cause.getMessage(), true);
    }
}
