package dev.panavisor.compare;

import java.util.List;
import java.util.Map;

/** Synthetic results of a run where the host, Panavisor and runc ran and podman did not. */
public final class SampleResults {
    private SampleResults() {
    }

    public static Results create() {
        Results.Settings settings = new Results.Settings(true, 3, 2, 2, 1L << 30, 180_000, 3, 32, 2, 50_000, 256,
                16);
        return new Results("inside the nested lab (test)", "6.1.0-test", "2026-12-01T00:00:00Z", settings,
                "HTTP over each instance's link (test)", List.of(
                peer("host", 5, 2, new Results.Workload("6.1.0-test", 0, "buffered", 1.0, 100, 400, 8000, 4000,
                        900, 800), Map.of()),
                peer("panavisor", 20_000, 120, new Results.Workload("6.1.119", -1, "direct", 1.2, 50, 80, 2000, 400,
                        40, 30), Map.of("Total", 90L << 20, "Java Heap", 40L << 20)),
                peer("runc", 300, 8, new Results.Workload("6.1.0-test", 0, "buffered", 1.1, 90, 390, 7600, 3800,
                        700, 600), Map.of()),
                Results.PeerResult.skipped(Peer.PODMAN, "podman is not installed (Debian package podman)")));
    }

    private static Results.PeerResult peer(String id, double startMs, double mib, Results.Workload workload,
            Map<String, Long> jvm) {
        List<Double> starts = List.of(startMs, startMs * 1.1, startMs * 1.3);
        return new Results.PeerResult(id, true, "", "route of " + id, new Results.Size(2_000_000, 10_000_000,
                "image", "runtime"), new Results.Start(starts, starts.stream().map(s -> s + 10).toList(),
                starts, starts, 0.5), new Results.Memory(mib * 1048576, mib * 2 * 1048576, 0.5, jvm,
                id.equals("panavisor") ? 2 : -1),
                new Results.Density(2, mib * 2 * 1048576, 12.5, "the instance count (2)"), workload);
    }
}
