#!/usr/bin/env python3
"""Pin motcua's runtime dependencies (not the test or benchmark tools) to the versions
installed in this environment, in deploy/constraints.txt. Deployment installs from it:

    pip install -c deploy/constraints.txt .

Regenerate after changing a dependency in pyproject.toml or upgrading the venv, then run the
tests on that venv and commit the file:

    .venv/bin/pip install -U -e ".[test,bench]"    # or only the package you meant to move
    .venv/bin/python deploy/lock.py                # rewrites deploy/constraints.txt
    .venv/bin/python deploy/lock.py --check        # exit 1 if the file and the venv differ

Environment markers are evaluated for this Python (Debian 12: Python 3.11, the deployment's).
"""
from __future__ import annotations

import argparse
import importlib.metadata as metadata
import platform
import re
import sys
from pathlib import Path

try:
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
except ImportError:  # a venv without packaging: pip carries its own copy
    from pip._vendor.packaging.markers import default_environment
    from pip._vendor.packaging.requirements import Requirement

LOCK = Path(__file__).with_name("constraints.txt")
ROOT = "motcua"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_closure(root: str = ROOT) -> dict[str, str]:
    """{canonical name: installed version} of everything `pip install root` pulls in, root excluded."""
    environment = default_environment()
    found: dict[str, str] = {}
    done: set[tuple[str, str]] = set()
    todo: list[tuple[str, str]] = [(root, "")]  # (distribution, extra being resolved; "" = its base)
    while todo:
        name, extra = todo.pop()
        key = canonical(name)
        if (key, extra) in done:
            continue
        done.add((key, extra))
        dist = metadata.distribution(name)
        if key != canonical(root):
            found[key] = dist.version
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({**environment, "extra": extra}):
                continue
            if not requirement.marker and extra:
                continue  # an unconditional requirement belongs to the base, resolved already
            todo.append((requirement.name, ""))
            todo.extend((requirement.name, e) for e in requirement.extras)
    return found


def read_lock(path: Path = LOCK) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonical(name)] = version.strip()
    return pins


def render(pins: dict[str, str]) -> str:
    header = [
        "# motcua's runtime dependencies, pinned for deployment: pip install -c deploy/constraints.txt .",
        f"# Written by deploy/lock.py from Python {platform.python_version()} on {sys.platform} "
        f"{platform.machine()}; regenerate with: .venv/bin/python deploy/lock.py",
    ]
    return "\n".join(header + [f"{name}=={version}" for name, version in sorted(pins.items())]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    pins = runtime_closure()
    if not args.check:
        LOCK.write_text(render(pins), encoding="utf-8")
        print(f"{LOCK}: {len(pins)} packages")
        return 0
    locked = read_lock()
    differences = [f"{name}: installed {pins.get(name, '-')}, locked {locked.get(name, '-')}"
                   for name in sorted(set(pins) | set(locked)) if pins.get(name) != locked.get(name)]
    print("\n".join(differences) or f"{LOCK.name} matches this environment ({len(pins)} packages)")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
