package dev.panavisor.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * What serve and its standby VM process say on their private socket: the standby sends one byte, {@link #READY},
 * once it is warm; serve answers with the run's arguments, each in UTF-8 followed by a NUL byte (no argument can
 * contain one: they come from a C-style argv), and closes its side. No arguments at all means "no VM: end".
 */
final class StandbyHandOff {
    static final byte READY = 'R';
    /** Far more than any run command line; a peer sending more is not serve. */
    static final int MAX_BYTES = 1 << 20;

    private StandbyHandOff() {
    }

    static void write(WritableByteChannel channel, List<String> arguments) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (String argument : arguments) {
            if (argument.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("a run argument cannot contain a NUL byte: " + argument);
            }
            bytes.writeBytes(argument.getBytes(StandardCharsets.UTF_8));
            bytes.write(0);
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes.toByteArray());
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /** Reads arguments until end of file; a last argument without its NUL means the writer died mid-way. */
    static List<String> read(ReadableByteChannel channel) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        ByteBuffer buffer = ByteBuffer.allocate(8192);
        while (channel.read(buffer) >= 0) {
            all.write(buffer.array(), 0, buffer.position());
            buffer.clear();
            if (all.size() > MAX_BYTES) {
                throw new IOException("standby: more than " + MAX_BYTES + " bytes of arguments");
            }
        }
        byte[] bytes = all.toByteArray();
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
