"""Nothing the code reads at run time is missing from a distribution.

The files the shipped packages open through ``importlib.resources`` or beside ``__file__`` are read
from the code (``tests/helpers/runtime_files.py``), then looked for in the wheel built from the
sdist and in the wheel built from the tree. Tests run from the repository never notice a missing
one: the file is there. Users do (issue 17: ``cway_authd/web/`` was left out, and the sign-in
page answered 500 in every real install).
"""

from __future__ import annotations

import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.helpers.artifacts import Dists
from tests.helpers.runtime_files import UnresolvedPattern, runtime_files

pytestmark = pytest.mark.slow


def test_the_finder_sees_the_files_the_code_reads() -> None:
    """The finder can fail: it finds each way the packages read data today (a finder finding nothing passes nothing)."""
    found = runtime_files()
    for name in (
        "cway_authd/web/page.html",  # callback_app: resources.files(...).joinpath("web", name), any file in web/
        "cway_authd/web/style.css",
        "cway_authd/service_templates/cway-mcp-daemon.service",
        "cway_authd/service_templates/cway-mcp-daemon.socket",
        "cway_contract/data/schema.graphql",  # schema.py: package, *parts = SCHEMA_RESOURCE
        "cway_tools/tool_schemas.json",  # lazy_tools: Path(__file__).with_name(...)
    ):
        assert name in found, sorted(found)


@pytest.mark.parametrize(
    "source",
    [
        "import os\nHERE = os.path.dirname(__file__)\n",
        "from pathlib import Path\nROOT = Path(__file__).parent / name_of()\n",
        "from importlib import resources\ndef f():\n    return resources.read_text('pkg', 'x.txt')\n",
        "from importlib import resources\ndef f(n):\n    return resources.files('pkg').joinpath(n, 'x.txt')\n",
        "from importlib import resources\ndef f():\n    return resources.files(pick()).joinpath('x.txt')\n",
        "import pkgutil\nDATA = pkgutil.get_data('pkg', 'x.txt')\n",
        "from pathlib import Path\nX = Path(__file__).with_name('missing.txt')\n",
    ],
)
def test_the_finder_refuses_what_it_cannot_resolve(tmp_path: Path, source: str) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text(textwrap.dedent(source))
    with pytest.raises(UnresolvedPattern, match=r"mod\.py:\d"):
        runtime_files({"pkg": package})


def test_the_finder_resolves_what_it_claims_to(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "data" / "web").mkdir(parents=True)
    for name in ("__init__.py", "beside.json", "data/a.graphql", "data/web/one.html", "data/web/two.css"):
        (package / name).write_text("x")
    (package / "mod.py").write_text(
        "from importlib import resources\nfrom pathlib import Path\n"
        "WHERE = ('pkg', 'data', 'a.graphql')\n"
        "BESIDE = Path(__file__).resolve().parent / 'beside.json'\n"
        "def schema():\n    package, *parts = WHERE\n    return resources.files(package).joinpath(*parts)\n"
        "def page(name):\n    return resources.files('pkg') / 'data' / 'web' / name\n"
    )
    assert sorted(runtime_files({"pkg": package})) == [
        "pkg/beside.json",
        "pkg/data/a.graphql",
        "pkg/data/web/one.html",
        "pkg/data/web/two.css",
    ]


def test_every_file_read_at_run_time_is_in_both_wheels_and_the_sdist(dists: Dists) -> None:
    needed = runtime_files()
    missing: dict[str, list[str]] = {}
    for label, wheel in (("wheel built from the sdist", dists.wheel), ("wheel built from the tree", dists.tree_wheel)):
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
        missing[label] = [
            f"{name} (read by {use.module.name}:{use.line})" for name, use in needed.items() if name not in names
        ]
    with tarfile.open(dists.sdist) as archive:
        members = {"/".join(m.name.split("/")[1:]) for m in archive.getmembers()}
    for name in needed:
        if not any(member.endswith("/" + name) for member in members):
            missing.setdefault("sdist", []).append(name)
    assert {label: files for label, files in missing.items() if files} == {}
