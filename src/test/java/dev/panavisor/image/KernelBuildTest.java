package dev.panavisor.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How {@link KernelBuild} puts an unpacked source tree in place when two builds unpack the same version. */
class KernelBuildTest {
    @TempDir
    Path dir;

    @Test
    void an_unpacked_tree_is_moved_into_place() throws IOException {
        Path tree = unpacked("unpack-1", "mine");
        Path place = dir.resolve("linux-source-6.1_6.1.158-1");
        KernelBuild.moveUnlessThere(tree, place);
        assertEquals("mine", Files.readString(place.resolve("Makefile")));
    }

    /** The second of two builds finds the first's tree in place: it keeps that one, no error (was ENOTEMPTY). */
    @Test
    void a_tree_another_build_put_in_place_first_is_kept() throws IOException {
        Path place = dir.resolve("linux-source-6.1_6.1.158-1");
        KernelBuild.moveUnlessThere(unpacked("unpack-1", "first"), place);
        KernelBuild.moveUnlessThere(unpacked("unpack-2", "second"), place);
        assertEquals("first", Files.readString(place.resolve("Makefile")));
    }

    @Test
    void a_file_in_the_way_is_still_an_error() throws IOException {
        Path place = Files.writeString(dir.resolve("linux-source-6.1_6.1.158-1"), "not a tree");
        assertThrows(IOException.class, () -> KernelBuild.moveUnlessThere(unpacked("unpack-1", "mine"), place));
    }

    private Path unpacked(String temporary, String text) throws IOException {
        Path tree = Files.createDirectories(dir.resolve(temporary).resolve("linux-source-6.1"));
        Files.writeString(tree.resolve("Makefile"), text);
        return tree;
    }
}
