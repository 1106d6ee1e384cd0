"""Loaded at start-up by any Python process with this folder on PYTHONPATH and NETGUARD_LOG set:
a name lookup or connection to anything but loopback fails, and is written to NETGUARD_LOG (so a
test sees attempts that the code under test catches and retries)."""

import ipaddress
import os
import socket

LOG = os.environ.get("NETGUARD_LOG")


def _loopback(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if host is None or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str):
    with open(LOG, "a") as fh:
        fh.write(f"pid {os.getpid()}: {what}\n")
    raise OSError(f"network disabled (only loopback): {what}")


if LOG:
    _getaddrinfo, _connect, _connect_ex = (
        socket.getaddrinfo,
        socket.socket.connect,
        socket.socket.connect_ex,
    )

    def getaddrinfo(host, *args, **kwargs):
        if not _loopback(host):
            _refuse(f"getaddrinfo {host!r}")
        return _getaddrinfo(host, *args, **kwargs)

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            _refuse(f"connect {address!r}")
        return _connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            _refuse(f"connect_ex {address!r}")
        return _connect_ex(self, address)

    socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex = (
        getaddrinfo,
        connect,
        connect_ex,
    )
