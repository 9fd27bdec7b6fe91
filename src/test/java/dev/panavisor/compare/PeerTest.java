package dev.panavisor.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PeerTest {
    @Test
    void only_lists_keep_the_host_floor_and_peer_order() {
        assertEquals(List.of(Peer.HOST, Peer.PANAVISOR, Peer.RUNC), Peer.parseList("runc, panavisor,runc"));
        assertEquals(List.of(Peer.values()), Peer.parseList(null));
        assertEquals(List.of(Peer.HOST, Peer.BWRAP), Peer.parseList("BWRAP"));
    }

    @Test
    void an_unknown_peer_is_named_with_the_known_ones() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Peer.parseList("runc,lxc"));
        assertTrue(e.getMessage().contains("'lxc'"), e.getMessage());
        assertTrue(e.getMessage().contains("podman"), e.getMessage());
    }
}
