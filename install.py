"""Installs this node pack's compiled package (ltx2-efficient) into the Python that runs it.

ComfyUI-Manager and ``comfy node install`` run ``python install.py`` in the pack's folder with
ComfyUI's Python after cloning or unpacking it; it can also be run by hand the same way. Steps:

1. nothing to do when the package of this pack's version, built from this pack's sources,
   already imports. "Built from": the hash of the build inputs (cmake/source_hash.py) that every
   build installs next to the compiled module; a pack update that keeps the version number but
   changes the sources is installed again;
2. a prebuilt wheel of this version matching this Python and platform, built from these sources,
   from the wheelhouse: the folder or find-links URL in LTX2EFF_WHEELHOUSE, else the pack's own
   ``wheelhouse/`` (the registry archive ships one; scripts/build_wheels.sh makes it). Installed
   with --no-index, so no other package of that name is ever taken from anywhere;
3. else a build from this folder's sources (a C++20 compiler needed: on Windows, Visual Studio
   or its Build Tools, found without a Developer Prompt; CUDA kernels for the visible GPU when
   nvcc is found), with its progress shown.

Packages go in with ``python -m pip`` (``-s`` in ComfyUI's Windows portable python_embeded, as
ComfyUI-Manager runs it), or with ``uv pip`` where this Python has no pip. The package's
dependencies (numpy) come from PyPI only if missing. torch is never installed, upgraded or
removed: ComfyUI's own stays. LTX2EFF_INSTALL_FROM_SOURCE=1 skips the wheelhouse.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACK = Path(__file__).resolve().parent
DIST = "ltx2-efficient"
PROTECTED = ("torch", "torchvision", "torchaudio")
VC_TOOLS = "Microsoft.VisualStudio.Component.VC.Tools.x86.x64"


def say(text: str) -> None:
    print(f"[ltx2eff install] {text}", flush=True)


def pack_version(pack: Path = PACK) -> str:
    """The version line of the pack's pyproject.toml (the one definition of the version)."""
    text = (pack / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^version = "([^"]+)"$', text, re.MULTILINE)
    if match is None:
        raise SystemExit(f"{pack / 'pyproject.toml'} has no version line")
    return match.group(1)


@functools.lru_cache(maxsize=1)
def _source_hash_module() -> object:
    """cmake/source_hash.py, the one definition of the hash, shared with the build."""
    spec = importlib.util.spec_from_file_location("ltx2eff_source_hash", PACK / "cmake" / "source_hash.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def source_hash(pack: Path = PACK) -> str:
    """The hash of the pack's build inputs, as the build records it in the installed package."""
    return _source_hash_module().source_hash(pack)


def short(digest: str | None) -> str:
    return digest[:12] if digest else "none recorded"


def python_command(executable: str | None = None) -> list[str]:
    """This Python as ComfyUI-Manager runs it: with -s in the Windows portable's python_embeded,
    whose user site-packages must not leak into ComfyUI's."""
    executable = executable or sys.executable
    return [executable, "-s"] if "python_embeded" in executable else [executable]


@functools.lru_cache(maxsize=1)
def has_pip() -> bool:
    result = subprocess.run([*python_command(), "-m", "pip", "--version"], capture_output=True)
    return result.returncode == 0


def installer() -> list[str] | None:
    """The `... install` command for this Python: its pip, else uv (a uv-made venv has no pip),
    else None."""
    if has_pip():
        return [*python_command(), "-m", "pip", "install", "--disable-pip-version-check"]
    uv = shutil.which("uv")
    if uv:
        return [uv, "pip", "install", "--python", sys.executable]
    return None


def no_installer_message() -> str:
    return (
        f"{sys.executable} has no pip and there is no uv on PATH to install with: run "
        f'"{sys.executable}" -m ensurepip (or put uv on PATH) and run this again'
    )


def installed_state() -> dict | None:
    """What imports in this Python, checked in a fresh interpreter: the compiled core's version,
    the source hash installed next to it (None when absent) and whether it is an editable
    install; None when the core does not import."""
    probe = (
        "import json, pathlib, ltx2_efficient._core as c\n"
        "from importlib import metadata\n"
        f"recorded = pathlib.Path(c.__file__).with_name({_source_hash_module().INSTALLED_NAME!r})\n"
        "try:\n"
        f"    url = json.loads(metadata.distribution({DIST!r}).read_text('direct_url.json') or '{{}}')\n"
        "except Exception:\n"
        "    url = {}\n"
        "print(json.dumps({'version': c.__version__,\n"
        "    'sources': recorded.read_text().strip() if recorded.is_file() else None,\n"
        "    'editable': bool(url.get('dir_info', {}).get('editable'))}))\n"
    )
    result = subprocess.run(
        [*python_command(), "-c", probe], capture_output=True, text=True, cwd=tempfile.gettempdir()
    )
    if result.returncode != 0:
        return None
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def pip(*args: str, quiet: bool = True) -> int:
    base = installer()
    if base is None:
        say(no_installer_message())
        return 1
    return subprocess.call([*base, *(["-q"] if quiet else []), *args])


def wheel_tags() -> set[str]:
    """Tags this interpreter accepts ("cp311-cp311-manylinux_2_17_x86_64", ...), from the
    packaging copy every pip carries, else an installed packaging; empty when neither loads
    (then the installer decides)."""
    try:
        from pip._vendor.packaging.tags import sys_tags
    except ImportError:
        try:
            from packaging.tags import sys_tags
        except ImportError:
            return set()
    return {str(tag) for tag in sys_tags()}


def wheel_sources(wheel: Path) -> str | None:
    """The source hash a wheel was built from (None for a wheel that records none)."""
    name = f"ltx2_efficient/{_source_hash_module().INSTALLED_NAME}"
    try:
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(name).decode("utf-8").strip()
    except (KeyError, OSError, zipfile.BadZipFile):
        return None


def matching_wheels(folder: Path, version: str, tags: set[str]) -> list[Path]:
    """Wheels of `version` in `folder` whose tags this Python accepts."""
    found = []
    prefix = f"{DIST.replace('-', '_')}-{version}-"
    for wheel in sorted(folder.glob("*.whl")):
        if not wheel.name.startswith(prefix):
            continue
        _dist, _ver, *build, py, abi, plats = wheel.name[: -len(".whl")].split("-")
        offered = {f"{p}-{a}-{pl}" for p in py.split(".") for a in abi.split(".") for pl in plats.split(".")}
        if not tags or offered & tags:
            found.append(wheel)
    return found


def wheelhouse() -> str | None:
    """The release's wheelhouse: LTX2EFF_WHEELHOUSE (folder or URL), else the pack's folder."""
    configured = os.environ.get("LTX2EFF_WHEELHOUSE", "").strip()
    if configured:
        return configured
    own = PACK / "wheelhouse"
    return str(own) if own.is_dir() else None


def install_from_wheelhouse(location: str, version: str, sources: str) -> bool:
    """True when a wheel of this version from `location` is now installed. In a folder, only a
    wheel built from `sources` is taken; from a URL, main() checks the installed one."""
    if "://" not in location:
        return install_from_folder(Path(location), version, sources)
    say(f"looking for a {DIST} {version} wheel for {python_tag()} at {location}")
    rc = pip(
        "--no-index",
        "--find-links",
        location,
        "--only-binary",
        ":all:",
        "--no-deps",
        "--force-reinstall",
        f"{DIST}=={version}",
    )
    if rc != 0:
        say(f"no usable wheel at {location} (pip exit {rc})")
    return rc == 0


def install_from_folder(folder: Path, version: str, sources: str) -> bool:
    if not folder.is_dir():
        say(f"LTX2EFF_WHEELHOUSE={folder} is not a folder; ignoring it")
        return False
    wheels = matching_wheels(folder, version, wheel_tags())
    if not wheels:
        say(f"no {DIST} {version} wheel for this Python ({python_tag()}) in {folder}")
        return False
    fitting = [wheel for wheel in wheels if wheel_sources(wheel) == sources]
    if not fitting:
        say(
            f"{wheels[0].name} in {folder} was built from other sources (hash "
            f"{short(wheel_sources(wheels[0]))}) than this pack's ({short(sources)}): not using it"
        )
        return False
    # By path, so that a stale wheel of the same version beside it is never chosen; without
    # pip's tag list every wheel of this version is tried and the installer rejects the others.
    for wheel in fitting:
        say(f"installing {wheel.name} from {folder}")
        rc = pip("--no-index", "--only-binary", ":all:", "--no-deps", "--force-reinstall", str(wheel))
        if rc == 0:
            return True
        say(f"{wheel.name} did not install (exit {rc})")
    return False


def python_tag() -> str:
    import platform

    return f"CPython {platform.python_version()}, {platform.system()} {platform.machine()}"


def find_compiler(platform: str | None = None) -> str | None:
    for name in (os.environ.get("CXX", ""), "c++", "g++", "clang++", "cl"):
        if name and shutil.which(name.split()[0]):
            return name
    if (platform or sys.platform) == "win32":
        return find_visual_studio()
    return None


def find_visual_studio() -> str | None:
    """Visual Studio (or its Build Tools) with the x64 C++ toolset, through vswhere.exe: outside a
    Developer Prompt `cl` is not on PATH, yet CMake's Visual Studio generator, which
    scikit-build-core uses there, finds the compiler by itself."""
    root = os.environ.get("ProgramFiles(x86)") or os.environ.get("ProgramFiles")
    if not root:
        return None
    vswhere = Path(root) / "Microsoft Visual Studio" / "Installer" / "vswhere.exe"
    if not vswhere.is_file():
        return None
    query = [str(vswhere), "-products", "*", "-requires", VC_TOOLS, "-property", "installationPath"]
    try:
        out = subprocess.run(query, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = [line.strip() for line in out.splitlines() if line.strip()]
    return f"MSVC from {found[0]}" if found else None


def describe_cuda() -> str:
    nvcc = os.environ.get("CUDACXX") or shutil.which("nvcc")
    if not nvcc:
        return "no CUDA toolkit (nvcc) found: CPU kernels only; GPUs use the torch fallbacks"
    smi = shutil.which("nvidia-smi")
    if smi:
        query = [smi, "--query-gpu=name,compute_cap", "--format=csv,noheader"]
        gpus = subprocess.run(query, capture_output=True, text=True).stdout.strip().replace("\n", "; ")
        if gpus:
            return f"CUDA kernels for the visible GPU ({gpus}), with {nvcc}"
    return (
        f"{nvcc} found but no GPU visible: CPU kernels only (CMAKE_ARGS=-DLTX2EFF_CUDA=ON builds every GPU's)"
    )


def build_from_source(version: str) -> bool:
    compiler = find_compiler()
    if compiler is None:
        say(
            f"no prebuilt wheel fits this Python ({python_tag()}) and there is no C++ compiler to build "
            "one. Either put the release's wheel folder at LTX2EFF_WHEELHOUSE (or into this pack as "
            "wheelhouse/) and run this again, or install a C++20 compiler (Linux: g++ or clang; "
            "Windows: Visual Studio Build Tools, 'Desktop development with C++')."
        )
        return False
    say(f"building {DIST} {version} from {PACK} with {compiler}: {describe_cuda()}.")
    say("this takes a minute or two on 2 cores for the CPU kernels, longer with CUDA (docs/BUILD.md)")
    log_path = Path(tempfile.gettempdir()) / f"ltx2eff-install-{os.getpid()}.log"
    base = installer()
    if base is None:
        say(no_installer_message())
        return False
    command = [*base, "-v", "--no-deps", str(PACK)]
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            text = line.strip()
            # ninja's "[12/74] Building CXX object ..." lines and the build's own summary.
            if re.match(r"^\[\d+/\d+\]", text) or "ltx2eff:" in text or text.startswith("error"):
                print(f"  {text[:160]}", flush=True)
        rc = process.wait()
    if rc != 0:
        say(f"the source build failed (pip exit {rc}); the last lines of its log, {log_path}:")
        print("".join(log_path.read_text(encoding="utf-8").splitlines(keepends=True)[-40:]), flush=True)
        return False
    return True


def install_dependencies() -> bool:
    """The installed package's own requirements that this Python lacks (never torch)."""
    from importlib.metadata import PackageNotFoundError, requires, version

    try:
        from pip._vendor.packaging.requirements import Requirement
    except ImportError:
        Requirement = None  # pip without its vendored packaging: check names only
    missing = []
    for spec in requires(DIST) or []:
        if "extra ==" in spec:
            continue
        name = re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0]
        if name.lower() in PROTECTED:
            say(f"not touching {name} (the package declares it, but ComfyUI's own stays)")
            continue
        try:
            have = version(name)
        except PackageNotFoundError:
            missing.append(spec)
            continue
        if Requirement is not None and not Requirement(spec).specifier.contains(have, prereleases=True):
            missing.append(spec)
    if not missing:
        return True
    say(f"installing missing dependencies from PyPI: {', '.join(missing)}")
    return pip(*missing) == 0


def main() -> int:
    version = pack_version()
    sources = source_hash()
    have = installed_state()
    if have and have["version"] == version:
        if have["editable"]:
            # A developer's checkout: its builds are theirs to refresh, not this script's to replace.
            say(
                f"{DIST} {version} is already installed in {sys.executable} (an editable install; left as is)"
            )
            return 0
        if have["sources"] == sources:
            say(f"{DIST} {version} is already installed in {sys.executable}")
            return 0
        say(
            f"{DIST} {version} is installed but was built from other sources (hash "
            f"{short(have['sources'])}, this pack's {short(sources)}): installing it again"
        )
    else:
        replacing = f" (replacing {have['version']})" if have else ""
        say(f"installing {DIST} {version} into {sys.executable}{replacing}")
    if installer() is None:
        say(no_installer_message())
        return 1
    location = None if os.environ.get("LTX2EFF_INSTALL_FROM_SOURCE") == "1" else wheelhouse()
    done = install_from_wheelhouse(location, version, sources) if location else False
    if not done and location is None:
        say("no wheelhouse (LTX2EFF_WHEELHOUSE unset and no wheelhouse/ in this pack)")
    if done:
        took = installed_state()
        if took and took["version"] == version and took["sources"] != sources:
            say(
                f"the wheel from {location} was built from other sources (hash {short(took['sources'])}) "
                f"than this pack's ({short(sources)}): building from source instead"
            )
            done = False
    if not done and not build_from_source(version):
        return 1
    if not install_dependencies():
        say("could not install the package's dependencies (see the installer's message above)")
        return 1
    now = installed_state()
    if now is None or now["version"] != version:
        say(f"installed, but `import ltx2_efficient._core` fails in {sys.executable}; run it to see why")
        return 1
    if now["sources"] != sources:
        say(
            f"installed, but it records source hash {short(now['sources'])}, not this pack's "
            f"{short(sources)} (a file changed during the build?): the next run builds it again"
        )
    say(f"{DIST} {version} installed; restart ComfyUI. `ltx2eff info` shows the kernels it has.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
