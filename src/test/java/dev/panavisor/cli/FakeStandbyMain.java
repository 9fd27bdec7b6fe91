package dev.panavisor.cli;

import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;

/**
 * A stand-in for {@code panavisor standby} in a JVM of its own (StandbyTest): it speaks the hand-off's protocol and
 * answers each Prepare with BUILT, or NOT_BUILT when its first argument is "bad"; a Start ends it with status 7.
 * Started as {@code FakeStandbyMain standby --socket=PATH}, as Standby starts the real one; with {@code --deaf}
 * among its arguments it says it is ready and then reads nothing (a standby stopped or stuck), until it is killed.
 */
public final class FakeStandbyMain {
    private FakeStandbyMain() {
    }

    public static void main(String[] args) throws Exception {
        List<String> arguments = List.of(args);
        Path socket = Path.of(arguments.stream().filter(a -> a.startsWith("--socket=")).findFirst().orElseThrow()
                .substring("--socket=".length()));
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            channel.write(ByteBuffer.wrap(new byte[] {StandbyHandOff.READY}));
            if (arguments.contains("--deaf")) {
                Thread.sleep(Long.MAX_VALUE);
            }
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
