package dev.panavisor.cli;

import dev.panavisor.devices.virtio.net.MacAddress;
import dev.panavisor.vmm.MachineConfig;
import picocli.CommandLine;

/**
 * {@code --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX]}: a virtio-net card on the host's TAP interface NAME, with the
 * default locally administered MAC unless one is given; {@code --net user[,mac=...]}: the same card on passt's
 * user-mode network (its port forwards come from {@code --publish}). The interface name follows Linux's rules (at most 15
 * bytes, no '/', no white space, not "." or ".."), so a bad one is a usage error here rather than an ioctl's EINVAL.
 */
final class NetConverter implements CommandLine.ITypeConverter<MachineConfig.Net> {
    @Override
    public MachineConfig.Net convert(String value) {
        String tap = null;
        boolean user = false;
        MacAddress mac = MacAddress.DEFAULT;
        for (String part : value.split(",", -1)) {
            int equals = part.indexOf('=');
            String key = equals < 0 ? part : part.substring(0, equals);
            String argument = equals < 0 ? null : part.substring(equals + 1);
            switch (key) {
                case "tap" -> tap = requireName(argument, value);
                case "user" -> {
                    if (argument != null) {
                        throw bad(value, "user takes no value (ports go in --publish HOST:GUEST)");
                    }
                    user = true;
                }
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
                default -> throw bad(value, "unknown part '" + part
                        + "' (expected tap=NAME or user, and optionally mac=MAC)");
            }
        }
        if (user && tap != null) {
            throw bad(value, "tap=NAME or user, not both");
        }
        if (user) {
            return new MachineConfig.Net(new MachineConfig.UserNetwork(java.util.List.of()), mac);
        }
        if (tap == null) {
            throw bad(value, "no backend: tap=NAME (a TAP interface) or user (passt)");
        }
        return new MachineConfig.Net(tap, mac);
    }

    private static String requireName(String name, String value) {
        if (name == null || name.isEmpty()) {
            throw bad(value, "tap needs an interface name (tap=tap0)");
        }
        if (!MachineConfig.Tap.isInterfaceName(name)) {
            throw bad(value, "'" + name + "' is not an interface name (1 to 15 letters, digits, '_', '.', ':', '-')");
        }
        return name;
    }

    private static CommandLine.TypeConversionException bad(String value, String why) {
        return new CommandLine.TypeConversionException("--net " + value + ": " + why);
    }
}
