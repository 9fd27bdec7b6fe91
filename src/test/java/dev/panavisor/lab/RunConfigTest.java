package dev.panavisor.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunConfigTest {
    @TempDir
    Path dir;

    private LabConfig config(Path workDir) {
        return LabConfig.defaults().withWorkDir(workDir).withEnvironment(Map.of());
    }

    /** Runs {@code script} with the host's /bin/sh, as init.sh does inside the chroot, and returns its stdout. */
    private static String sh(String script) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("/bin/sh", "-c", script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    @Test
    void arguments_and_environment_reach_the_command_unchanged_and_cannot_inject_shell_code() throws Exception {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("TRICKY", "it's \"quoted\" $HOME `id` \\ \n newline");
        env.put("not-a-name", "dropped");
        List<String> command = List.of("/bin/sh", "-c", "printf '<%s>' \"$TRICKY\" \"$@\" \"${#not_a_name}\"; pwd",
                "sh", "two words", "$(touch pwned)", "'", "");
        String out = sh(RunConfig.script(dir, env, command));
        assertEquals("<it's \"quoted\" $HOME `id` \\ \n newline><two words><$(touch pwned)><'><><0>" + dir + "\n", out);
        assertFalse(Files.exists(dir.resolve("pwned")));
    }

    @Test
    void a_missing_working_directory_exits_125() throws Exception {
        Process p = new ProcessBuilder("/bin/sh", "-c",
                RunConfig.script(dir.resolve("gone"), Map.of(), List.of("/bin/true"))).start();
        assertEquals(RunConfig.CWD_FAILED, p.waitFor());
    }

    @Test
    void run_conf_sourced_by_a_shell_gives_back_the_exports_and_working_directory() throws Exception {
        Path project = Files.createDirectories(dir.resolve("project dir"));
        Path work = Files.createDirectories(dir.resolve("work"));
        LabConfig c = config(work).withWritable(project);
        String conf = RunConfig.render(c, RunConfig.exports(c), List.of("true"));
        Files.writeString(dir.resolve("run.conf"), conf);
        String out = sh(". '" + dir.resolve("run.conf") + "'; printf '%s|%s' \"$LAB_EXPORTS\" \"$LAB_CWD\"");
        assertEquals("rw0 writable " + project + "\nrw1 writable " + work + "\n|" + work, out);
    }

    @Test
    void a_writable_directory_inside_another_is_covered_by_it() throws IOException {
        Path project = Files.createDirectories(dir.resolve("project"));
        Path work = Files.createDirectories(project.resolve("target/work"));
        List<Export> exports = RunConfig.exports(config(work).withWritable(project).withWritable(project));
        assertEquals(List.of(new Export("rw0", project, Export.Kind.WRITABLE)), exports);
    }

    @Test
    void shares_are_ordered_parents_first_with_scratch_after_writable_tags() throws IOException {
        Path a = Files.createDirectories(dir.resolve("a"));
        Path m2 = Files.createDirectories(dir.resolve("0-m2"));
        List<Export> exports = RunConfig.exports(config(a).withScratch(m2));
        assertEquals(List.of(new Export("scratch1", m2, Export.Kind.SCRATCH), new Export("rw0", a, Export.Kind.WRITABLE)),
                exports);
    }

    @Test
    void sharing_a_directory_that_does_not_exist_is_an_error() {
        LabException e = assertThrows(LabException.class,
                () -> RunConfig.exports(config(dir).withWritable(dir.resolve("missing"))));
        assertEquals("directory to share does not exist: " + dir.resolve("missing"), e.getMessage());
    }

    /**
     * A lab whose cache cannot even be made (a file where its folder would be) and whose work directory is missing:
     * the missing directory is what it says, before it touches the cache (on a new host: apt and downloads).
     */
    @Test
    void a_missing_work_directory_is_said_before_the_assets_are_resolved() throws IOException {
        Path cache = Files.writeString(dir.resolve("cache"), "a file, not a folder");
        Lab lab = new Lab(config(dir.resolve("missing")).withCacheDir(cache), line -> { });
        LabException e = assertThrows(LabException.class,
                () -> lab.run(List.of("true"), OutputStream.nullOutputStream(), OutputStream.nullOutputStream()));
        assertEquals("directory to share does not exist: " + dir.resolve("missing"), e.getMessage());
    }

    @Test
    void scratch_inside_a_writable_directory_is_refused() throws IOException {
        Path inner = Files.createDirectories(dir.resolve("inner"));
        assertThrows(LabException.class, () -> RunConfig.exports(config(dir).withScratch(inner)));
    }

    @Test
    void an_empty_command_is_refused() {
        assertThrows(LabException.class, () -> RunConfig.render(config(dir), List.of(), List.of()));
    }
}
