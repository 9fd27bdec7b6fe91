package dev.panavisor.cli;

import picocli.CommandLine;

/** Version string from the jar manifest (falls back to "dev" when run from classes). */
final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String version = PanavisorCommand.class.getPackage().getImplementationVersion();
        return new String[] {"panavisor " + (version == null ? "dev" : version),
                "JVM: " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"};
    }
}
