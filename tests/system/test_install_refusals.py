"""rampartd refuses the golden forgeries of tests/vectors at install, with
the reason, and installs nothing: a device node, a setuid file and an
escaping symlink (each correctly signed by the trusted test key, so only
the payload check stands in the way), and truncated, extended, tampered
and re-signed packages. Needs root; skips, saying so, otherwise."""
import os
import pathlib
import shutil
import tempfile

import pytest

from test_rampartd import SRC, Daemon, needs_root

pytestmark = needs_root

VEC = SRC / "tests" / "vectors"


@pytest.fixture(scope="module")
def vecd():
    work = pathlib.Path(tempfile.mkdtemp(prefix="rpv-", dir="/tmp"))
    os.chmod(work, 0o755)
    d = Daemon(work, config={"cgroup_parent": "rampart-test-vec"}).start()
    r = d.rp("device", "enable-development", "--trust-key", VEC / "keys" / "test-dev.pub")
    assert r.code == 0, r
    yield d
    assert d.stop() == 0, d.log.read_text()
    shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("name,reason", [
    ("devnode", "device nodes are not allowed"),
    ("setuid", "setuid/setgid/sticky bits are not allowed"),
    ("escaping-symlink", "escapes the package"),
    ("truncated", "truncated"),
    ("extended", "trailer"),
    ("payload-flipped", "payload digest does not match"),
    ("manifest-flipped", "manifest digest does not match"),
    ("resigned-untrusted", "signed by no trusted key"),
])
def test_forgeries_refused_at_install(vecd, name, reason):
    r = vecd.rp("device", "sideload", "deploy", VEC / f"{name}.rpk")
    assert r.code == 1, r
    assert reason in r.err, r
    assert vecd.apps() == {}


def test_good_vector_installs(vecd):
    r = vecd.rp("device", "sideload", "deploy", VEC / "good.rpk")
    assert r.code == 0, r
    assert len(vecd.apps()) == 1
    r = vecd.rp("device", "sideload", "delete", "--all")
    assert r.code == 0, r
