package dev.panavisor.devices.virtio.vsock;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The header in front of every vsock packet, both directions (virtio 1.2 §5.10.6, {@code struct virtio_vsock_hdr}):
 * 44 bytes, little-endian, packed.
 *
 * <pre>
 *  0 le64 src_cid     8 le64 dst_cid    16 le32 src_port  20 le32 dst_port  24 le32 len
 * 28 le16 type       30 le16 op         32 le32 flags     36 le32 buf_alloc 40 le32 fwd_cnt
 * </pre>
 *
 * Every field comes from the guest and is only a number here: {@link VirtioVsock} decides what to believe. The u32
 * fields are kept in {@code long}s so that comparisons are unsigned without care at each use.
 */
public record VsockHeader(long srcCid, long dstCid, long srcPort, long dstPort, long len, int type, int op,
        long flags, long bufAlloc, long fwdCnt) {

    public static final int SIZE = 44;

    /** {@code type} (§5.10.6): only stream sockets are offered (no VIRTIO_VSOCK_F_SEQPACKET). */
    public static final int TYPE_STREAM = 1;

    /** {@code op} (§5.10.6). */
    public static final int OP_INVALID = 0;
    public static final int OP_REQUEST = 1;
    public static final int OP_RESPONSE = 2;
    public static final int OP_RST = 3;
    public static final int OP_SHUTDOWN = 4;
    public static final int OP_RW = 5;
    public static final int OP_CREDIT_UPDATE = 6;
    public static final int OP_CREDIT_REQUEST = 7;

    /** SHUTDOWN flags (§5.10.6.5): the sender will receive no more data, will send no more data. */
    public static final long SHUTDOWN_RCV = 1;
    public static final long SHUTDOWN_SEND = 2;

    /** The well-known CID of the host (VMADDR_CID_HOST, §5.10.4: "the host's CID is 2"). */
    public static final long HOST_CID = 2;

    /** Parses the first {@link #SIZE} bytes of {@code bytes} at {@code offset}. */
    public static VsockHeader parse(byte[] bytes, int offset) {
        ByteBuffer b = ByteBuffer.wrap(bytes, offset, SIZE).slice().order(ByteOrder.LITTLE_ENDIAN);
        return new VsockHeader(b.getLong(0), b.getLong(8), Integer.toUnsignedLong(b.getInt(16)),
                Integer.toUnsignedLong(b.getInt(20)), Integer.toUnsignedLong(b.getInt(24)),
                Short.toUnsignedInt(b.getShort(28)), Short.toUnsignedInt(b.getShort(30)),
                Integer.toUnsignedLong(b.getInt(32)), Integer.toUnsignedLong(b.getInt(36)),
                Integer.toUnsignedLong(b.getInt(40)));
    }

    /** Writes this header into {@code bytes} at {@code offset}. */
    public void encode(byte[] bytes, int offset) {
        ByteBuffer b = ByteBuffer.wrap(bytes, offset, SIZE).slice().order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, srcCid).putLong(8, dstCid).putInt(16, (int) srcPort).putInt(20, (int) dstPort)
                .putInt(24, (int) len).putShort(28, (short) type).putShort(30, (short) op).putInt(32, (int) flags)
                .putInt(36, (int) bufAlloc).putInt(40, (int) fwdCnt);
    }

    public byte[] encode() {
        byte[] bytes = new byte[SIZE];
        encode(bytes, 0);
        return bytes;
    }

    /** A header from the host (CID 2, {@code hostPort}) to the guest's {@code guestPort}. */
    public static VsockHeader toGuest(long guestCid, long hostPort, long guestPort, int op, long flags, long len,
            long bufAlloc, long fwdCnt) {
        return new VsockHeader(HOST_CID, guestCid, hostPort, guestPort, len, TYPE_STREAM, op, flags, bufAlloc,
                fwdCnt);
    }

    /** The name of an op, for messages. */
    public static String opName(int op) {
        return switch (op) {
            case OP_REQUEST -> "REQUEST";
            case OP_RESPONSE -> "RESPONSE";
            case OP_RST -> "RST";
            case OP_SHUTDOWN -> "SHUTDOWN";
            case OP_RW -> "RW";
            case OP_CREDIT_UPDATE -> "CREDIT_UPDATE";
            case OP_CREDIT_REQUEST -> "CREDIT_REQUEST";
            default -> "op " + op;
        };
    }
}
