package dev.panavisor.vmm;

import dev.panavisor.measure.NmtSummary;
import dev.panavisor.measure.Smaps;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.management.ObjectName;

/**
 * {@code run --stats}: where the VMM's own memory goes. The first line is Firecracker's measure of a VMM's
 * overhead, the process's resident set minus the guest memory's resident pages ({@link Smaps}), split into the
 * anonymous pages and the files' pages (which the page cache shares and can reclaim); the next says how
 * much of it the JVM's managed areas hold (heap, metaspace, code cache, from the platform MXBeans); when the JVM
 * runs with {@code -XX:NativeMemoryTracking=summary}, the JVM's own native-memory breakdown follows, largest
 * first (the {@code VM.native_memory summary} diagnostic command, read in-process).
 */
public final class MemoryReport {
    private static final double MIB = 1024.0 * 1024.0;

    private MemoryReport() {
    }

    /** The report's lines, for a VM whose overhead was just measured. */
    public static List<String> lines(Smaps.Overhead overhead) {
        List<String> lines = new ArrayList<>();
        lines.add(String.format(Locale.ROOT, "memory: VMM overhead %.1f MiB resident apart from guest memory "
                        + "(process RSS %.1f MiB, guest memory's pages %.1f MiB); PSS %.1f MiB; anonymous %.1f MiB, "
                        + "files' pages %.1f MiB", overhead.vmmRss() / MIB, overhead.rss() / MIB,
                overhead.guestRss() / MIB, overhead.vmmPss() / MIB, overhead.vmmAnonymous() / MIB,
                (overhead.vmmRss() - overhead.vmmAnonymous()) / MIB));
        lines.add(jvmAreas());
        String nmt = nativeMemorySummary();
        if (nmt != null) {
            lines.add(nativeMemoryLine(NmtSummary.committed(nmt.lines().toList())));
        }
        return lines;
    }

    private static String jvmAreas() {
        long heapCommitted = 0;
        long heapUsed = 0;
        long metaspace = 0;
        long classSpace = 0;
        long codeCache = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            long committed = pool.getUsage().getCommitted();
            String name = pool.getName();
            if (pool.getType() == MemoryType.HEAP) {
                heapCommitted += committed;
                heapUsed += pool.getUsage().getUsed();
            } else if (name.equals("Metaspace")) {
                metaspace += committed;
            } else if (name.equals("Compressed Class Space")) {
                classSpace += committed;
            } else if (name.startsWith("CodeHeap") || name.equals("CodeCache")) {
                codeCache += committed;
            }
        }
        return String.format(Locale.ROOT, "memory: JVM heap %.1f MiB committed (%.1f used), metaspace %.1f MiB "
                        + "(of it class space %.1f), code cache %.1f MiB, %d threads", heapCommitted / MIB,
                heapUsed / MIB, metaspace / MIB, classSpace / MIB, codeCache / MIB,
                ManagementFactory.getThreadMXBean().getThreadCount());
    }

    /** NMT's summary from this JVM, or null when native memory tracking is off. */
    static String nativeMemorySummary() {
        try {
            Object text = ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                    new Object[] {new String[] {"summary"}}, new String[] {String[].class.getName()});
            String summary = String.valueOf(text);
            return summary.contains("Total: reserved=") ? summary : null;
        } catch (Exception e) { // JMX reports a missing command or MBean with several checked types
            return null;
        }
    }

    /** "memory: JVM native memory tracking: T MiB committed; Java Heap h, Class c, ..." (largest first, 8 areas). */
    static String nativeMemoryLine(Map<String, Long> committed) {
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                "memory: JVM native memory tracking: %.1f MiB committed;", committed.getOrDefault("Total", 0L) / MIB));
        committed.entrySet().stream().filter(e -> !e.getKey().equals("Total"))
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(8)
                .forEach(e -> line.append(String.format(Locale.ROOT, " %s %.1f,", e.getKey(), e.getValue() / MIB)));
        line.setLength(line.length() - 1);
        return line.toString();
    }
}
