"""`rampart package build` on a CMake app written like Azure Sphere's
high-level samples and on a Meson app (tests/data/apps/), and its refusals.
Drives the real rampart, cmake and meson; the SDK is the build tree's."""
import json
import os
import pathlib
import subprocess

import pytest

SRC = pathlib.Path(os.environ.get("RP_SRCDIR", pathlib.Path(__file__).resolve().parents[2]))
RAMPART = os.environ.get("RAMPART", str(SRC / "build" / "cli" / "rampart"))
APPS = SRC / "tests" / "data" / "apps"
BOARDS = SRC / "boards"


def build_env():
    """In a sanitizer build of the tree, libapplibs.a is instrumented: the
    apps built against it link the sanitizer runtimes too."""
    env = dict(os.environ)
    san = os.environ.get("RP_SANITIZE", "none")
    if san and san != "none":
        env["LDFLAGS"] = (env.get("LDFLAGS", "") + f" -fsanitize={san}").strip()
    return env


def rp(*args, cwd=None):
    return subprocess.run([RAMPART, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600, env=build_env())


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    d = tmp_path_factory.mktemp("key")
    r = rp("key", "generate", "-o", d / "dev.key")
    assert r.returncode == 0, r.stderr
    return d / "dev.key", d / "dev.pub"


def show(pkg, pub):
    r = rp("package", "show", pkg, "--trust", pub, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def entries(info):
    """Paths of the payload, whatever the JSON calls the list."""
    for k in ("payload", "entries", "files"):
        v = info.get(k)
        if isinstance(v, dict):
            v = v.get("entries") or v.get("files")
        if isinstance(v, list):
            return {e["path"] if isinstance(e, dict) else e for e in v}
    return set()


def test_cmake_azure_style_app(tmp_path, key):
    out = tmp_path / "blink.rpk"
    r = rp("package", "build", "--source", APPS / "azure-blink", "--key", key[0],
           "-o", out, "--build-dir", tmp_path / "b")
    assert r.returncode == 0, r.stderr
    assert "configuring (cmake)" in r.stderr
    v = rp("package", "verify", out, "--trust", key[1])
    assert v.returncode == 0, v.stdout + v.stderr
    # The hardware header came from the board definition and its import.
    hw = tmp_path / "b" / "rampart-hw" / "azure_blink" / "inc" / "hw"
    assert (hw / "sample_appliance.h").is_file() and (hw / "sim.h").is_file()
    # The image tree: the program and the resource file.
    root = tmp_path / "b" / "approotazure_blink"
    assert os.access(root / "bin" / "app", os.X_OK)
    assert (root / "data" / "greeting.txt").read_text().startswith("blinking")
    info = show(out, key[1])
    names = entries(info)
    if names:
        assert any("bin/app" in n for n in names)
        assert any("greeting.txt" in n for n in names)


def test_meson_app(tmp_path, key):
    out = tmp_path / "m.rpk"
    r = rp("package", "build", "--source", APPS / "meson-blink", "--key", key[0], "-o", out,
           "--build-dir", tmp_path / "b", "--board", BOARDS / "sim" / "sample_appliance.json",
           "--image-version", "2.0.0")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "b" / "rampart-approot" / "data" / "pattern.txt").is_file()
    v = rp("package", "verify", out, "--trust", key[1])
    assert v.returncode == 0, v.stdout + v.stderr
    assert "2.0.0" in rp("package", "show", out).stdout
    # Building again reuses the configured tree.
    r = rp("package", "build", "--source", APPS / "meson-blink", "--key", key[0], "-o", out,
           "--build-dir", tmp_path / "b", "--board", BOARDS / "sim" / "sample_appliance.json")
    assert r.returncode == 0, r.stderr
    assert "configuring" not in r.stderr


def test_meson_manifest_names_need_a_board(tmp_path, key):
    r = rp("package", "build", "--source", APPS / "meson-blink", "--key", key[0],
           "-o", tmp_path / "x.rpk", "--build-dir", tmp_path / "b")
    assert r.returncode == 1, r.stderr
    assert "SAMPLE_LED" in r.stderr or "board" in r.stderr
    assert not (tmp_path / "x.rpk").exists()


def test_no_project(tmp_path, key):
    r = rp("package", "build", "--source", tmp_path, "--key", key[0], "-o", tmp_path / "x.rpk")
    assert r.returncode == 1
    assert "neither meson.build nor CMakeLists.txt" in r.stderr


def test_build_failure_names_tool_status_and_log(tmp_path, key):
    src = tmp_path / "src"
    src.mkdir()
    (src / "meson.build").write_text(
        "project('bad', 'c')\nexecutable('app', 'main.c', dependencies : dependency('applibs'),"
        " install : true)\n")
    (src / "main.c").write_text("int main(void) { return undefined_thing; }\n")
    (src / "app_manifest.json").write_text((APPS / "meson-blink" / "app_manifest.json").read_text())
    r = rp("package", "build", "--source", src, "--key", key[0], "-o", tmp_path / "x.rpk",
           "--build-dir", tmp_path / "b")
    assert r.returncode == 1
    assert "meson exited with status" in r.stderr
    log = tmp_path / "b" / "rampart-build.log"
    assert str(log) in r.stderr
    assert "undefined_thing" in log.read_text()
    assert not (tmp_path / "x.rpk").exists()


def test_cmake_without_image_package_call(tmp_path, key):
    src = tmp_path / "src"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.20)\nproject(p C)\n"
        "azsphere_configure_api(TARGET_API_SET \"16\")\n"
        "add_executable(p main.c)\ntarget_link_libraries(p applibs gcc_s c)\n")
    (src / "main.c").write_text("#include <applibs/log.h>\nint main(void) { return Log_Debug(\"x\\n\"); }\n")
    r = rp("package", "build", "--source", src, "--key", key[0], "-o", tmp_path / "x.rpk",
           "--build-dir", tmp_path / "b")
    assert r.returncode == 1
    assert "azsphere_target_add_image_package" in r.stderr


@pytest.mark.parametrize("args", [[], ["--key", "k"], ["-o", "x"], ["--bogus"],
                                  ["--key", "k", "-o", "x", "extra"]])
def test_usage(args):
    r = rp("package", "build", *args)
    assert r.returncode == 2, r.stderr


def test_help():
    r = rp("package", "build", "--help")
    assert r.returncode == 0 and "usage: rampart package build" in r.stdout
