package dev.panavisor.cli;

import dev.panavisor.vmm.MachineConfig;
import dev.panavisor.vmm.VmmException;
import java.nio.file.Path;
import picocli.CommandLine;

/** {@code --vsock CID,PATH}: the guest's vsock CID (3 or more) and the host's UNIX socket. */
final class VsockConverter implements CommandLine.ITypeConverter<MachineConfig.Vsock> {
    @Override
    public MachineConfig.Vsock convert(String value) {
        int comma = value.indexOf(',');
        if (comma < 0) {
            throw new CommandLine.TypeConversionException("expected CID,PATH (e.g. 3,/tmp/vm.vsock), got '" + value
                    + "'");
        }
        String cid = value.substring(0, comma);
        String path = value.substring(comma + 1);
        if (!cid.matches("-?[0-9]+")) {
            throw new CommandLine.TypeConversionException("the CID in '" + value + "' is not a number");
        }
        if (cid.startsWith("-") || cid.replaceFirst("^0+(?=.)", "").length() > 10) {
            // Below any CID, or beyond what a long parses safely: out of range, said as MachineConfig.Vsock says it.
            throw new CommandLine.TypeConversionException(MachineConfig.Vsock.outOfRange(cid).getMessage());
        }
        if (path.isEmpty()) {
            throw new CommandLine.TypeConversionException("empty socket path in '" + value + "'");
        }
        try {
            return new MachineConfig.Vsock(Long.parseLong(cid), Path.of(path));
        } catch (VmmException | java.nio.file.InvalidPathException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
