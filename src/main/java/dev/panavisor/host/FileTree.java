package dev.panavisor.host;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** Recursive delete for temporary and cache directories (symlinks are removed, never followed); a missing one is fine. */
public final class FileTree {
    private FileTree() {
    }

    public static void delete(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Best effort, for cleanup paths that must not throw (shutdown hooks, finally blocks). */
    public static void deleteQuietly(Path root) {
        try {
            delete(root);
        } catch (IOException e) {
            // Nothing sensible to do; the caller is already failing or exiting.
        }
    }
}
