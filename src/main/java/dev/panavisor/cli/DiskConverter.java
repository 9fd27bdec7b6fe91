package dev.panavisor.cli;

import dev.panavisor.vmm.MachineConfig;
import java.nio.file.Path;
import picocli.CommandLine;

/** {@code --disk PATH[,ro]}: a disk image, read-write unless ",ro" follows. */
final class DiskConverter implements CommandLine.ITypeConverter<MachineConfig.Disk> {
    @Override
    public MachineConfig.Disk convert(String value) {
        String path = value;
        boolean readOnly = false;
        int comma = value.lastIndexOf(',');
        if (comma >= 0) {
            String option = value.substring(comma + 1);
            if (option.equals("ro")) {
                readOnly = true;
            } else if (!option.equals("rw")) {
                throw new CommandLine.TypeConversionException(
                        "unknown disk option '" + option + "' in '" + value + "' (expected PATH, PATH,ro or PATH,rw)");
            }
            path = value.substring(0, comma);
        }
        if (path.isEmpty()) {
            throw new CommandLine.TypeConversionException("empty disk path in '" + value + "'");
        }
        return new MachineConfig.Disk(Path.of(path), readOnly);
    }
}
