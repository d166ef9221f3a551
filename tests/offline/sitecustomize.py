"""Block network access, except loopback, for every Python process that imports this file.

Python imports ``sitecustomize`` at start-up from the first directory on ``sys.path`` that has
one, so running with ``PYTHONPATH=tests/offline`` loads this file in the process *and in every
child process that inherits the environment*, such as the Jupyter kernels that nbval starts.
It does nothing unless the environment variable ``DLBOOK_OFFLINE=1`` is set.

When active it replaces ``socket.socket.connect``, ``connect_ex``, ``sendto`` and ``sendmsg``,
``socket.create_connection`` and ``socket.getaddrinfo`` by versions that raise
``OSError("network access blocked ...")`` for any internet (AF_INET / AF_INET6) address that
is not loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104, or the name ``localhost``). The
check runs *before* the real call, so no packet (not even a DNS query for a host name) is sent.
Loopback and UNIX sockets keep working: Jupyter kernels talk to nbclient over 127.0.0.1 (via
ZeroMQ, whose C library does not go through these functions anyway).

This is a guard against a notebook that silently downloads something (a dataset, a model, a
font), so that CI proves the book runs offline; it is not a security sandbox (C extensions and
subprocesses of other languages can still open connections).
"""
from __future__ import annotations

import os

if os.environ.get("DLBOOK_OFFLINE") == "1":
    import ipaddress
    import socket

    _INET = {socket.AF_INET, getattr(socket, "AF_INET6", socket.AF_INET)}
    _LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}

    def _is_loopback_host(host) -> bool:
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if not isinstance(host, str):
            return False
        name = host.strip().lower().rstrip(".")
        if name in _LOCAL_NAMES:
            return True
        try:
            ip = ipaddress.ip_address(name.split("%", 1)[0].strip("[]"))   # drop an IPv6 scope id
        except ValueError:
            return False        # any other host name: resolving it would already be a DNS query
        mapped = getattr(ip, "ipv4_mapped", None)
        return ip.is_loopback or (mapped is not None and mapped.is_loopback)

    def _blocked(what, address):
        return OSError(f"network access blocked (DLBOOK_OFFLINE=1, tests/offline/sitecustomize.py): "
                       f"{what} to {address!r}; only loopback (127.0.0.0/8, ::1, localhost) is allowed")

    def _check(sock, what, address):
        if sock.family in _INET:
            host = address[0] if isinstance(address, tuple) and address else address
            if not _is_loopback_host(host):
                raise _blocked(what, address)

    _connect = socket.socket.connect
    _connect_ex = socket.socket.connect_ex
    _sendto = socket.socket.sendto
    _sendmsg = socket.socket.sendmsg
    _create_connection = socket.create_connection
    _getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        _check(self, "connect", address)
        return _connect(self, address)

    def connect_ex(self, address):
        _check(self, "connect_ex", address)
        return _connect_ex(self, address)

    def sendto(self, data, *args):
        _check(self, "sendto", args[-1])           # sendto(data, address) or sendto(data, flags, address)
        return _sendto(self, data, *args)

    def sendmsg(self, buffers, *args):
        if len(args) >= 3 and args[2] is not None:  # sendmsg(buffers, ancdata, flags, address)
            _check(self, "sendmsg", args[2])
        return _sendmsg(self, buffers, *args)

    def create_connection(address, *args, **kwargs):
        if not _is_loopback_host(address[0]):
            raise _blocked("create_connection", address)
        return _create_connection(address, *args, **kwargs)

    def getaddrinfo(host, port, *args, **kwargs):
        # a numeric address resolves locally (connect checks it); a name other than localhost
        # would need a DNS query
        if host is not None and not _is_loopback_host(host):
            try:
                ipaddress.ip_address(str(host.decode() if isinstance(host, bytes) else host).split("%", 1)[0])
            except ValueError:
                raise _blocked("getaddrinfo (DNS lookup)", host) from None
        return _getaddrinfo(host, port, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.sendto = sendto
    socket.socket.sendmsg = sendmsg
    socket.create_connection = create_connection
    socket.getaddrinfo = getaddrinfo
    socket.DLBOOK_OFFLINE = True      # a marker the tests (and a curious reader) can check
