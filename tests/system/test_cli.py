"""System tests: drive the real `rampart` binary as a user would."""
import json
import os
import pathlib
import stat

import pytest

from conftest import MANIFEST, SRC, flip, run


# ---- help, usage and exit codes -------------------------------------------

@pytest.mark.parametrize("args", [
    ["--help"], ["key", "--help"], ["package", "--help"], ["board", "--help"],
    ["key", "generate", "--help"], ["key", "show", "--help"],
    ["package", "pack", "--help"], ["package", "show", "--help"],
    ["package", "verify", "--help"], ["board", "show", "--help"],
    ["board", "generate-header", "--help"],
])
def test_help(rp, args):
    r = rp(*args)
    assert r.code == 0, r
    assert "usage: rampart" in r.out


@pytest.mark.parametrize("args", [
    [], ["nope"], ["key"], ["key", "nope"], ["key", "generate"],
    ["package", "verify", "x.rpk"], ["package", "pack", "dir"],
    ["key", "generate", "-o", "k", "--type", "rsa"], ["key", "show"],
    ["package", "pack", "--bogus"],
])
def test_usage_errors_exit_2(rp, args):
    r = rp(*args)
    assert r.code == 2, r
    assert r.err


def test_version(rp):
    r = rp("--version")
    assert r.code == 0 and r.out.startswith("rampart ")


# ---- keys -----------------------------------------------------------------

@pytest.mark.parametrize("ktype", ["ed25519", "ecdsa-p256"])
def test_key_generate_and_show(rp, tmp_path, ktype):
    key = tmp_path / "k.key"
    r = rp("key", "generate", "-o", key, "--type", ktype)
    assert r.code == 0, r
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    pub = tmp_path / "k.pub"
    assert "BEGIN PUBLIC KEY" in pub.read_text()
    shown = rp("key", "show", pub, "--json")
    assert shown.code == 0, shown
    info = json.loads(shown.out)
    assert info["type"] == ktype
    assert info["private"] is False
    assert len(info["key_id"]) == 64
    # The private file shows the same id and never prints the secret.
    priv = rp("key", "show", key)
    assert priv.code == 0
    assert info["key_id"] in priv.out
    assert "PRIVATE" not in priv.out
    assert info["key_id"] in r.out


def test_key_generate_refuses_overwrite(rp, tmp_path):
    key = tmp_path / "k.key"
    assert rp("key", "generate", "-o", key).code == 0
    before = key.read_bytes()
    r = rp("key", "generate", "-o", key)
    assert r.code == 3, r
    assert "already exists" in r.err
    assert key.read_bytes() == before
    assert rp("key", "generate", "-o", key, "--force").code == 0
    assert key.read_bytes() != before


def test_key_show_bad_file(rp, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key\n")
    r = rp("key", "show", bad)
    assert r.code == 4 or r.code == 1, r
    assert "bad.pem" in r.err
    r = rp("key", "show", tmp_path / "missing.pub")
    assert r.code == 3, r
    assert "No such file" in r.err


# ---- pack, verify, show ---------------------------------------------------

def test_pack_verify_show(rp, keys, packed):
    r = rp("package", "verify", packed, "--trust", keys["dev_pub"])
    assert r.code == 0, r
    assert r.out.startswith("verified: ")
    r = rp("package", "show", packed, "--trust", keys["dev_pub"], "--json")
    assert r.code == 0, r
    info = json.loads(r.out)
    assert info["verified"] is True
    assert info["image_type"] == "application"
    assert info["component_id"] == "3f9b2c1e-6a47-4d2b-9e35-0c8a1f7d5e42"
    assert info["signatures"][0]["status"] == "valid"
    assert info["app_manifest"]["Name"] == "demo"
    assert info["payload"]["entries"] == 5  # bin, bin/app, bin/data-link, share, share/data.txt


def test_show_without_trust_says_not_verified(rp, packed):
    r = rp("package", "show", packed)
    assert r.code == 0, r
    assert "NOT VERIFIED" in r.out
    assert "not checked" in r.out
    j = json.loads(rp("package", "show", packed, "--json").out)
    assert j["verified"] is False
    assert j["signatures"][0]["status"] == "unchecked"


def test_verify_refuses_untrusted(rp, keys, packed):
    r = rp("package", "verify", packed, "--trust", keys["other_pub"])
    assert r.code == 1, r
    assert "refused" in r.err and "trusted" in r.err


def test_verify_p256_and_multiple_signers(rp, tmp_path, app):
    root, man = app
    assert rp("key", "generate", "-o", tmp_path / "ec.key", "--type", "ecdsa-p256").code == 0
    assert rp("key", "generate", "-o", tmp_path / "ed.key").code == 0
    out = tmp_path / "two.rpk"
    r = rp("package", "pack", root, "-m", man, "-k", tmp_path / "ec.key",
           "-k", tmp_path / "ed.key", "-o", out)
    assert r.code == 0, r
    for pub in ("ec.pub", "ed.pub"):
        assert rp("package", "verify", out, "--trust", tmp_path / pub).code == 0
    info = json.loads(rp("package", "show", out, "--json").out)
    assert [s["algorithm"] for s in info["signatures"]] == ["ecdsa-p256", "ed25519"]


def test_verify_refuses_tampering(rp, tmp_path, keys, packed):
    size = packed.stat().st_size
    # A byte in the header, the manifest, the payload and the signature block.
    for off in (0, 12, 20, 100, 300, size // 2, size - 40, size - 1):
        bad = tmp_path / f"bad-{off}.rpk"
        flip(packed, bad, off)
        r = rp("package", "verify", bad, "--trust", keys["dev_pub"])
        assert r.code == 1, (off, r)
        assert "refused" in r.err


def test_verify_refuses_truncated_and_extended(rp, tmp_path, keys, packed):
    data = packed.read_bytes()
    for n in (0, 1, 255, 256, 257, len(data) // 2, len(data) - 1):
        bad = tmp_path / "trunc.rpk"
        bad.write_bytes(data[:n])
        r = rp("package", "verify", bad, "--trust", keys["dev_pub"])
        assert r.code == 1, (n, r)
    bad = tmp_path / "ext.rpk"
    bad.write_bytes(data + b"\0")
    assert rp("package", "verify", bad, "--trust", keys["dev_pub"]).code == 1
    bad.write_bytes(b"\0" + data)
    assert rp("package", "verify", bad, "--trust", keys["dev_pub"]).code == 1


def test_verify_missing_file(rp, tmp_path, keys):
    r = rp("package", "verify", tmp_path / "nope.rpk", "--trust", keys["dev_pub"])
    assert r.code == 3, r
    assert "nope.rpk" in r.err


def test_pack_is_reproducible(rp, tmp_path, keys, app):
    root, man = app
    outs = []
    for i in range(2):
        out = tmp_path / f"r{i}.rpk"
        r = rp("package", "pack", root, "-m", man, "-k", keys["dev"], "-o", out,
               "--image-id", "11111111-2222-3333-4444-555555555555",
               env={"SOURCE_DATE_EPOCH": "1700000000"})
        assert r.code == 0, r
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_pack_options(rp, tmp_path, keys, app):
    root, man = app
    out = tmp_path / "v.rpk"
    r = rp("package", "pack", root, "-m", man, "-k", keys["dev"], "-o", out,
           "--image-version", "2.1.0", "--security-version", "7")
    assert r.code == 0, r
    info = json.loads(rp("package", "show", out, "--json").out)
    assert info["version"] == "2.1.0"
    assert info["security_version"] == 7
    for bad in (["--security-version", "-1"], ["--security-version", "4294967296"],
                ["--image-id", "not-a-guid"]):
        r = rp("package", "pack", root, "-m", man, "-k", keys["dev"], "-o", out, *bad)
        assert r.code == 2, (bad, r)


# ---- what pack must refuse --------------------------------------------------

def pack(rp, root, man, key, out):
    return rp("package", "pack", root, "--manifest", man, "--key", key, "-o", out)


@pytest.mark.parametrize("change,needle", [
    (lambda m: m.update(SchemaVersion=2), "SchemaVersion"),
    (lambda m: m.update(Bogus=1), "Bogus: unknown key"),
    (lambda m: m.update(ComponentId="nope"), "ComponentId"),
    (lambda m: m["Capabilities"].update(AllowedConnections=["ok.com", "x", "exa mple.com"]),
     'Capabilities.AllowedConnections[2]: "exa mple.com" is not a host name'),
    (lambda m: m["Capabilities"].update(Gpio=[{}]), "Capabilities.Gpio[0]"),
    (lambda m: m["Capabilities"].update(Gpio=["$SAMPLE_LED"]), "--board"),
])
def test_pack_refuses_bad_manifest(rp, tmp_path, keys, app, change, needle):
    root, man = app
    m = json.loads(MANIFEST)
    change(m)
    man.write_text(json.dumps(m))
    out = tmp_path / "x.rpk"
    r = pack(rp, root, man, keys["dev"], out)
    assert r.code in (1, 2), r
    assert needle in r.err, r
    assert not out.exists()


def test_pack_refuses_missing_entry_point(rp, tmp_path, keys, app):
    root, man = app
    (root / "bin" / "app").unlink()
    r = pack(rp, root, man, keys["dev"], tmp_path / "x.rpk")
    assert r.code == 1, r
    assert "EntryPoint" in r.err


def test_pack_refuses_fifo(rp, tmp_path, keys, app):
    root, man = app
    os.mkfifo(root / "share" / "pipe")
    r = pack(rp, root, man, keys["dev"], tmp_path / "x.rpk")
    assert r.code != 0, r
    assert "share/pipe" in r.err


def test_pack_refuses_setuid(rp, tmp_path, keys, app):
    root, man = app
    f = root / "bin" / "su"
    f.write_text("x")
    f.chmod(0o4755)
    r = pack(rp, root, man, keys["dev"], tmp_path / "x.rpk")
    assert r.code != 0, r
    assert "bin/su" in r.err


def test_pack_refuses_escaping_symlink(rp, tmp_path, keys, app):
    root, man = app
    os.symlink("../../../etc/passwd", root / "bin" / "evil")
    r = pack(rp, root, man, keys["dev"], tmp_path / "x.rpk")
    assert r.code != 0, r
    assert "bin/evil" in r.err


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_pack_refuses_device_node(rp, tmp_path, keys, app):
    root, man = app
    os.mknod(root / "share" / "null", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    r = pack(rp, root, man, keys["dev"], tmp_path / "x.rpk")
    assert r.code != 0, r
    assert "share/null" in r.err


# ---- the golden vectors, through the CLI ----------------------------------

VEC = SRC / "tests" / "vectors"


def test_vectors_good(rp):
    r = rp("package", "verify", VEC / "good.rpk", "--trust", VEC / "keys" / "test-dev.pub")
    assert r.code == 0, r


@pytest.mark.parametrize("name", [
    "truncated", "extended", "resigned-untrusted", "payload-flipped",
    "manifest-flipped", "devnode", "setuid", "escaping-symlink",
])
def test_vectors_bad(rp, name):
    r = rp("package", "verify", VEC / f"{name}.rpk", "--trust", VEC / "keys" / "test-dev.pub")
    assert r.code == 1, r
    assert "refused" in r.err


# ---- boards and headers ------------------------------------------------------

BOARDS = SRC / "boards"


def test_board_show(rp):
    r = rp("board", "show", BOARDS / "sim" / "sample_appliance.json")
    assert r.code == 0, r
    assert "SAMPLE_LED" in r.out
    j = json.loads(rp("board", "show", BOARDS / "sim" / "sample_appliance.json", "--json").out)
    names = {p["name"] for p in j["peripherals"]}
    assert "SAMPLE_LED" in names


def test_board_show_rpi4(rp):
    r = rp("board", "show", BOARDS / "rpi4" / "rpi4.json")
    assert r.code == 0, r
    assert "/dev/" in r.out


def test_generate_header(rp, tmp_path):
    out = tmp_path / "hw" / "sample_appliance.h"
    r = rp("board", "generate-header", BOARDS / "sim" / "sample_appliance.json", "-o", out)
    assert r.code == 0, r
    text = out.read_text()
    assert "#pragma once" in text
    assert "#define SAMPLE_LED " in text
    s = rp("board", "generate-header", BOARDS / "sim" / "sample_appliance.json", "--stdout")
    assert s.out == text


def test_azure_sphere_definition_loads_unchanged(rp, tmp_path):
    """Azure Sphere's own sample_appliance.json, with the SDK's definitions
    on the search path as its tools have them, loads unchanged and gives
    the byte-identical header Azure Sphere's tools generated."""
    azure = SRC / "tests" / "data" / "boards" / "azure"
    board = azure / "mt3620_rdb" / "sample_appliance.json"
    r = rp("board", "show", board, "--hw-dir", azure / "sdk")
    assert r.code == 0, r
    assert "SAMPLE_BUTTON_1" in r.out
    # Found through $RAMPART_HW_PATH too.
    r = rp("board", "show", board, env={"RAMPART_HW_PATH": str(azure / "sdk")})
    assert r.code == 0, r
    # Without the SDK directory the import cannot be found: a clear error.
    r = rp("board", "show", board)
    assert r.code != 0 and "mt3620_rdb.json" in r.err, r
    h = rp("board", "generate-header", board, "--hw-dir", azure / "sdk", "--stdout")
    assert h.code == 0, h
    assert h.out == (azure / "mt3620_rdb" / "inc" / "hw" / "sample_appliance.h").read_text()


def test_pack_with_board_resolves_names(rp, tmp_path, keys, app):
    root, man = app
    m = json.loads(MANIFEST)
    m["Capabilities"]["Gpio"] = ["$SAMPLE_LED"]
    man.write_text(json.dumps(m))
    out = tmp_path / "b.rpk"
    r = rp("package", "pack", root, "-m", man, "-k", keys["dev"], "-o", out,
           "--board", BOARDS / "sim" / "sample_appliance.json")
    assert r.code == 0, r
    info = json.loads(rp("package", "show", out, "--json").out)
    gpio = info["app_manifest"]["Capabilities"]["Gpio"]
    assert gpio and not any(isinstance(g, str) and g.startswith("$") for g in gpio)


def test_board_errors(rp, tmp_path):
    bad = tmp_path / "b.json"
    bad.write_text('{"Metadata": {"Type": "Azure Sphere Hardware Definition", "Version": 1},'
                   ' "Description": {"Name": "b"},'
                   ' "Imports": [{"Path": "missing.json"}], "Peripherals": []}')
    r = rp("board", "show", bad)
    assert r.code != 0, r
    assert "missing.json" in r.err
    r = rp("board", "show", tmp_path / "nope.json")
    assert r.code == 3, r


def test_pack_refuses_output_inside_app_dir(rp, keys, app):
    root, man = app
    r = rp("package", "pack", root, "-m", man, "-k", keys["dev"], "-o", root / "self.rpk")
    assert r.code == 2, r
    assert "inside the app directory" in r.err
    assert not (root / "self.rpk").exists()
