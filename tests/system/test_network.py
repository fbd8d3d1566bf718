"""System tests for the network guard (lib/net) with unmodified clients.

Each test runs a client under tests/net/net_harness: new network and mount
namespaces holding only loopback, /etc/resolv.conf pointing at the guard's
DNS stub, and the seccomp notification rules lib/sandbox installs for
network syscalls. Servers are real (Python's http.server, mosquitto) and
listen on 127.0.0.1 in the host namespace, which the app can reach only
through the guard. Host names resolve through the harness's fixed table,
never a real resolver; nothing leaves loopback.

Needs root (namespaces, seccomp listeners, pidfd_getfd).
"""
import contextlib
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

HARNESS = os.environ.get("RP_NET_HARNESS")
PY = "/usr/bin/python3"

pytestmark = [
    pytest.mark.skipif(not HARNESS, reason="RP_NET_HARNESS not set (run via meson test)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: namespaces and seccomp listeners"),
]

STATS = re.compile(r"net_harness: allowed=(\d+) refused=(\d+) dns_answered=(\d+) "
                   r"dns_refused=(\d+) last_refused='([^']*)'")


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Run:
    def __init__(self, p):
        self.code = p.returncode
        self.out = p.stdout
        self.err = p.stderr
        m = STATS.search(p.stderr)
        assert m, f"no stats line:\n{p.stderr}"
        self.allowed, self.refused, self.dns_answered, self.dns_refused = map(int, m.groups()[:4])
        self.last_refused = m.group(5)

    def __repr__(self):
        return f"<exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}>"


@pytest.fixture
def app(tmp_path):
    """app(capabilities, cmd, hosts={}) runs cmd under the guard."""
    def run(caps, cmd, hosts=None, timeout=60, extra=()):
        manifest = {
            "SchemaVersion": 1, "Name": "nettest",
            "ComponentId": "11111111-2222-3333-4444-555555555555",
            "EntryPoint": "/bin/app", "CmdArgs": [],
            "Capabilities": caps, "ApplicationType": "Default",
        }
        mpath = tmp_path / "app_manifest.json"
        mpath.write_text(json.dumps(manifest))
        args = [HARNESS, str(mpath)]
        for name, addr in (hosts or {}).items():
            args += ["--host", f"{name}={addr}"]
        args += list(extra)
        p = subprocess.run(args + ["--"] + cmd, capture_output=True, text=True,
                           timeout=timeout)
        return Run(p)
    return run


@contextlib.contextmanager
def http_server(tmp_path, body="hello from the host\n"):
    """A Python http.server on 127.0.0.1; yields (port, log path)."""
    root = tmp_path / f"www{free_port()}"
    root.mkdir()
    (root / "index.html").write_text(body)
    port = free_port()
    log = root / "log"
    with open(log, "w") as lf:
        p = subprocess.Popen([PY, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                             cwd=root, stdout=lf, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            time.sleep(0.05)
        yield port, log
    finally:
        p.terminate()
        p.wait()


def requests_seen(log):
    return log.read_text().count('"GET ')


def need(tool):
    if not shutil.which(tool):
        pytest.skip(f"{tool} not installed")


# ---- what must work ----

def test_curl_allowed_name(app, tmp_path):
    need("curl")
    with http_server(tmp_path) as (port, log):
        r = app({"AllowedConnections": [f"allowed.test:{port}"]},
                ["curl", "-sS", "--max-time", "10", f"http://allowed.test:{port}/index.html"],
                hosts={"allowed.test": "127.0.0.1"})
        assert r.code == 0, r
        assert r.out == "hello from the host\n"
        assert r.dns_answered >= 1 and r.refused == 0, r
        assert requests_seen(log) == 1


def test_curl_wildcard_and_literal_address(app, tmp_path):
    need("curl")
    with http_server(tmp_path) as (port, _):
        r = app({"AllowedConnections": ["*.devices.test"]},
                ["curl", "-sS", "--max-time", "10", f"http://hub7.devices.test:{port}/"],
                hosts={"hub7.devices.test": "127.0.0.1"})
        assert r.code == 0 and "hello" in r.out, r
        r = app({"AllowedConnections": [f"127.0.0.1:{port}"]},
                ["curl", "-sS", "--max-time", "10", f"http://127.0.0.1:{port}/"])
        assert r.code == 0 and "hello" in r.out, r


def test_mosquitto_pub_reaches_broker(app, tmp_path):
    need("mosquitto")
    need("mosquitto_pub")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            time.sleep(0.05)
        sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t",
                                "rampart/test", "-C", "1", "-W", "20"],
                               stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        r = app({"AllowedConnections": [f"broker.test:{port}"]},
                ["mosquitto_pub", "-h", "broker.test", "-p", str(port), "-t", "rampart/test",
                 "-m", "reading=42"],
                hosts={"broker.test": "127.0.0.1"})
        assert r.code == 0, r
        out, _ = sub.communicate(timeout=20)
        assert out.strip() == "reading=42"
    finally:
        broker.terminate()
        broker.wait()


def test_blocking_connect(app, tmp_path):
    """A blocking socket gets its answer only when the connect completed."""
    with http_server(tmp_path) as (port, _):
        code = ("import socket\n"
                f"s = socket.create_connection(('allowed.test', {port}))\n"
                "assert s.getblocking()\n"
                "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
                "print(s.recv(15).decode())\n")
        r = app({"AllowedConnections": [f"allowed.test:{port}"]}, [PY, "-c", code],
                hosts={"allowed.test": "127.0.0.1"})
        assert r.code == 0 and r.out.startswith("HTTP/1.0 200 OK"), r


def test_slow_resolver_does_not_stall_the_guard(app, tmp_path):
    """Names resolve off the guard's loop: while the host resolver sits on
    one question, the same app's other questions and connects are served,
    and the slow question gets SERVFAIL once the timeout passes."""
    with http_server(tmp_path) as (port, _):
        code = (
            "import socket, struct, time\n"
            "def q(i, name):\n"
            "    b = struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0)\n"
            "    for l in name.split('.'):\n"
            "        b += bytes([len(l)]) + l.encode()\n"
            "    return b + b'\\0' + struct.pack('>HH', 1, 1)\n"
            "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "t0 = time.monotonic()\n"
            "u.sendto(q(4242, 'slow.test'), ('127.0.0.1', 53))\n"
            "time.sleep(0.1)\n"
            f"s = socket.create_connection(('fast.test', {port}), timeout=20)\n"
            "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
            "head = s.recv(15).decode()\n"
            "t1 = time.monotonic() - t0\n"
            "u.settimeout(20)\n"
            "r, _ = u.recvfrom(512)\n"
            "t2 = time.monotonic() - t0\n"
            "i, fl = struct.unpack('>HH', r[:4])\n"
            "print(head, round(t1, 2), round(t2, 2), i, fl & 15)\n")
        r = app({"AllowedConnections": [f"fast.test:{port}", "slow.test:80"]},
                [PY, "-c", code],
                hosts={"fast.test": "127.0.0.1", "slow.test": "127.0.0.2"},
                extra=["--slow", "slow.test=6000", "--resolve-timeout", "1500"])
        assert r.code == 0, r
        head, t1, t2, qid, rcode = r.out.split()[-5:]
        assert r.out.startswith("HTTP/1.0 200 OK"), r
        assert float(t1) < 1.4, r          # served while slow.test waited
        assert 1.4 <= float(t2) < 5.0, r   # the timeout, not the resolver
        assert int(qid) == 4242 and int(rcode) == 2, r  # SERVFAIL
        assert r.dns_refused >= 1, r


def test_tcp_server_port(app):
    port = free_port()
    code = ("import socket\n"
            "s = socket.socket()\n"
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            f"s.bind(('0.0.0.0', {port}))\n"
            "s.listen(1)\n"
            "print('ready', flush=True)\n"
            "c, _ = s.accept()\n"
            "c.sendall(b'hello from the app')\n"
            "c.close()\n")
    got = {}

    def client():
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), 1) as c:
                    got["data"] = c.recv(100)
                    return
            except OSError:
                time.sleep(0.05)

    t = threading.Thread(target=client)
    t.start()
    r = app({"AllowedTcpServerPorts": [port]}, [PY, "-c", code])
    t.join()
    assert r.code == 0, r
    assert got.get("data") == b"hello from the app"


def test_udp_allowed_address(app):
    port = free_port(socket.SOCK_DGRAM)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", port))
        u.settimeout(20)
        code = ("import socket\n"
                "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                f"u.sendto(b'one', ('127.0.0.1', {port}))\n"
                f"u.sendmsg([b't', b'wo'], [], 0, ('127.0.0.1', {port}))\n"
                "v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                f"v.connect(('127.0.0.1', {port}))\n"
                "v.send(b'three')\n")
        r = app({"AllowedConnections": [f"127.0.0.1:{port}"]}, [PY, "-c", code])
        assert r.code == 0, r
        got = sorted(u.recvfrom(100)[0] for _ in range(3))
        assert got == [b"one", b"three", b"two"]


def test_udp_server_port(app):
    port = free_port(socket.SOCK_DGRAM)
    code = ("import socket\n"
            "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            f"u.bind(('0.0.0.0', {port}))\n"
            "u.settimeout(20)\n"
            "print(u.recvfrom(100)[0].decode(), flush=True)\n")
    stop = threading.Event()

    def sender():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            while not stop.is_set():
                s.sendto(b"ping", ("127.0.0.1", port))
                time.sleep(0.1)

    t = threading.Thread(target=sender)
    t.start()
    try:
        r = app({"AllowedUdpServerPorts": [port]}, [PY, "-c", code])
    finally:
        stop.set()
        t.join()
    assert r.code == 0 and r.out.strip() == "ping", r


# ---- what must NOT work ----

def test_name_not_allowed_does_not_resolve(app, tmp_path):
    need("curl")
    with http_server(tmp_path) as (port, log):
        r = app({"AllowedConnections": [f"allowed.test:{port}"]},
                ["curl", "-sS", "--max-time", "10", f"http://denied.test:{port}/"],
                hosts={"allowed.test": "127.0.0.1", "denied.test": "127.0.0.1"})
        assert r.code == 6, r  # CURLE_COULDNT_RESOLVE_HOST
        assert r.dns_refused >= 1 and r.dns_answered == 0, r
        assert "dns denied.test" in r.last_refused
        assert requests_seen(log) == 0


def test_address_not_allowed(app, tmp_path):
    need("curl")
    with http_server(tmp_path) as (port, log):
        # the name is allowed, but only on another port
        r = app({"AllowedConnections": [f"allowed.test:{port + 1}"]},
                ["curl", "-sS", "--max-time", "10", f"http://allowed.test:{port}/"],
                hosts={"allowed.test": "127.0.0.1"})
        assert r.code == 7, r  # CURLE_COULDNT_CONNECT
        assert r.refused == 1 and f"connect 127.0.0.1:{port}" == r.last_refused, r
        # a literal address nobody allowed
        r = app({"AllowedConnections": ["allowed.test"]},
                ["curl", "-sS", "--max-time", "10", f"http://127.0.0.1:{port}/"],
                hosts={"allowed.test": "127.0.0.2"})
        assert r.code == 7 and r.refused == 1, r
        assert requests_seen(log) == 0


def test_connect_errno_is_eacces(app):
    code = ("import socket, errno\n"
            "s = socket.socket()\n"
            "try:\n"
            "    s.connect(('127.0.0.1', 9))\n"
            "except OSError as e:\n"
            "    print(errno.errorcode[e.errno])\n")
    r = app({}, [PY, "-c", code])
    assert r.out.strip() == "EACCES", r


def test_resolved_address_not_reusable_on_other_port(app, tmp_path):
    """An allowed name's address is allowed only on the name's port."""
    code = ("import socket, errno\n"
            "socket.getaddrinfo('allowed.test', 80)\n"
            "s = socket.socket()\n"
            "try:\n"
            "    s.connect(('127.0.0.1', 22))\n"
            "except OSError as e:\n"
            "    print(errno.errorcode[e.errno])\n")
    r = app({"AllowedConnections": ["allowed.test:80"]}, [PY, "-c", code],
            hosts={"allowed.test": "127.0.0.1"})
    assert r.out.strip() == "EACCES" and r.dns_answered >= 1, r


def test_bind_port_not_allowed(app):
    port = free_port()
    code = ("import socket, errno\n"
            "for kind, p in ((socket.SOCK_STREAM, %d), (socket.SOCK_DGRAM, %d)):\n"
            "    s = socket.socket(socket.AF_INET, kind)\n"
            "    try:\n"
            "        s.bind(('0.0.0.0', p))\n"
            "        print('bound')\n"
            "    except OSError as e:\n"
            "        print(errno.errorcode[e.errno])\n") % (port, port + 1)
    # TCP port+1 and UDP port are allowed: the wrong protocol for each
    r = app({"AllowedTcpServerPorts": [port + 1], "AllowedUdpServerPorts": [port]},
            [PY, "-c", code])
    assert r.out.split() == ["EACCES", "EACCES"], r
    with socket.socket() as s:  # and nothing listens on the host
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_udp_destination_not_allowed(app):
    port = free_port(socket.SOCK_DGRAM)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", port))
        u.settimeout(1)
        code = ("import socket, errno\n"
                "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                "for f in (lambda: u.sendto(b'x', ('127.0.0.1', %d)),\n"
                "          lambda: u.sendmsg([b'x'], [], 0, ('127.0.0.1', %d)),\n"
                "          lambda: u.connect(('127.0.0.1', %d))):\n"
                "    try:\n"
                "        f(); print('sent')\n"
                "    except OSError as e:\n"
                "        print(errno.errorcode[e.errno])\n") % (port, port, port)
        r = app({"AllowedConnections": [f"127.0.0.1:{port + 1}"]}, [PY, "-c", code])
        assert r.out.split() == ["EACCES"] * 3, r
        with pytest.raises(socket.timeout):
            u.recvfrom(100)


def test_unix_sockets_as_the_app_sees_them(app, tmp_path):
    """AF_UNIX paths resolve inside the app's own root (here the harness
    shares the host's file system; in a compartment that root is the
    package tree plus /run/rampart). Binding a path stays refused."""
    stream = str(tmp_path / "stream.sock")
    dgram = str(tmp_path / "dgram.sock")
    with socket.socket(socket.AF_UNIX) as srv, \
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as d:
        srv.bind(stream)
        srv.listen(1)
        d.bind(dgram)
        d.settimeout(20)
        code = ("import socket, errno\n"
                "s = socket.socket(socket.AF_UNIX)\n"
                f"s.connect({stream!r}); s.sendall(b'over-stream')\n"
                "u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
                f"u.sendto(b'over-dgram', {dgram!r})\n"
                "t = socket.socket(socket.AF_UNIX)\n"
                "for p in ('/nonexistent/x.sock', '/etc/passwd'):\n"
                "    try:\n"
                "        t.connect(p); print('connected')\n"
                "    except OSError as e:\n"
                "        print(errno.errorcode[e.errno])\n"
                "try:\n"
                f"    t.bind({str(tmp_path / 'app.sock')!r}); print('bound')\n"
                "except OSError as e:\n"
                "    print(errno.errorcode[e.errno])\n")
        r = app({}, [PY, "-c", code])
        assert r.out.split() == ["ENOENT", "ECONNREFUSED", "EACCES"], r
        c, _ = srv.accept()
        assert c.recv(100) == b"over-stream"
        c.close()
        assert d.recv(100) == b"over-dgram"


def test_no_route_without_guard_socket(app):
    """A socket the guard did not hand out stays in the app's namespace:
    sending there reaches nothing on the host."""
    port = free_port(socket.SOCK_DGRAM)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", port))
        u.settimeout(1)
        # send() on an unconnected socket with no address is not trapped;
        # write() is not trapped at all: neither can name a destination.
        code = ("import socket, os\n"
                "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                "try:\n"
                "    u.send(b'x')\n"
                "except OSError as e:\n"
                "    print(e.errno)\n")
        r = app({}, [PY, "-c", code])
        assert r.code == 0, r
        with pytest.raises(socket.timeout):
            u.recvfrom(100)
