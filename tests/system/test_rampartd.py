"""System tests for rampartd and `rampart device`: the real daemon, real
compartments, real packages. Most need root (rampartd creates namespaces,
cgroups and mounts); they skip, saying so, otherwise. Each test starts its
own rampartd on a private state directory with short restart backoff."""
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

SRC = pathlib.Path(os.environ.get("RP_SRCDIR", pathlib.Path(__file__).resolve().parents[2]))
RAMPART = os.environ.get("RAMPART", str(SRC / "build" / "cli" / "rampart"))
RAMPARTD = os.environ.get("RAMPARTD", str(SRC / "build" / "runtime" / "rampartd"))
PROBE = os.environ.get("RP_PROBE", str(SRC / "build" / "tests" / "runtime" / "probe"))
PARTNER = os.environ.get("RP_PARTNER", str(SRC / "build" / "tests" / "runtime" / "partner"))

IS_ROOT = os.geteuid() == 0
# Only the system-rampartd test (tests/runtime/meson.build) sets RAMPARTD;
# the generic system-cli run of tests/system skips these.
BUILT = "RAMPARTD" in os.environ and all(
    os.path.exists(p) for p in (RAMPART, RAMPARTD, PROBE, PARTNER))
needs_root = pytest.mark.skipif(
    not IS_ROOT or not BUILT,
    reason="rampartd system tests need root (namespaces, cgroups, mounts) and "
           "the built rampartd and test apps; run `meson test` as root")

A = "a0000000-0000-4000-8000-00000000000a"
B = "b0000000-0000-4000-8000-00000000000b"
C = "c0000000-0000-4000-8000-00000000000c"
D = "d0000000-0000-4000-8000-00000000000d"

CSV_HEADER = "Device ID,Event Type,Event Class,Event Count,Description,Start Time,End Time"
NOT_DEV = ("device is not in development mode; run "
           "`rampart device enable-development`")


class Result:
    def __init__(self, p):
        self.code, self.out, self.err = p.returncode, p.stdout, p.stderr

    def __repr__(self):
        return f"<exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}>"

    def json(self):
        return json.loads(self.out)


def wait_for(pred, timeout=10.0, step=0.05, what="condition"):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)


class Daemon:
    """One rampartd on a private state directory (short paths: app sockets
    live under it and unix socket paths are limited to 108 bytes)."""

    def __init__(self, work, config=None, env=None, pass_fds=()):
        self.work = pathlib.Path(work)
        self.state = self.work / "state"
        self.sock = self.work / "ctl.sock"
        self.log = self.work / "rampartd.log"
        cfg = {
            "restart_backoff": {"initial_ms": 300, "max_ms": 2400, "reset_after_ms": 60000},
            "stop_grace_ms": 1500,
            "cgroup_parent": "rampart-test-d",
        }
        cfg.update(config or {})
        self.config = self.work / "rampartd.json"
        self.config.write_text(json.dumps(cfg))
        self.env = env
        self.pass_fds = pass_fds
        self.proc = None

    def start(self, env=None):
        e = dict(os.environ)
        e.update(self.env or {})
        e.update(env or {})
        self.logf = open(self.log, "ab")
        # A killed rampartd leaves its socket file: wait for a fresh one.
        if self.sock.exists():
            self.sock.unlink()
        self.proc = subprocess.Popen(
            [RAMPARTD, "--state-dir", self.state, "--config", self.config,
             "--socket", self.sock, "--foreground"],
            stdout=self.logf, stderr=self.logf, env=e, pass_fds=self.pass_fds)
        wait_for(lambda: self.sock.exists() or self.proc.poll() is not None,
                 what="the control socket")
        assert self.proc.poll() is None, self.log.read_text()
        return self

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("rampartd did not stop on SIGTERM")
        if self.proc:
            self.logf.close()
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.logf.close()
        self.proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def rp(self, *args, user=None):
        e = dict(os.environ)
        e["RAMPART_SOCKET"] = str(self.sock)
        drop = {} if user is None else {"user": user, "group": user, "extra_groups": []}
        p = subprocess.run([RAMPART, *map(str, args)], capture_output=True, text=True,
                           env=e, timeout=60, **drop)
        return Result(p)

    def apps(self):
        r = self.rp("device", "app", "show-status", "--json")
        assert r.code == 0, r
        return {a["component_id"]: a for a in r.json()["apps"]}

    def app(self, cid):
        return self.apps().get(cid)

    def logs(self, cid, n=1000):
        r = self.rp("device", "app", "logs", "--component-id", cid, "-n", n)
        assert r.code == 0, r
        return r.out

    def wait_log(self, cid, text, timeout=10):
        return wait_for(lambda: text in self.logs(cid), timeout, 0.1,
                        f"'{text}' in the logs of {cid}")

    def wait_state(self, cid, state, timeout=10):
        return wait_for(lambda: (self.app(cid) or {}).get("state") == state,
                        timeout, 0.05, f"{cid} to be {state}")

    def report(self):
        r = self.rp("device", "error-report", "--json")
        assert r.code == 0, r
        return r.json()["events"]


@pytest.fixture
def work():
    d = tempfile.mkdtemp(prefix="rpd-", dir="/tmp")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def keys(work):
    k = {}
    for name in ("dev", "other", "prod"):
        r = run_cli("key", "generate", "-o", work / f"{name}.key")
        assert r.code == 0, r
        k[name] = work / f"{name}.key"
        k[name + "_pub"] = work / f"{name}.pub"
    return k


@pytest.fixture
def daemon(work):
    d = Daemon(work).start()
    yield d
    rc = d.stop()
    assert rc == 0, d.log.read_text()
    leftover = subprocess.run(["pgrep", "-f", str(work)], capture_output=True, text=True)
    assert leftover.stdout == "", "processes left behind"


@pytest.fixture
def devd(daemon, keys):
    r = daemon.rp("device", "enable-development", "--trust-key", keys["dev_pub"])
    assert r.code == 0, r
    return daemon


def run_cli(*args, env=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    return Result(subprocess.run([RAMPART, *map(str, args)], capture_output=True,
                                 text=True, env=e, timeout=60))


def pack(work, keys, cid, args, name="probe", exe=PROBE, caps=None, key="dev",
         version="1.0.0", secver=0, extra_keys=()):
    """Pack exe as /bin/app with the given CmdArgs into <work>/<name>-<ver>.rpk."""
    tree = work / f"tree-{name}-{version}"
    (tree / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy(exe, tree / "bin" / "app")
    (tree / "bin" / "app").chmod(0o755)
    man = {"SchemaVersion": 1, "Name": name, "ComponentId": cid,
           "EntryPoint": "/bin/app", "CmdArgs": list(args),
           "Capabilities": caps or {}, "ApplicationType": "Default"}
    mp = work / f"{name}-{version}.json"
    mp.write_text(json.dumps(man))
    out = work / f"{name}-{version}-{key}.rpk"
    ks = ["--key", keys[key]]
    for k in extra_keys:
        ks += ["--key", keys[k]]
    r = run_cli("package", "pack", tree, "--manifest", mp, *ks, "-o", out,
                "--image-version", version, "--security-version", secver)
    assert r.code == 0, r
    return out


# ---- the CLI side, without a daemon ------------------------------------------

@pytest.mark.parametrize("args", [
    ["device", "--help"], ["device", "show", "--help"],
    ["device", "enable-development", "--help"], ["device", "enable-cloud-test", "--help"],
    ["device", "sideload", "--help"], ["device", "sideload", "deploy", "--help"],
    ["device", "sideload", "delete", "--help"], ["device", "app", "--help"],
    ["device", "app", "list", "--help"], ["device", "app", "show-status", "--help"],
    ["device", "app", "start", "--help"], ["device", "app", "stop", "--help"],
    ["device", "app", "logs", "--help"], ["device", "error-report", "--help"],
])
def test_device_help(args):
    r = run_cli(*args)
    assert r.code == 0, r
    assert "usage: rampart device" in r.out


@pytest.mark.parametrize("args", [
    ["device"], ["device", "nope"], ["device", "app"], ["device", "app", "nope"],
    ["device", "sideload", "deploy"], ["device", "sideload", "delete"],
    ["device", "sideload", "delete", "--all", "--component-id", A],
    ["device", "app", "stop", "--component-id", "not-a-guid"],
    ["device", "app", "logs", "-n", "0"], ["device", "app", "list", "--csv"],
    ["device", "error-report", "--json", "--csv"], ["device", "show", "extra"],
])
def test_device_usage_errors(args):
    r = run_cli(*args)
    assert r.code == 2, r
    assert r.err


def test_no_daemon_is_an_io_error(tmp_path):
    r = run_cli("device", "--socket", tmp_path / "none.sock", "show")
    assert r.code == 3, r
    assert "cannot reach rampartd" in r.err
    r = run_cli("device", "app", "list", env={"RAMPART_SOCKET": str(tmp_path / "x")})
    assert r.code == 3 and "cannot reach rampartd" in r.err


# ---- lifecycle ---------------------------------------------------------------

@needs_root
def test_show_and_modes(daemon, keys):
    r = daemon.rp("device", "show", "--json")
    assert r.code == 0, r
    info = r.json()
    assert info["mode"] == "cloud-test"  # secure by default
    assert len(info["device_id"]) == 64 and int(info["device_id"], 16) >= 0
    assert (daemon.state / "device.key").stat().st_mode & 0o777 == 0o600
    r = daemon.rp("device", "enable-development", "--trust-key", keys["dev"])  # private: public half sent
    assert r.code == 0, r
    assert daemon.rp("device", "show", "--json").json()["mode"] == "development"
    assert len(list((daemon.state / "trust" / "development").glob("*.pub"))) == 1
    assert "PRIVATE" not in "".join(
        p.read_text() for p in (daemon.state / "trust" / "development").glob("*"))
    # The device id survives a restart.
    daemon.stop()
    daemon.start()
    assert daemon.rp("device", "show", "--json").json()["device_id"] == info["device_id"]


@needs_root
def test_sideload_refused_when_not_in_development_mode(daemon, keys, work):
    pkg = pack(work, keys, A, ["hello"])
    r = daemon.rp("device", "sideload", "deploy", pkg)
    assert r.code == 1, r
    assert NOT_DEV in r.err
    assert daemon.apps() == {}


@needs_root
def test_deploy_list_logs_status(devd, keys, work):
    pkg = pack(work, keys, A, ["hello"])
    r = devd.rp("device", "sideload", "deploy", pkg)
    assert r.code == 0, r
    assert A in r.out
    devd.wait_log(A, "probe: started, mode hello")
    r = devd.rp("device", "app", "list", "--json")
    assert r.code == 0, r
    (app,) = r.json()["apps"]
    assert app["component_id"] == A and app["state"] == "running"
    assert app["pid"] > 0 and app["version"] == "1.0.0" and app["signer"] == "development"
    assert "running" in devd.rp("device", "app", "list").out
    st = devd.app(A)
    assert st["start_time"].endswith("Z") and st["uid"] >= 200000
    # Inside its compartment the app is pid 1 with its own uid.
    assert "pid 1, uid 1000" in devd.logs(A)
    # The extracted tree is root-owned, directories 0755.
    tree = devd.state / "apps" / A / "tree"
    assert tree.stat().st_uid == 0 and tree.stat().st_mode & 0o777 == 0o755
    assert (devd.state / "apps" / A / "manifest.json").exists()
    r = devd.rp("device", "app", "logs", "--component-id", A, "-n", "1")
    assert r.out.count("\n") == 1
    show = devd.rp("device", "show", "--json").json()
    assert show["apps"] == 1 and show["running"] == 1


@needs_root
def test_crash_restart_with_backoff(devd, keys, work):
    devd.rp("device", "sideload", "deploy", pack(work, keys, A, ["crash"]))
    devd.wait_state(A, "backoff")
    time.sleep(3.0)
    crashes = [e for e in devd.report() if "AppCrash: signal=11 (SIGSEGV)" in e["description"]]
    assert len(crashes) == 1, devd.report()
    n = crashes[0]["event_count"]
    # 300 ms doubling to 2.4 s: about 5 crashes in 3 s, not hundreds.
    assert 2 <= n <= 7, n
    assert devd.app(A)["restarts"] >= n - 1
    assert devd.app(A)["last_exit"]["signal"] == 11
    assert devd.alive()


@needs_root
def test_exit_code_restart_and_report(devd, keys, work):
    devd.rp("device", "sideload", "deploy", pack(work, keys, A, ["exit", "3"]))
    wait_for(lambda: any("AppExit: exit_code=3" in e["description"] and e["event_count"] >= 2
                         for e in devd.report()), what="two exits")
    assert devd.app(A)["last_exit"]["exit_code"] == 3


@needs_root
def test_stop_sigterm_then_sigkill(devd, keys, work):
    devd.rp("device", "sideload", "deploy", pack(work, keys, A, ["hello"], name="polite"))
    devd.rp("device", "sideload", "deploy", pack(work, keys, B, ["ignore-term"], name="stubborn"))
    devd.wait_log(A, "mode hello")
    devd.wait_log(B, "mode ignore-term")
    # A polite app gets SIGTERM and exits by itself.
    r = devd.rp("device", "app", "stop", "--component-id", A)
    assert r.code == 0, r
    devd.wait_state(A, "stopped")
    assert "probe: SIGTERM, exiting" in devd.logs(A)
    # One that ignores SIGTERM is killed after the grace period (1.5 s).
    t0 = time.monotonic()
    devd.rp("device", "app", "stop", "--component-id", B)
    assert devd.app(B)["state"] == "stopping"
    devd.wait_state(B, "stopped")
    assert time.monotonic() - t0 >= 1.2
    desc = [e["description"] for e in devd.report() if e["event_type"] == "Planned"]
    assert any(d.startswith("AppStop: exit_code=0") and A in d for d in desc), desc
    assert any(d.startswith("AppStop: signal=9 (SIGKILL)") and B in d for d in desc), desc
    # Stopped apps stay stopped, across a restart of rampartd too...
    devd.stop()
    devd.start()
    assert devd.app(A)["state"] == "stopped" and devd.app(B)["state"] == "stopped"
    # ...until started.
    assert devd.rp("device", "app", "start", "--component-id", A).code == 0
    devd.wait_state(A, "running")


@needs_root
def test_error_report_csv_and_json(devd, keys, work):
    devd.rp("device", "sideload", "deploy", pack(work, keys, A, ["exit", "7"]))
    wait_for(lambda: any(e["event_count"] >= 2 for e in devd.report()), what="exits")
    devd.rp("device", "app", "stop", "--component-id", A)
    r = devd.rp("device", "error-report", "--csv")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert lines[0] == CSV_HEADER
    dev_id = devd.rp("device", "show", "--json").json()["device_id"]
    rows = [l.split(",") for l in lines[1:]]
    assert rows and all(len(row) == 7 and row[0] == dev_id for row in rows)
    exits = [row for row in rows if "AppExit: exit_code=7" in row[4]]
    assert len(exits) == 1 and int(exits[0][3]) >= 2
    assert exits[0][1] == "Unplanned" and exits[0][2] == "Application"
    assert exits[0][5] <= exits[0][6]
    ev = devd.report()
    assert set(ev[0]) >= {"device_id", "event_type", "event_class", "event_count",
                          "description", "start_time", "end_time"}
    assert "image_version=1.0.0" in exits[0][4]
    human = devd.rp("device", "error-report")
    assert human.code == 0 and "exit_code=7" in human.out


@needs_root
def test_reports_survive_kill_9(devd, keys, work):
    devd.rp("device", "sideload", "deploy", pack(work, keys, A, ["exit", "5"]))
    wait_for(lambda: any("exit_code=5" in e["description"] for e in devd.report()),
             what="an exit report")
    before = sum(e["event_count"] for e in devd.report() if "exit_code=5" in e["description"])
    devd.kill9()
    # The compartment dies with its supervisor (no unsupervised app).
    wait_for(lambda: subprocess.run(["pgrep", "-f", str(devd.work)],
                                    capture_output=True).returncode != 0,
             what="apps to die with rampartd")
    devd.start()
    after = sum(e["event_count"] for e in devd.report() if "exit_code=5" in e["description"])
    assert after >= before


@needs_root
def test_bad_packages_refused_and_state_untouched(devd, keys, work):
    good = pack(work, keys, A, ["hello"])
    assert devd.rp("device", "sideload", "deploy", good).code == 0
    devd.wait_state(A, "running")
    pid = devd.app(A)["pid"]
    snapshot = sorted(str(p) for p in (devd.state / "apps").rglob("*"))
    v2 = pack(work, keys, A, ["crash"], version="2.0.0")
    data = v2.read_bytes()
    bad = {}
    t = bytearray(data)
    t[len(t) - 200] ^= 1  # payload byte
    bad["tampered"] = bytes(t)
    t = bytearray(data)
    t[300] ^= 1  # manifest byte
    bad["manifest-tampered"] = bytes(t)
    bad["truncated"] = data[: len(data) // 2]
    # No signature block at all.
    hdr_len = 256
    man_len = int.from_bytes(data[88:96], "little")
    pay_len = int.from_bytes(data[128:136], "little")
    bad["unsigned"] = data[: hdr_len + man_len + pay_len]
    bad["empty"] = b""
    for name, content in bad.items():
        p = work / f"{name}.rpk"
        p.write_bytes(content)
        r = devd.rp("device", "sideload", "deploy", p)
        assert r.code == 1, (name, r)
    untrusted = pack(work, keys, A, ["crash"], version="3.0.0", key="other")
    r = devd.rp("device", "sideload", "deploy", untrusted)
    assert r.code == 1 and "trust" in r.err, r
    # Nothing changed: same version, same process, same files, no leftovers.
    st = devd.app(A)
    assert st["version"] == "1.0.0" and st["pid"] == pid and st["state"] == "running"
    assert sorted(str(p) for p in (devd.state / "apps").rglob("*")) == snapshot
    assert list((devd.state / "incoming").iterdir()) == []
    # A directory or a fifo is not a package.
    r = devd.rp("device", "sideload", "deploy", work)
    assert r.code != 0
    assert devd.alive()


@needs_root
def test_update_and_anti_rollback(devd, keys, work):
    assert devd.rp("device", "sideload", "deploy",
                   pack(work, keys, A, ["hello"], version="1.0.0", secver=2)).code == 0
    devd.wait_state(A, "running")
    r = devd.rp("device", "sideload", "deploy",
                pack(work, keys, A, ["hello"], version="0.9.0", secver=1))
    assert r.code == 1 and "anti-rollback" in r.err, r
    assert devd.app(A)["version"] == "1.0.0"
    old_pid = devd.app(A)["pid"]
    r = devd.rp("device", "sideload", "deploy",
                pack(work, keys, A, ["hello"], version="1.1.0", secver=2))
    assert r.code == 0, r
    wait_for(lambda: devd.app(A)["version"] == "1.1.0" and devd.app(A)["state"] == "running"
             and devd.app(A)["pid"] != old_pid, what="the update to run")
    # Replaced trees are cleaned up once the old instance is gone.
    wait_for(lambda: not list((devd.state / "apps").glob(".old-*")), what="cleanup")
    # In development, going back means deleting first.
    assert devd.rp("device", "sideload", "delete", "--component-id", A).code == 0
    assert devd.rp("device", "sideload", "deploy",
                   pack(work, keys, A, ["hello"], version="0.9.0", secver=1)).code == 0


@needs_root
@pytest.mark.parametrize("step,expect", [
    ("copied", "1.0.0"), ("extracted", "1.0.0"), ("staged", "1.0.0"), ("swapped", "2.0.0"),
])
def test_interrupted_install(work, keys, step, expect):
    d = Daemon(work).start()
    try:
        d.rp("device", "enable-development", "--trust-key", keys["dev_pub"])
        assert d.rp("device", "sideload", "deploy",
                    pack(work, keys, A, ["hello"], version="1.0.0")).code == 0
        d.wait_state(A, "running")
        d.stop()
        # rampartd is killed (SIGKILL) at this step of the next install.
        d.start(env={"RAMPARTD_CRASH_AT": step})
        r = d.rp("device", "sideload", "deploy", pack(work, keys, A, ["hello"], version="2.0.0"))
        assert r.code != 0, r
        wait_for(lambda: not d.alive(), what="rampartd to be killed")
        d.proc.wait()
        d.logf.close()
        d.proc = None
        d.start()
        d.wait_state(A, "running")
        assert d.app(A)["version"] == expect
        assert not list((d.state / "apps").glob(".staging-*"))
        assert list((d.state / "incoming").iterdir()) == []
    finally:
        d.stop()


@needs_root
def test_installed_package_verified_again_at_start(devd, keys, work):
    assert devd.rp("device", "sideload", "deploy", pack(work, keys, A, ["hello"])).code == 0
    devd.wait_state(A, "running")
    devd.stop()
    # The developer key disappears behind rampartd's back.
    for k in (devd.state / "trust" / "development").glob("*.pub"):
        k.unlink()
    devd.start()
    st = devd.app(A)
    assert st["state"] == "crashed" and st["pid"] is None, st
    assert "trust" in st["last_error"], st
    # No rollback check can be made against it: an update is refused.
    devd.rp("device", "enable-development", "--trust-key", keys["other_pub"])
    r = devd.rp("device", "sideload", "deploy",
                pack(work, keys, A, ["hello"], version="2.0.0", key="other"))
    assert r.code == 1 and "does not verify" in r.err, r
    assert devd.rp("device", "sideload", "delete", "--component-id", A).code == 0


@needs_root
def test_delete(devd, keys, work):
    devd.rp("device", "sideload", "deploy", pack(work, keys, A, ["hello"], name="one"))
    devd.rp("device", "sideload", "deploy", pack(work, keys, B, ["hello"], name="two",
                                                 caps={"MutableStorage": {"SizeKB": 64}}))
    devd.wait_state(A, "running")
    devd.wait_state(B, "running")
    r = devd.rp("device", "sideload", "delete", "--component-id", A)
    assert r.code == 0, r
    assert A not in devd.apps()
    assert not (devd.state / "apps" / A).exists()
    r = devd.rp("device", "sideload", "delete", "--component-id", A)
    assert r.code == 1 and "no app" in r.err
    r = devd.rp("device", "sideload", "delete", "--all")
    assert r.code == 0 and B in r.out
    assert devd.apps() == {}
    wait_for(lambda: not list((devd.state / "apps").iterdir()), what="app dirs removed")
    wait_for(lambda: not (devd.state / "storage" / f"{B}.img").exists(), what="storage removed")


@needs_root
def test_peripheral_conflict_refused(devd, keys, work):
    assert devd.rp("device", "sideload", "deploy",
                   pack(work, keys, A, ["hello"], name="led1", caps={"Gpio": [5]})).code == 0
    r = devd.rp("device", "sideload", "deploy",
                pack(work, keys, B, ["hello"], name="led2", caps={"Gpio": [6, 5]}))
    assert r.code == 1 and "Capabilities.Gpio: 5 is already used" in r.err, r
    assert B not in devd.apps()


@needs_root
def test_enable_cloud_test(work, keys):
    prod_dir = work / "prod-trust"
    prod_dir.mkdir()
    shutil.copy(keys["prod_pub"], prod_dir / "prod.pub")
    d = Daemon(work, config={"production_trust_dir": str(prod_dir)}).start()
    try:
        d.rp("device", "enable-development", "--trust-key", keys["dev_pub"])
        d.rp("device", "sideload", "deploy", pack(work, keys, A, ["hello"], name="devonly"))
        d.rp("device", "sideload", "deploy", pack(work, keys, B, ["hello"], name="prodapp",
                                                  key="prod", extra_keys=("dev",)))
        d.wait_state(A, "running")
        d.wait_state(B, "running")
        assert d.app(B)["signer"] == "production"
        r = d.rp("device", "enable-cloud-test")
        assert r.code == 0, r
        assert A in r.out
        apps = d.apps()
        assert A not in apps and apps[B]["state"] == "running"
        info = d.rp("device", "show", "--json").json()
        assert info["mode"] == "cloud-test" and info["development_keys"] == 0
        assert info["production_keys"] == 1
        r = d.rp("device", "sideload", "deploy", pack(work, keys, C, ["hello"], name="late"))
        assert r.code == 1 and NOT_DEV in r.err
        # Only production trust remains after a restart as well.
        d.stop()
        d.start()
        assert d.app(B)["state"] == "running"
    finally:
        d.stop()


# ---- inter-app channels ---------------------------------------------------------

@needs_root
def test_channels_need_both_sides(devd, keys, work):
    def caps(*ids):
        return {"AllowedApplicationConnections": list(ids)}

    # B serves; A and B list each other; C lists A but A does not list C;
    # D lists B, B does not list D.
    devd.rp("device", "sideload", "deploy",
            pack(work, keys, B, [], name="server", exe=PARTNER, caps=caps(A)))
    devd.wait_log(B, "partner: ready")
    devd.rp("device", "sideload", "deploy",
            pack(work, keys, A, [B], name="client", exe=PARTNER, caps=caps(B)))
    devd.wait_log(A, f"partner: connected to {B}: pong")
    devd.wait_log(B, f"partner: incoming from {A}: ping")
    devd.rp("device", "sideload", "deploy",
            pack(work, keys, C, [A], name="sneaky", exe=PARTNER, caps=caps(A)))
    devd.wait_log(C, f"{A} does not list {C}")
    devd.rp("device", "sideload", "deploy",
            pack(work, keys, D, [B], name="other", exe=PARTNER, caps=caps(B)))
    devd.wait_log(D, f"{B} does not list {D}")
    # An app that does not list the target is refused before anything else.
    devd.rp("device", "sideload", "deploy",
            pack(work, keys, "e0000000-0000-4000-8000-00000000000e", [B], name="unlisted",
                 exe=PARTNER))
    devd.wait_log("e0000000-0000-4000-8000-00000000000e",
                  "is not in this app's AllowedApplicationConnections")
    assert "incoming from " + C not in devd.logs(A)
    assert "incoming from " + D not in devd.logs(B)
    # The partner must be running.
    devd.rp("device", "app", "stop", "--component-id", B)
    devd.wait_state(B, "stopped")
    devd.wait_log(A, f"{B} is not running")


# ---- what must not work -----------------------------------------------------------

@needs_root
def test_inherited_fd_not_visible_in_app(work, keys):
    secret = open(work / "secret", "w")
    fd = secret.fileno()
    os.set_inheritable(fd, True)
    d = Daemon(work, pass_fds=(fd,)).start()
    try:
        # rampartd itself holds the inherited descriptor...
        assert os.path.exists(f"/proc/{d.proc.pid}/fd/{fd}")
        d.rp("device", "enable-development", "--trust-key", keys["dev_pub"])
        d.rp("device", "sideload", "deploy", pack(work, keys, A, ["fds"]))
        out = d.wait_log(A, "probe: fds") and d.logs(A)
        line = [l for l in out.splitlines() if l.startswith("probe: fds")][0]
        # ...and the app sees only stdin, stdout and stderr.
        assert line.split()[2:] == ["0", "1", "2"], line
    finally:
        d.stop()
        secret.close()


@needs_root
def test_escape_attempts_refused_and_reported(devd, keys, work):
    devd.rp("device", "sideload", "deploy",
            pack(work, keys, A, ["escape"], name="escape",
                 caps={"AllowedConnections": ["example.com"]}))
    out = devd.wait_log(A, "probe: connect") and devd.logs(A)
    assert "open /etc/shadow refused" in out
    assert "connect 192.0.2.1:80 refused: Permission denied" in out
    assert "SUCCEEDED" not in out
    wait_for(lambda: any("AppExit: exit_code=1" in e["description"] and
                         "network refused 1 time(s) - last: connect 192.0.2.1:80"
                         in e["description"] for e in devd.report()),
             what="the exit report with the refusal")


@needs_root
def test_survives_malformed_requests(daemon):
    def raw(payload, fds=()):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(str(daemon.sock))
        if fds:
            socket.send_fds(s, [payload], list(fds))
        else:
            s.send(payload)
        s.settimeout(5)
        try:
            return s.recv(1 << 20)
        except (ConnectionResetError, socket.timeout):
            return b""
        finally:
            s.close()

    bad = [b"", b"x", b"{", b"[]", b"null", b'{"v":1}', b'{"v":1,"op":"reboot"}',
           b'{"v":2,"op":"show"}', b'{"v":1,"op":"show","x":1}', b"\x00" * 100,
           b'{"v":1,"op":"app-logs","lines":-1}', b'{"v":1,"op":"show"}' + b" " * 20000,
           b"\xff\xfe" * 1000, b'{"v":1,"op":"sideload-deploy"}']
    for payload in bad:
        reply = raw(payload)
        if reply:
            msg = json.loads(reply)
            assert msg["ok"] is False and msg["code"] < 0, (payload, msg)
    # Descriptors where none belong, too many, and a non-file package.
    r, w = os.pipe()
    reply = json.loads(raw(b'{"v":1,"op":"show"}', [r]))
    assert reply["ok"] is False
    reply = raw(b'{"v":1,"op":"show"}', [r, w, r, w])
    assert reply == b"" or json.loads(reply)["ok"] is False
    reply = json.loads(raw(b'{"v":1,"op":"sideload-deploy"}', [r]))
    assert reply["ok"] is False and "development" in reply["error"]
    os.close(r)
    os.close(w)
    # Many connections at once, closed without a word.
    socks = []
    for _ in range(40):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            s.connect(str(daemon.sock))
        except OSError:
            pass
        socks.append(s)
    for s in socks:
        s.close()
    assert daemon.alive()
    r = daemon.rp("device", "show")
    assert r.code == 0, r


@needs_root
def test_control_socket_permissions(work):
    d = Daemon(work).start()
    try:
        assert d.sock.stat().st_mode & 0o777 == 0o600
        r = d.rp("device", "show", user=65534)
        assert r.code == 3 and "cannot reach rampartd" in r.err, r
    finally:
        d.stop()
    # With a group in the config, its members may use the socket.
    d = Daemon(work, config={"socket_group": "nogroup"}).start()
    try:
        assert d.sock.stat().st_mode & 0o777 == 0o660
        r = d.rp("device", "show", user=65534)  # nobody, primary group nogroup
        assert r.code == 0, r
    finally:
        d.stop()


@needs_root
def test_bad_config_refused(work):
    for cfg in ['{"bogus": 1}', '{"stop_grace_ms": -1}', '[', '{"socket_group": "no-such-group-x"}',
                '{"restart_backoff": {"initial_ms": 5000, "max_ms": 10}}']:
        (work / "bad.json").write_text(cfg)
        p = subprocess.run([RAMPARTD, "--state-dir", work / "s", "--config", work / "bad.json",
                            "--socket", work / "s.sock", "--foreground"],
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 1 and "config" in p.stderr, (cfg, p.stderr)
    p = subprocess.run([RAMPARTD], capture_output=True, text=True)
    assert p.returncode == 2


def cgroup_dirs(parent):
    """Every directory named parent under the cgroup hierarchies."""
    root = pathlib.Path("/sys/fs/cgroup")
    found = [root / parent] + [c / parent for c in root.iterdir() if c.is_dir()]
    return [str(p) for p in found if p.is_dir()]


@needs_root
def test_cgroup_parent_removed_at_stop(work, keys):
    """The apps' parent group does not outlive rampartd."""
    parent = f"rampart-test-stop{os.getpid()}"
    d = Daemon(work, config={"cgroup_parent": parent}).start()
    try:
        d.rp("device", "enable-development", "--trust-key", keys["dev_pub"])
        assert d.rp("device", "sideload", "deploy", pack(work, keys, A, ["hello"])).code == 0
        d.wait_log(A, "probe: started, mode hello")
        assert cgroup_dirs(parent), "the app runs in no group under the parent"
    finally:
        assert d.stop() == 0, d.log.read_text()
    assert cgroup_dirs(parent) == []


@needs_root
def test_apps_die_with_a_killed_rampartd(work, keys):
    """A rampartd killed outright leaves no unsupervised app behind: the
    parent-death signal survives the switch to the app's uid."""
    d = Daemon(work).start()
    try:
        d.rp("device", "enable-development", "--trust-key", keys["dev_pub"])
        assert d.rp("device", "sideload", "deploy", pack(work, keys, A, ["hello"])).code == 0
        d.wait_state(A, "running")
        pid = d.app(A)["pid"]
        assert pid and os.path.exists(f"/proc/{pid}")
        d.proc.kill()
        d.proc.wait()
        wait_for(lambda: not os.path.exists(f"/proc/{pid}"),
                 what=f"app pid {pid} to die with rampartd")
        d.logf.close()
        d.proc = None
    finally:
        d.stop()


# ---- rampart-verify misbehaving ----------------------------------------------

VERIFY = pathlib.Path(RAMPARTD).parent / "rampart-verify" if RAMPARTD else None


def verify_stand_in(work):
    """A verify_helper that runs the real one, except for `image` and
    `extract` when <work>/verify-mode says hang or crash. It runs with no
    environment, so every program is named by its path."""
    mode = work / "verify-mode"
    mode.write_text("ok")
    script = work / "verify-stand-in"
    script.write_text(
        "#!/bin/sh\n"
        f"m=$(/bin/cat {mode})\n"
        'case "$1" in image|extract)\n'
        '  case "$m" in\n'
        "    hang) exec /bin/sleep 600 ;;\n"
        "    crash) kill -SEGV $$ ;;\n"
        "  esac ;;\n"
        "esac\n"
        f'exec {VERIFY} "$@"\n')
    script.chmod(0o755)
    return script, mode


@needs_root
def test_verify_helper_hangs_or_crashes(work, keys):
    """A helper that hangs is killed after verify_timeout_ms and one that
    dies is reported; either way the install is refused with a clear error,
    the installed version keeps running and rampartd keeps serving."""
    script, mode = verify_stand_in(work)
    d = Daemon(work, config={"verify_helper": str(script), "verify_timeout_ms": 1500}).start()
    try:
        d.rp("device", "enable-development", "--trust-key", keys["dev_pub"])
        assert d.rp("device", "sideload", "deploy", pack(work, keys, A, ["hello"])).code == 0
        d.wait_state(A, "running")
        pid = d.app(A)["pid"]
        v2 = pack(work, keys, A, ["hello"], version="2.0.0")

        mode.write_text("hang")
        t0 = time.monotonic()
        r = d.rp("device", "sideload", "deploy", v2)
        took = time.monotonic() - t0
        assert r.code != 0 and "rampart-verify: no answer within 1500 ms; killed" in r.err, r
        assert 1.4 < took < 10, took
        assert not subprocess.run(["pgrep", "-f", "sleep 600"], capture_output=True).stdout

        mode.write_text("crash")
        r = d.rp("device", "sideload", "deploy", v2)
        assert r.code != 0 and "rampart-verify: killed by signal 11" in r.err, r

        assert d.alive()
        st = d.app(A)
        assert st["version"] == "1.0.0" and st["state"] == "running" and st["pid"] == pid
        assert not list((d.state / "apps").glob(".*")), list((d.state / "apps").iterdir())
        assert d.rp("device", "show", "--json").code == 0

        mode.write_text("ok")
        assert d.rp("device", "sideload", "deploy", v2).code == 0
        wait_for(lambda: d.app(A)["version"] == "2.0.0", what="the update")
    finally:
        d.stop()


def test_verify_helper_missing_or_wrong(work):
    """A verify_helper that is missing or is not rampart-verify stops
    rampartd at start, saying which."""
    def start(helper):
        (work / "cfg.json").write_text(json.dumps({"verify_helper": helper}))
        return subprocess.run([RAMPARTD, "--state-dir", work / "s", "--config", work / "cfg.json",
                               "--socket", work / "s.sock", "--foreground"],
                              capture_output=True, text=True, timeout=30)
    p = start("/nonexistent/rampart-verify")
    assert p.returncode == 1, p.stderr
    assert "verify_helper /nonexistent/rampart-verify: No such file or directory" in p.stderr
    (work / "notexec").write_text("")
    p = start(str(work / "notexec"))
    assert p.returncode == 1 and "Permission denied" in p.stderr, p.stderr
    p = start("/bin/false")
    assert p.returncode == 1 and "rampart-verify" in p.stderr, p.stderr
    p = start("relative/rampart-verify")
    assert p.returncode == 1 and "must be an absolute path" in p.stderr, p.stderr


def test_verify_helper_confines_itself_first(work):
    """rampart-verify sets no_new_privs and loads its seccomp filter before
    it opens its input; afterwards exec and sockets fail."""
    if not shutil.which("strace"):
        pytest.skip("strace not installed")
    pem = work / "k.pem"
    pem.write_text("not a key\n")
    # In sanitizer builds LeakSanitizer cannot run under ptrace (strace).
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    p = subprocess.run(["strace", "-f", "-e", "trace=prctl,seccomp,openat,socket,execve",
                        "-o", work / "trace", VERIFY, "key-id", pem],
                       capture_output=True, text=True, timeout=30, env=env)
    assert p.returncode != 0, p
    lines = (work / "trace").read_text().splitlines()
    idx = lambda s: next(i for i, l in enumerate(lines) if s in l)
    nnp = idx("PR_SET_NO_NEW_PRIVS, 1")
    filt = idx("filter=")
    opened = idx(f'openat(AT_FDCWD, "{pem}"')
    assert nnp < filt < opened, lines
    assert not any("socket(" in l or "execve(" in l for l in lines[filt:]), lines
