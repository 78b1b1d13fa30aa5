"""ganzoo's built-in plugins, installed as the package ``ganzoo_builtins``.

Each subpackage is one plugin, registered through the ``ganzoo`` entry-point group exactly like a third-party one
(``mlp = "ganzoo_builtins.mlp"``) and importing nothing but ``from ganzoo import ...``. They live under one
top-level name so that no third-party package (``ganzoo new-plugin ganzoo-cgan`` makes ``ganzoo_cgan``) can ever
be installed over a built-in.
"""
