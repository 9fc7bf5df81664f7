"""course/build.py: generated cells are in sync, hidden specs are sound, badges follow the one setting."""
import ast
import shutil
import subprocess
import sys

import nbformat
import pytest

from course import build

ROOT = build.ROOT
LESSONS = sorted(ROOT.glob("source/*/*.ipynb"))


def test_generated_cells_are_in_sync():
    result = subprocess.run([sys.executable, "-m", "course.build", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_lessons_exist():
    assert [p.stem for p in LESSONS][:4] == ["01_syntax", "02_shapes", "03_states", "04_cell"]


def test_parse_hidden_reads_the_spec():
    source = ('### BEGIN HIDDEN TESTS\nexpect_shape("a.q1", answer_q1, (4, 2, 3), mistakes=[\n'
              '    ((2, 4, 3), "swapped"),\n])\n### END HIDDEN TESTS')
    spec = build.parse_hidden(source)
    assert (spec.kind, spec.qid, spec.name, spec.expected, spec.mistakes) == \
        ("expect_shape", "a.q1", "answer_q1", (4, 2, 3), [((2, 4, 3), "swapped")])


@pytest.mark.parametrize("source, fragment", [
    ("expect_shape('a.q1', answer_q1, (1,))", "no hidden-tests region"),
    ("### BEGIN HIDDEN TESTS\nprint(1)\n### END HIDDEN TESTS", "exactly one"),
    ("### BEGIN HIDDEN TESTS\nexpect_shape('a.q1', answer_q1)\n### END HIDDEN TESTS", "expected expect_"),
])
def test_parse_hidden_rejects_malformed_specs(source, fragment):
    with pytest.raises(build.HiddenSpecError, match=fragment):
        build.parse_hidden(source)


def test_a_mistake_equal_to_the_answer_is_refused():
    source = ('### BEGIN HIDDEN TESTS\nexpect_lstm("a.q2", answer_q2, {"input_size": 8, "hidden_size": 12}, '
              'mistakes=[({"hidden_size": 12, "input_size": 8, "num_layers": 1}, "oops")])\n### END HIDDEN TESTS')
    with pytest.raises(build.HiddenSpecError, match="equals the answer"):
        build.visible_part(source)


def test_visible_part_holds_no_readable_answer_or_message():
    source = ('### BEGIN HIDDEN TESTS\nexpect_shape("a.q1", answer_q1, (4, 2, 3), mistakes=[((2, 4, 3), "swapped")])\n'
              '### END HIDDEN TESTS')
    visible = build.visible_part(source)
    assert "4, 2, 3" not in visible and "(4" not in visible and "swapped" not in visible and "2, 4" not in visible
    # The sealed message opens for the mistake it names, and only for it.
    ns = dict(build._checks())
    for answer, says in (((2, 4, 3), "swapped"), ((9, 9, 9), "not the right shape"), ((4, 2, 3), None)):
        try:
            exec(visible, dict(ns, answer_q1=answer))
            message = None
        except AssertionError as err:
            message = str(err)
        assert (message is None) if says is None else (says in message), (answer, message)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_no_visible_check_shows_a_mistakes_message(path):
    """The hints of multiple-choice (and every other) visible check are sealed: none of their words is readable."""
    for cell in graded_cells(path):
        spec = build.parse_hidden(cell.source)
        visible = cell.source.split(build.HIDDEN_BEGIN)[0]
        for wrong, message in spec.mistakes:
            assert message not in visible and message[:25] not in visible, (cell.metadata.nbgrader.grade_id, message)


def graded_cells(path):
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_exercises_follow_the_conventions(path):
    nb = nbformat.read(path, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert code_cells[0].metadata.get("course", {}).get("generated") == "checks", "checks must run before any other code"
    tests = graded_cells(path)
    assert len(tests) >= 6, "each lesson has at least 6 graded exercises"
    kinds = set()
    for cell in tests:
        grade_id = cell.metadata.nbgrader.grade_id
        spec = build.parse_hidden(cell.source)
        kind, qid, name, mistakes = spec.kind, spec.qid, spec.name, spec.mistakes
        n = grade_id.removesuffix("_test").removeprefix("q")
        assert qid == f"{path.stem}.q{n}" and name == f"answer_q{n}", grade_id
        if kind == "expect_generated":  # the course test: its key (answers, named mistakes) rides in the hidden test
            assert len(spec.kwargs["key"]) > 1000, grade_id
            mistakes = True
        elif kind in build.BY_REFERENCE:  # its classic mistakes live with its reference (course/references/)
            reference = build._checks()["_course_answers"]["references"][spec.kwargs["reference"]]
            mistakes = reference.get("mistakes") or reference.get("not_yet")  # a trained model has a bar, not mistakes
        assert mistakes, f"{grade_id}: list the common mistakes so the hints can name them"
        # A test cell may only look at its own answer and the checks' helpers.
        used = {node.id for node in ast.walk(ast.parse(cell.source)) if isinstance(node, ast.Name)}
        assert used <= {name, "check", "check_form", kind, *build.BY_REFERENCE.values()}, f"{grade_id} uses {used}"
        kinds.add(kind if kind != "expect_generated" else f"generated {n}")  # each student's own kinds
    assert len(kinds) >= 2, "mix shape, constructor and multiple-choice exercises"


def test_badges_come_from_the_one_setting(tmp_path):
    course = tmp_path / "course"
    for part in ("source", "notebooks", "course"):
        shutil.copytree(ROOT / part, course / part, ignore=shutil.ignore_patterns("__pycache__"))
    text = (ROOT / "pyproject.toml").read_text().replace(build.settings()["student_repo"], "someone/else")
    (course / "pyproject.toml").write_text(text)
    stale = build.sync(root=course)
    assert stale, "changing the setting must change the badges"
    for path in stale:
        cells = nbformat.read(path, as_version=4).cells
        badges = [c.source for c in cells if c.metadata.get("course", {}).get("generated") in ("badge", "course_map")]
        assert badges and all("github/someone/else/blob/main/" in b for b in badges)
        assert all("lstm-course-student" not in b for b in badges)


def test_release_badges_point_at_the_release_copy():
    for path in LESSONS:
        cells = nbformat.read(path, as_version=4).cells
        badge = next(c.source for c in cells if c.metadata.get("course", {}).get("generated") == "badge")
        assert f"/release/{path.parent.name}/{path.name})" in badge


def test_student_edition_has_no_solutions(tmp_path):
    dest = build.student_edition(tmp_path / "student")
    assert (dest / "release").is_dir() and (dest / "notebooks" / "00_start_here.ipynb").exists()
    assert not (dest / "source").exists() and not (dest / "autograder").exists()
    for nb in dest.rglob("*.ipynb"):
        text = nb.read_text()
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text


def student_texts(dest):
    """(where, text) of everything a student reads: the edition's README, and every markdown cell and
    visible code cell of its notebooks (generated code cells are hidden: they are the course's code)."""
    yield dest / "README.md", (dest / "README.md").read_text()
    for path in sorted(dest.rglob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown" or not cell.metadata.get("course", {}).get("generated"):
                yield path, cell.source


def test_student_edition_has_every_command_and_file_it_names(tmp_path):
    """`make lab`, `make cheatsheet`, benchmarks/*.py...: whatever a student is told to run or open is there."""
    import re

    dest = build.student_edition(tmp_path / "student")
    targets = set(re.findall(r"^([\w-]+):", (dest / "Makefile").read_text(), flags=re.M))
    names = {p.name for p in dest.rglob("*") if p.is_file()}
    commands, files = 0, 0
    for where, text in student_texts(dest):
        for target in re.findall(r"`make ([\w-]+)", text):
            commands += 1
            assert target in targets, f"{where.relative_to(dest)} says `make {target}`; the edition's Makefile lacks it"
        for name in re.findall(r"(?<![\w/.:-])((?:\.\./)?[\w-]+(?:/[\w.-]+)*\.(?:py|ipynb|txt|md|toml))\b", text):
            files += 1
            exists = (dest / name).is_file() or (where.parent / name).resolve().is_file() or \
                ("/" not in name and name in names)
            assert exists, f"{where.relative_to(dest)} names {name}, which the student edition lacks"
    assert commands >= 3 and files >= 20  # the start page alone names make lab and every notebook
    readme = (dest / "README.md").read_text()
    missing = [p.name for p in (dest / "notebooks").glob("*.ipynb") if p.name not in readme]
    assert not missing, f"the edition's README leaves out {missing}"


def test_the_benchmark_of_lesson_06_finds_its_task_in_the_student_edition(tmp_path):
    dest = build.student_edition(tmp_path / "student")
    # No course/build.py there: the benchmark reads the task from the released lesson's checks cell.
    result = subprocess.run([sys.executable, "-c", "import sys; sys.modules['course.build'] = None; "
                             "sys.path.insert(0, 'benchmarks'); import lstm_vs_rnn; "
                             "import torch; x, y = lstm_vs_rnn.task()(5, torch.Generator().manual_seed(0)); "
                             "print(tuple(x.shape), y.shape[0])"], cwd=dest, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "(5, 40, 6) 5", result.stderr[-2000:]


@pytest.mark.parametrize("path", sorted(ROOT.glob("release/*/*.ipynb")) + sorted(ROOT.glob("notebooks/*.ipynb")),
                         ids=lambda p: p.stem)
def test_every_generated_code_cell_is_hidden_in_jupyterlab_and_in_colab(path):
    """JupyterLab reads jupyter.source_hidden; Colab shows only a form's "# @title" line ("cellView": "form")."""
    cells = [c for c in nbformat.read(path, as_version=4).cells
             if c.cell_type == "code" and c.metadata.get("course", {}).get("generated")]
    assert cells or path.parent.name == "notebooks"
    for cell in cells:
        kind = cell.metadata["course"]["generated"]
        assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, kind
        assert cell.metadata.get("cellView") == "form", kind
        first = cell.source.splitlines()[0]
        assert first == build.title_line(kind) and first.startswith("# @title ") and "(run me; no need to read)" in first
