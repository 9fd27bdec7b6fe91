package dev.panavisor.boot;

import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A child JVM's main for {@link KernelImageTest}: prints a marker, then reads the kernel file {@code args[1]} as
 * {@link KernelImage#read} does ({@code args[0]} = {@code read}), or maps it as a {@code MappedByteBuffer}
 * ({@code map-buffer}: the way it read it before), so the test can see which classes each loads after the marker.
 */
final class KernelReadMain {
    static final String MARKER = "--- reading the kernel";

    private KernelReadMain() {
    }

    public static void main(String[] args) throws Exception {
        Path kernel = Path.of(args[1]);
        System.out.println(MARKER);
        System.out.flush();
        if (args[0].equals("read")) {
            System.out.println("format " + KernelImage.read(kernel).format());
        } else {
            try (FileChannel channel = FileChannel.open(kernel, StandardOpenOption.READ)) {
                System.out.println("mapped " + channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size()));
            }
        }
    }
}
