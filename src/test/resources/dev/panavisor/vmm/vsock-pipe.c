/*
 * vsock-pipe: test tooling for LinuxBootLabTest (not part of Panavisor). The default guest is busybox, which has no
 * AF_VSOCK tool, and the guest has no socat or python; so this small program, compiled by the test with the host's
 * gcc -static and added to the guest's initramfs, plays the guest side of the vsock scenarios.
 *
 *   vsock-pipe connect CID PORT   connect to CID:PORT (the host is CID 2)
 *   vsock-pipe listen PORT        accept one connection on PORT
 *
 * Then, in this order: copy stdin to the socket, shut down writing (the peer sees end of file), copy the socket to
 * stdout until the peer's end of file, close. The host side (VsockPeer) does the opposite order, so the two never
 * wait on each other with full buffers. Exit status 0, or 1 with the failing call on stderr.
 *
 * Build: gcc -static -O2 -o vsock-pipe vsock-pipe.c
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static int fail(const char *what) {
    fprintf(stderr, "vsock-pipe: %s: %s\n", what, strerror(errno));
    return 1;
}

/* Copies from one descriptor to another until end of file; -1 on an error. */
static long copy(int from, int to) {
    static char buffer[1 << 16];
    long total = 0;
    for (;;) {
        ssize_t n = read(from, buffer, sizeof buffer);
        if (n == 0) {
            return total;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(to, buffer + done, n - done);
            if (w < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return -1;
            }
            done += w;
        }
        total += n;
    }
}

int main(int argc, char **argv) {
    struct sockaddr_vm address;
    memset(&address, 0, sizeof address);
    address.svm_family = AF_VSOCK;
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0) {
        return fail("socket");
    }
    if (argc == 4 && strcmp(argv[1], "connect") == 0) {
        address.svm_cid = (unsigned) strtoul(argv[2], NULL, 10);
        address.svm_port = (unsigned) strtoul(argv[3], NULL, 10);
        if (connect(s, (struct sockaddr *) &address, sizeof address) < 0) {
            return fail("connect");
        }
    } else if (argc == 3 && strcmp(argv[1], "listen") == 0) {
        address.svm_cid = VMADDR_CID_ANY;
        address.svm_port = (unsigned) strtoul(argv[2], NULL, 10);
        if (bind(s, (struct sockaddr *) &address, sizeof address) < 0) {
            return fail("bind");
        }
        if (listen(s, 1) < 0) {
            return fail("listen");
        }
        int connection = accept(s, NULL, NULL);
        if (connection < 0) {
            return fail("accept");
        }
        close(s);
        s = connection;
    } else {
        fprintf(stderr, "usage: vsock-pipe connect CID PORT | listen PORT\n");
        return 2;
    }
    if (copy(0, s) < 0) {
        return fail("sending");
    }
    if (shutdown(s, SHUT_WR) < 0) {
        return fail("shutdown");
    }
    if (copy(s, 1) < 0) {
        return fail("receiving");
    }
    close(s);
    return 0;
}
