"""System test: the rampart CLI's remote verbs against the real
rampart-server (on SQLite, self-signed certificate, 127.0.0.1), started
with test_server.py's helper.

Also what must NOT work: plain HTTP, a CA that did not sign the server's
certificate, token files that are missing, unreadable or readable by
others, no config, a Reader's change, another tenant's anything.
"""
import json
import os
import pathlib
import stat
import subprocess
import sys
import time
import uuid

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from test_server import SRC  # noqa: E402
from test_images import ImgServer, pack  # noqa: E402

RAMPART = os.environ.get("RAMPART", str(SRC / "build" / "cli" / "rampart"))


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("remote")
    s = ImgServer(f"sqlite:{tmp / 'rampart.db'}", tmp)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("home")


def run(home, *args, config=None):
    env = dict(os.environ)
    env["HOME"] = str(home)
    env.pop("RAMPART_CONFIG", None)
    if config is not None:
        env["RAMPART_CONFIG"] = str(config)
    return subprocess.run([RAMPART, *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=60)


def jrun(home, *args, config=None):
    r = run(home, *args, "--json", config=config)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def server_url(srv):
    return f"https://127.0.0.1:{srv.port}"


@pytest.fixture(scope="module")
def logged_in(srv, home):
    """The owner logged in through the default config path."""
    r = run(home, "login", "--server", server_url(srv), "--token-file",
            srv.tmp / "owner.token", "--ca-cert", srv.cert)
    assert r.returncode == 0, r.stderr
    assert "logged in" in r.stdout
    return home


@pytest.fixture(scope="module")
def world(srv, logged_in):
    h = logged_in
    ten = jrun(h, "tenant", "create", "acme")
    prod = jrun(h, "product", "create", "--tenant", ten["id"], "CO2 Monitor",
                "--description", "sensor")
    return {"tenant": ten["id"], "product": prod["id"]}


# ---- what works -----------------------------------------------------------

def test_login_writes_config_without_token(srv, logged_in):
    cfg = logged_in / ".config" / "rampart" / "config.json"
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    assert stat.S_IMODE(cfg.parent.stat().st_mode) == 0o700
    doc = json.loads(cfg.read_text())
    assert set(doc) == {"server", "token_file", "ca_cert"}
    assert doc["server"] == server_url(srv)
    assert doc["token_file"] == str((srv.tmp / "owner.token").resolve())
    assert srv.owner not in cfg.read_text()


def test_tenant_verbs(srv, world, logged_in):
    h = logged_in
    tenants = jrun(h, "tenant", "list")
    assert world["tenant"] in {t["id"] for t in tenants}
    r = run(h, "tenant", "list")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "CREATED"]
    row = next(line for line in lines if world["tenant"] in line)
    # Aligned: every row's second column starts where the header's does.
    assert row.index("acme") == lines[0].index("NAME")
    assert jrun(h, "tenant", "show", world["tenant"])["name"] == "acme"
    r = run(h, "tenant", "show", world["tenant"])
    assert r.returncode == 0 and "acme" in r.stdout and "created_at" in r.stdout


def test_product_and_groups(srv, world, logged_in):
    h, t = logged_in, world["tenant"]
    prods = jrun(h, "product", "list", "--tenant", t)
    assert [(p["name"], p["description"]) for p in prods] == [("CO2 Monitor", "sensor")]
    assert jrun(h, "product", "show", "--tenant", t, world["product"])["id"] == world["product"]
    groups = jrun(h, "device-group", "list", "--tenant", t, "--product", world["product"])
    assert [g["name"] for g in groups] == [
        "Development", "Field Test", "Production", "Production OS Evaluation",
        "Field Test OS Evaluation"]
    r = run(h, "device-group", "list", "--tenant", t, "--product", world["product"])
    assert r.returncode == 0 and "NoThirdPartyAppUpdates" in r.stdout
    assert r.stdout.splitlines()[0].split()[:2] == ["ID", "NAME"]


def test_roles_tokens_audit(srv, world, logged_in, tmp_path):
    h, t = logged_in, world["tenant"]
    assert jrun(h, "role", "add", "--tenant", t, "alice", "Administrator") == {
        "user": "alice", "role": "Administrator"}
    r = run(h, "role", "add", "--tenant", t, "bob", "Reader")
    assert r.returncode == 0, r.stderr
    roles = jrun(h, "role", "list", "--tenant", t)
    assert {"user": "bob", "role": "Reader"} in roles
    tok = tmp_path / "alice.token"
    r = run(h, "token", "create", "--tenant", t, "--user", "alice", "-o", tok)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(tok.stat().st_mode) == 0o600
    assert tok.read_text().startswith("rpt_") and tok.read_text().strip() not in r.stdout
    # Never over an existing file.
    r = run(h, "token", "create", "--tenant", t, "--user", "alice", "-o", tok)
    assert r.returncode == 3, r.stderr
    # Alice logs in with her own config and reads the audit log.
    cfg = tmp_path / "alice.json"
    r = run(h, "login", "--server", server_url(srv), "--token-file", tok,
            "--ca-cert", srv.cert, config=cfg)
    assert r.returncode == 0, r.stderr
    log = jrun(h, "audit", "--tenant", t, config=cfg)
    actions = {(e["actor"], e["action"]) for e in log}
    assert ("owner", "tenant.create") in actions and ("owner", "role.set") in actions
    r = run(h, "audit", "--tenant", t, config=cfg)
    assert r.returncode == 0 and r.stdout.split()[:5] == ["TIME", "ACTOR", "ACTION",
                                                          "TARGET", "DETAIL"]
    assert jrun(h, "role", "remove", "--tenant", t, "bob") == {"removed": "bob"}
    assert "bob" not in {x["user"] for x in jrun(h, "role", "list", "--tenant", t)}


def test_help_everywhere(logged_in):
    for args in (["--help"], ["login", "--help"], ["tenant", "--help"],
                 ["tenant", "create", "--help"], ["tenant", "list", "--help"],
                 ["tenant", "show", "--help"], ["product", "--help"],
                 ["product", "create", "--help"], ["product", "list", "--help"],
                 ["product", "show", "--help"], ["device-group", "list", "--help"],
                 ["role", "add", "--help"], ["role", "list", "--help"],
                 ["role", "remove", "--help"], ["token", "create", "--help"],
                 ["audit", "--help"]):
        r = run(logged_in, *args)
        assert r.returncode == 0 and "usage:" in r.stdout, args


# ---- what must NOT work ---------------------------------------------------

def test_reader_cannot_create_product(srv, world, logged_in, tmp_path):
    h, t = logged_in, world["tenant"]
    assert run(h, "role", "add", "--tenant", t, "viewer", "Reader").returncode == 0
    tok = tmp_path / "viewer.token"
    assert run(h, "token", "create", "--tenant", t, "--user", "viewer",
               "-o", tok).returncode == 0
    cfg = tmp_path / "viewer.json"
    assert run(h, "login", "--server", server_url(srv), "--token-file", tok,
               "--ca-cert", srv.cert, config=cfg).returncode == 0
    r = run(h, "product", "create", "--tenant", t, "Stolen", config=cfg)
    assert r.returncode == 1
    assert r.stderr.startswith("rampart: product create: "), r.stderr
    assert r.stderr.rstrip().endswith("(HTTP 403)"), r.stderr
    assert "Stolen" not in {p["name"] for p in jrun(h, "product", "list", "--tenant", t)}
    # Reading is allowed.
    assert run(h, "product", "list", "--tenant", t, config=cfg).returncode == 0


def test_not_found_and_escaping(srv, world, logged_in):
    h = logged_in
    r = run(h, "tenant", "show", "00000000-0000-0000-0000-000000000000")
    assert r.returncode == 1 and r.stderr.startswith("rampart: tenant show: ")
    assert r.stderr.rstrip().endswith("(HTTP 404)"), r.stderr
    # A path segment cannot climb to another route.
    r = run(h, "tenant", "show", "../tenants")  # a name that does not exist
    assert r.returncode == 1 and "no tenant '../tenants'" in r.stderr, r.stderr
    r = run(h, "image", "show", "../../../v1/tenants")
    assert r.returncode == 1 and "(HTTP 404)" in r.stderr, r.stderr
    r = run(h, "device", "show", "../../../v1/tenants")  # not a device ID
    assert r.returncode == 2 and "64 hex digits" in r.stderr, r.stderr
    r = run(h, "device", "show", "ab" * 32)
    assert r.returncode == 1 and "(HTTP 404)" in r.stderr, r.stderr
    r = run(h, "product", "show", "--tenant", world["tenant"], "x?y#z")
    assert r.returncode == 1, r.stderr


def test_server_validation_message(world, logged_in):
    r = run(logged_in, "role", "add", "--tenant", world["tenant"], "eve", "God")
    assert r.returncode == 1 and r.stderr.startswith("rampart: role add: "), r.stderr
    assert r.stderr.rstrip().endswith("(HTTP 400)"), r.stderr


def test_usage_errors(logged_in):
    h = logged_in
    assert run(h, "product", "list", "--product", "x").returncode == 2
    assert run(h, "tenant", "show").returncode == 2
    assert run(h, "tenant", "list", "extra").returncode == 2
    assert run(h, "tenant", "list", "--product", "x").returncode == 2
    assert run(h, "tenant", "frobnicate").returncode == 2
    assert run(h, "login", "--server", "https://x").returncode == 2


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}", "HTTP://127.0.0.1:{port}",
                                 "ftp://127.0.0.1:{port}", "127.0.0.1:{port}",
                                 "https://user@127.0.0.1:{port}",
                                 "https://127.0.0.1:{port}/v1/evil"])
def test_not_https_refused(srv, home, tmp_path, url):
    cfg = tmp_path / "c.json"
    r = run(home, "login", "--server", url.format(port=srv.port), "--token-file",
            srv.tmp / "owner.token", "--ca-cert", srv.cert, config=cfg)
    assert r.returncode == 2 and "https://" in r.stderr, r.stderr
    assert not cfg.exists()


def test_plain_http_in_config_refused(srv, home, tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"server": f"http://127.0.0.1:{srv.port}",
                               "token_file": str(srv.tmp / "owner.token")}))
    r = run(home, "tenant", "list", config=cfg)
    assert r.returncode == 2 and "plain HTTP" in r.stderr, r.stderr


def test_wrong_ca_refused(srv, home, tmp_path):
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", tmp_path / "o.key",
                    "-out", other, "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    cfg = tmp_path / "c.json"
    for extra in (["--ca-cert", other], []):  # another CA; the system CAs
        r = run(home, "login", "--server", server_url(srv), "--token-file",
                srv.tmp / "owner.token", *extra, config=cfg)
        assert r.returncode == 1 and "not trusted" in r.stderr, r.stderr
        assert not cfg.exists()
    # A config edited to trust another CA is refused too.
    cfg.write_text(json.dumps({"server": server_url(srv), "ca_cert": str(other),
                               "token_file": str(srv.tmp / "owner.token")}))
    r = run(home, "tenant", "list", config=cfg)
    assert r.returncode == 1 and "not trusted" in r.stderr, r.stderr


def test_no_config(home, tmp_path):
    r = run(home, "tenant", "list", config=tmp_path / "none.json")
    assert r.returncode == 3 and "run 'rampart login" in r.stderr, r.stderr
    r = run(tmp_path, "tenant", "list")  # $HOME without a config
    assert r.returncode == 3 and "run 'rampart login" in r.stderr, r.stderr


@pytest.mark.parametrize("doc", ['{"server": "https://127.0.0.1:1"}', "[]", "{",
                                 '{"server": "https://127.0.0.1:1", "token_file": "/x",'
                                 ' "token": "rpt_"}'])
def test_bad_config(home, tmp_path, doc):
    cfg = tmp_path / "c.json"
    cfg.write_text(doc)
    r = run(home, "tenant", "list", config=cfg)
    assert r.returncode == 1 and str(cfg) in r.stderr, r.stderr


def test_token_file_problems(srv, home, tmp_path):
    cfg = tmp_path / "c.json"
    base = ["login", "--server", server_url(srv), "--ca-cert", srv.cert]
    r = run(home, *base, "--token-file", tmp_path / "missing", config=cfg)
    assert r.returncode == 3 and "missing" in r.stderr, r.stderr
    loose = tmp_path / "loose.token"
    loose.write_text(srv.owner + "\n")
    loose.chmod(0o644)
    r = run(home, *base, "--token-file", loose, config=cfg)
    assert r.returncode == 1 and "chmod 600" in r.stderr, r.stderr
    empty = tmp_path / "empty.token"
    empty.write_text("\n")
    empty.chmod(0o600)
    r = run(home, *base, "--token-file", empty, config=cfg)
    assert r.returncode == 1 and "no token" in r.stderr, r.stderr
    wrong = tmp_path / "wrong.token"
    wrong.write_text("rpt_" + "0" * 64)
    wrong.chmod(0o600)
    r = run(home, *base, "--token-file", wrong, config=cfg)
    assert r.returncode == 1 and "(HTTP 401)" in r.stderr, r.stderr
    assert not cfg.exists()
    if os.geteuid() != 0:
        locked = tmp_path / "locked.token"
        locked.write_text(srv.owner)
        locked.chmod(0o000)
        r = run(home, *base, "--token-file", locked, config=cfg)
        assert r.returncode == 3 and "Permission denied" in r.stderr, r.stderr
    # A token file loosened after login is refused on the next call.
    good = tmp_path / "good.token"
    good.write_text(srv.owner)
    good.chmod(0o600)
    assert run(home, *base, "--token-file", good, config=cfg).returncode == 0
    assert run(home, "tenant", "list", config=cfg).returncode == 0
    good.chmod(0o640)
    r = run(home, "tenant", "list", config=cfg)
    assert r.returncode == 1 and "group or others" in r.stderr, r.stderr


def test_server_unreachable(srv, home, tmp_path):
    from test_server import free_port
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"server": f"https://127.0.0.1:{free_port()}",
                               "token_file": str(srv.tmp / "owner.token"),
                               "ca_cert": str(srv.cert)}))
    r = run(home, "tenant", "list", config=cfg)
    assert r.returncode == 3 and "127.0.0.1" in r.stderr, r.stderr


# ---- devices, images, deployments, error reports, CA (issue 5) -------------

import hashlib  # noqa: E402
import pty  # noqa: E402
import secrets  # noqa: E402


@pytest.fixture(scope="module")
def fleet(srv, world, logged_in, tmp_path_factory):
    """A second product (its groups have the same names), a developer key
    registered for CO2 Monitor and one uploaded image."""
    tmp = tmp_path_factory.mktemp("fleet")
    h, t = logged_in, world["tenant"]
    gw = jrun(h, "product", "create", "--tenant", t, "Gateway")
    r = run(h, "key", "generate", "-o", tmp / "dev.key")
    assert r.returncode == 0, r.stderr
    code, doc = srv.call("POST", f"/v1/tenants/{t}/products/{world['product']}/signing-keys",
                         srv.owner, {"public_key": (tmp / "dev.pub").read_text()})
    assert code == 201, doc
    groups = {g["name"]: g["id"] for g in
              jrun(h, "device-group", "list", "--product", "CO2 Monitor")}
    pkg = pack(tmp, tmp / "dev.key", name="first", size=300000)
    img = jrun(h, "image", "add", pkg, "--product", "CO2 Monitor")
    return {"tmp": tmp, "gateway": gw["id"], "groups": groups, "image": img, "pkg": pkg}


def content(srv, t, image):
    code, body, _ = srv.raw("GET", f"/v1/tenants/{t}/images/{image}/content", srv.owner)
    assert code == 200
    return body


def route_missing(srv, path, method="GET"):
    code, doc = srv.call(method, path, srv.owner, {} if method == "PUT" else None)
    return code == 501 or (code in (404, 405) and "route" in json.dumps(doc))


def test_image_add_list_show(srv, world, fleet, logged_in):
    h, img = logged_in, fleet["image"]
    assert img["product_id"] == world["product"] and img["version"] == "1.0.0"
    assert img["size"] > fleet["pkg"].stat().st_size
    # Not a terminal, no --progress: nothing on stderr.
    pkg = pack(fleet["tmp"], fleet["tmp"] / "dev.key", name="quiet")
    r = run(h, "image", "add", pkg, "--product", world["product"])
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "sha256" in r.stdout and "component_id" in r.stdout
    # --progress off a terminal: percentage lines.
    pkg = pack(fleet["tmp"], fleet["tmp"] / "dev.key", name="lines", size=200000)
    r = run(h, "image", "add", pkg, "--product", "co2 monitor", "--progress")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert lines[-1] == "uploading lines.rpk: 100%", r.stderr
    assert all(line.startswith("uploading lines.rpk: ") for line in lines)
    assert "\r" not in r.stderr
    listed = jrun(h, "image", "list")
    assert img["id"] in {i["id"] for i in listed}
    r = run(h, "image", "list")
    assert r.returncode == 0
    assert r.stdout.splitlines()[0].split() == ["ID", "COMPONENT", "VERSION", "SECURITY",
                                                "SIZE", "CREATED"]
    assert img["id"] in r.stdout
    assert jrun(h, "image", "show", img["id"]) == img
    r = run(h, "image", "show", img["id"])
    assert r.returncode == 0 and img["sha256"] in r.stdout


def test_image_download(srv, world, fleet, logged_in, tmp_path):
    h, img = logged_in, fleet["image"]
    out = tmp_path / "down.rpk"
    r = run(h, "image", "download", img["id"], "-o", out, "--progress")
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert len(data) == img["size"] and hashlib.sha256(data).hexdigest() == img["sha256"]
    assert r.stderr.splitlines()[-1] == "downloading down.rpk: 100%", r.stderr
    assert img["sha256"] in r.stdout
    assert not (tmp_path / "down.rpk.part").exists()
    # Never over an existing file without --force.
    r = run(h, "image", "download", img["id"], "-o", out)
    assert r.returncode == 3 and "--force" in r.stderr, r.stderr
    out.write_bytes(b"old")
    r = run(h, "image", "download", img["id"], "-o", out, "--force")
    assert r.returncode == 0 and out.read_bytes() == data, r.stderr


def test_image_download_resumes(srv, world, fleet, logged_in, tmp_path):
    h, img = logged_in, fleet["image"]
    full = content(srv, world["tenant"], img["id"])
    out = tmp_path / "resumed.rpk"
    part = tmp_path / "resumed.rpk.part"
    part.write_bytes(full[:123457])
    r = run(h, "image", "download", img["id"], "-o", out)
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stderr and "123457" in r.stderr
    assert out.read_bytes() == full and not part.exists()
    # A complete part is only verified and renamed.
    out.unlink()
    part.write_bytes(full)
    r = run(h, "image", "download", img["id"], "-o", out)
    assert r.returncode == 0 and out.read_bytes() == full, r.stderr
    # A part longer than the image is not its start: downloaded afresh.
    out.unlink()
    part.write_bytes(full + b"x" * 10)
    r = run(h, "image", "download", img["id"], "-o", out)
    assert r.returncode == 0 and out.read_bytes() == full, r.stderr


def test_image_download_mismatch_removes_part(srv, world, fleet, logged_in, tmp_path):
    h, img = logged_in, fleet["image"]
    full = content(srv, world["tenant"], img["id"])
    out = tmp_path / "bad.rpk"
    part = tmp_path / "bad.rpk.part"
    # A part that is not this image's start: the SHA-256 fails at the end.
    part.write_bytes(b"\0" * 1000)
    r = run(h, "image", "download", img["id"], "-o", out)
    assert r.returncode == 1 and "SHA-256 mismatch" in r.stderr, r.stderr
    assert r.stderr.startswith("rampart: image download: ")
    assert not part.exists() and not out.exists()
    # The server's stored file altered: refused, nothing left behind.
    stored = srv.data / "images" / img["sha256"]
    saved = stored.read_bytes()
    try:
        stored.write_bytes(saved[:-1] + bytes([saved[-1] ^ 1]))
        r = run(h, "image", "download", img["id"], "-o", out, "--progress")
        assert r.returncode == 1 and "SHA-256 mismatch" in r.stderr, r.stderr
        assert "100%" in r.stderr  # the transfer itself completed
        assert not part.exists() and not out.exists()
    finally:
        stored.write_bytes(saved)
    assert full == saved


def test_upload_progress_bar_on_a_terminal(srv, world, fleet, logged_in):
    pkg = pack(fleet["tmp"], fleet["tmp"] / "dev.key", name="tty", size=400000)
    master, slave = pty.openpty()
    env = dict(os.environ, HOME=str(logged_in))
    env.pop("RAMPART_CONFIG", None)
    p = subprocess.run([RAMPART, "image", "add", str(pkg), "--product", "CO2 Monitor",
                        "--json"], stdout=subprocess.PIPE, stderr=slave, env=env,
                       timeout=60)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert p.returncode == 0, seen
    assert json.loads(p.stdout)["version"] == "1.0.0"
    text = seen.decode()
    assert "\r" in text and "uploading tty.rpk [" in text and "100%" in text, text
    assert "#" * 30 in text


def test_device_verbs(srv, world, fleet, logged_in):
    h, groups = logged_in, fleet["groups"]
    dev = secrets.token_hex(32)
    # "Field Test" is a group of both products: the product decides.
    r = run(h, "device", "claim", dev, "--device-group", "Field Test")
    assert r.returncode == 2 and "give --product" in r.stderr, r.stderr
    d = jrun(h, "device", "claim", dev, "--product", "CO2 Monitor",
             "--device-group", "Field Test")
    assert d["id"] == dev and d["device_group_id"] == groups["Field Test"]
    assert d["product_id"] == world["product"]
    r = run(h, "device", "list")
    assert r.returncode == 0, r.stderr
    head = r.stdout.splitlines()[0]
    assert head.split()[:2] == ["ID", "PRODUCT"] and "DEVICE GROUP" in head
    row = next(line for line in r.stdout.splitlines() if dev in line)
    assert "CO2 Monitor" in row and "Field Test" in row
    assert dev in {x["id"] for x in jrun(h, "device", "list")}
    assert jrun(h, "device", "show", dev)["id"] == dev
    r = run(h, "device", "show", dev)
    assert r.returncode == 0 and "claimed_at" in r.stdout
    # A second claim is refused by the service.
    r = run(h, "device", "claim", dev)
    assert r.returncode == 1 and "(HTTP 409)" in r.stderr, r.stderr
    r = run(h, "device", "claim", "not-a-device-id")
    assert r.returncode == 1 and "(HTTP 400)" in r.stderr, r.stderr
    # Moving it: the ambiguity is caught before any change.
    r = run(h, "device", "update", dev, "--device-group", "Development")
    assert r.returncode == 2 and "Gateway" in r.stderr, r.stderr
    r = run(h, "device", "update", dev, "--device-group", "Nowhere", "--product", "CO2 Monitor")
    assert r.returncode == 1 and "no device group 'Nowhere'" in r.stderr, r.stderr
    if route_missing(srv, f"/v1/tenants/{world['tenant']}/devices/{dev}/device-group", "PUT"):
        r = run(h, "device", "update", dev, "--device-group", "Development",
                "--product", "CO2 Monitor")
        assert r.returncode in (1, 3) and "(HTTP 5" in r.stderr or "(HTTP 4" in r.stderr
        pytest.skip("PUT .../devices/{d}/device-group is not served yet (S1)")
    d = jrun(h, "device", "update", dev, "--device-group", "Development",
             "--product", "CO2 Monitor")
    assert d["device_group_id"] == groups["Development"]
    # Only a group id (unique across products) is enough.
    d = jrun(h, "device", "update", dev, "--device-group", groups["Production"])
    assert d["device_group_id"] == groups["Production"]


def test_device_local_and_remote_coexist(logged_in, tmp_path):
    h = logged_in
    sock = tmp_path / "none.sock"
    # No ID: the local verb, which talks to rampartd.
    r = run(h, "device", "show", "--socket", sock)
    assert r.returncode == 3 and str(sock) in r.stderr, r.stderr
    r = run(h, "device", "--socket", sock, "show")
    assert r.returncode == 3 and str(sock) in r.stderr, r.stderr
    r = run(h, "device", "--socket", sock, "list")
    assert r.returncode == 2 and "security service" in r.stderr, r.stderr
    r = run(h, "device", "--help")
    assert r.returncode == 0
    for verb in ("sideload deploy", "app list", "list [--json]", "show ID",
                 "claim ID", "update ID --device-group G"):
        assert verb in r.stdout, verb
    r = run(h, "device", "show", "--help")
    assert r.returncode == 0 and "rampart device show ID" in r.stdout


def test_deployment_verbs(srv, world, fleet, logged_in):
    h, img = logged_in, fleet["image"]
    d1 = jrun(h, "deployment", "create", "--product", "CO2 Monitor", "--device-group",
              "Field Test", img["id"])
    assert [i["id"] for i in d1["images"]] == [img["id"]]
    assert d1["device_group_id"] == fleet["groups"]["Field Test"]
    d2 = jrun(h, "deployment", "create", "--product", "CO2 Monitor", "--device-group",
              fleet["groups"]["Field Test"], img["id"])
    assert d2["version"] == d1["version"] + 1
    listed = jrun(h, "deployment", "list", "--product", "CO2 Monitor",
                  "--device-group", "Field Test")
    assert [d["id"] for d in listed[:2]] == [d2["id"], d1["id"]]
    r = run(h, "deployment", "list", "--product", "CO2 Monitor", "--device-group",
            "field test")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split() == ["VERSION", "ID", "CREATED", "BY", "IMAGES"]
    assert img["id"] in r.stdout
    # An image of no product of ours, a group of another product.
    r = run(h, "deployment", "create", "--product", "CO2 Monitor", "--device-group",
            "Field Test", "00000000-0000-0000-0000-000000000001")
    assert r.returncode == 1 and "(HTTP 4" in r.stderr, r.stderr
    r = run(h, "deployment", "create", "--product", "Gateway", "--device-group",
            "Field Test", img["id"])
    assert r.returncode == 1 and "(HTTP 400)" in r.stderr, r.stderr


def test_ca_certificate_download(srv, world, logged_in, tmp_path):
    h = logged_in
    pem = tmp_path / "ca.pem"
    r = run(h, "ca-certificate", "download", "-o", pem)
    assert r.returncode == 0, r.stderr
    x = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-subject"],
                       capture_output=True, text=True)
    assert x.returncode == 0 and "Rampart tenant" in x.stdout, x.stdout + x.stderr
    der = tmp_path / "ca.der"
    r = run(h, "ca-certificate", "download", "-o", der, "--format", "der")
    assert r.returncode == 0, r.stderr
    x = subprocess.run(["openssl", "x509", "-inform", "DER", "-in", der, "-noout",
                        "-fingerprint", "-sha256"], capture_output=True, text=True)
    y = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-fingerprint",
                        "-sha256"], capture_output=True, text=True)
    assert x.returncode == 0 and x.stdout == y.stdout
    r = run(h, "ca-certificate", "download", "-o", der, "--format", "der")
    assert r.returncode == 3, r.stderr
    assert run(h, "ca-certificate", "download", "-o", der, "--format", "der",
               "--force").returncode == 0
    r = run(h, "ca-certificate", "download", "-o", tmp_path / "x", "--format", "xml")
    assert r.returncode == 2 and "pem or der" in r.stderr, r.stderr


def test_names_for_products_and_groups(srv, world, fleet, logged_in):
    h = logged_in
    by_id = jrun(h, "device-group", "list", "--product", world["product"])
    assert jrun(h, "device-group", "list", "--product", "CO2 Monitor") == by_id
    assert jrun(h, "device-group", "list", "--product", "co2 MONITOR") == by_id
    assert jrun(h, "product", "show", "Gateway")["id"] == fleet["gateway"]
    r = run(h, "device-group", "list", "--product", "Toaster")
    assert r.returncode == 1 and "no product 'Toaster'" in r.stderr, r.stderr
    assert "CO2 Monitor" in r.stderr  # says what there is
    r = run(h, "deployment", "list", "--device-group", "Field Test")
    assert r.returncode == 2 and "give --product" in r.stderr, r.stderr


def test_time_arguments(srv, world, logged_in):
    h = logged_in
    for bad in ("yesterday", "2026-13-01", "2026-02-30", "2026-11-25T25:00:00Z",
                "2026-11-25 09:27:28", "-5", "5y", "h"):
        r = run(h, "error-report", "list", "--since", bad)
        assert r.returncode == 2 and "not a time" in r.stderr, (bad, r.stderr)
    r = run(h, "error-report", "list", "--since", "1d", "--until", "7d")
    assert r.returncode == 2 and "after --until" in r.stderr, r.stderr


def checkin_reports(srv, world, fleet, tmp_path):
    """A device of CO2 Monitor / Field Test that checks in (mutual TLS) with
    three error reports; returns its id, or None without the route."""
    key, csr = tmp_path / "dev.key", tmp_path / "dev.csr"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], check=True)
    subprocess.run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=x", "-out", csr],
                   check=True)
    der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    dev = hashlib.sha256(der).hexdigest()
    t = world["tenant"]
    code, doc = srv.call("POST", f"/v1/tenants/{t}/devices/claim", srv.owner,
                         {"device_id": dev, "product": world["product"],
                          "device_group": fleet["groups"]["Field Test"]})
    assert code == 201, doc
    code, doc = srv.call("POST", "/v1/device/certificate", None,
                         {"tenant": t, "csr": csr.read_text()})
    assert code == 201, doc
    cert = tmp_path / "dev.crt"
    cert.write_text(doc["certificate"])
    import http.client
    import ssl
    ctx = ssl.create_default_context(cafile=str(srv.cert))
    ctx.load_cert_chain(str(cert), str(key))
    comp = str(uuid.uuid4())
    now = int(time.time())
    reports = [{"seq": i + 1, "time": now - 60 * (3 - i), "component_id": comp,
                "app_name": "co2monitor", "event_type": "AppCrash",
                "event_class": "Unplanned", "exit_code": 0, "signal": 11,
                "description": "killed by signal 11", "image_version": "1.0.0",
                "security_version": 1} for i in range(3)]
    body = {"runtime_version": "0.5.0", "time": now, "targets_version": 0,
            "installed": [], "error_reports": reports}
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=30)
    conn.request("POST", "/v1/device/checkin", body=json.dumps(body),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    text = resp.read()
    conn.close()
    if resp.status in (404, 405):
        return None
    assert resp.status == 200, text
    return dev


def test_error_reports(srv, world, fleet, logged_in, tmp_path):
    h, t = logged_in, world["tenant"]
    if route_missing(srv, f"/v1/tenants/{t}/error-reports"):
        r = run(h, "error-report", "list")
        assert r.returncode == 1 and "(HTTP 40" in r.stderr, r.stderr
        pytest.skip("GET .../error-reports is not served yet (S1)")
    dev = checkin_reports(srv, world, fleet, tmp_path)
    if dev is None:
        pytest.skip("POST /v1/device/checkin is not served yet (S1)")
    doc = jrun(h, "error-report", "list", "--product", "CO2 Monitor",
               "--device-group", "Field Test", "--since", "1h")
    rows = [x for x in doc["error_reports"] if x["device_id"] == dev]
    assert len(rows) == 1 and rows[0]["event_count"] == 3, doc
    assert rows[0]["kind"] == "AppCrash" and rows[0]["event_type"] == "Unplanned"
    assert rows[0]["app_name"] == "co2monitor"
    r = run(h, "error-report", "list", "--device", dev)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split()[:3] == ["DEVICE", "ID", "APP"]
    assert dev in r.stdout and "killed by signal 11" in r.stdout
    # The window and the filters narrow it.
    for args in (["--until", "2020-01-01"], ["--since", "2099-01-01T00:00:00Z"],
                 ["--device", "ab" * 32], ["--product", "Gateway"]):
        doc = jrun(h, "error-report", "list", *args)
        assert not [x for x in doc["error_reports"] if x["device_id"] == dev], args
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    doc = jrun(h, "error-report", "list", "--since", iso, "--until", str(int(time.time()) + 60))
    assert [x for x in doc["error_reports"] if x["device_id"] == dev]
    out = tmp_path / "reports.csv"
    r = run(h, "error-report", "download", "--csv", "-o", out, "--device", dev)
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == ("Device ID,Event Type,Event Class,Event Count,Description,"
                        "Start Time,End Time")
    assert len(lines) == 2 and lines[1].startswith(f"{dev},Unplanned,Application,3,")
    r = run(h, "error-report", "download", "-o", out)
    assert r.returncode == 3 and "--force" in r.stderr, r.stderr
    assert run(h, "error-report", "download", "-o", out, "--force").returncode == 0
    assert not (tmp_path / "reports.csv.part").exists()


def test_remote_refusals(srv, world, fleet, logged_in, tmp_path):
    h, t = logged_in, world["tenant"]
    # A Reader may read but not upload, claim or deploy.
    assert run(h, "role", "add", "--tenant", t, "reader2", "Reader").returncode == 0
    tok = tmp_path / "reader2.token"
    assert run(h, "token", "create", "--tenant", t, "--user", "reader2",
               "-o", tok).returncode == 0
    cfg = tmp_path / "reader2.json"
    assert run(h, "login", "--server", server_url(srv), "--token-file", tok,
               "--ca-cert", srv.cert, config=cfg).returncode == 0
    assert run(h, "image", "list", config=cfg).returncode == 0
    pkg = pack(fleet["tmp"], fleet["tmp"] / "dev.key", name="reader")
    for args in (["image", "add", pkg, "--product", "CO2 Monitor"],
                 ["device", "claim", secrets.token_hex(32)],
                 ["deployment", "create", "--product", "CO2 Monitor", "--device-group",
                  "Field Test", fleet["image"]["id"]]):
        r = run(h, *args, config=cfg)
        assert r.returncode == 1 and "(HTTP 403)" in r.stderr, (args, r.stderr)
        assert r.stderr.startswith(f"rampart: {args[0]} {args[1]}: "), r.stderr
    # A package signed by an unregistered key; not a package at all.
    other = fleet["tmp"] / "other.key"
    assert run(h, "key", "generate", "-o", other).returncode == 0
    r = run(h, "image", "add", pack(fleet["tmp"], other, name="unreg"), "--product",
            "CO2 Monitor")
    assert r.returncode == 1 and "(HTTP 422)" in r.stderr, r.stderr
    junk = tmp_path / "junk.rpk"
    junk.write_bytes(b"not a package")
    r = run(h, "image", "add", junk, "--product", "CO2 Monitor", "--progress")
    assert r.returncode == 1 and "(HTTP 422)" in r.stderr, r.stderr
    # Over the server's cap (2 MiB in this test).
    big = tmp_path / "big.rpk"
    big.write_bytes(b"\0" * (3 * 1024 * 1024))
    r = run(h, "image", "add", big, "--product", "CO2 Monitor")
    assert r.returncode == 1 and "(HTTP 413)" in r.stderr, r.stderr
    r = run(h, "image", "show", "00000000-0000-0000-0000-000000000000")
    assert r.returncode == 1 and "(HTTP 404)" in r.stderr, r.stderr
    r = run(h, "image", "download", "00000000-0000-0000-0000-000000000000",
            "-o", tmp_path / "none.rpk")
    assert r.returncode == 1 and not (tmp_path / "none.rpk.part").exists()


def test_remote_usage_errors(logged_in, tmp_path):
    h = logged_in
    for args in (["image", "add", "x.rpk"], ["image", "add", "--product", "P"],
                 ["image", "download", "ID"], ["image", "show"],
                 ["image", "list", "--product", "P"], ["image", "frobnicate"],
                 ["deployment", "create", "--device-group", "G"],
                 ["deployment", "list", "--product", "P"],
                 ["device", "update", "ID"], ["device", "claim"],
                 ["error-report", "download", "--csv"],
                 ["error-report", "list", "--json", "-o", "x"],
                 ["ca-certificate", "download"]):
        r = run(h, *args)
        assert r.returncode == 2, (args, r.stderr)
    r = run(h, "image", "add", tmp_path / "missing.rpk", "--product", "CO2 Monitor")
    assert r.returncode == 3 and "missing.rpk" in r.stderr, r.stderr
    for args in (["image", "--help"], ["image", "add", "--help"],
                 ["image", "download", "--help"], ["deployment", "create", "--help"],
                 ["error-report", "list", "--help"], ["error-report", "download", "--help"],
                 ["ca-certificate", "download", "--help"], ["device", "claim", "--help"],
                 ["device", "update", "--help"], ["device", "list", "--help"]):
        r = run(h, *args)
        assert r.returncode == 0 and "usage:" in r.stdout, args


def test_tenant_by_name_and_default(srv, world, logged_in):
    """Last: adds a second tenant, so --tenant stops being optional."""
    h = logged_in
    assert jrun(h, "tenant", "show", "acme")["id"] == world["tenant"]
    jrun(h, "tenant", "create", "beta")
    r = run(h, "image", "list")
    assert r.returncode == 2 and "give --tenant" in r.stderr and "beta" in r.stderr
    r = run(h, "product", "list")
    assert r.returncode == 2 and "give --tenant" in r.stderr
    assert run(h, "image", "list", "--tenant", "acme").returncode == 0
    assert jrun(h, "product", "list", "--tenant", "acme")
    assert jrun(h, "product", "list", "--tenant", "beta") == []
    r = run(h, "image", "list", "--tenant", "gamma")
    assert r.returncode == 1 and "no tenant 'gamma'" in r.stderr, r.stderr


# ---- a download from a server that misbehaves ------------------------------
# A small HTTPS server on a real socket (Python's), standing in for a broken
# or hostile service: what the real one never does cannot be provoked there.

import http.server  # noqa: E402
import ssl  # noqa: E402
import threading  # noqa: E402

T_ID = "11111111-2222-3333-4444-555555555555"
I_ID = "66666666-7777-8888-9999-aaaaaaaaaaaa"
BLOB = bytes(range(256)) * 1000


class Odd(http.server.BaseHTTPRequestHandler):
    mode = "ok"
    ranges = []

    def log_message(self, *a):
        pass

    def send(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == f"/v1/tenants/{T_ID}/images/{I_ID}":
            meta = {"id": I_ID, "size": len(BLOB),
                    "sha256": hashlib.sha256(BLOB).hexdigest()}
            return self.send(200, json.dumps(meta).encode(),
                             [("Content-Type", "application/json")])
        if self.path != f"/v1/tenants/{T_ID}/images/{I_ID}/content":
            return self.send(404, b'{"error":{"code":"not_found","message":"no"}}')
        rng = self.headers.get("Range")
        Odd.ranges.append(rng)
        start = int(rng[6:-1]) if rng else 0
        mode = Odd.mode
        if mode == "cut":  # half of it, then the connection drops
            self.send_response(200)
            self.send_header("Content-Length", str(len(BLOB)))
            self.end_headers()
            self.wfile.write(BLOB[:len(BLOB) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        if mode == "bigger":
            return self.send(200, BLOB + b"extra")
        if mode == "wrongrange" and rng:
            return self.send(206, BLOB[start + 7:], [
                ("Content-Range", f"bytes {start + 7}-{len(BLOB) - 1}/{len(BLOB)}")])
        if mode == "norange" or not rng:
            return self.send(200, BLOB)
        return self.send(206, BLOB[start:], [
            ("Content-Range", f"bytes {start}-{len(BLOB) - 1}/{len(BLOB)}")])


@pytest.fixture(scope="module")
def odd(srv, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("odd")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Odd)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(str(srv.cert), str(srv.tmp / "key.pem"))
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    tok = tmp / "tok"
    tok.write_text("rpt_x")
    tok.chmod(0o600)
    cfg = tmp / "odd.json"
    cfg.write_text(json.dumps({"server": f"https://127.0.0.1:{httpd.server_address[1]}",
                               "token_file": str(tok), "ca_cert": str(srv.cert)}))
    yield cfg
    httpd.shutdown()


def odd_download(home, cfg, out, mode):
    Odd.mode = mode
    Odd.ranges = []
    return run(home, "image", "download", "--tenant", T_ID, I_ID, "-o", out, config=cfg)


def test_download_broken_connection_resumes(odd, home, tmp_path):
    out, part = tmp_path / "o.rpk", tmp_path / "o.rpk.part"
    r = odd_download(home, odd, out, "cut")
    assert r.returncode == 3, r.stderr
    assert part.read_bytes() == BLOB[:len(BLOB) // 2] and not out.exists()
    r = odd_download(home, odd, out, "ok")
    assert r.returncode == 0, r.stderr
    assert Odd.ranges == [f"bytes={len(BLOB) // 2}-"]
    assert out.read_bytes() == BLOB and not part.exists()


def test_download_server_ignores_range(odd, home, tmp_path):
    out, part = tmp_path / "o.rpk", tmp_path / "o.rpk.part"
    part.write_bytes(BLOB[:1000])
    r = odd_download(home, odd, out, "norange")  # 200: the whole file again
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == BLOB


def test_download_refusals_remove_the_part(odd, home, tmp_path):
    out, part = tmp_path / "o.rpk", tmp_path / "o.rpk.part"
    r = odd_download(home, odd, out, "bigger")
    assert r.returncode == 1 and "larger than" in r.stderr, r.stderr
    assert not part.exists() and not out.exists()
    part.write_bytes(BLOB[:5000])
    r = odd_download(home, odd, out, "wrongrange")
    assert r.returncode == 1 and "another range" in r.stderr, r.stderr
    assert not part.exists() and not out.exists()
