package dev.panavisor.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * Parses memory sizes the way QEMU and Firecracker users write them: a bare number means MiB; a suffix K, M, G
 * (optionally followed by "iB" or "B") means KiB, MiB, GiB. Binary units throughout: 1G = 1024 MiB. A "B" with
 * no K, M or G before it is refused: "512B" read as 512 MiB would be a million times what was written.
 */
final class SizeConverter implements CommandLine.ITypeConverter<Long> {
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(?:([KMG])(?:I?B)?)?");

    @Override
    public Long convert(String value) {
        return parse(value);
    }

    static long parse(String value) {
        Matcher m = SIZE.matcher(value.strip().toUpperCase(Locale.ROOT));
        if (!m.matches()) {
            throw new CommandLine.TypeConversionException(
                    "'" + value + "' is not a size (examples: 256, 256M, 1G, 524288K)");
        }
        long number;
        try {
            number = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is too large");
        }
        int shift = switch (m.group(2) == null ? "M" : m.group(2)) {
            case "K" -> 10;
            case "M" -> 20;
            default -> 30;
        };
        if (number > (Long.MAX_VALUE >> shift)) {
            throw new CommandLine.TypeConversionException("'" + value + "' is too large");
        }
        return number << shift;
    }
}
