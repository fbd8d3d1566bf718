"""The compartment's must-NOT-work list (issue 3, section 6, compartment part).

Drives tests/sandbox/sandbox_run (links exactly lib/sandbox) with the hostile
test app tests/sandbox/evil, which exits 0 if its action SUCCEEDED and 1 if it
was refused. Needs root (namespaces, cgroups, loop devices); meson sets
RP_SANDBOX_RUN and RP_EVIL (test 'system-compartment')."""
import os
import pathlib
import pty
import shutil
import stat
import subprocess

import pytest

RUN = os.environ.get("RP_SANDBOX_RUN")
EVIL = os.environ.get("RP_EVIL")

pytestmark = [
    pytest.mark.skipif(not RUN or not EVIL,
                       reason="RP_SANDBOX_RUN/RP_EVIL not set: run via `meson test system-compartment`"),
    pytest.mark.skipif(os.geteuid() != 0,
                       reason="compartments need root (namespaces, cgroups, loop devices)"),
]

UID = 61000  # host uid/gid of the test app; another app uses UID + 1


@pytest.fixture(scope="module")
def pkg(tmp_path_factory):
    """A package tree as rampartd extracts it: root-owned, read-only."""
    root = tmp_path_factory.mktemp("pkg")
    (root / "bin").mkdir()
    shutil.copy(EVIL, root / "bin" / "evil")
    # A setuid-root copy: nosuid and no_new_privs must make it harmless.
    shutil.copy(EVIL, root / "bin" / "suid")
    os.chmod(root / "bin" / "suid", 0o4755)
    (root / "app_manifest.json").write_text("{}\n")
    (root / "data").mkdir()
    (root / "data" / "hello.txt").write_text("hello\n")
    os.chmod(root, 0o755)
    return root


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    s = tmp_path_factory.mktemp("state")
    os.chmod(s, 0o700)
    (s / "secret").write_text("rampartd's own state\n")
    return s


def sandbox(pkg, *args, opts=(), uid=UID, stdin=subprocess.DEVNULL, timeout=60):
    cmd = [RUN, "--uid", str(uid), *map(str, opts), str(pkg), "/bin/evil",
           *map(str, args)]
    p = subprocess.run(cmd, stdin=stdin, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def refused(pkg, *args, **kw):
    rc, out = sandbox(pkg, *args, **kw)
    assert rc == 1, f"{args}: expected refusal, got exit {rc}:\n{out}"
    assert "refused" in out, out
    return out


# Each must be refused. The comment names what refuses it.
MUST_NOT_WORK = [
    ("read", "/etc/shadow"),            # not in the compartment's root
    ("read", "/root"),
    ("read", "/proc/1/root/etc/shadow"),  # pid 1 is the app itself
    ("read", "/dev/kmsg"),              # the kernel log: no node
    ("syslog",),                        # seccomp
    ("list-procs",),                    # own PID namespace
    ("ptrace-traceme",),                # seccomp
    ("ptrace-attach",),                 # seccomp
    ("process-vm",),                    # seccomp
    ("proc-mem",),                      # /proc is read-only (and Landlock)
    ("mmap-wx",),                       # seccomp argument filter
    ("mprotect-x",),                    # seccomp argument filter
    ("exec-copy", "/tmp/x"),            # /tmp noexec, Landlock execute
    ("exec-memfd",),                    # seccomp: memfd_create
    ("tioclinux",),                     # seccomp ioctl allow-list
    ("mount",), ("unshare",), ("clone-ns",), ("setns",), ("pivot-root",),
    ("chroot",),
    ("raw-socket",), ("packet-socket",), ("netlink-socket",),
    ("keyctl",), ("add-key",), ("bpf",), ("perf",), ("userfaultfd",),
    ("io-uring",), ("kexec",), ("init-module",), ("finit-module",),
    ("open-by-handle",),
    ("write", "/bin/evil"),             # package tree read-only
    ("write", "/newfile"),              # root read-only
    ("write", "/etc/passwd"),
    ("mknod",),                         # seccomp
    ("symlink-tmp",),                   # Landlock: no symlinks on tmpfs
    ("setuid",),                        # seccomp; no CAP_SETUID
    ("netifs",),                        # own network namespace: only lo
    ("tcp-connect",),                   # Landlock TCP rules (no net guard)
    ("exec", "/bin/suid", "euid0"),     # nosuid + no_new_privs
]


@pytest.mark.parametrize("action", MUST_NOT_WORK, ids=lambda a: " ".join(a))
def test_must_not_work(pkg, action):
    refused(pkg, *action)


def test_state_dir_invisible(pkg, state):
    refused(pkg, "read", state / "secret")
    refused(pkg, "read", state)


@pytest.mark.parametrize("action", ["tiocsti", "tiocsti-high", "tioclinux"])
def test_terminal_injection_on_a_real_tty(pkg, action):
    """stdin is a real pseudo-terminal here, so only the filter stops it."""
    master, slave = pty.openpty()
    try:
        out = refused(pkg, action, stdin=slave)
        assert "Operation not permitted" in out
    finally:
        os.close(master)
        os.close(slave)


def test_inherited_fd(pkg):
    refused(pkg, "fd-open", "42", opts=["--leak-fd", "42"])
    refused(pkg, "fds", opts=["--leak-fd", "42"])


def test_fork_bomb_bounded(pkg):
    out = refused(pkg, "fork-bomb", "10000", opts=["--pids", "16"])
    assert "forked 15 of 10000" in out
    assert sandbox(pkg, "true")[0] == 0  # the device is fine


def test_memory_hog_killed(pkg):
    rc, out = sandbox(pkg, "memory-hog", "512", opts=["--memory-kb", "32768"])
    assert rc in (1, 128 + 9), out  # ENOMEM or the OOM killer
    assert sandbox(pkg, "true")[0] == 0


def test_storage_quota(pkg, tmp_path):
    st = tmp_path / "state"
    st.mkdir(mode=0o700)
    opts = ["--state", st, "--storage-kb", "256"]
    # Within quota: works, and persists across restarts.
    rc, out = sandbox(pkg, "fill", "200", "/mnt/config/keep", opts=opts)
    assert rc == 0, out
    rc, out = sandbox(pkg, "read", "/mnt/config/keep", opts=opts)
    assert rc == 0, out
    # Nothing it wrote there runs.
    rc, out = sandbox(pkg, "write", "/mnt/config/small", opts=opts)
    assert rc == 0, out
    refused(pkg, "exec", "/mnt/config/small", opts=opts)
    # Beyond: ENOSPC, and only this app's storage is full.
    out = refused(pkg, "fill", "1024", "/mnt/config/big", opts=opts)
    assert "No space left on device" in out
    other = ["--state", st, "--storage-kb", "256"]
    rc, out = sandbox(pkg, "fill", "200", "/mnt/config/x", opts=other, uid=UID + 1)
    assert rc == 0, out
    # The mount is gone after the run (sandbox_run releases it).
    assert str(st) not in pathlib.Path("/proc/mounts").read_text()


@pytest.mark.parametrize("kb", [1, 8, 32])
def test_storage_small_quota(pkg, tmp_path, kb):
    """Azure Sphere apps ask for a few KiB: those sizes work, and the app
    gets what it asked for; below ~21 KiB, ~21 KiB (half of the image's
    64-block minimum is reserved for root)."""
    st = tmp_path / "state"
    st.mkdir(mode=0o700)
    opts = ["--state", st, "--storage-kb", str(kb)]
    rc, out = sandbox(pkg, "fill", str(kb), "/mnt/config/keep", opts=opts)
    assert rc == 0, out
    out = refused(pkg, "fill", str(max(kb, 21) + 8), "/mnt/config/more", opts=opts)
    assert "No space left on device" in out


def test_exec_written_file_in_storage(pkg, tmp_path):
    st = tmp_path / "state"
    st.mkdir(mode=0o700)
    out = refused(pkg, "exec-copy", "/mnt/config/x",
                  opts=["--state", st, "--storage-kb", "4096"])
    assert "Permission denied" in out


def test_tmp_is_capped(pkg):
    out = refused(pkg, "fill", "2048", "/tmp/big", opts=["--tmp-kb", "512"])
    assert "No space left on device" in out


POSITIVE = [
    ("pid1",),
    ("uid",),                               # uid/gid 1000, no groups
    ("read", "/app_manifest.json"),
    ("read", "/data/hello.txt"),
    ("read", "/etc/passwd"),
    ("read", "/dev/urandom"),
    ("write", "/tmp/a"),
    ("fill", "4", "/dev/null"),
    ("status", "NoNewPrivs:", "1"),
    ("status", "CapEff:", "0000000000000000"),
    ("status", "CapBnd:", "0000000000000000"),
    ("status", "CapPrm:", "0000000000000000"),
    ("status", "Seccomp:", "2"),
    ("exec", "/bin/evil", "true"),         # its own binaries run
]


@pytest.mark.parametrize("action", POSITIVE, ids=lambda a: " ".join(a))
def test_app_can(pkg, action):
    rc, out = sandbox(pkg, *action)
    assert rc == 0, f"{action}: {out}"


def test_storage_writable(pkg, tmp_path):
    st = tmp_path / "state"
    st.mkdir(mode=0o700)
    rc, out = sandbox(pkg, "write", "/mnt/config/f",
                      opts=["--state", st, "--storage-kb", "64"])
    assert rc == 0, out
    img = st / "storage" / f"test-{UID}.img"
    assert img.exists() and stat.S_IMODE(img.stat().st_mode) == 0o600


def test_reserved_top_level_name_refused(tmp_path):
    root = tmp_path / "pkg"
    (root / "bin").mkdir(parents=True)
    shutil.copy(EVIL, root / "bin" / "evil")
    (root / "etc").mkdir()
    rc, out = sandbox(root, "true")
    assert rc == 125
    assert "package entry 'etc' collides with a compartment path" in out


def test_missing_entry_point_reported(pkg):
    cmd = [RUN, "--uid", str(UID), str(pkg), "/bin/nothing"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 125
    assert "compartment: exec: /bin/nothing: No such file or directory" in p.stderr


def test_cgroups_removed(pkg):
    assert sandbox(pkg, "true")[0] == 0
    for d in (f"/sys/fs/cgroup/memory/rampart-test/test-{UID}",
              f"/sys/fs/cgroup/pids/rampart-test/test-{UID}",
              f"/sys/fs/cgroup/rampart-test/test-{UID}",
              f"/sys/fs/cgroup/unified/rampart-test/test-{UID}"):
        assert not os.path.exists(d), d
    # The tool removes the empty parent too (other runs may hold it: only
    # an empty one goes).
    for c in ("memory", "pids", "cpu", "unified", "."):
        d = f"/sys/fs/cgroup/{c}/rampart-test"
        if os.path.isdir(d):
            assert any(os.path.isdir(os.path.join(d, x)) for x in os.listdir(d)), d


def test_net_notify_listener(pkg):
    """With net_notify the parent gets the seccomp listener; the app runs."""
    rc, out = sandbox(pkg, "status", "Seccomp:", "2", opts=["--net-notify", "1"])
    assert rc == 0, out
    refused(pkg, "fds", opts=["--net-notify", "1"])  # its copy is closed
