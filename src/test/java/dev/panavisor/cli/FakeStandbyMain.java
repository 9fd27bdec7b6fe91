package dev.panavisor.cli;

import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/**
 * A stand-in for {@code panavisor standby} in a JVM of its own (StandbyTest): it speaks the hand-off's protocol and
 * answers each Prepare with BUILT, or NOT_BUILT when its first argument is "bad"; a Start ends it with status 7.
 * Started as {@code FakeStandbyMain standby --socket=PATH}, as Standby starts the real one.
 */
public final class FakeStandbyMain {
    private FakeStandbyMain() {
    }

    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[1].substring("--socket=".length()));
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            channel.write(ByteBuffer.wrap(new byte[] {StandbyHandOff.READY}));
            while (true) {
                switch (StandbyHandOff.read(channel)) {
                    case StandbyHandOff.Message.Prepare prepare -> channel.write(ByteBuffer.wrap(new byte[] {
                            prepare.arguments().getFirst().equals("bad") ? StandbyHandOff.NOT_BUILT
                                    : StandbyHandOff.BUILT}));
                    case StandbyHandOff.Message.Start start -> System.exit(7);
                    case StandbyHandOff.Message.End end -> System.exit(0);
                }
            }
        }
    }
}
