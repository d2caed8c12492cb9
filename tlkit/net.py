"""Fail fast and clearly when a hub is unreachable (never hang)."""
from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Iterator

#: seconds any socket may block while tlkit downloads something
SOCKET_TIMEOUT_S = 10.0
#: seconds for the reachability probe
PROBE_TIMEOUT_S = 3.0


class OfflineError(RuntimeError):
    """A download was needed but the host cannot be reached."""


def _fix(what: str) -> str:
    return (
        f"{what} must be downloaded, but the network is unreachable. "
        "Use the offline profile: set TLKIT_PROFILE=quick (e.g. `TLKIT_PROFILE=quick python -m tlkit run`), "
        "or run where the internet is available (e.g. Colab) for the full profile."
    )


def _resolve(host: str, port: int, timeout: float) -> list | None:
    """``getaddrinfo`` bounded by ``timeout`` (it ignores socket timeouts: a silent DNS resolver can
    block it for 10+ seconds). None when it fails or takes too long."""
    import threading

    box: dict = {}

    def work() -> None:
        try:
            box["addrs"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            box["addrs"] = None

    t = threading.Thread(target=work, daemon=True, name=f"tlkit-dns-{host}")
    t.start()
    t.join(timeout)
    return box.get("addrs")


def can_reach(host: str, port: int = 443, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when ``host`` resolves and a TCP connection to ``host:port`` opens, all within ``timeout``
    seconds (the DNS look-up included)."""
    import time

    if not isinstance(host, str) or not host:
        raise ValueError(f"host: expected a host name, got {host!r}")
    if not timeout > 0:
        raise ValueError(f"timeout: expected a positive number of seconds, got {timeout!r}")
    deadline = time.monotonic() + timeout
    addrs = _resolve(host, port, timeout)
    for family, kind, proto, _, addr in addrs or []:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            with socket.socket(family, kind, proto) as s:
                s.settimeout(left)
                s.connect(addr)
                return True
        except OSError:
            continue
    return False


def require_online(host: str, what: str, port: int = 443) -> None:
    """Raise :class:`OfflineError` within seconds when ``host`` cannot be reached."""
    if not can_reach(host, port):
        raise OfflineError(_fix(what) + f" (could not reach {host})")


def require_url(url: str, what: str) -> None:
    """:func:`require_online` for the host and port of ``url`` (``http://127.0.0.1:8000/...`` probes port
    8000; https defaults to 443, http to 80)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"url: expected an absolute URL, got {url!r}")
    require_online(parts.hostname, what, parts.port or (80 if parts.scheme == "http" else 443))


#: substrings of the messages of network failures that Keras/urllib raise as bare Exceptions. Deliberately
#: narrow: Keras's own "... is not connected to inputs" (a model-building bug) must not read as "offline".
NETWORK_MESSAGES = ("fetch failure", "connection refused", "connection reset", "connection aborted",
                    "failed to establish a new connection", "name or service not known",
                    "temporary failure in name resolution", "network is unreachable", "timed out")


def is_network_error(exc: BaseException) -> bool:
    """True when ``exc`` is a network failure (an OSError, or a message of :data:`NETWORK_MESSAGES`)."""
    if isinstance(exc, (OSError, ConnectionError)):
        return True
    text = str(exc).lower()
    return any(m in text for m in NETWORK_MESSAGES)


@contextmanager
def download_guard(what: str) -> Iterator[None]:
    """Bound every socket by :data:`SOCKET_TIMEOUT_S` and turn network failures into OfflineError."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(SOCKET_TIMEOUT_S)
    try:
        yield
    except OfflineError:
        raise
    except (OSError, ConnectionError) as exc:
        raise OfflineError(_fix(what) + f" ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # keras raises a bare Exception("URL fetch failure ...")
        if is_network_error(exc):
            raise OfflineError(_fix(what) + f" ({exc})") from exc
        raise
    finally:
        socket.setdefaulttimeout(old)
