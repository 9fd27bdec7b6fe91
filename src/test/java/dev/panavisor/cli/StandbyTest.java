package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.cli.StandbyHandOff.Message;
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
    void messages_go_through_the_hand_off_unchanged() throws IOException {
        List<String> arguments = List.of("run", "--kernel=/k é", "", "--cmdline=a b=c");
        Pipe pipe = Pipe.open();
        StandbyHandOff.write(pipe.sink(), new Message.Prepare(arguments));
        StandbyHandOff.write(pipe.sink(), new Message.Start(List.of("run")));
        StandbyHandOff.write(pipe.sink(), new Message.Start(List.of()));
        pipe.sink().close();
        assertEquals(new Message.Prepare(arguments), StandbyHandOff.read(pipe.source()));
        assertEquals(new Message.Start(List.of("run")), StandbyHandOff.read(pipe.source()));
        assertEquals(new Message.Start(List.of()), StandbyHandOff.read(pipe.source()));
        assertEquals(new Message.End(), StandbyHandOff.read(pipe.source()), "end of file between messages");
    }

    /**
     * The warm-up's scratch socket removes only the file it bound: a file already at that path (another program's,
     * or a user's) stays, where the warm-up used to delete it after its bind failed.
     */
    @Test
    void the_warm_up_socket_removes_only_what_it_bound() throws IOException {
        Path taken = Files.writeString(dir.resolve("warm-up.sock"), "someone else's");
        StandbyCommand.closeAConnectedSocket(taken);
        assertEquals("someone else's", Files.readString(taken));
        Path free = dir.resolve("free.sock");
        StandbyCommand.closeAConnectedSocket(free);
        assertFalse(Files.exists(free), "its own socket is removed");
    }

    /** A standby that cannot start is one line, and its socket and directory do not stay behind in the temp dir. */
    @Test
    void a_standby_that_cannot_start_leaves_nothing_behind() throws IOException {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        java.util.function.Supplier<List<Path>> left = () -> {
            try (var entries = Files.list(tmp)) {
                return entries.filter(p -> p.getFileName().toString().startsWith("panavisor-standby-")).toList();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
        List<Path> before = left.get();
        dev.panavisor.vmm.VmmException e = assertThrows(dev.panavisor.vmm.VmmException.class,
                () -> Standby.start(List.of("/nonexistent/java"), line -> { }));
        assertTrue(e.getMessage().startsWith("cannot start serve's standby VM process: "), e.getMessage());
        assertEquals(before, left.get());
    }

    @Test
    void a_torn_or_foreign_message_is_an_error() throws IOException {
        assertThrows(IOException.class, () -> StandbyHandOff.read(source(bytes('S', 0, 0, 0, 9, 'r', 'u', 'n', 0))),
                "the stream ended inside a message");
        assertThrows(IOException.class, () -> StandbyHandOff.read(source(bytes('S', 0, 0, 0, 4, 'r', 'u', 'n', 'x'))),
                "an argument without its NUL");
        assertThrows(IOException.class, () -> StandbyHandOff.read(source(bytes('X', 0, 0, 0, 0))), "unknown kind");
        assertThrows(IOException.class, () -> StandbyHandOff.read(source(bytes('P', 0x7f, 0, 0, 0))), "too long");
        assertThrows(IOException.class, () -> StandbyHandOff.read(source(bytes('P', 0, 0))), "a torn header");
        assertThrows(IllegalArgumentException.class,
                () -> StandbyHandOff.write(Pipe.open().sink(), new Message.Start(List.of("a\0b"))));
    }

    private static byte[] bytes(int... values) {
        byte[] bytes = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            bytes[i] = (byte) values[i];
        }
        return bytes;
    }

    private static Pipe.SourceChannel source(byte[] bytes) throws IOException {
        Pipe pipe = Pipe.open();
        pipe.sink().write(java.nio.ByteBuffer.wrap(bytes));
        pipe.sink().close();
        return pipe.source();
    }

    /** A runner standing in for run: a gated run "builds" (unless told to fail) and asks its gate. */
    private static final class FakeRuns implements StandbyCommand.Runner {
        final List<String> log = new CopyOnWriteArrayList<>();

        @Override
        public int run(List<String> arguments, RunCommand.StartGate gate) {
            String name = arguments.getFirst();
            if (gate == null) {
                log.add("ran " + name + " afresh");
                return 3;
            }
            if (name.equals("bad")) {
                log.add("failed to build " + name);
                return 1;
            }
            boolean go = gate.proceed();
            log.add((go ? "started built " : "closed built ") + name);
            return go ? 7 : 0;
        }
    }

    /** serve's end of a socket pair, the standby's {@link StandbyCommand#serve} on the other, on a thread. */
    private final class Pair implements AutoCloseable {
        final java.nio.channels.SocketChannel serve;
        final java.util.concurrent.CompletableFuture<Integer> status = new java.util.concurrent.CompletableFuture<>();

        Pair(boolean prepare, StandbyCommand.Runner runner) throws IOException {
            Path socket = Files.createTempFile(dir, "pair", ".sock");
            Files.delete(socket);
            try (var server = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
                server.bind(java.net.UnixDomainSocketAddress.of(socket));
                serve = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(socket));
                var standby = server.accept();
                Thread.ofPlatform().start(() -> {
                    try (standby) {
                        status.complete(StandbyCommand.serve(standby, prepare, runner));
                    } catch (Throwable e) {
                        status.completeExceptionally(e);
                    }
                });
            }
        }

        void send(Message message) throws IOException {
            StandbyHandOff.write(serve, message);
        }

        int said() throws IOException {
            java.nio.ByteBuffer one = java.nio.ByteBuffer.allocate(1);
            return serve.read(one) == 1 ? one.get(0) : -1;
        }

        int status() throws Exception {
            return status.get(1, TimeUnit.MINUTES);
        }

        @Override
        public void close() throws IOException {
            serve.close();
        }
    }

    @Test
    void a_start_with_the_arguments_of_the_built_vm_runs_that_vm() throws Exception {
        FakeRuns runs = new FakeRuns();
        try (Pair pair = new Pair(true, runs)) {
            pair.send(new Message.Prepare(List.of("a", "--memory=256M")));
            assertEquals(StandbyHandOff.BUILT, pair.said());
            pair.send(new Message.Start(List.of("a", "--memory=256M")));
            assertEquals(7, pair.status(), "the built VM's run, and its status");
        }
        assertEquals(List.of("started built a"), runs.log);
    }

    @Test
    void a_built_start_closes_the_hand_off_while_its_run_goes_on() throws Exception {
        // The standby closes its side on a thread of its own (the run does not wait for it): serve sees end of file
        // while the run is still going, not only once it has ended.
        java.util.concurrent.CountDownLatch runMayEnd = new java.util.concurrent.CountDownLatch(1);
        StandbyCommand.Runner runner = (arguments, gate) -> {
            if (gate == null || !gate.proceed()) {
                return 1;
            }
            try {
                return runMayEnd.await(30, TimeUnit.SECONDS) ? 7 : 2;
            } catch (InterruptedException e) {
                return 3;
            }
        };
        try (Pair pair = new Pair(true, runner)) {
            pair.send(new Message.Prepare(List.of("a")));
            assertEquals(StandbyHandOff.BUILT, pair.said());
            pair.send(new Message.Start(List.of("a")));
            assertEquals(-1, pair.said(), "end of file");
            runMayEnd.countDown();
            assertEquals(7, pair.status(), "the run was still going when serve saw the end of file");
        }
    }

    @Test
    void a_changed_configuration_closes_the_built_vm_and_a_different_start_runs_afresh() throws Exception {
        FakeRuns runs = new FakeRuns();
        try (Pair pair = new Pair(true, runs)) {
            pair.send(new Message.Prepare(List.of("a")));
            assertEquals(StandbyHandOff.BUILT, pair.said());
            pair.send(new Message.Prepare(List.of("b")));
            assertEquals(StandbyHandOff.BUILT, pair.said());
            pair.send(new Message.Prepare(List.of("bad")));
            assertEquals(StandbyHandOff.NOT_BUILT, pair.said(), "a failure is said, not printed");
            pair.send(new Message.Prepare(List.of("c")));
            assertEquals(StandbyHandOff.BUILT, pair.said());
            pair.send(new Message.Start(List.of("d")));
            assertEquals(3, pair.status());
        }
        assertEquals(List.of("closed built a", "closed built b", "failed to build bad", "closed built c",
                "ran d afresh"), runs.log);
    }

    @Test
    void serve_ending_closes_the_built_vm_and_a_standby_that_cannot_build_only_starts() throws Exception {
        FakeRuns runs = new FakeRuns();
        try (Pair pair = new Pair(true, runs)) {
            pair.send(new Message.Prepare(List.of("a")));
            assertEquals(StandbyHandOff.BUILT, pair.said());
            pair.serve.close(); // serve ended: end of file
            assertEquals(0, pair.status(), "no VM, status 0");
        }
        assertEquals(List.of("closed built a"), runs.log);

        FakeRuns throughLab = new FakeRuns();
        try (Pair pair = new Pair(false, throughLab)) {
            pair.send(new Message.Prepare(List.of("a")));
            assertEquals(StandbyHandOff.NOT_BUILT, pair.said());
            pair.send(new Message.Start(List.of("a")));
            assertEquals(3, pair.status());
        }
        assertEquals(List.of("ran a afresh"), throughLab.log, "nothing is built where runs go to the lab");
    }

    /**
     * The standby, handed a run whose kernel is not there, answers as {@code panavisor run} does: the expected
     * failure's status 1 (ExitCodes.ERROR) and one line on stderr. The standby's stderr is its parent's (serve's);
     * here a shell that execs the JVM sends it to a file, so the line can be read.
     */
    @Test
    void a_standby_runs_the_arguments_it_is_handed_as_panavisor_run_would() throws Exception {
        List<String> notices = new CopyOnWriteArrayList<>();
        Path missing = dir.resolve("no-such-kernel");
        Path stderr = dir.resolve("standby.err");
        List<String> command = new java.util.ArrayList<>(List.of("sh", "-c", "exec \"$@\" 2>'" + stderr + "'", "sh"));
        command.addAll(JavaCommand.of(false, List.of()));
        try (Standby standby = Standby.start(command, notices::add)) {
            Process run = standby.handOff(List.of("run", "--kernel=" + missing));
            assertTrue(run.waitFor(2, TimeUnit.MINUTES), "the handed-off run did not end");
            assertEquals(1, run.exitValue(), Files.readString(stderr));
        }
        assertEquals(List.of("panavisor: kernel file not found: " + missing), Files.readAllLines(stderr));
        assertEquals(1, notices.size(), notices.toString());
        assertTrue(notices.getFirst().startsWith("the VM process is up and warm"), notices.toString());
    }

    @Test
    void serve_knows_which_configuration_the_standby_holds_built() throws Exception {
        java.util.concurrent.BlockingQueue<String> notices = new java.util.concurrent.LinkedBlockingQueue<>();
        List<String> fake = List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), FakeStandbyMain.class.getName());
        try (Standby standby = Standby.start(fake, notices::add)) {
            List<String> a = List.of("a", "--memory=256M");
            standby.prepare(a); // sent once the standby says it is ready
            assertTrue(notices.poll(1, TimeUnit.MINUTES).startsWith("the VM process is up and warm"));
            assertEquals(Standby.BUILT, notices.poll(1, TimeUnit.MINUTES));
            assertTrue(standby.holdsBuilt(a));
            assertFalse(standby.holdsBuilt(List.of("a", "--memory=512M")), "another configuration");

            standby.prepare(List.of("bad"));
            assertFalse(standby.holdsBuilt(a), "a Prepare sent replaces the VM held, answered or not");
            assertEquals(Standby.NOT_BUILT, notices.poll(1, TimeUnit.MINUTES));
            assertFalse(standby.holdsBuilt(List.of("bad")));
            standby.prepare(List.of("bad", "again")); // still not built: said once, not once per request

            standby.prepare(a);
            standby.prepare(List.of("c"));
            assertEquals(Standby.BUILT, notices.poll(1, TimeUnit.MINUTES));
            assertFalse(standby.holdsBuilt(a), "built, but a later Prepare is on its way");
            assertEquals(Standby.BUILT, notices.poll(1, TimeUnit.MINUTES));
            assertTrue(standby.holdsBuilt(List.of("c")));

            Process run = standby.handOff(List.of("c"));
            assertTrue(run.waitFor(1, TimeUnit.MINUTES));
            assertEquals(7, run.exitValue(), "the standby got its Start");
        }
    }

    /**
     * A standby that stopped reading (SIGSTOP, stuck) does not hold serve's API: a message that cannot go into its
     * socket within the bound closes the channel, and InstanceStart's hand-off fails at once (serve then starts a
     * run of its own). Before the bound, this prepare blocked for ever under the standby's lock.
     */
    @Test
    @org.junit.jupiter.api.Timeout(120)
    void a_standby_that_stopped_reading_holds_no_request() throws Exception {
        java.util.concurrent.BlockingQueue<String> notices = new java.util.concurrent.LinkedBlockingQueue<>();
        List<String> deaf = List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), FakeStandbyMain.class.getName(), "--deaf");
        try (Standby standby = Standby.start(deaf, notices::add, 300)) {
            assertTrue(notices.poll(1, TimeUnit.MINUTES).startsWith("the VM process is up and warm"));
            standby.prepare(List.of("x".repeat(8 << 20))); // more than a UNIX socket's buffer holds
            assertFalse(standby.holdsBuilt(List.of("x".repeat(8 << 20))));
            IOException e = assertThrows(IOException.class, () -> standby.handOff(List.of("run")));
            assertTrue(e instanceof java.nio.channels.ClosedChannelException, e.toString());
        }
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
