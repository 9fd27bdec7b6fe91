package dev.panavisor.measure;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The JVM's own account of its memory: the output of {@code jcmd PID VM.native_memory summary} for a JVM started
 * with {@code -XX:NativeMemoryTracking=summary} (JDK's "Native Memory Tracking" guide). Kept: the committed bytes
 * of the whole JVM and of each category ("Java Heap", "Class" = metaspace and class space, "Code" = the code cache,
 * "Thread" = stacks, ...). Committed, not reserved: reserved address space costs nothing until touched.
 */
public final class NmtSummary {
    /** "-  Java Heap (reserved=65536KB, committed=16384KB)" (the first line of each category). */
    private static final Pattern CATEGORY =
            Pattern.compile("^-\\s+(.+?)\\s+\\(reserved=(\\d+)KB, committed=(\\d+)KB");
    private static final Pattern TOTAL = Pattern.compile("^Total: reserved=(\\d+)KB, committed=(\\d+)KB");

    private NmtSummary() {
    }

    /** Committed bytes by category, "Total" first; empty when the text has no NMT summary (NMT off, jcmd failed). */
    public static Map<String, Long> committed(List<String> lines) {
        Map<String, Long> committed = new LinkedHashMap<>();
        for (String line : lines) {
            String trimmed = line.strip();
            Matcher total = TOTAL.matcher(trimmed);
            if (total.find()) {
                committed.put("Total", Long.parseLong(total.group(2)) * 1024);
                continue;
            }
            Matcher category = CATEGORY.matcher(trimmed);
            if (category.find()) {
                committed.put(category.group(1), Long.parseLong(category.group(3)) * 1024);
            }
        }
        return committed;
    }
}
