import socket
import time

import pytest

from tlkit import net


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_can_reach_false_fast_for_closed_port():
    t0 = time.time()
    assert not net.can_reach("127.0.0.1", _closed_port(), timeout=1)
    assert time.time() - t0 < 5


def test_can_reach_true_for_listening_socket():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        assert net.can_reach("127.0.0.1", s.getsockname()[1], timeout=1)
    finally:
        s.close()


def test_require_online_names_the_fix(monkeypatch):
    monkeypatch.setattr(net, "can_reach", lambda *a, **k: False)
    with pytest.raises(net.OfflineError, match="TLKIT_PROFILE=quick"):
        net.require_online("example.invalid", "weights")


def test_download_guard_sets_and_restores_timeout():
    before = socket.getdefaulttimeout()
    with net.download_guard("x"):
        assert socket.getdefaulttimeout() == net.SOCKET_TIMEOUT_S
    assert socket.getdefaulttimeout() == before


@pytest.mark.parametrize("exc", [OSError("down"), ConnectionError("refused"), Exception("URL fetch failure on x")])
def test_download_guard_turns_network_errors_into_offline_error(exc):
    with pytest.raises(net.OfflineError, match="TLKIT_PROFILE=quick"):
        with net.download_guard("thing"):
            raise exc


def test_download_guard_keeps_other_errors():
    with pytest.raises(KeyError):
        with net.download_guard("thing"):
            raise KeyError("not a network problem")


def test_probe_bounds_a_silent_dns_resolver(monkeypatch):
    def silent(*a, **k):
        time.sleep(8)
        raise socket.gaierror("timed out")

    monkeypatch.setattr(socket, "getaddrinfo", silent)
    t0 = time.time()
    assert not net.can_reach("hub.example.org", timeout=0.5)
    assert time.time() - t0 < 2
