"""The layout the code keeps: Beam only in pipeline/beam, no generic top-level names, no
module that special-cases a stage by its name."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("filters", "dedup", "pipeline", "src")


def modules():
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def imported(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_beam_wiring_imports_beam(path):
    beam = {n for n in imported(path) if n == "apache_beam" or n.startswith("apache_beam.")}
    assert not beam or path.is_relative_to(ROOT / "pipeline" / "beam"), beam


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_code_imports_the_package_never_a_generic_top_level_name(path):
    generic = {n for n in imported(path) if n.split(".")[0] in ("pipeline", "filters", "dedup", "configs")}
    assert not generic, generic


def test_no_module_special_cases_the_extract_stage_by_name():
    """Extraction is found by what it declares (input "html") or by type, never by name."""
    allowed = {ROOT / "pipeline" / "config.py"}  # the stage table itself
    offenders = []
    for path in modules():
        if path in allowed or path.is_relative_to(ROOT / "filters" / "extract"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value == "extract":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders
