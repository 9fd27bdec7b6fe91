/*
 * udp-send: test tooling for LinuxBootLabTest (not part of Panavisor). busybox has no tool that sends datagrams
 * without waiting for answers, so this small program, compiled by the test with the host's gcc -static and added to
 * the guest's initramfs, plays the guest of the "passt-stall" scenario: a burst of frames larger than the socket
 * between Panavisor and a passt that has stopped reading can hold.
 *
 *   udp-send ADDRESS PORT COUNT SIZE   send COUNT datagrams of SIZE bytes (at most 65,507) to ADDRESS:PORT
 *
 * A datagram the guest's stack refuses is not retried. The socket blocks while the card's queue and the socket's
 * send buffer are full, so against a passt that stopped reading the program waits there for good, which is what the
 * scenario wants. Otherwise it prints how many went out; exit status 0, or 1 with the failing call on stderr, 2 for
 * bad arguments.
 *
 * Build: gcc -static -O2 -o udp-send udp-send.c
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
    static char payload[65507];
    if (argc != 5) {
        fprintf(stderr, "usage: udp-send ADDRESS PORT COUNT SIZE\n");
        return 2;
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((unsigned short) atoi(argv[2]))};
    long count = atol(argv[3]);
    long size = atol(argv[4]);
    if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1 || count < 0 || size < 0 || size > (long) sizeof payload) {
        fprintf(stderr, "udp-send: bad arguments\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        fprintf(stderr, "udp-send: socket: %s\n", strerror(errno));
        return 1;
    }
    long sent = 0;
    for (long i = 0; i < count; i++) {
        if (sendto(fd, payload, (size_t) size, 0, (struct sockaddr *) &to, sizeof to) == size) {
            sent++;
        }
    }
    printf("udp-send: %ld of %ld sent\n", sent, count);
    return 0;
}
