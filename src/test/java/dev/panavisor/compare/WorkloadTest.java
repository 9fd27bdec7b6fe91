package dev.panavisor.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class WorkloadTest {
    @Test
    void the_script_output_gives_kernel_seccomp_and_timings() {
        String output = String.join("\n", "cmp-kernel 6.1.119", "cmp-seccomp 2", "cmp-io direct", "cmp-time cpu",
                "real\t0m 1.50s", "user\t0m 1.40s", "cmp-time write", "32+0 records in", "real\t0m 0.50s",
                "cmp-time read", "real\t1m 0.00s",
                "io-load: test=randread jobs=1 bytes=40960 ops=10000 seconds=2.000000 direct=1",
                "io-load: test=randwrite jobs=1 bytes=4096 ops=3000 seconds=1.500000 direct=0", "cmp-done");
        Results.Workload w = Workload.parse(output, 32, 16);
        assertEquals("6.1.119", w.kernel());
        assertEquals(2, w.seccomp());
        assertEquals("direct", w.ioMode());
        assertEquals(1.5, w.cpuSeconds());
        assertEquals(64.0, w.writeMiBps());
        assertEquals(32 / 60.0, w.readMiBps(), 1e-9);
        assertEquals(5000.0, w.randReadIops(), 1e-9);
        assertEquals(2000.0, w.randWriteIops(), 1e-9);
        assertTrue(Double.isNaN(w.netInMiBps()) && Double.isNaN(w.netOutMiBps()), "no network lines");
    }

    @Test
    void network_timings_give_rates_and_a_failed_transfer_gives_none() {
        String output = String.join("\n", "cmp-time write", "real\t0m 2.00s", "cmp-time net-in",
                "real\t0m 0.50s", "cmp-time net-out", "wget: can't connect to remote host: Connection refused",
                "Command exited with non-zero status 1", "real\t0m 0.01s", "cmp-time failed", "cmp-done");
        Results.Workload w = Workload.parse(output, 32, 16);
        assertEquals(16.0, w.writeMiBps());
        assertEquals(32.0, w.netInMiBps(), 1e-9);
        assertTrue(Double.isNaN(w.netOutMiBps()), "the failed upload's 10 ms is not a rate");
    }

    @Test
    void missing_figures_are_not_numbers_and_a_missing_seccomp_line_is_unknown() {
        Results.Workload w = Workload.parse("cmp-kernel 6.1\ncmp-seccomp \n", 32, 16);
        assertEquals(-1, w.seccomp());
        assertTrue(Double.isNaN(w.cpuSeconds()));
        assertTrue(Double.isNaN(w.randReadIops()) && Double.isNaN(w.randWriteIops()), "io-load said nothing");
        assertEquals(3200.0, Workload.rate(32, 0.0), "faster than the 10 ms clock counts as 10 ms");
        assertTrue(Double.isNaN(Workload.rate(32, null)), "not timed");
    }

    @Test
    void the_vm_script_fits_the_kernel_command_line() {
        String script = Workload.command(Workload.Kind.WORK, true,
                new Workload.Io("/dev/vda", 256, 5, 200_000, "/bench/io-load", NetworkLinks.serverFor(Peer.QEMU), 64,
                        "/tmp/net.bin"));
        int encoded = Base64.getEncoder().encode(script.getBytes(StandardCharsets.UTF_8)).length;
        assertTrue(encoded < 1500, "x86 COMMAND_LINE_SIZE is 2048 with the rest of the line: " + encoded);
        assertTrue(script.contains("/bench/io-load $f randread 256 5 1\n/bench/io-load $f randwrite 256 5 1\n"),
                script);
        assertTrue(script.contains("u=http://198.18.1.1:8080; n=/tmp/net.bin\n"), script);
        assertTrue(script.contains("time wget -q -O /dev/null $u/net.bin || eval $F\n"), script);
        assertTrue(script.contains("time wget -q -O /dev/null --post-file $n $u/cgi-bin/sink || eval $F\n"), script);
        Workload.Io none = new Workload.Io("", 1, 1, 1, "", "", 1, "");
        assertTrue(!Workload.command(Workload.Kind.WORK, false, none).contains("wget"), "no link, no network lines");
        assertEquals("true", Workload.command(Workload.Kind.TRUE, true, none));
        assertEquals("echo cmp-ready; exec sleep 1000000", Workload.command(Workload.Kind.IDLE, false, none));
    }
}
