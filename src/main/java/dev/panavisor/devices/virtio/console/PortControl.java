package dev.panavisor.devices.virtio.console;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * One message on a multiport virtio console's control queues (virtio 1.2 §5.3.6.2): {@code struct
 * virtio_console_control { le32 id; le16 event; le16 value; }}, which for {@link #PORT_NAME} is followed by the
 * port's name (no terminating NUL: the buffer length ends it, as Linux's driver reads it).
 *
 * @param id    the port the message is about ({@link #NO_PORT} for the device as a whole)
 * @param event one of the event numbers below
 * @param value the event's argument: 1 or 0 for READY/OPEN, the result for the others
 * @param name  the port name of a {@link #PORT_NAME} message, else empty
 */
record PortControl(int id, int event, int value, String name) {
    /** Header size in bytes. */
    static final int SIZE = 8;
    /** VIRTIO_CONSOLE_BAD_ID, the id of messages not about one port (DEVICE_READY). */
    static final int NO_PORT = -1;

    // Events, §5.3.6.2 (the direction is the spec's).
    static final int DEVICE_READY = 0; // driver -> device: value 1, the driver is ready for DEVICE_ADD
    static final int DEVICE_ADD = 1;   // device -> driver: a port with this id exists
    static final int DEVICE_REMOVE = 2;
    static final int PORT_READY = 3;   // driver -> device: value 1, the port is set up
    static final int CONSOLE_PORT = 4;
    static final int RESIZE = 5;
    static final int PORT_OPEN = 6;    // both ways: the sender has the port open (1) or closed (0)
    static final int PORT_NAME = 7;    // device -> driver: the port's name follows the header

    static PortControl of(int id, int event, int value) {
        return new PortControl(id, event, value, "");
    }

    /** The message as it goes into a driver's receive buffer. */
    byte[] encode() {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(SIZE + nameBytes.length).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(id).putShort((short) event).putShort((short) value).put(nameBytes).array();
    }

    /** A driver's message; {@code bytes} must hold at least {@link #SIZE} bytes (the caller checks). */
    static PortControl decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        return of(b.getInt(), Short.toUnsignedInt(b.getShort()), Short.toUnsignedInt(b.getShort()));
    }
}
