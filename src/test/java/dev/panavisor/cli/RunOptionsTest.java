package dev.panavisor.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panavisor.vmm.MachineConfig;
import dev.panavisor.vmm.Outcome;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Parsing of {@code panavisor run}'s options, without running a VM. */
class RunOptionsTest {
    /**
     * Output that could not be written decides the status whatever the guest's: a reader that went away (EPIPE)
     * is 141 and no line, as a shell reports a command killed by SIGPIPE; anything else lost output, one line and 1.
     */
    @Test
    void lost_output_is_sigpipes_status_or_one_line() {
        StringWriter text = new StringWriter();
        PrintWriter err = new PrintWriter(text, true);
        assertEquals(141, RunCommand.outputLost(new java.io.IOException("Broken pipe"), err));
        assertEquals("", text.toString());
        assertEquals(1, RunCommand.outputLost(new java.io.IOException("No space left on device"), err));
        assertEquals("panavisor: the command's output could not be written: No space left on device",
                text.toString().strip());
    }

    /** A command whose lab lost its output (run or bench through the lab, | head) ends as run does directly. */
    @Test
    void a_lab_that_lost_its_output_ends_any_command_as_run_does() {
        StringWriter text = new StringWriter();
        picocli.CommandLine line = new picocli.CommandLine(new LabCommand());
        line.setErr(new PrintWriter(text, true));
        ExitCodes.ExceptionHandler handler = new ExitCodes.ExceptionHandler();
        assertEquals(141, handler.handleExecutionException(new dev.panavisor.lab.LabOutputLostException(
                new java.io.IOException("Broken pipe")), line, null));
        assertEquals("", text.toString());
        assertEquals(1, handler.handleExecutionException(new dev.panavisor.lab.LabOutputLostException(
                new java.io.IOException("No space left on device")), line, null));
        assertEquals("panavisor: the command's output could not be written: No space left on device",
                text.toString().strip());
    }

    @Test
    void sizes_default_to_mib_and_take_binary_suffixes() {
        assertEquals(256L << 20, SizeConverter.parse("256"));
        assertEquals(256L << 20, SizeConverter.parse("256M"));
        assertEquals(1L << 30, SizeConverter.parse("1G"));
        assertEquals(1L << 30, SizeConverter.parse("1GiB"));
        assertEquals(512L << 10, SizeConverter.parse("512k"));
        for (String bad : new String[] {"", "-1", "12X", "1.5G", "99999999999999999999", "9999999999999G",
            "512B", "512iB"}) { // a B alone is no unit: 512B is not 512 MiB
            assertThrows(CommandLine.TypeConversionException.class, () -> SizeConverter.parse(bad), bad);
        }
    }

    @Test
    void disks_are_read_write_unless_marked_ro() {
        DiskConverter converter = new DiskConverter();
        assertEquals(new MachineConfig.Disk(Path.of("root.ext4"), false), converter.convert("root.ext4"));
        assertEquals(new MachineConfig.Disk(Path.of("a,b.img"), true), converter.convert("a,b.img,ro"));
        assertEquals(new MachineConfig.Disk(Path.of("x.img"), false), converter.convert("x.img,rw"));
        assertThrows(CommandLine.TypeConversionException.class, () -> converter.convert("x.img,rx"));
        assertThrows(CommandLine.TypeConversionException.class, () -> converter.convert(",ro"));
    }

    @Test
    void net_takes_a_tap_name_and_an_optional_unicast_mac() {
        NetConverter converter = new NetConverter();
        MachineConfig.Net plain = converter.convert("tap=tap0");
        assertEquals("tap0", plain.tap());
        assertEquals("02:70:76:00:00:01", plain.mac().toString());
        MachineConfig.Net withMac = converter.convert("tap=pv-1,mac=02:00:00:aa:bb:cc");
        assertEquals("pv-1", withMac.tap());
        assertEquals("02:00:00:aa:bb:cc", withMac.mac().toString());
        assertEquals("pv0", converter.convert("mac=06:00:00:00:00:01,tap=pv0").tap());
        for (String bad : new String[] {"", "tap", "tap=", "tap0", "tap=a/b", "tap=0123456789abcdef",
                "tap=..", "tap=t0,mac=01:00:00:00:00:01", "tap=t0,mac=xyz", "tap=t0,mac", "tap=t0,queues=2",
                "user=1", "tap=t0,user", "users"}) {
            CommandLine.TypeConversionException e = assertThrows(CommandLine.TypeConversionException.class,
                    () -> converter.convert(bad), bad);
            assertTrue(e.getMessage().startsWith("--net " + bad + ": "), e.getMessage());
        }
    }

    @Test
    void net_user_is_passt_and_publish_adds_its_port_forwards() {
        MachineConfig.Net user = new NetConverter().convert("user,mac=02:00:00:00:00:09");
        assertEquals(new MachineConfig.UserNetwork(java.util.List.of()), user.backend());
        assertEquals(null, user.tap());
        assertEquals("02:00:00:00:00:09", user.mac().toString());
        RunCommand run = parsed("run", "--net", "user", "--publish", "8080:80", "--publish", "2222:22");
        MachineConfig.Net published = RunCommand.withPublished(run.net, run.publish);
        assertEquals(java.util.List.of(new MachineConfig.PortForward(8080, 80),
                new MachineConfig.PortForward(2222, 22)),
                ((MachineConfig.UserNetwork) published.backend()).publish());
        UsageException e = assertThrows(UsageException.class, () -> RunCommand.withPublished(
                new NetConverter().convert("tap=t0"), run.publish));
        assertTrue(e.getMessage().startsWith("--publish needs --net user"), e.getMessage());
        assertThrows(UsageException.class, () -> RunCommand.withPublished(null, run.publish));
        RunCommand twice = parsed("run", "--net", "user", "--publish", "8080:80", "--publish", "8080:81");
        assertEquals("--publish forwards host port 8080 twice", assertThrows(UsageException.class,
                () -> RunCommand.withPublished(twice.net, twice.publish)).getMessage());
        for (String bad : new String[] {"80", "0:80", "8080:70000", "a:b", "8080:80:1", ""}) {
            assertThrows(CommandLine.TypeConversionException.class, () -> new PublishConverter().convert(bad), bad);
        }
        MachineConfig config = EXEC_TRUE.withNet(java.util.Optional.of(published));
        java.util.List<String> inner = InLab.command(config, run);
        assertTrue(inner.containsAll(java.util.List.of("--net=user,mac=02:70:76:00:00:01", "--publish=8080:80",
                "--publish=2222:22")), inner.toString());
    }

    @Test
    void net_is_a_usage_error_when_malformed_and_reaches_the_configuration() {
        RunCommand run = parsed("run", "--net", "tap=tap0,mac=02:00:00:00:00:07");
        assertEquals("tap0", run.net.tap());
        assertEquals(2, PanavisorCommand.newCommandLine().execute("run", "--net", "tap=", "--exec", "true"));
    }

    @Test
    void net_is_passed_into_the_lab_with_its_mac() {
        MachineConfig config = EXEC_TRUE.withNet(java.util.Optional.of(new NetConverter().convert("tap=tap3")));
        java.util.List<String> inner = InLab.command(config, parsed("run", "--net", "tap=tap3"));
        assertTrue(inner.contains("--net=tap=tap3,mac=02:70:76:00:00:01"), inner.toString());
        assertFalse(InLab.command(EXEC_TRUE, parsed("run")).stream().anyMatch(a -> a.startsWith("--net")));
    }

    @Test
    void run_options_parse_into_fields() {
        CommandLine.ParseResult parsed = PanavisorCommand.newCommandLine().parseArgs("run", "--kernel", "bzImage",
                "--disk", "a.img", "--disk", "b.img,ro", "--memory",
                "1G", "--cpus", "2", "--console", "virtio", "--exec", "uname -r", "--cmdline", "loglevel=7");
        RunCommand run = (RunCommand) parsed.subcommand().commandSpec().userObject();
        assertEquals(Path.of("bzImage"), run.kernel);
        assertEquals(2, run.disks.size());
        assertTrue(run.disks.get(1).readOnly());
        assertEquals(1L << 30, run.memory);
        assertEquals(2, run.cpus);
        assertEquals(MachineConfig.ConsoleKind.VIRTIO, run.console);
        assertEquals("uname -r", run.exec);
        assertEquals("loglevel=7", run.cmdline);
    }

    /** Disks reach the lab's inner run with their mode spelled out, so a path with a comma stays the path. */
    @Test
    void disks_are_passed_into_the_lab_with_an_explicit_mode() {
        RunCommand run = parsed("run", "--disk", "/img/a,b.ext4,rw", "--disk", "/img/data,ro,ro");
        assertEquals(java.util.List.of(new MachineConfig.Disk(Path.of("/img/a,b.ext4"), false),
                new MachineConfig.Disk(Path.of("/img/data,ro"), true)), run.disks);
        MachineConfig config = new MachineConfig(Path.of("/k"), java.util.Optional.empty(), run.disks, "",
                MachineConfig.DEFAULT_MEMORY, 1, MachineConfig.ConsoleKind.SERIAL, java.util.Optional.of("true"));
        java.util.List<String> inner = InLab.command(config, run);
        assertTrue(inner.containsAll(java.util.List.of("--disk=/img/a,b.ext4,rw", "--disk=/img/data,ro,ro")),
                inner.toString());
        assertEquals(run.disks, parsed(inner.subList(inner.indexOf("run"), inner.size()).toArray(String[]::new)).disks);
    }

    /** A command-mode configuration, as the outer run hands it to {@link InLab#command}. */
    static final MachineConfig EXEC_TRUE = new MachineConfig(Path.of("/k"), java.util.Optional.empty(),
            java.util.List.of(), "", MachineConfig.DEFAULT_MEMORY, 1, MachineConfig.ConsoleKind.SERIAL,
            java.util.Optional.of("true"));

    static RunCommand parsed(String... args) {
        return (RunCommand) PanavisorCommand.newCommandLine().parseArgs(args).subcommand().commandSpec().userObject();
    }

    @Test
    void a_run_that_records_the_aot_cache_in_the_lab_leaves_the_filter_out_once_and_only_then() {
        AotCache cache = AotCache.forJar(Path.of("/opt/panavisor.jar"), true);
        AotCache.Recording recording = new AotCache.Recording(cache,
                java.util.List.of("-XX:AOTCacheOutput=/opt/x.recording", "-Xlog:aot*=error:stderr"),
                Path.of("/opt/x.recording"));
        java.util.List<String> inner = InLab.command(EXEC_TRUE, parsed("run", "--no-seccomp", "--exec", "true"),
                recording);
        assertEquals(1, java.util.Collections.frequency(inner, "--no-seccomp"), inner.toString());
        assertTrue(inner.indexOf("--no-seccomp") > inner.indexOf("run"), "an option of the inner run: " + inner);
        assertTrue(inner.contains("-XX:AOTCacheOutput=/opt/x.recording"), inner.toString());
        assertTrue(inner.indexOf("-XX:AOTCacheOutput=/opt/x.recording") < inner.indexOf("run"), inner.toString());

        AotCache.Recording using = new AotCache.Recording(cache, java.util.List.of("-XX:AOTCache=/opt/x.aot"), null);
        assertFalse(InLab.command(EXEC_TRUE, parsed("run", "--exec", "true"), using).contains("--no-seccomp"),
                "a run that only uses the cache keeps the filter");
    }

    @Test
    void the_timeline_is_off_unless_asked_for_and_is_passed_into_the_lab() {
        MachineConfig config = EXEC_TRUE;
        RunCommand plain = parsed("run", "--exec", "true");
        assertFalse(plain.timeline);
        assertFalse(InLab.command(config, plain).contains("--timeline"), InLab.command(config, plain).toString());

        RunCommand timed = (RunCommand) PanavisorCommand.newCommandLine().parseArgs("run", "--timeline", "--exec",
                "true").subcommand().commandSpec().userObject();
        assertTrue(timed.timeline);
        java.util.List<String> inner = InLab.command(config, timed);
        assertTrue(inner.contains("--timeline"), inner.toString());
        assertTrue(inner.indexOf("--timeline") > inner.indexOf("run"), "an option of the inner run: " + inner);

        RunCommand fromMain = (RunCommand) PanavisorCommand.newCommandLine(123_456_789L).parseArgs("run")
                .subcommand().commandSpec().userObject();
        assertEquals(123_456_789L, fromMain.root.mainNanos(), "main's clock reading reaches the run, for 'JVM up'");
        assertEquals(PanavisorCommand.NO_MAIN_NANOS, plain.root.mainNanos());
    }

    @Test
    void the_help_explains_the_timeline_and_its_cost() {
        StringWriter out = new StringWriter();
        CommandLine commandLine = PanavisorCommand.newCommandLine();
        commandLine.setOut(new PrintWriter(out));
        assertEquals(0, commandLine.execute("run", "--help"));
        String help = out.toString().replaceAll("\\s+", " ");
        assertTrue(help.contains("--timeline After the run, print when each boot phase ended"), help);
        assertTrue(help.contains("printk.time=1 loglevel=7"), help);
    }

    /**
     * The file options are converted by Panavisor's own converter, not by picocli's, which calls {@code Paths.get}
     * through reflection and so generates the classes of a reflective accessor on every boot's main thread.
     */
    @Test
    void file_options_are_paths_converted_without_reflection() {
        CommandLine commandLine = PanavisorCommand.newCommandLine();
        RunCommand run = (RunCommand) commandLine.parseArgs("run", "--kernel", "k/bzImage", "--initrd", "i.cpio",
                "--jfr", "r.jfr").subcommand().commandSpec().userObject();
        assertEquals(Path.of("k/bzImage"), run.kernel);
        assertEquals(Path.of("i.cpio"), run.initrd);
        assertEquals(Path.of("r.jfr"), run.jfr);
        CommandLine.Model.CommandSpec spec = commandLine.getSubcommands().get("run").getCommandSpec();
        for (String name : new String[] {"--config", "--kernel", "--initrd", "--jfr"}) {
            CommandLine.Model.OptionSpec option = spec.findOption(name);
            assertEquals(Path.class, option.type(), name);
            assertEquals(1, option.converters().length, name + " has picocli's reflective converter");
        }
        StringWriter err = new StringWriter();
        commandLine.setErr(new PrintWriter(err));
        assertEquals(2, commandLine.execute("run", "--kernel", "a\0b"));
        assertTrue(err.toString().lines().findFirst().orElseThrow().contains("--kernel"), err.toString());
        assertFalse(err.toString().contains("\tat "), "no stack trace: " + err);
    }

    @Test
    void bad_values_are_usage_errors_with_one_line() {
        CommandLine commandLine = PanavisorCommand.newCommandLine();
        StringWriter err = new StringWriter();
        commandLine.setErr(new PrintWriter(err));
        commandLine.setOut(new PrintWriter(new StringWriter()));
        assertEquals(2, commandLine.execute("run", "--memory", "lots"));
        String firstLine = err.toString().lines().findFirst().orElseThrow();
        assertTrue(firstLine.contains("'lots' is not a size"), firstLine);
        assertFalse(err.toString().contains("at dev.panavisor"), "no stack trace");
        err.getBuffer().setLength(0);
        assertEquals(2, commandLine.execute("run", "--console", "vga"));
        assertTrue(err.toString().contains("--console"), err.toString());
    }

    @Test
    void outcomes_map_to_exit_statuses() {
        StringWriter err = new StringWriter();
        PrintWriter writer = new PrintWriter(err, true);
        assertEquals(0, RunCommand.exitCode(new Outcome.Stopped("reset"), null, false, writer));
        assertEquals(3, RunCommand.exitCode(new Outcome.Stopped("reset"), 3, true, writer));
        assertEquals(1, RunCommand.exitCode(new Outcome.Stopped("reset"), null, true, writer));
        assertTrue(err.toString().contains("without reporting the command's exit status"), err.toString());
        assertEquals(0, RunCommand.exitCode(new Outcome.StoppedByHost("Ctrl-A x"), null, false, writer));
        assertEquals(1, RunCommand.exitCode(new Outcome.StoppedByHost("a termination signal"), null, true, writer));
        assertTrue(err.toString().contains("panavisor: stopped before the command finished: a termination signal"),
                err.toString());
        assertEquals(121, RunCommand.exitCode(new Outcome.GuestPanic("Kernel panic - not syncing: x"), null, true,
                writer));
        assertEquals(122, RunCommand.exitCode(new Outcome.GuestCrash("triple fault"), null, false, writer));
        assertTrue(err.toString().contains("panavisor: guest crashed: triple fault"), err.toString());
        assertEquals(123, RunCommand.exitCode(new Outcome.Stalled("no VM exit for 120 s"), null, true, writer));
        assertTrue(err.toString().contains("panavisor: the guest made no progress: no VM exit for 120 s; stopped it"),
                err.toString());
    }

    @Test
    void no_seccomp_is_off_by_default_and_is_passed_into_the_lab() {
        RunCommand confined = parsed("run", "--exec", "true");
        assertFalse(confined.noSeccomp);
        assertFalse(InLab.command(EXEC_TRUE, confined).contains("--no-seccomp"));
        RunCommand free = parsed("run", "--no-seccomp", "--exec", "true");
        assertTrue(free.noSeccomp);
        assertTrue(InLab.command(EXEC_TRUE, free).contains("--no-seccomp"), InLab.command(EXEC_TRUE, free).toString());
    }

    @Test
    void the_stall_limit_is_a_duration_or_0_for_never_and_is_passed_into_the_lab() {
        RunCommand run = (RunCommand) PanavisorCommand.newCommandLine().parseArgs("run", "--stall-limit", "90s",
                "--exec", "true").subcommand().commandSpec().userObject();
        assertEquals(java.time.Duration.ofSeconds(90), run.effectiveStallLimit());
        MachineConfig config = new MachineConfig(Path.of("/k"), java.util.Optional.empty(), java.util.List.of(), "",
                MachineConfig.DEFAULT_MEMORY, 1, MachineConfig.ConsoleKind.SERIAL, java.util.Optional.of("true"));
        assertTrue(InLab.command(config, run).contains("--stall-limit=90000ms"), InLab.command(config, run).toString());
        RunCommand never = (RunCommand) PanavisorCommand.newCommandLine().parseArgs("run", "--stall-limit", "0")
                .subcommand().commandSpec().userObject();
        assertEquals(null, never.effectiveStallLimit());
        assertTrue(InLab.command(config, never).contains("--stall-limit=0"), InLab.command(config, never).toString());
        CommandLine commandLine = PanavisorCommand.newCommandLine();
        StringWriter err = new StringWriter();
        commandLine.setErr(new PrintWriter(err));
        assertEquals(2, commandLine.execute("run", "--stall-limit", "soon"));
        assertTrue(err.toString().contains("not a duration: 'soon'"), err.toString());
    }

    @Test
    void tty_and_show_console_are_off_by_default_and_are_passed_into_the_lab() {
        MachineConfig config = new MachineConfig(Path.of("/k"), java.util.Optional.empty(), java.util.List.of(), "",
                MachineConfig.DEFAULT_MEMORY, 1, MachineConfig.ConsoleKind.SERIAL, java.util.Optional.of("sh"));
        java.util.List<String> plain = InLab.command(config, parsed("run", "--exec", "sh"));
        assertFalse(plain.contains("--tty") || plain.contains("--show-console"), plain.toString());
        RunCommand tty = parsed("run", "-t", "--exec", "sh");
        assertTrue(tty.tty);
        assertTrue(InLab.command(config, tty).contains("--tty"), InLab.command(config, tty).toString());
        java.util.List<String> shown = InLab.command(config, parsed("run", "--show-console", "--exec", "sh"));
        assertTrue(shown.contains("--show-console"), shown.toString());
    }

    @Test
    void verbose_and_trace_parse_and_are_passed_into_the_lab() {
        RunCommand plain = parsed("run", "--exec", "true");
        assertFalse(plain.verbose);
        assertEquals(null, plain.trace);
        assertEquals(dev.panavisor.vmm.Watch.QUIET.events(), plain.watch().events());
        assertEquals(null, plain.watch().exits());
        java.util.List<String> inner = InLab.command(EXEC_TRUE, plain);
        assertFalse(inner.contains("--verbose") || inner.stream().anyMatch(a -> a.startsWith("--trace")),
                inner.toString());

        RunCommand watched = parsed("run", "-v", "--trace", "exits", "--exec", "true");
        assertTrue(watched.verbose);
        assertEquals(RunCommand.TraceKind.EXITS, watched.trace);
        assertTrue(watched.watch().events() != dev.panavisor.vmm.EventLog.OFF);
        assertTrue(watched.watch().exits() != null);
        inner = InLab.command(EXEC_TRUE, watched);
        assertTrue(inner.contains("--verbose") && inner.contains("--trace=exits"), inner.toString());
        assertEquals(RunCommand.TraceKind.EXITS, parsed("run", "--trace=EXITS").trace, "case-insensitive");
        assertThrows(CommandLine.ParameterException.class,
                () -> PanavisorCommand.newCommandLine().parseArgs("run", "--trace", "everything"));
    }

    @Test
    void a_vsock_cid_is_read_as_the_number_it_writes() {
        VsockConverter converter = new VsockConverter();
        assertEquals(3, converter.convert("3,vm.sock").cid());
        assertEquals(3, converter.convert("00000000003,vm.sock").cid(), "leading zeros are not digits of range");
        assertEquals(4294967294L, converter.convert("4294967294,vm.sock").cid());
        for (String bad : new String[] {"-3,vm.sock", "2,vm.sock", "4294967295,vm.sock", "99999999999,vm.sock"}) {
            CommandLine.TypeConversionException e = assertThrows(CommandLine.TypeConversionException.class,
                    () -> converter.convert(bad), bad);
            assertEquals("--vsock: the guest CID must be between 3 and 4294967294 (0-2 are reserved), got "
                    + bad.substring(0, bad.indexOf(',')), e.getMessage());
        }
    }

    @Test
    void jfr_is_passed_into_the_lab_and_a_place_it_cannot_write_is_one_line(
            @org.junit.jupiter.api.io.TempDir Path dir) {
        RunCommand recorded = parsed("run", "--jfr", dir.resolve("boot.jfr").toString(), "--exec", "true");
        java.util.List<String> inner = InLab.command(EXEC_TRUE, recorded);
        assertTrue(inner.contains("--jfr=" + dir.resolve("boot.jfr").toAbsolutePath()), inner.toString());
        StringWriter err = new StringWriter();
        CommandFailedException e = assertThrows(CommandFailedException.class,
                () -> FlightRecording.start(dir.resolve("no/such/dir/boot.jfr"), new PrintWriter(err)));
        assertTrue(e.getMessage().startsWith("--jfr " + dir.resolve("no/such/dir/boot.jfr") + ": cannot write"),
                e.getMessage());
        assertEquals("", err.toString());
    }

    @Test
    void a_recording_started_and_closed_writes_the_file(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path file = dir.resolve("run.jfr");
        StringWriter err = new StringWriter();
        try (FlightRecording recording = FlightRecording.start(file, new PrintWriter(err))) {
            assertTrue(err.toString().contains("the seccomp filter is off"), err.toString());
        }
        assertTrue(java.nio.file.Files.size(file) > 0);
        assertTrue(err.toString().contains("flight recording written to " + file), err.toString());
        jdk.jfr.consumer.RecordingFile.readAllEvents(file); // a readable recording
    }
}
