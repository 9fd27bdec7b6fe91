package dev.panavisor.cli;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What serve and its standby VM process say on their private socket.
 *
 * <p>The standby speaks single bytes: {@link #READY} once it is warm, then {@link #BUILT} each time it has built the
 * VM of a {@link Message.Prepare} and waits, or {@link #NOT_BUILT} when it did not: building failed (the error is
 * kept back: the configuration may still change, and the start that follows reports it in full), or this host's
 * runs go through the lab.
 *
 * <p>serve sends messages, each a kind byte, a length (4 bytes, big-endian) and the run's arguments, each in UTF-8
 * followed by a NUL byte (no argument can contain one: they come from a C-style argv):
 * <ul>
 *   <li>{@code P}, {@link Message.Prepare}: the configuration so far is complete; build that VM and wait. A later
 *       Prepare replaces it.</li>
 *   <li>{@code S}, {@link Message.Start}: start this VM, which is the prepared one when the arguments are equal.</li>
 * </ul>
 * End of file between messages, {@link Message.End}, means "no VM: end".
 */
final class StandbyHandOff {
    static final byte READY = 'R';
    static final byte BUILT = 'B';
    static final byte NOT_BUILT = 'N';
    /** Far more than any run command line; a peer sending more is not serve. */
    static final int MAX_BYTES = 1 << 20;

    /** One message from serve. */
    sealed interface Message {
        record Prepare(List<String> arguments) implements Message {
        }

        record Start(List<String> arguments) implements Message {
        }

        record End() implements Message {
        }
    }

    private StandbyHandOff() {
    }

    static void write(WritableByteChannel channel, Message message) throws IOException {
        List<String> arguments = switch (message) {
            case Message.Prepare prepare -> prepare.arguments();
            case Message.Start start -> start.arguments();
            case Message.End end -> throw new IllegalArgumentException("End is the end of the stream, not a message");
        };
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (String argument : arguments) {
            if (argument.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("a run argument cannot contain a NUL byte: " + argument);
            }
            bytes.writeBytes(argument.getBytes(StandardCharsets.UTF_8));
            bytes.write(0);
        }
        ByteBuffer buffer = ByteBuffer.allocate(5 + bytes.size());
        buffer.put((byte) (message instanceof Message.Prepare ? 'P' : 'S')).putInt(bytes.size())
                .put(bytes.toByteArray()).flip();
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /** Reads the next message; end of file in the middle of one means the writer died mid-way (an IOException). */
    static Message read(ReadableByteChannel channel) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(5);
        if (!fill(channel, head, true)) {
            return new Message.End();
        }
        byte kind = head.get(0);
        int length = head.getInt(1);
        if (kind != 'P' && kind != 'S') {
            throw new IOException("standby: unknown message kind " + (kind & 0xff));
        }
        if (length < 0 || length > MAX_BYTES) {
            throw new IOException("standby: a message of " + Integer.toUnsignedString(length)
                    + " bytes (at most " + MAX_BYTES + ")");
        }
        ByteBuffer body = ByteBuffer.allocate(length);
        fill(channel, body, false);
        List<String> arguments = arguments(body.array());
        return kind == 'P' ? new Message.Prepare(arguments) : new Message.Start(arguments);
    }

    /** Fills {@code buffer}; false at a clean end of file before its first byte when {@code endAllowed}. */
    private static boolean fill(ReadableByteChannel channel, ByteBuffer buffer, boolean endAllowed)
            throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                if (endAllowed && buffer.position() == 0) {
                    return false;
                }
                throw new EOFException("standby: the stream ended in the middle of a message");
            }
        }
        return true;
    }

    private static List<String> arguments(byte[] bytes) throws IOException {
        List<String> arguments = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == 0) {
                arguments.add(new String(bytes, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (start != bytes.length) {
            throw new IOException("standby: the arguments ended in the middle of one");
        }
        return arguments;
    }
}
