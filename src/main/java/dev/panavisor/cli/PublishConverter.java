package dev.panavisor.cli;

import dev.panavisor.vmm.MachineConfig;
import dev.panavisor.vmm.VmmException;
import picocli.CommandLine;

/** {@code --publish HOST:GUEST}: a TCP port forward for {@code --net user} (passt's {@code -t HOST:GUEST}). */
final class PublishConverter implements CommandLine.ITypeConverter<MachineConfig.PortForward> {
    @Override
    public MachineConfig.PortForward convert(String value) {
        if (!value.matches("[0-9]{1,5}:[0-9]{1,5}")) {
            throw new CommandLine.TypeConversionException("--publish " + value
                    + ": expected HOST:GUEST, two TCP port numbers (e.g. 8080:80)");
        }
        String[] ports = value.split(":");
        try {
            return new MachineConfig.PortForward(Integer.parseInt(ports[0]), Integer.parseInt(ports[1]));
        } catch (VmmException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
