"""The three ways to set up the course agree: requirements.txt, environment.yml, .ci/run + README."""
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def parse_pins(lines, where):
    """{normalised name: version} from `name==version` lines; anything else unpinned is an error."""
    pins = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):  # options: -r, --extra-index-url ...
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;]+)", line)
        assert match, f"{where}: {line!r} is not pinned as name==version"
        name = normalise(match[1])
        assert name not in pins, f"{where}: {match[1]} is listed twice"
        pins[name] = match[2]
    return pins


@pytest.fixture(scope="module")
def requirements():
    return parse_pins((ROOT / "requirements.txt").read_text().splitlines(), "requirements.txt")


@pytest.fixture(scope="module")
def conda_env():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def conda_pip_lines(env):
    blocks = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(blocks) == 1, "environment.yml needs exactly one `pip:` block"
    return blocks[0]


def test_environment_yml_pins_equal_requirements(requirements, conda_env):
    conda = parse_pins(conda_pip_lines(conda_env), "environment.yml")
    assert conda == requirements, (
        f"only in requirements.txt: {sorted(set(requirements.items()) - set(conda.items()))}; "
        f"only in environment.yml: {sorted(set(conda.items()) - set(requirements.items()))}")


def test_environment_yml_python_version(conda_env):
    specs = [d for d in conda_env["dependencies"] if isinstance(d, str) and re.match(r"python\b", d)]
    assert len(specs) == 1, f"environment.yml should name python once, found {specs}"
    match = re.fullmatch(r"python\s*=?=\s*(\d+)\.(\d+)(?:\.\*|\.\d+)?", specs[0].strip())
    assert match, f"environment.yml: pin python to major.minor, e.g. python=3.11, not {specs[0]!r}"
    conda_version, ours = (int(match[1]), int(match[2])), sys.version_info[:2]
    assert conda_version == ours or conda_version >= (3, 11), (
        f"environment.yml asks for python {conda_version}; this venv runs {ours} and the course needs >= 3.11")
    assert "pip" in conda_env["dependencies"], "environment.yml must install pip to read its pip: block"


def test_torch_is_pinned_to_2_13_0(requirements):
    assert requirements.get("torch") == "2.13.0", "requirements.txt must pin torch==2.13.0 exactly"


def test_ci_runs_the_readme_test_command():
    ci, readme = ROOT / ".ci" / "run", ROOT / "README.md"
    assert ci.exists(), ".ci/run is missing"
    ci_commands = [line.split("#", 1)[0].strip() for line in ci.read_text().splitlines()]
    assert any(re.search(r"(^|[\s;&|])make test($|[\s;&|])", c) for c in ci_commands), (
        ".ci/run must run `make test`, the README's test command")
    assert readme.exists(), "README.md is missing; it must give `make test` as the way to run the tests"
    assert "make test" in readme.read_text(), "README.md must give `make test` as the way to run the tests"
