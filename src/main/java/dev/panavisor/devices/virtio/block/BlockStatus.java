package dev.panavisor.devices.virtio.block;

/** The status byte that ends every virtio-blk request (virtio 1.2 §5.2.6). */
public enum BlockStatus {
    /** VIRTIO_BLK_S_OK: done. */
    OK(0),
    /** VIRTIO_BLK_S_IOERR: a device or driver error: out of range, malformed, write to read-only, host I/O error. */
    IOERR(1),
    /** VIRTIO_BLK_S_UNSUPP: a request type this device does not implement. */
    UNSUPPORTED(2);

    private final int code;

    BlockStatus(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }
}
