package dev.panavisor.devices.virtio.block;

import dev.panavisor.devices.virtio.queue.DescriptorChain;

/**
 * One virtio-blk request as read from a descriptor chain (virtio 1.2 §5.2.6):
 * <pre>
 *   device-readable:  le32 type | le32 reserved | le64 sector | data (for a write)
 *   device-writable:  data (for a read or get-id) | u8 status
 * </pre>
 * The layout is found by byte position, not by descriptor boundaries (§2.7.4: the device must not assume a
 * framing), so a header split over two descriptors or a status byte sharing a descriptor with data both work.
 *
 * <p>Parsing validates everything the execution relies on: the header is complete, data lengths are whole sectors,
 * the sectors lie inside the disk (with unsigned, overflow-safe arithmetic), and writes are not aimed at a read-only
 * disk. One object is reused for every request of a queue.
 */
final class BlockRequest {
    /** VIRTIO_BLK_T_IN: read sectors into the guest. */
    static final int T_IN = 0;
    /** VIRTIO_BLK_T_OUT: write sectors from the guest. */
    static final int T_OUT = 1;
    /** VIRTIO_BLK_T_FLUSH: make completed writes durable. */
    static final int T_FLUSH = 4;
    /** VIRTIO_BLK_T_GET_ID: fetch the 20-byte device ID string. */
    static final int T_GET_ID = 8;

    static final int HEADER_SIZE = 16;
    /** The device ID string is at most 20 bytes, NUL-padded (§5.2.6). */
    static final int ID_BYTES = 20;

    private final byte[] header = new byte[HEADER_SIZE];

    long type;
    long sector;
    /** Bytes of data: after the header in the readable part (OUT), or before the status byte in the writable part. */
    long dataLength;
    /** Guest-physical address of the status byte: the last device-writable byte. */
    long statusAddress;

    /**
     * Finds the status byte. Returns false when the chain has no device-writable byte at all: then there is no way
     * to answer, and the caller just returns the buffer.
     */
    boolean locateStatus(DescriptorChain chain) {
        long writable = chain.writableBytes();
        statusAddress = writable == 0 ? -1 : chain.writableAddress(writable - 1);
        return statusAddress >= 0;
    }

    /**
     * Reads and checks the header and data layout.
     *
     * @throws BlockRequestException with the status to report when the request cannot be carried out
     */
    void parse(DescriptorChain chain, long capacitySectors, boolean readOnly) {
        if (chain.readFromReadable(0, header, 0, HEADER_SIZE) < HEADER_SIZE) {
            throw BlockRequestException.malformed("header shorter than 16 bytes");
        }
        type = u32(header, 0);
        sector = u64(header, 8);
        long writableData = chain.writableBytes() - 1;
        switch ((int) type) {
            case T_IN -> {
                dataLength = writableData;
                checkSectors(capacitySectors);
            }
            case T_OUT -> {
                if (readOnly) {
                    throw BlockRequestException.readOnly(); // §5.2.6.2: IOERR, and no data written
                }
                dataLength = chain.readableBytes() - HEADER_SIZE;
                checkSectors(capacitySectors);
            }
            case T_FLUSH -> dataLength = 0;
            case T_GET_ID -> dataLength = writableData;
            default -> throw BlockRequestException.unsupported(type);
        }
    }

    private void checkSectors(long capacitySectors) {
        if (dataLength % VirtioBlock.SECTOR_SIZE != 0) {
            throw BlockRequestException.malformed(dataLength + " data bytes is not a whole number of sectors");
        }
        long sectors = dataLength / VirtioBlock.SECTOR_SIZE;
        // Unsigned: a sector number with the top bit set is simply very large, not negative.
        if (Long.compareUnsigned(sector, capacitySectors) > 0 || sectors > capacitySectors - sector) {
            throw BlockRequestException.outOfRange(sector, sectors, capacitySectors);
        }
    }

    /** Byte offset of the data on the disk. Valid after a successful parse of a read or write. */
    long diskOffset() {
        return sector * VirtioBlock.SECTOR_SIZE;
    }

    private static long u32(byte[] b, int at) {
        return (b[at] & 0xffL) | (b[at + 1] & 0xffL) << 8 | (b[at + 2] & 0xffL) << 16 | (b[at + 3] & 0xffL) << 24;
    }

    private static long u64(byte[] b, int at) {
        return u32(b, at) | u32(b, at + 4) << 32;
    }
}
