"""Virtual environments for tests that install packages: they must see the environment running the tests."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
from pathlib import Path


def make_child_venv(path: Path) -> Path:
    """A new venv at ``path`` that sees every package of the environment running the tests; returns its python.

    ``system_site_packages=True`` would not do: it exposes the *base* interpreter's site-packages, not those of the
    venv (or conda env) the tests run in, so torch, this ganzoo and a recent setuptools would be missing or old.
    Instead a ``.pth`` file calls ``site.addsitedir`` on this environment's site directories: they come after the
    child's own site-packages (so what is installed into the child wins), and their own ``.pth`` files, such as
    the editable install of ganzoo, are processed too. ``python -m pip`` in the child is this environment's pip,
    and it installs into the child (pip installs into ``sys.prefix``).
    """
    venv.create(path, with_pip=False)
    python = path / ("Scripts" if os.name == "nt" else "bin") / "python"
    user = [site.getusersitepackages()] if site.ENABLE_USER_SITE else []  # a venv runs without the user site
    ours = [p for p in (*site.getsitepackages(), *user) if Path(p).is_dir()]
    ours += [p for p in sys.path if p.endswith("site-packages") and p not in ours and Path(p).is_dir()]
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    child_site = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in ours)
    (Path(child_site) / "_outer_environment.pth").write_text(lines)
    return python

