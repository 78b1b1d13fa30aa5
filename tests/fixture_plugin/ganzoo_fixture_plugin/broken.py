"""An entry point that fails to import, as a plugin with a missing dependency would."""

import ganzoo_fixture_missing_dependency  # noqa: F401
