package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.Pipe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** serve's warm VM process: the hand-off's bytes, and a real standby JVM taking a run's arguments or ending unused. */
class StandbyTest {
    @TempDir
    Path dir;

    @Test
    void arguments_go_through_the_hand_off_unchanged() throws IOException {
        List<String> arguments = List.of("run", "--kernel=/k é", "", "--cmdline=a b=c");
        Pipe pipe = Pipe.open();
        StandbyHandOff.write(pipe.sink(), arguments);
        pipe.sink().close();
        assertEquals(arguments, StandbyHandOff.read(pipe.source()));
    }

    @Test
    void nothing_at_all_means_no_vm_and_a_torn_argument_is_an_error() throws IOException {
        Pipe empty = Pipe.open();
        empty.sink().close();
        assertEquals(List.of(), StandbyHandOff.read(empty.source()));

        Pipe torn = Pipe.open();
        torn.sink().write(java.nio.ByteBuffer.wrap("run\0--ker".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        torn.sink().close();
        assertThrows(IOException.class, () -> StandbyHandOff.read(torn.source()));
        assertThrows(IllegalArgumentException.class,
                () -> StandbyHandOff.write(Pipe.open().sink(), List.of("a\0b")));
    }

    @Test
    void a_standby_runs_the_arguments_it_is_handed_as_panavisor_run_would() throws Exception {
        List<String> notices = new CopyOnWriteArrayList<>();
        Path missing = dir.resolve("no-such-kernel");
        try (Standby standby = Standby.start(JavaCommand.of(false, List.of()), notices::add)) {
            Process run = standby.handOff(List.of("run", "--kernel=" + missing));
            assertTrue(run.waitFor(2, TimeUnit.MINUTES), "the handed-off run did not end");
            // run's own answer to a kernel that is not there: its bad-argument status, as on the command line.
            assertEquals(RunBadInputTest.run("run", "--kernel=" + missing).code(), run.exitValue());
        }
        assertEquals(1, notices.size(), notices.toString());
        assertTrue(notices.getFirst().startsWith("the VM process is up and warm"), notices.toString());
    }

    @Test
    void a_standby_that_never_gets_a_vm_ends_and_leaves_no_socket_behind() throws Exception {
        Standby standby = Standby.start(JavaCommand.of(false, List.of()), line -> { });
        assertTrue(Files.isDirectory(standby.directory()), "its private directory exists while it waits");
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(standby.directory())), "no other user can reach the socket");
        standby.close();
        assertTrue(standby.process().waitFor(1, TimeUnit.MINUTES), "the standby outlived serve's end");
        assertTrue(Files.notExists(standby.directory()), "its directory and socket are gone");
        assertThrows(IOException.class, () -> standby.handOff(List.of("run")), "a closed standby takes no VM");
    }
}
