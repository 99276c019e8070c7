"""Installs this node pack's compiled package (ltx2-efficient) into the Python that runs it.

ComfyUI-Manager and ``comfy node install`` run ``python install.py`` in the pack's folder with
ComfyUI's Python after cloning or unpacking it; it can also be run by hand the same way. Steps:

1. nothing to do when the package of this pack's version already imports;
2. a prebuilt wheel of this version matching this Python and platform from the wheelhouse: the
   folder or find-links URL in LTX2EFF_WHEELHOUSE, else the pack's own ``wheelhouse/`` (the
   registry archive ships one; scripts/build_wheels.sh makes it). Installed with --no-index, so
   no other package of that name is ever taken from anywhere;
3. else a build from this folder's sources (a C++20 compiler needed; CUDA kernels for the visible
   GPU when nvcc is found), with its progress shown.

The package's dependencies (numpy) come from PyPI only if missing. torch is never installed,
upgraded or removed: ComfyUI's own stays. LTX2EFF_INSTALL_FROM_SOURCE=1 skips the wheelhouse.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACK = Path(__file__).resolve().parent
DIST = "ltx2-efficient"
PROTECTED = ("torch", "torchvision", "torchaudio")


def say(text: str) -> None:
    print(f"[ltx2eff install] {text}", flush=True)


def pack_version(pack: Path = PACK) -> str:
    """The version line of the pack's pyproject.toml (the one definition of the version)."""
    text = (pack / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^version = "([^"]+)"$', text, re.MULTILINE)
    if match is None:
        raise SystemExit(f"{pack / 'pyproject.toml'} has no version line")
    return match.group(1)


def installed_version() -> str | None:
    """The version whose compiled core imports in this Python, checked in a fresh interpreter."""
    probe = "import ltx2_efficient._core as c; print(c.__version__)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tempfile.gettempdir()
    )
    return result.stdout.strip() if result.returncode == 0 else None


def pip(*args: str, quiet: bool = True) -> int:
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *args]
    if quiet:
        command.insert(4, "-q")
    return subprocess.call(command)


def wheel_tags() -> set[str]:
    """Tags this interpreter accepts ("cp311-cp311-manylinux_2_17_x86_64", ...), from the
    packaging copy every pip carries; empty when it cannot be loaded (then pip decides)."""
    try:
        from pip._vendor.packaging.tags import sys_tags
    except ImportError:
        return set()
    return {str(tag) for tag in sys_tags()}


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


def install_from_wheelhouse(location: str, version: str) -> bool:
    """True when a wheel of this version from `location` is now installed."""
    is_folder = "://" not in location
    if is_folder:
        folder = Path(location)
        if not folder.is_dir():
            say(f"LTX2EFF_WHEELHOUSE={location} is not a folder; ignoring it")
            return False
        wheels = matching_wheels(folder, version, wheel_tags())
        if not wheels:
            say(f"no {DIST} {version} wheel for this Python ({python_tag()}) in {folder}")
            return False
        say(f"installing {wheels[0].name} from {folder}")
    else:
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


def python_tag() -> str:
    import platform

    return f"CPython {platform.python_version()}, {platform.system()} {platform.machine()}"


def find_compiler() -> str | None:
    for name in (os.environ.get("CXX", ""), "c++", "g++", "clang++", "cl"):
        if name and shutil.which(name.split()[0]):
            return name
    return None


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
    say("this takes a few minutes (about 1.5 min on 2 cores for the CPU kernels; see docs/BUILD.md)")
    log_path = Path(tempfile.gettempdir()) / f"ltx2eff-install-{os.getpid()}.log"
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "-v",
        "--disable-pip-version-check",
        "--no-deps",
        str(PACK),
    ]
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
    have = installed_version()
    if have == version:
        say(f"{DIST} {version} is already installed in {sys.executable}")
        return 0
    say(f"installing {DIST} {version} into {sys.executable}" + (f" (replacing {have})" if have else ""))
    location = None if os.environ.get("LTX2EFF_INSTALL_FROM_SOURCE") == "1" else wheelhouse()
    done = install_from_wheelhouse(location, version) if location else False
    if not done and location is None:
        say("no wheelhouse (LTX2EFF_WHEELHOUSE unset and no wheelhouse/ in this pack)")
    if not done and not build_from_source(version):
        return 1
    if not install_dependencies():
        say("could not install the package's dependencies (see pip's message above)")
        return 1
    now = installed_version()
    if now != version:
        say(f"installed, but `import ltx2_efficient._core` fails in {sys.executable}; run it to see why")
        return 1
    say(f"{DIST} {version} installed; restart ComfyUI. `ltx2eff info` shows the kernels it has.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
