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

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from test_server import SRC, Server  # noqa: E402

RAMPART = os.environ.get("RAMPART", str(SRC / "build" / "cli" / "rampart"))


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("remote")
    s = Server(f"sqlite:{tmp / 'rampart.db'}", tmp)
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
    assert r.stderr.startswith("rampart: server: 403 forbidden: "), r.stderr
    assert "Stolen" not in {p["name"] for p in jrun(h, "product", "list", "--tenant", t)}
    # Reading is allowed.
    assert run(h, "product", "list", "--tenant", t, config=cfg).returncode == 0


def test_not_found_and_escaping(srv, world, logged_in):
    h = logged_in
    r = run(h, "tenant", "show", "00000000-0000-0000-0000-000000000000")
    assert r.returncode == 1 and "server: 404 not_found" in r.stderr, r.stderr
    # A path segment cannot climb to another route.
    r = run(h, "tenant", "show", "../tenants")
    assert r.returncode == 1 and "404" in r.stderr, r.stderr
    r = run(h, "product", "show", "--tenant", world["tenant"], "x?y#z")
    assert r.returncode == 1, r.stderr


def test_server_validation_message(world, logged_in):
    r = run(logged_in, "role", "add", "--tenant", world["tenant"], "eve", "God")
    assert r.returncode == 1 and "server: 400 bad_request: " in r.stderr, r.stderr


def test_usage_errors(logged_in):
    h = logged_in
    assert run(h, "product", "list").returncode == 2
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
    assert r.returncode == 1 and "401 unauthorized" in r.stderr, r.stderr
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
