package dev.panavisor.cli;

import dev.panavisor.devices.virtio.net.MacAddress;
import dev.panavisor.vmm.MachineConfig;
import picocli.CommandLine;

/**
 * {@code --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX]}: a virtio-net card on the host's TAP interface NAME, with the
 * default locally administered MAC unless one is given. The interface name follows Linux's rules (at most 15
 * bytes, no '/', no white space, not "." or ".."), so a bad one is a usage error here rather than an ioctl's EINVAL.
 */
final class NetConverter implements CommandLine.ITypeConverter<MachineConfig.Net> {
    @Override
    public MachineConfig.Net convert(String value) {
        String tap = null;
        MacAddress mac = MacAddress.DEFAULT;
        for (String part : value.split(",", -1)) {
            int equals = part.indexOf('=');
            String key = equals < 0 ? part : part.substring(0, equals);
            String argument = equals < 0 ? null : part.substring(equals + 1);
            switch (key) {
                case "tap" -> tap = requireName(argument, value);
                case "mac" -> {
                    if (argument == null) {
                        throw bad(value, "mac needs a value (mac=02:00:00:00:00:01)");
                    }
                    try {
                        mac = MacAddress.parse(argument);
                    } catch (IllegalArgumentException e) {
                        throw bad(value, e.getMessage());
                    }
                }
                default -> throw bad(value, "unknown part '" + part + "' (expected tap=NAME and optionally mac=MAC)");
            }
        }
        if (tap == null) {
            throw bad(value, "no tap=NAME (the only backend is a TAP interface)");
        }
        return new MachineConfig.Net(tap, mac);
    }

    private static String requireName(String name, String value) {
        if (name == null || name.isEmpty()) {
            throw bad(value, "tap needs an interface name (tap=tap0)");
        }
        if (name.length() > 15 || !name.matches("[A-Za-z0-9_.:-]+") || name.equals(".") || name.equals("..")) {
            throw bad(value, "'" + name + "' is not an interface name (1 to 15 letters, digits, '_', '.', ':', '-')");
        }
        return name;
    }

    private static CommandLine.TypeConversionException bad(String value, String why) {
        return new CommandLine.TypeConversionException("--net " + value + ": " + why);
    }
}
