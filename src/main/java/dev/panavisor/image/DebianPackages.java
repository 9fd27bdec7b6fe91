package dev.panavisor.image;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The Debian packages an image build takes its inputs from (linux-source-6.1, busybox-static) and its tools
 * from (gcc, make, flex, mke2fs, ...): their installed versions, and installing the missing ones.
 *
 * <p>Installing needs root; as another user, or with PANAVISOR_NO_INSTALL=1 ({@link PackageInstalls}), the build
 * stops with the one apt-get command to run.
 */
public final class DebianPackages {
    private final Consumer<String> progress;
    private final boolean root;
    private final boolean installForbidden;

    public DebianPackages(Consumer<String> progress) {
        this(progress, "root".equals(System.getProperty("user.name")), PackageInstalls.forbidden());
    }

    DebianPackages(Consumer<String> progress, boolean root) {
        this(progress, root, false);
    }

    DebianPackages(Consumer<String> progress, boolean root, boolean installForbidden) {
        this.progress = progress;
        this.root = root;
        this.installForbidden = installForbidden;
    }

    /** The installed version of a package ("6.1.158-1"), or empty when it is not installed. */
    public Optional<String> installedVersion(String name) {
        StringBuilder out = new StringBuilder();
        int status;
        try {
            status = HostCommand.of("dpkg-query", "-W", "-f=${Status}\\t${Version}", name).run(out::append);
        } catch (ImageException e) {
            throw new ImageException("cannot ask dpkg which packages are installed (" + e.getMessage()
                    + "); guest images are built from Debian packages", e);
        }
        String[] fields = out.toString().strip().split("\t");
        // ${Status} is "want flag state": "install ok installed" (or "hold ok installed") when usable.
        if (status != 0 || fields.length != 2 || !fields[0].endsWith(" ok installed")) {
            return Optional.empty();
        }
        return Optional.of(fields[1]);
    }

    /** The installed version of {@code name}, installing it (and nothing else) first if needed. */
    public String require(String name, String purpose) {
        ensureInstalled(List.of(name), purpose);
        return installedVersion(name).orElseThrow(
                () -> new ImageException("package " + name + " is still not installed after apt-get install"));
    }

    /** Installs whichever of {@code names} are missing, or explains how to when not root. */
    public void ensureInstalled(List<String> names, String purpose) {
        List<String> missing = new ArrayList<>();
        for (String name : names) {
            if (installedVersion(name).isEmpty()) {
                missing.add(name);
            }
        }
        if (missing.isEmpty()) {
            return;
        }
        String command = "apt-get install -y " + String.join(" ", missing);
        if (installForbidden) {
            throw new ImageException(purpose + " needs the Debian packages " + String.join(", ", missing)
                    + "; " + PackageInstalls.NO_INSTALL_VARIABLE + "=1 forbids installing them: " + command);
        }
        if (!root) {
            throw new ImageException(purpose + " needs the Debian packages " + String.join(", ", missing)
                    + "; install them as root: " + command);
        }
        progress.accept("installing the Debian packages " + String.join(" ", missing) + " with apt-get (" + purpose
                + "; " + PackageInstalls.NO_INSTALL_VARIABLE + "=1 prevents this)");
        List<String> install = new ArrayList<>(List.of("apt-get", "install", "-y", "-q", "--no-install-recommends"));
        install.addAll(missing);
        HostCommand installCommand = new HostCommand(install, null,
                java.util.Map.of("DEBIAN_FRONTEND", "noninteractive"));
        StringBuilder log = new StringBuilder();
        if (installCommand.run(line -> log.append(line).append('\n')) != 0) {
            // A fresh machine often has no package lists yet: fetch them once and try again.
            HostCommand.of("apt-get", "update", "-q").run(line -> { });
            log.setLength(0);
            if (installCommand.run(line -> log.append(line).append('\n')) != 0) {
                throw new ImageException(command + " failed: " + lastLines(log.toString(), 3));
            }
        }
    }

    static String lastLines(String text, int count) {
        List<String> lines = text.strip().lines().toList();
        return String.join(" | ", lines.subList(Math.max(0, lines.size() - count), lines.size()));
    }
}
