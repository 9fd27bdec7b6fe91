package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.host.FileTree;
import dev.panavisor.image.GuestImages;
import dev.panavisor.testing.ForeignInitramfs;
import dev.panavisor.testing.Requires;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code ./panavisor run} exactly as a user types it, with the shell's redirections: on a host without hardware
 * virtualization every run goes through the nested lab (one lab per run, so the cases are few and each checks
 * several things); on a host with it, the same commands run directly. Needs the jar built (tools/test's first pass,
 * or {@code mvn package}): the launcher would otherwise build it in the middle of the test run.
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RunThroughLabTest {
    private static final Path PROJECT = Path.of("").toAbsolutePath();
    private Path work;

    record Run(int code, byte[] out, String err) {
        String outText() {
            return new String(out, StandardCharsets.UTF_8);
        }

        String describe() {
            return "status " + code + "\n--- stdout:\n" + outText() + "\n--- stderr:\n" + err;
        }
    }

    @BeforeAll
    void prepare() throws IOException {
        Requires.lab();
        Path jar = PROJECT.resolve("target/panavisor.jar");
        assertTrue(Files.isRegularFile(jar), "build " + jar + " first (mvn package; tools/test does it)");
        work = PROJECT.resolve("target/lab-tests/run-through-lab");
        FileTree.delete(work);
        Files.createDirectories(work);
    }

    /** {@code ./panavisor ARGS < stdin > out 2> err}; stdin null is /dev/null. */
    private Run panavisor(Path stdin, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(PROJECT.resolve("panavisor").toString()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(work, "out", "");
        Path err = Files.createTempFile(work, "err", "");
        Process p = new ProcessBuilder(command).directory(PROJECT.toFile())
                .redirectInput(stdin == null ? new File("/dev/null") : stdin.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(15, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("./panavisor " + String.join(" ", args) + " did not end in 15 min");
        }
        return new Run(p.exitValue(), Files.readAllBytes(out), Files.readString(err));
    }

    @Test
    void exec_stdout_is_exactly_the_commands_and_stderr_is_apart() throws Exception {
        Run run = panavisor(null, "run", "--exec", "printf 'a\\nb'; echo to-stderr >&2; exit 7");
        assertEquals(7, run.code(), run.describe());
        assertArrayEquals("a\nb".getBytes(StandardCharsets.US_ASCII), run.out(),
                "three bytes: no banner, no carriage return, nothing of Panavisor's: " + run.describe());
        assertTrue(run.err().contains("to-stderr\n"), run.describe());
        assertFalse(run.err().contains("panavisor-init"), "no init banner anywhere: " + run.describe());
    }

    @Test
    void a_mebibyte_piped_through_cat_comes_back_identical() throws Exception {
        byte[] random = new byte[1 << 20];
        new Random(13).nextBytes(random);
        Path input = Files.write(work.resolve("random.bin"), random);
        Run run = panavisor(input, "run", "--exec", "cat");
        assertEquals(0, run.code(), run.err());
        assertEquals(sha256(random), sha256(run.out()), "stdout has " + run.out().length + " bytes; " + run.err());
    }

    @Test
    void a_foreign_init_boots_without_exec_with_stdin_from_dev_null() throws Exception {
        Path kernel = GuestImages.forUser(line -> { }).guest().kernel().bzImage();
        Path initrd = ForeignInitramfs.write(work.resolve("foreign.cpio"));
        Run run = panavisor(null, "run", "--kernel", kernel.toString(), "--initrd", initrd.toString());
        assertEquals(0, run.code(), run.describe());
        assertTrue(run.outText().contains(ForeignInitramfs.GREETING + " from 6."), run.describe());
    }

    /**
     * The guest shell in a real terminal (tmux's): a typed command's answer appears, Ctrl-A x ends the VM with
     * status 0, and afterwards the terminal is back in canonical mode with echo (what raw mode had turned off).
     */
    @Test
    void an_interactive_shell_answers_and_ctrl_a_x_ends_it_with_the_terminal_restored() throws Exception {
        Path status = work.resolve("tty.status");
        Path sttyAfter = work.resolve("tty.stty");
        String session = "run-" + ProcessHandle.current().pid();
        tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "48", "sh", "-c", "cd '" + PROJECT
                + "' && ./panavisor run; echo $? > '" + status + "'; stty -a > '" + sttyAfter + "'; sleep 600");
        try {
            awaitScreen(session, "starting a shell", 600);
            Thread.sleep(3000); // the shell prints its prompt after the init's line
            tmux("send-keys", "-t", session, "echo round-trip-$((6 * 7))", "Enter");
            awaitScreen(session, "round-trip-42", 120);
            tmux("send-keys", "-t", session, "C-a", "x");
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (!(Files.exists(sttyAfter) && Files.size(sttyAfter) > 0) && System.nanoTime() < deadline) {
                Thread.sleep(500);
            }
            String screen = screen(session);
            assertTrue(Files.exists(status), "Ctrl-A x did not end the run:\n" + screen);
            assertEquals("0", Files.readString(status).strip(), screen);
            String stty = Files.readString(sttyAfter);
            assertTrue(stty.matches("(?s).*(^|\\s)icanon(\\s|$).*") && stty.matches("(?s).*(^|\\s)echo(\\s|$).*"),
                    "the terminal is cooked again: " + stty);
        } finally {
            tmux("kill-session", "-t", session);
        }
    }

    /** Runs tmux on a server of this test's own (-L), so no user's sessions are touched. */
    private static String tmux(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("tmux", "-L", "panavisor-tests"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return output;
    }

    private static String screen(String session) throws Exception {
        return tmux("capture-pane", "-p", "-t", session, "-S", "-200");
    }

    private static void awaitScreen(String session, String text, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!screen(session).contains(text)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("'" + text + "' did not appear in " + seconds + " s:\n" + screen(session));
            }
            Thread.sleep(1000);
        }
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
