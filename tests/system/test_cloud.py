"""System test: the device's cloud client (rampartd + rampart-cloud) against
a real rampart-server with its real rampart-signer over mutual TLS.

What must work: admission by claim (the device waits, saying its id, until
the operator claims it) and by enrollment token; check-ins that bring
verified targets; `check-for-updates`; a crashed app's error report reaching
the service once; certificate renewal at two thirds of its life.
What must NOT work, and leave the state unchanged: a replayed (older)
targets document, a tampered one, another device's; an untrusted server;
bad setup input. rampartd never links libcrypto (its own meson test).
"""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

from test_identity import IdServer, SIGNER  # noqa: F401
from test_rampartd import (RAMPART, RAMPARTD, PROBE, Daemon, needs_root, pack,
                           run_cli, wait_for)
from test_server import Server

CLOUD = os.environ.get("RAMPART_CLOUD",
                       str(pathlib.Path(RAMPARTD).resolve().parent / "rampart-cloud"))
A = "a0000000-0000-4000-8000-00000000c10d"


class CloudServer(IdServer):
    """rampart-server with the signer, short certificates and check-ins."""

    def __init__(self, url, tmp, extra=()):
        self.keys = tmp / "ca-keys"
        self.seen = []
        # A new targets document at every check-in (the default re-serves
        # the last one for half its lifetime): these tests follow a device
        # through successive documents.
        Server.__init__(self, url, tmp, extra=(
            "--keys", str(self.keys), "--signer", SIGNER, "--data", str(tmp / "data"),
            "--targets-reissue", "0", *extra))


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the cloud tests need root (rampartd)")
    tmp = tmp_path_factory.mktemp("cloud-srv")
    s = CloudServer(f"sqlite:{tmp / 'rampart.db'}", tmp,
                    extra=("--cert-validity", "60"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def tenant(srv):
    code, ten = srv.call("POST", "/v1/tenants", srv.owner, {"name": "cloud-tenant"})
    assert code == 201, ten
    t = {"id": ten["id"]}
    for user, role in (("admin", "Administrator"), ("dev", "Contributor"),
                       ("viewer", "Reader")):
        assert srv.call("POST", f"/v1/tenants/{t['id']}/roles", srv.owner,
                        {"user": f"{user}-cloud", "role": role})[0] == 200
        code, doc = srv.call("POST", f"/v1/tenants/{t['id']}/tokens", srv.owner,
                             {"user": f"{user}-cloud"})
        assert code == 201
        t[role] = doc["token"]
    code, prod = srv.call("POST", f"/v1/tenants/{t['id']}/products",
                          t["Administrator"], {"name": "Cloud Sensor"})
    assert code == 201
    t["product"] = prod["id"]
    return t


@pytest.fixture
def work():
    d = tempfile.mkdtemp(prefix="rpc-", dir="/tmp")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


def start_daemon(work, **cfg):
    conf = {"checkin_interval_s": 3600, "cgroup_parent": "rampart-test-cloud",
            "cloud_helper": CLOUD}
    conf.update(cfg)
    return Daemon(work, config=conf).start()


@pytest.fixture
def daemon(work):
    d = start_daemon(work)
    yield d
    assert d.stop() == 0, d.log.read_text()


def device_id(d):
    r = d.rp("device", "show", "--json")
    assert r.code == 0, r
    return r.json()["device_id"]


def cloud_setup(d, srv, tenant, *extra):
    return d.rp("device", "cloud", "setup", "--url", f"https://127.0.0.1:{srv.port}",
                "--ca", srv.cert, "--tenant", tenant["id"], "--json", *extra)


def claim(srv, tenant, dev_id):
    code, doc = srv.call("POST", f"/v1/tenants/{tenant['id']}/devices/claim",
                         tenant["Contributor"], {"device_id": dev_id})
    assert code == 201, doc


def status(d):
    r = d.rp("device", "cloud", "status", "--json")
    assert r.code == 0, r
    return r.json()


def check(d):
    r = d.rp("device", "check-for-updates", "--json")
    assert r.code == 0, r
    return r.json()


def helper(*args):
    """Run rampart-cloud directly. Its seccomp filter rules out
    LeakSanitizer's exit-time check (runtime/verify_nolsan.c), which an
    ASAN_OPTIONS from the environment would turn back on; rampartd runs it
    with no environment."""
    env = dict(os.environ)
    if "ASAN_OPTIONS" in env:
        env["ASAN_OPTIONS"] += ":detect_leaks=0"
    return subprocess.run([CLOUD, *map(str, args)], capture_output=True, text=True,
                          timeout=60, env=env)


# ---- admission ---------------------------------------------------------------

@needs_root
def test_claim_path(daemon, srv, tenant):
    dev = device_id(daemon)
    r = cloud_setup(daemon, srv, tenant)
    assert r.code == 0, r
    res = r.json()
    assert res["result"]["state"] == "unclaimed"
    assert f"waiting to be claimed: give the operator device id {dev}" in \
        res["status"]["message"]
    st = status(daemon)
    assert st["configured"] and st["state"] == "unclaimed" and st["certificate"] is None
    cloud = daemon.state / "cloud"
    assert json.loads((cloud / "config.json").read_text()) == {
        "url": f"https://127.0.0.1:{srv.port}", "tenant": tenant["id"]}
    assert (cloud / "server-ca.pem").read_text() == srv.cert.read_text()
    assert (cloud / "targets.state").stat().st_mode & 0o777 == 0o600
    assert not (cloud / "cert.pem").exists()
    # The human output says the same.
    r = daemon.rp("device", "cloud", "status")
    assert r.code == 0 and "waiting to be claimed" in r.out and dev in r.out
    # The operator claims it; the next step gets the certificate.
    claim(srv, tenant, dev)
    res = check(daemon)
    cert = res["status"]["certificate"]
    assert cert and cert["not_after"] - cert["not_before"] == 60
    assert cert["renew_after"] == cert["not_before"] + 40
    assert (cloud / "cert.pem").exists() and (cloud / "tenant-ca.pem").exists()
    out = subprocess.run(["openssl", "x509", "-in", cloud / "cert.pem", "-noout",
                          "-subject"], capture_output=True, text=True).stdout
    assert dev in out
    r = subprocess.run(["openssl", "verify", "-CAfile", cloud / "tenant-ca.pem",
                        "-purpose", "sslclient", cloud / "cert.pem"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # The private key never left the device key file.
    assert "PRIVATE" not in "".join(p.read_text() for p in cloud.glob("*.pem"))


@needs_root
def test_enrollment_token_path(daemon, srv, tenant):
    code, tok = srv.call("POST", f"/v1/tenants/{tenant['id']}/enrollment-tokens",
                         tenant["Administrator"], {"expires_in": 600})
    assert code == 201, tok
    r = cloud_setup(daemon, srv, tenant, "--enroll-token", tok["token"])
    assert r.code == 0, r
    res = r.json()["result"]
    assert res["enrolled"] is True and res["certificate"], res
    cloud = daemon.state / "cloud"
    assert not (cloud / "enroll-token").exists()  # used once, then gone
    code, shown = srv.call("GET", f"/v1/tenants/{tenant['id']}/devices/"
                           f"{device_id(daemon)}", tenant["Reader"])
    assert code == 200, shown


@needs_root
def test_used_token_falls_back_to_claim(work, srv, tenant):
    code, tok = srv.call("POST", f"/v1/tenants/{tenant['id']}/enrollment-tokens",
                         tenant["Administrator"], {"expires_in": 600})
    assert code == 201
    (work / "one").mkdir()
    first = start_daemon(work / "one")
    try:
        assert cloud_setup(first, srv, tenant, "--enroll-token", tok["token"]).json()[
            "result"]["enrolled"]
    finally:
        first.stop()
    (work / "two").mkdir()
    second = start_daemon(work / "two")
    try:
        r = cloud_setup(second, srv, tenant, "--enroll-token", tok["token"])
        assert r.code == 0, r
        assert r.json()["result"]["state"] == "unclaimed"
    finally:
        second.stop()


# ---- setup refusals ----------------------------------------------------------

@needs_root
@pytest.mark.parametrize("url,why", [
    ("http://127.0.0.1:1", "plain HTTP is refused"),
    ("https://user@127.0.0.1", "no user, path or query"),
    ("https://127.0.0.1/path", "no user, path or query"),
    ("ftp://x", "expected https://HOST[:PORT]"),
])
def test_setup_bad_url(daemon, srv, tenant, url, why):
    r = daemon.rp("device", "cloud", "setup", "--url", url, "--ca", srv.cert,
                  "--tenant", tenant["id"])
    assert r.code != 0 and why in r.err, r
    assert not (daemon.state / "cloud" / "config.json").exists()


@needs_root
def test_setup_bad_tenant_and_ca(daemon, srv, tenant, work):
    r = daemon.rp("device", "cloud", "setup", "--url", "https://127.0.0.1:1",
                  "--ca", srv.cert, "--tenant", "not-a-guid")
    assert r.code != 0 and "tenant" in r.err, r
    bad = work / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    r = daemon.rp("device", "cloud", "setup", "--url", "https://127.0.0.1:1",
                  "--ca", bad, "--tenant", tenant["id"])
    assert r.code != 0 and "server CA" in r.err, r
    r = daemon.rp("device", "cloud", "setup", "--url", "https://127.0.0.1:1")
    assert r.code == 2, r
    r = daemon.rp("device", "check-for-updates")
    assert r.code != 0 and "not set up" in r.err, r


@needs_root
def test_untrusted_server_refused(daemon, srv, tenant, work):
    other = work / "other.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", work / "o.key",
                    "-out", other, "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    r = daemon.rp("device", "cloud", "setup", "--url", f"https://127.0.0.1:{srv.port}",
                  "--ca", other, "--tenant", tenant["id"], "--json")
    assert r.code == 0, r
    res = r.json()["result"]
    assert res["state"] == "error" and "not trusted" in res["error"], res
    assert not (daemon.state / "cloud" / "cert.pem").exists()


@needs_root
def test_helper_missing(work):
    d = start_daemon(work, cloud_helper="/nonexistent/rampart-cloud")
    try:
        r = d.rp("device", "check-for-updates")
        assert r.code != 0 and "rampart-cloud" in r.err, r
        assert d.rp("device", "show").code == 0  # the device runs on
    finally:
        d.stop()


def test_helper_usage():
    r = helper()
    assert r.returncode != 0 and "usage: rampart-cloud" in r.stderr
    r = helper("verify-targets", "/nonexistent", "/nonexistent/x.rpt")
    assert r.returncode != 0 and "not set up" in r.stderr


# ---- check-in and targets ------------------------------------------------------

@pytest.fixture
def claimed(daemon, srv, tenant):
    """A daemon set up and claimed, with its first check-in done."""
    claim(srv, tenant, device_id(daemon))
    r = cloud_setup(daemon, srv, tenant)
    assert r.code == 0, r
    res = r.json()["result"]
    assert res["state"] == "ok", res
    return daemon


def state_bytes(d):
    return (d.state / "cloud" / "targets.state").read_bytes()


@needs_root
def test_checkin_brings_verified_targets(claimed, srv, tenant):
    d = claimed
    cloud = d.state / "cloud"
    st = status(d)
    assert st["state"] == "ok" and st["message"] is None
    t1 = st["targets"]
    assert t1["version"] >= 1 and st["targets_version"] == t1["version"]
    assert t1["tenant"] == tenant["id"] and t1["images"] == []
    assert t1["expires"] > t1["issued_at"]
    assert st["last_checkin"] and st["next_checkin"] > st["last_checkin"]
    assert (cloud / "targets-key.pem").exists() and (cloud / "targets.rpt").exists()
    assert (cloud / "tenant-ca.pem").exists()
    status_file = json.loads((cloud / "status.json").read_text())
    assert status_file["targets_version"] == t1["version"]
    # check-for-updates: the next document, a higher version.
    res = check(d)
    assert res["result"]["state"] == "ok"
    t2 = res["result"]["targets"]
    assert t2["accepted"] and t2["version"] > t1["version"]
    r = d.rp("device", "check-for-updates")
    assert r.code == 0 and "Targets version:" in r.out and "Checked in" in r.out, r
    # The service knows the device checked in.
    code, dev = srv.call("GET", f"/v1/tenants/{tenant['id']}/devices/{device_id(d)}",
                         tenant["Reader"])
    assert code == 200 and dev["last_checkin"] and dev["runtime_version"], dev


@needs_root
def test_replayed_tampered_and_foreign_targets_refused(claimed, srv, tenant, work):
    d = claimed
    cloud = d.state / "cloud"
    old = work / "old.rpt"
    shutil.copy(cloud / "targets.rpt", old)
    check(d)
    newest = (cloud / "targets.rpt").read_bytes()
    before = state_bytes(d)
    # Replay of an older, validly signed document: refused, nothing changes.
    r = helper("verify-targets", d.state, old)
    assert r.returncode != 0 and "rollback" in r.stderr, r
    assert state_bytes(d) == before
    # The same document again is no error and no change.
    r = helper("verify-targets", d.state, cloud / "targets.rpt")
    assert r.returncode == 0 and json.loads(r.stdout)["accepted"] is False, r
    assert state_bytes(d) == before
    # Tampered: one payload byte flipped (the version digit), or truncated.
    i = newest.index(b'"version":') + len(b'"version":')
    bad = bytearray(newest)
    bad[i] = ord("9") if bad[i] != ord("9") else ord("8")
    (work / "tampered.rpt").write_bytes(bytes(bad))
    r = helper("verify-targets", d.state, work / "tampered.rpt")
    assert r.returncode != 0 and "signature" in r.stderr, r
    (work / "short.rpt").write_bytes(newest[:-5])
    r = helper("verify-targets", d.state, work / "short.rpt")
    assert r.returncode != 0, r
    assert state_bytes(d) == before
    # Another device's document (same tenant, same signing key): refused.
    (work / "other").mkdir()
    other = start_daemon(work / "other")
    try:
        claim(srv, tenant, device_id(other))
        assert cloud_setup(other, srv, tenant).json()["result"]["state"] == "ok"
        check(other)
        foreign = other.state / "cloud" / "targets.rpt"
        r = helper("verify-targets", d.state, foreign)
        assert r.returncode != 0 and "device" in r.stderr, r
    finally:
        other.stop()
    assert state_bytes(d) == before
    # A damaged state refuses everything rather than starting afresh.
    (cloud / "targets.state").write_bytes(before[:-1] + bytes([before[-1] ^ 1]))
    r = helper("verify-targets", d.state, cloud / "targets.rpt")
    assert r.returncode != 0 and "state" in r.stderr, r
    (cloud / "targets.state").write_bytes(before)
    # And rampartd reports a refused document in its status, state intact.
    assert check(d)["result"]["targets"]["accepted"]


@needs_root
def test_crash_report_reaches_service_once(claimed, srv, tenant, work):
    d = claimed
    dev = device_id(d)
    r = run_cli("key", "generate", "-o", work / "dev.key")
    assert r.code == 0, r
    assert d.rp("device", "enable-development", "--trust-key", work / "dev.pub").code == 0
    pkg = pack(work, {"dev": work / "dev.key"}, A, ["crash"], name="crasher")
    assert d.rp("device", "sideload", "deploy", pkg).code == 0
    wait_for(lambda: any("AppCrash" in e["description"] for e in
                         d.rp("device", "error-report", "--json").json()["events"]),
             timeout=20, what="a crash report")
    d.rp("device", "app", "stop", "--component-id", A)
    res = check(d)["result"]
    ck = res["checkin"]
    assert ck["reports_sent"] >= 1 and ck["reports_accepted"] == ck["reports_sent"], res
    acked = ck["reports_acked_seq"]
    assert acked >= ck["reports_sent"]
    assert any(a["component_id"] == A for a in
               srv.call("GET", f"/v1/tenants/{tenant['id']}/devices/{dev}",
                        tenant["Reader"])[1]["installed"])
    code, doc = srv.call("GET", f"/v1/tenants/{tenant['id']}/error-reports?device={dev}",
                         tenant["Reader"])
    assert code == 200, doc
    rows = [x for x in doc["error_reports"] if x["component_id"] == A]
    assert any(x["kind"] == "AppCrash" and x["event_type"] == "Unplanned" and
               x["description"].startswith("AppCrash: signal=") for x in rows), rows
    # Nothing is sent twice, also across a restart of rampartd.
    assert check(d)["result"]["checkin"]["reports_sent"] == 0
    d.stop()
    d.start()
    assert status(d)["reports_acked_seq"] == acked
    assert check(d)["result"]["checkin"]["reports_sent"] == 0


@needs_root
def test_scheduled_checkins(work, srv, tenant):
    d = start_daemon(work, checkin_interval_s=2, checkin_jitter_pct=0)
    try:
        claim(srv, tenant, device_id(d))
        assert cloud_setup(d, srv, tenant).json()["result"]["state"] == "ok"
        v0 = status(d)["targets_version"]
        # Without asking: the interval brings new documents.
        wait_for(lambda: status(d)["targets_version"] >= v0 + 2, timeout=20,
                 step=0.5, what="two scheduled check-ins")
    finally:
        assert d.stop() == 0


@needs_root
def test_certificate_renewed_at_two_thirds(claimed):
    d = claimed
    cert = status(d)["certificate"]
    assert cert["renew_after"] - cert["not_before"] == 40
    # Before renew_after a check-in keeps the certificate.
    res = check(d)["result"]
    assert res["renewed"] is False and res["certificate"]["serial"] == cert["serial"]
    # rampartd schedules a step at renew_after (the interval is an hour):
    # the certificate is renewed without anyone asking.
    wait_for(lambda: (status(d)["certificate"] or {}).get("serial") != cert["serial"],
             timeout=cert["renew_after"] - time.time() + 20, step=0.5,
             what="the certificate renewed at renew_after")
    new = status(d)["certificate"]
    assert new["not_before"] >= cert["renew_after"] - 1
    assert new["not_after"] > cert["not_after"]
    res = check(d)["result"]
    assert res["state"] == "ok" and res["checkin"] is not None
    assert res["certificate"]["serial"] == new["serial"]


@needs_root
def test_helper_hangs_or_crashes_loop_keeps_serving(work):
    """A stand-in for rampart-cloud that hangs, then crashes: each step is
    killed or reported, rampartd serves other requests meanwhile."""
    mode = work / "mode"
    mode.write_text("hang")
    stand = work / "stand-in"
    stand.write_text(f'#!/bin/sh\nif [ "$(/bin/cat {mode})" = hang ]; then '
                     'exec /bin/sleep 30; fi\nkill -SEGV $$\n')
    stand.chmod(0o755)
    cloud = work / "state" / "cloud"
    cloud.mkdir(parents=True, mode=0o700)
    os.chmod(work / "state", 0o755)
    (cloud / "config.json").write_text(json.dumps(
        {"url": "https://127.0.0.1:1", "tenant": A}))
    d = start_daemon(work, cloud_helper=str(stand), cloud_timeout_ms=1500)
    try:
        time.sleep(1.2)  # the first scheduled step is hanging now
        t0 = time.monotonic()
        assert d.rp("device", "show").code == 0
        assert status(d)["busy"] is True
        assert time.monotonic() - t0 < 1.0  # not stuck behind the helper
        r = d.rp("device", "check-for-updates")
        assert r.code != 0 and "no answer within 1500 ms; killed" in r.err, r
        mode.write_text("crash")
        r = d.rp("device", "check-for-updates")
        assert r.code != 0 and "killed by signal 11" in r.err, r
        st = status(d)
        assert st["state"] == "error" and st["failures"] >= 2
        assert st["next_checkin"] - time.time() <= 3600
    finally:
        assert d.stop() == 0


def resign(doc, key, **changes):
    """A targets document like doc with payload fields changed, signed by
    key (a PEM Ed25519 private key) per docs/formats/targets.md."""
    import hashlib
    import struct
    plen = struct.unpack_from("<I", doc, 12)[0]
    payload = json.loads(doc[16:16 + plen])
    payload.update(changes)
    body = json.dumps(payload, separators=(",", ":")).encode()
    signed = doc[:12] + struct.pack("<I", len(body)) + body
    with tempfile.TemporaryDirectory() as t:
        msg = pathlib.Path(t) / "msg"
        msg.write_bytes(signed)
        sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key,
                              "-in", msg], capture_output=True, check=True).stdout
        spki = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform",
                               "DER"], capture_output=True, check=True).stdout
    assert len(sig) == 64
    one = struct.pack("<BBH", 1, 0, 64) + hashlib.sha256(spki).digest() + sig
    total = 16 + len(one) + 12
    block = b"RAMPSIG\0" + struct.pack("<HHI", 1, 1, 0) + one + \
        struct.pack("<I", total) + b"RAMPEND\0"
    return signed + block


@needs_root
def test_validly_signed_but_expired_future_or_foreign_refused(claimed, srv, tenant, work):
    """Documents signed with the tenant's real targets key (taken from the
    signer's key directory) that the device must still refuse."""
    d = claimed
    cloud = d.state / "cloud"
    key = srv.keys / tenant["id"] / "targets.key"
    assert key.exists()
    doc = (cloud / "targets.rpt").read_bytes()
    cur = status(d)["targets"]
    now = int(time.time())
    before = state_bytes(d)
    cases = [
        ({"version": cur["version"] + 100, "issued_at": now - 3 * 86400,
          "expires": now - 2 * 86400}, "expired"),
        ({"version": cur["version"] + 100, "issued_at": now + 7200,
          "expires": now + 86400}, "not yet valid"),
        ({"version": cur["version"] + 100, "issued_at": cur["issued_at"] - 10,
          "device_group": "11111111-1111-4111-8111-111111111111"}, "issued"),
        ({"version": cur["version"] + 100, "tenant": "22222222-2222-4222-8222-222222222222"},
         "tenant"),
    ]
    for i, (changes, why) in enumerate(cases):
        p = work / f"forged-{i}.rpt"
        p.write_bytes(resign(doc, key, **changes))
        r = helper("verify-targets", d.state, p)
        assert r.returncode != 0 and why in r.stderr, (changes, r.stderr)
        assert state_bytes(d) == before
    # Signed by a key the device did not pin: untrusted.
    other = work / "other.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", other],
                   check=True, capture_output=True)
    p = work / "untrusted.rpt"
    p.write_bytes(resign(doc, other, version=cur["version"] + 100, issued_at=now))
    r = helper("verify-targets", d.state, p)
    assert r.returncode != 0 and "no trusted key" in r.stderr, r.stderr
    assert state_bytes(d) == before
    # The control: the same forging with the right key and sane fields is
    # accepted, so the refusals above were for their reasons.
    p = work / "good.rpt"
    p.write_bytes(resign(doc, key, version=cur["version"] + 100, issued_at=now,
                         expires=now + 86400))
    r = helper("verify-targets", d.state, p)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["accepted"] is True
    assert state_bytes(d) != before
    assert (cloud / "targets.rpt").read_bytes() == p.read_bytes()
