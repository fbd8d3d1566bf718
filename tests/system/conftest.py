"""Shared fixtures: the built `rampart` binary and a scratch app tree."""
import os
import pathlib
import shutil
import subprocess

import pytest

SRC = pathlib.Path(os.environ.get("RP_SRCDIR", pathlib.Path(__file__).resolve().parents[2]))
RAMPART = os.environ.get("RAMPART", str(SRC / "build" / "cli" / "rampart"))


class Result:
    def __init__(self, p):
        self.code = p.returncode
        self.out = p.stdout
        self.err = p.stderr

    def __repr__(self):
        return f"<exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}>"


def run(*args, env=None, cwd=None):
    e = dict(os.environ)
    e.pop("RAMPART_HW_PATH", None)
    if env:
        e.update(env)
    p = subprocess.run([RAMPART, *map(str, args)], capture_output=True, text=True,
                       env=e, cwd=cwd, timeout=120)
    return Result(p)


@pytest.fixture
def rp():
    return run


@pytest.fixture
def keys(tmp_path):
    """A trusted developer key and an untrusted one."""
    k = {}
    for name in ("dev", "other"):
        r = run("key", "generate", "-o", tmp_path / f"{name}.key")
        assert r.code == 0, r
        k[name] = tmp_path / f"{name}.key"
        k[name + "_pub"] = tmp_path / f"{name}.pub"
    return k


MANIFEST = """{
  "SchemaVersion": 1,
  "Name": "demo",
  "ComponentId": "3f9b2c1e-6a47-4d2b-9e35-0c8a1f7d5e42",
  "EntryPoint": "/bin/app",
  "CmdArgs": ["--verbose"],
  "Capabilities": {
    "AllowedConnections": ["telemetry.example.com"],
    "MutableStorage": {"SizeKB": 64}
  },
  "ApplicationType": "Default"
}
"""


@pytest.fixture
def app(tmp_path):
    """An app tree with an executable entry point, a data file, a subdir
    and an in-tree symlink, plus its manifest."""
    root = tmp_path / "app"
    (root / "bin").mkdir(parents=True)
    (root / "share").mkdir()
    exe = root / "bin" / "app"
    shutil.copy("/bin/true", exe)
    exe.chmod(0o755)
    (root / "share" / "data.txt").write_text("payload data\n")
    os.symlink("../share/data.txt", root / "bin" / "data-link")
    man = tmp_path / "app_manifest.json"
    man.write_text(MANIFEST)
    return root, man


@pytest.fixture
def packed(tmp_path, keys, app):
    root, man = app
    out = tmp_path / "app.rpk"
    r = run("package", "pack", root, "--manifest", man, "--key", keys["dev"], "-o", out)
    assert r.code == 0, r
    return out


def flip(src, dst, offset):
    data = bytearray(pathlib.Path(src).read_bytes())
    data[offset] ^= 0x01
    pathlib.Path(dst).write_bytes(bytes(data))


