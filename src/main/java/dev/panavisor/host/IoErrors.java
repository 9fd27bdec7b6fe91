package dev.panavisor.host;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * An I/O error as words for a one-line message. The JDK's file-system exceptions often carry only the path as their
 * message ({@code AccessDeniedException: /ro/images}), which says where but not what went wrong.
 */
public final class IoErrors {
    private IoErrors() {
    }

    /** "PATH: permission denied", "PATH: does not exist", the reason the system gave, or the message itself. */
    public static String describe(IOException e) {
        if (!(e instanceof FileSystemException fs) || fs.getFile() == null) {
            return String.valueOf(e.getMessage());
        }
        String what = fs.getOtherFile() == null ? fs.getFile() : fs.getFile() + " -> " + fs.getOtherFile();
        if (fs.getReason() != null) {
            return what + ": " + fs.getReason();
        }
        return what + ": " + switch (fs) {
            case AccessDeniedException denied -> "permission denied";
            case NoSuchFileException missing -> "does not exist";
            case FileAlreadyExistsException exists -> "already exists";
            case DirectoryNotEmptyException notEmpty -> "directory not empty";
            case NotDirectoryException notDirectory -> "not a directory";
            default -> fs.getClass().getSimpleName();
        };
    }
}
