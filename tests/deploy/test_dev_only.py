"""What the Lambda zip leaves out is a folder rule, and no deployed module imports from that folder."""

from __future__ import annotations

import re

from deploy.artefacts import CODE_PACKAGES, is_dev_only
from deploy.service import ROOT


def test_everything_under_shared_local_and_the_local_cli_is_left_out() -> None:
    assert is_dev_only("shared/local/devstack.py")
    assert is_dev_only("shared/local/a_module_added_later.py")
    assert is_dev_only("functions/__main__.py")
    assert not is_dev_only("shared/localisation.py")
    assert not is_dev_only("shared/delivery/engine.py")
    assert not is_dev_only("functions/api/__main__.py")


def test_no_deployed_module_imports_the_local_stack() -> None:
    importing = re.compile(r"^\s*(from|import)\s+shared\.local\b", re.MULTILINE)
    offenders = [
        relative
        for package in CODE_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if not is_dev_only(relative := path.relative_to(ROOT).as_posix()) and importing.search(path.read_text())
    ]
    assert offenders == []
