"""Keep the three ways in agreeing: pyproject.toml, environment.yml and README.md with .ci/run.

Courses often break for learners because the conda file, the pip metadata and the README have
drifted apart; these tests fail as soon as one of them changes alone.
"""

from __future__ import annotations

import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent

# conda-forge names that differ from the PyPI name of the same project.
CONDA_TO_PYPI = {"matplotlib-base": "matplotlib"}
# Entries of environment.yml that are the environment itself, not a dependency of the course.
CONDA_ONLY = {"python", "pip"}

# A student opens the course without the test tools; CI and maintainers install them.
# The server's root is the repository, not notebooks/: notebook 00 links to ../docs/.
OPEN_COMMAND = ("pip install -e . && "
                "jupyter lab --ServerApp.root_dir=. notebooks/00_start_here.ipynb")
TEST_COMMAND = 'pip install -e ".[test]" && python -m pytest'


def requirement(spec: str) -> tuple[str, str]:
    """Split "Name_x >= 1 ; marker" into the normalised name and bound: ("name-x", ">=1")."""
    without_marker = spec.split(";")[0].replace(" ", "")
    name, bound = re.match(r"([A-Za-z0-9._-]+)(.*)", without_marker).groups()
    return name.lower().replace("_", "-"), bound


def pyproject_requirements() -> dict[str, str]:
    """Runtime dependencies plus the test extra, as {name: bound}."""
    with open(ROOT / "pyproject.toml", "rb") as file:
        project = tomllib.load(file)["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(requirement(spec) for spec in specs)


def environment_entries(text: str) -> list[str]:
    """The entries under `dependencies:`, including those of a nested `pip:` list.

    Reads only the plain block-list form that environment.yml uses, which spares the tests a
    YAML library.
    """
    entries, in_dependencies = [], False
    for line in text.splitlines():
        content = line.split("#")[0].rstrip()
        if not content:
            continue
        if not line[0].isspace():
            in_dependencies = content == "dependencies:"
        elif in_dependencies and not content.endswith(":"):
            entries.append(content.strip().removeprefix("- ").strip())
    return entries


def conda_requirements(text: str) -> dict[str, str]:
    """environment.yml's dependencies as {PyPI name: bound}."""
    found = dict(requirement(entry) for entry in environment_entries(text))
    return {
        CONDA_TO_PYPI.get(name, name): bound
        for name, bound in found.items()
        if name not in CONDA_ONLY
    }


def environment_text() -> str:
    return (ROOT / "environment.yml").read_text(encoding="utf-8")


def test_environment_yml_lists_the_dependencies_of_pyproject() -> None:
    pypi = pyproject_requirements()
    assert "nbval" in pypi and "pytest" in pypi  # the parse found the real lists
    assert conda_requirements(environment_text()) == pypi


def test_environment_yml_asks_for_the_same_python() -> None:
    with open(ROOT / "pyproject.toml", "rb") as file:
        requires_python = tomllib.load(file)["project"]["requires-python"]
    assert f"python{requires_python}" in environment_entries(environment_text())


def test_the_environment_reader_sees_pip_entries_and_skips_other_keys() -> None:
    text = "name: x\ndependencies:\n  - python>=3.10\n  - numpy >=1\n  - pip:\n    - Foo_Bar\n"
    assert conda_requirements(text + "channels:\n  - conda-forge\n") == {
        "numpy": ">=1",
        "foo-bar": "",
    }


def test_readme_gives_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert OPEN_COMMAND in readme
    assert TEST_COMMAND in readme


def test_every_jupyter_lab_that_opens_a_notebook_serves_the_whole_repository() -> None:
    # `jupyter lab notebooks/X.ipynb` alone makes notebooks/ the root: every link to ../docs/
    # then answers 404, "outside root contents directory".
    places = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
              *sorted((ROOT / "notebooks" / "src").glob("*.py"))]
    opening = [
        (path.name, match[0])
        for path in places
        for match in re.finditer(r"jupyter lab((?: --\S+)*) notebooks/\S+",
                                 path.read_text(encoding="utf-8"))
    ]
    assert opening  # the search finds the README's command
    assert [(name, command) for name, command in opening
            if " --ServerApp.root_dir=. " not in command] == []


def test_the_course_depends_on_no_test_tool() -> None:
    # nbval alone brings pytest and coverage into every learner's environment.
    with open(ROOT / "pyproject.toml", "rb") as file:
        course = dict(requirement(spec) for spec in tomllib.load(file)["project"]["dependencies"])
    test_tools = {"pytest", "pytest-timeout", "nbval", "nbclient", "jupytext", "playwright", "ruff"}
    assert test_tools <= set(pyproject_requirements())
    assert test_tools & set(course) == set()


def test_the_course_command_does_not_install_the_test_extra() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    course_lines = [line for line in readme.splitlines() if "jupyter lab" in line]
    assert course_lines and all("[test]" not in line for line in course_lines)


def test_the_binder_badge_opens_the_first_notebook_in_jupyterlab() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    badge = re.search(r"\[!\[Launch on Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]"
                      r"\(https://mybinder\.org/v2/gh/[^/]+/[^/]+/HEAD\?urlpath=lab/tree/([^)]+)\)",
                      readme)
    assert badge, "README has no Binder badge"
    assert (ROOT / badge.group(1)).is_file()


def test_ci_runs_the_readme_test_command() -> None:
    # CI calls python3 explicitly: on some machines `python` is not Python 3 or not on PATH.
    ci = re.sub(r"\bpython3\b", "python", (ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    for step in TEST_COMMAND.split(" && "):
        # The step as a whole command: nothing added before the line ends or the shell goes on.
        assert re.search(re.escape(step) + r"[ \t]*($|&&|\|\||;)", ci, flags=re.MULTILINE), step


def test_the_code_and_the_lessons_each_have_their_licence() -> None:
    with open(ROOT / "pyproject.toml", "rb") as file:
        assert tomllib.load(file)["project"]["license"] == {"text": "MIT"}
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    lessons = (ROOT / "LICENSE-lessons").read_text(encoding="utf-8")
    assert "https://creativecommons.org/licenses/by/4.0/" in lessons
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "[`LICENSE`](LICENSE)" in readme and "[`LICENSE-lessons`](LICENSE-lessons)" in readme
