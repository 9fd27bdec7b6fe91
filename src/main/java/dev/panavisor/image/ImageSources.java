package dev.panavisor.image;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The hand-written inputs of a guest image, from the project's {@code guest-images/} directory: the kernel
 * config fragment, the {@code /init} script and the boot marker's C source.
 *
 * <p>The build packs {@code guest-images/} into the jar (as resources under {@code dev/panavisor/image/guest/}),
 * so an installed {@code panavisor} builds the same image as a checkout; {@link #fromDirectory} reads an edited
 * copy instead (e.g. {@code panavisor image build --sources guest-images}).
 */
public record ImageSources(String kernelFragment, byte[] init, String bootMarkerSource, String origin) {
    public static final String FRAGMENT_FILE = "kernel.fragment";
    public static final String INIT_FILE = "init";
    public static final String BOOT_MARKER_FILE = "boot-marker.c";
    private static final String RESOURCE_DIRECTORY = "/dev/panavisor/image/guest/";

    public ImageSources {
        init = init.clone();
    }

    @Override
    public byte[] init() {
        return init.clone();
    }

    /** The sources packed into Panavisor itself. */
    public static ImageSources bundled() {
        return new ImageSources(
                new String(resource(FRAGMENT_FILE), StandardCharsets.UTF_8),
                resource(INIT_FILE),
                new String(resource(BOOT_MARKER_FILE), StandardCharsets.UTF_8),
                "bundled guest-images");
    }

    /** The sources in a directory laid out like {@code guest-images/}. */
    public static ImageSources fromDirectory(Path directory) {
        try {
            return new ImageSources(
                    Files.readString(directory.resolve(FRAGMENT_FILE)),
                    Files.readAllBytes(directory.resolve(INIT_FILE)),
                    Files.readString(directory.resolve(BOOT_MARKER_FILE)),
                    directory.toString());
        } catch (IOException e) {
            throw new ImageException("cannot read guest image sources in " + directory + ": "
                    + dev.panavisor.host.IoErrors.describe(e), e);
        }
    }

    /** The kernel fragment, parsed and checked. */
    public KernelConfigFragment parsedFragment() {
        return KernelConfigFragment.parse(kernelFragment, origin + "/" + FRAGMENT_FILE);
    }

    private static byte[] resource(String name) {
        try (InputStream in = ImageSources.class.getResourceAsStream(RESOURCE_DIRECTORY + name)) {
            if (in == null) {
                throw new ImageException("the Panavisor build is missing its guest image source " + name
                        + " (resource " + RESOURCE_DIRECTORY + name + ")");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new ImageException("cannot read the bundled guest image source " + name, e);
        }
    }
}
