package dev.panavisor.image;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A commented Kconfig fragment (guest-images/kernel.fragment): the options the guest kernel needs on top of
 * {@code make tinyconfig}, each with the reason it is there.
 *
 * <p>The fragment uses the syntax of a Linux {@code .config} file (Linux Documentation/kbuild/kconfig.rst):
 * {@code CONFIG_NAME=value} sets an option, {@code # CONFIG_NAME is not set} turns one off, and any other line
 * starting with {@code #} is a comment. Two rules make it a document rather than a list:
 * <ul>
 *   <li>every option belongs to a commented group: the closest non-blank line above it is a comment or another
 *       option, and a blank line ends a group; an option with no explanation is rejected;</li>
 *   <li>an option appears once.</li>
 * </ul>
 * After {@code make olddefconfig}, {@link #verify} compares the final {@code .config} with the fragment:
 * Kconfig silently drops an option whose dependencies are not met, and a kernel without, say, virtio-mmio
 * would build fine and then fail to find its root disk.
 */
public final class KernelConfigFragment {
    private static final Pattern SET = Pattern.compile("CONFIG_([A-Za-z0-9_]+)=(.*)");
    private static final Pattern NOT_SET = Pattern.compile("# CONFIG_([A-Za-z0-9_]+) is not set");

    /** One option of the fragment. {@code value} is {@code null} for "is not set". */
    public record Option(String name, String value, String reason, int line) {
        public boolean isDisabled() {
            return value == null;
        }

        /** The option as a {@code .config} line. */
        public String configLine() {
            return isDisabled() ? "# CONFIG_" + name + " is not set" : "CONFIG_" + name + "=" + value;
        }
    }

    private final List<Option> options;

    private KernelConfigFragment(List<Option> options) {
        this.options = List.copyOf(options);
    }

    public List<Option> options() {
        return options;
    }

    /**
     * Parses a fragment and checks its rules.
     *
     * @param source where the text came from, for error messages
     * @throws ImageException naming the line of the first rule broken
     */
    public static KernelConfigFragment parse(String text, String source) {
        List<Option> options = new ArrayList<>();
        Map<String, Integer> seen = new LinkedHashMap<>();
        StringBuilder comment = new StringBuilder(); // the explanation of the current group
        boolean previousWasOption = false;
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            int lineNumber = i + 1;
            String line = lines[i].strip();
            Matcher set = SET.matcher(line);
            Matcher notSet = NOT_SET.matcher(line);
            String name;
            String value;
            if (set.matches()) {
                name = set.group(1);
                value = set.group(2);
            } else if (notSet.matches()) {
                name = notSet.group(1);
                value = null;
            } else if (line.isEmpty()) {
                comment.setLength(0); // a blank line ends the group
                previousWasOption = false;
                continue;
            } else if (line.startsWith("#")) {
                if (previousWasOption) {
                    comment.setLength(0); // a comment right after options explains the next group
                }
                appendComment(comment, line);
                previousWasOption = false;
                continue;
            } else {
                throw new ImageException(source + ":" + lineNumber + ": not a config line or a comment: " + line);
            }
            if (comment.isEmpty()) {
                throw new ImageException(source + ":" + lineNumber + ": CONFIG_" + name
                        + " has no comment above it saying why the guest needs it");
            }
            previousWasOption = true;
            Integer previous = seen.putIfAbsent(name, lineNumber);
            if (previous != null) {
                throw new ImageException(source + ":" + lineNumber + ": CONFIG_" + name
                        + " is already set on line " + previous);
            }
            options.add(new Option(name, value, comment.toString(), lineNumber));
        }
        return new KernelConfigFragment(options);
    }

    private static void appendComment(StringBuilder comment, String line) {
        String text = line.substring(1).strip();
        if (text.isEmpty()) {
            return;
        }
        if (!comment.isEmpty()) {
            comment.append(' ');
        }
        comment.append(text);
    }

    /** The fragment's options as {@code .config} lines, to append to a {@code tinyconfig} .config. */
    public String configLines() {
        StringBuilder lines = new StringBuilder();
        for (Option option : options) {
            lines.append(option.configLine()).append('\n');
        }
        return lines.toString();
    }

    /**
     * Reads a {@code .config} file into name -> value ("y", "m", a number or a quoted string); options written
     * as "is not set" are absent, the same as options Kconfig never wrote.
     */
    public static Map<String, String> parseDotConfig(String dotConfig) {
        Map<String, String> values = new LinkedHashMap<>();
        for (String raw : dotConfig.split("\n")) {
            Matcher set = SET.matcher(raw.strip());
            if (set.matches()) {
                values.put(set.group(1), set.group(2));
            }
        }
        return values;
    }

    /**
     * Compares a final {@code .config} with the fragment.
     *
     * @return one human-readable line per option that did not survive, empty when all did
     */
    public List<String> verify(Map<String, String> finalConfig) {
        List<String> problems = new ArrayList<>();
        for (Option option : options) {
            String actual = finalConfig.get(option.name());
            if (option.isDisabled()) {
                if (actual != null && !actual.equals("n")) {
                    problems.add("CONFIG_" + option.name() + " should be off but is " + actual
                            + " (something selects it)");
                }
            } else if (actual == null) {
                problems.add("CONFIG_" + option.name() + "=" + option.value()
                        + " was dropped (a dependency is missing; see its 'depends on' in Kconfig)");
            } else if (!actual.equals(option.value())) {
                problems.add("CONFIG_" + option.name() + " is " + actual + ", not " + option.value());
            }
        }
        return problems;
    }
}
