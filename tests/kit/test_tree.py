"""tests/ is a package, so pytest names every test module from the repository root: a test
package can never shadow a real one (tests/launcher is tests.launcher, not launcher)."""

from __future__ import annotations

import launcher
from fusion.testing.paths import REPO


def test_test_modules_are_named_from_the_repository_root() -> None:
    assert (REPO / "tests" / "__init__.py").is_file()
    assert __name__ == "tests.kit.test_tree"


def test_the_launcher_package_is_the_real_one_beside_its_tests() -> None:
    assert launcher.__file__ is not None
    assert launcher.__file__ == str(REPO / "launcher" / "__init__.py")
