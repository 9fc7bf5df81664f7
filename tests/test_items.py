"""Item analysis (autograder/items.py): checked against a simulated class whose abilities we set.

60 students, each with an ability drawn from N(0, 1), answer each item right with a logistic
probability of (ability - difficulty); one lesson item is answered right only by the weaker
students (a negative slope). The results are written as grade-all writes them
(batch.make_record / write_record) and the course files rebuilt (outputs.write_course_files), so
item_analysis.csv, mistakes.md and report.png come from real result files. The course test's
results carry the `item` dict (template, difficulty, chosen option and the options in the order
each student saw them, shuffled per student); its easy pool has one template much harder than
the others (an unfair draw), its other pools have templates of equal difficulty.

Then nbgrader: a gradebook of the same kind of class through nbgrader's API (`items --gradebook`),
and a real lesson autograded by nbgrader (an untouched release copy among the submissions: its
"checksum has changed" warnings, nbgrader #1961) against grade-all over the same submitted/ folder.
"""
import csv
import io
import json
import math
import random
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest
from conftest import AG_REPO, _ag_lesson, ag_make_course

from autograder import batch, course, items, outputs

STUDENTS = 60
LETTERS = "ABCD"
# The lesson: (difficulty, points) per shape item; q5 is multiple choice (key C); q6 only the weaker
# students get right; q7 is worth 2 points and gives partial credit.
LESSON = "03_sim"
LESSON_ITEMS = {"q1": -3.0, "q2": -0.5, "q3": 0.3, "q4": 1.0, "q5": 0.0, "q7": 0.2}
CHOICE_WEIGHTS = {"A": 0.5, "B": 0.3, "D": 0.2}  # how the students who miss q5 spread over its distractors
# The course test: tests q1-q3 draw from the easy pool, q4-q7 from the medium, q8-q10 from the hard one.
TEST = "07_sim"
POOLS = {
    "easy": ({"constructor": -1.5, "h_n_layers": -1.5, "weight_shape": -1.3, "input_shape": 0.6}, 3),
    "medium": ({"output_bidirectional": 0.0, "h_n_batch_first": 0.0, "parameter_count": 0.0, "output_vs_h_n": 0.0}, 4),
    "hard": ({"h_n_everything": 1.0, "c_n_projection": 1.0, "backward_final_state": 1.0, "packed_data": 1.0}, 3),
}
CHOICE_TEMPLATES = {  # identities of the options, the key first
    "output_vs_h_n": ["output[-1]", "output[:, -1]", "output[0]", "output[:, 0]"],
    "backward_final_state": ["output[0, H:]", "output[-1, H:]", "output[-1, :H]", "output[0, :H]"],
}


def logistic(x):
    return 1 / (1 + math.exp(-x))


# --- the simulated class ------------------------------------------------------------------------------------

def simulate(seed=20250301):
    """{student: {"ability", LESSON: {test: result dict}, TEST: {test: result dict}}}, as the grader writes them."""
    rng = random.Random(seed)
    klass = {}
    for i in range(STUDENTS):
        ability = rng.gauss(0, 1)
        lesson = {}
        for q, difficulty in LESSON_ITEMS.items():
            right = rng.random() < logistic(1.7 * (ability - difficulty))
            if q == "q5":
                if right:
                    lesson[q] = result(q, 1, 1, "correct", "'C'")
                elif rng.random() < 0.1:
                    lesson[q] = result(q, 0, 1, "not answered", "")
                else:
                    letter = rng.choices(list(CHOICE_WEIGHTS), list(CHOICE_WEIGHTS.values()))[0]
                    lesson[q] = result(q, 0, 1, "wrong", f"'{letter}'")
            elif q == "q7":  # 2 points: full, partial (1 point) or nothing
                score = 2 if right else (1 if rng.random() < 0.5 else 0)
                lesson[q] = result(q, score, 2, "correct" if score == 2 else "wrong", "(3, 4)")
            else:
                lesson[q] = result(q, int(right), 1, "correct" if right else "wrong", "(2, 3)")
        weaker = rng.random() < logistic(-2.5 * ability)  # q6: the weaker, the likelier right
        lesson["q6"] = result("q6", int(weaker), 1, "correct" if weaker else "wrong", "(1, 2)")
        lesson = {f"{q}_test": lesson[q] for q in sorted(lesson, key=lambda q: int(q[1:]))}

        test, number = {}, 1
        for difficulty, (templates, count) in POOLS.items():
            for template in rng.sample(sorted(templates), count):
                right = rng.random() < logistic(1.7 * (ability - templates[template]))
                item = {"template": template, "difficulty": difficulty, "option": None, "options": []}
                shown = "(4, 2, 3)"
                if template in CHOICE_TEMPLATES:
                    identities = CHOICE_TEMPLATES[template]
                    seen = rng.sample(identities, len(identities))  # letters shuffled per student
                    chosen = identities[0] if right else rng.choice(identities[1:])
                    item.update(option=chosen, options=seen)
                    shown = f"'{LETTERS[seen.index(chosen)]}'"
                name = f"q{number}_test"
                test[name] = dict(result(f"q{number}", int(right), 1, "correct" if right else "wrong", shown), item=item)
                number += 1
        klass[f"s{i:02d}"] = {"ability": ability, LESSON: lesson, TEST: test}
    return klass


def result(q, score, points, verdict, answer):
    """A test's result dict as scoring.TestResult.as_dict() makes it."""
    return {"name": f"{q}_test", "score": float(score), "max_score": float(points),
            "status": "passed" if score == points else "failed", "output": "Correct!" if score == points else "Wrong.",
            "extra_data": {"title": f"Exercise {q[1:]}", "answer": answer, "verdict": verdict}}


def sim_course(root):
    """A course with the simulated lesson (q5 is expect_choice, key C) and a course test of ten tests."""
    shape = ("shape", "(2, 3)", (2, 3), [], 1)
    lesson = [shape] * 4 + [("choice", '"C"', "C", [("A", "Not A.")], 1), shape, ("shape", "(3, 4)", (3, 4), [], 2)]
    return ag_make_course(root, {LESSON: _ag_lesson(LESSON, lesson), TEST: _ag_lesson(TEST, [shape] * 10)})


def write_results(out, course_dir, klass):
    """Each student's results written as grade-all writes them (batch.make_record, batch.write_record)."""
    assignments = batch.Assignments(course_dir)
    for student, data in klass.items():
        for name in (LESSON, TEST):
            sub = batch.Submission(Path(f"/submitted/{student}/{name}/{name}.ipynb"), student, name, key="k")
            sub.job = SimpleNamespace(graded=assignments.info(name)["graded"])
            batch.write_record(out, sub, batch.make_record(sub, assignments, list(data[name].values())))
    return outputs.write_course_files(out, course_dir, assignments.sources())


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    base = tmp_path_factory.mktemp("items")
    course_dir = sim_course(base / "course")
    klass = simulate()
    out = base / "out"
    write_results(out, course_dir, klass)
    rows = list(csv.DictReader(io.StringIO((out / "item_analysis.csv").read_text())))
    return {"klass": klass, "out": out, "course": course_dir, "rows": rows,
            "sources": batch.Assignments(course_dir).sources()}


def row(rows, assignment, test="", template=""):
    found = [r for r in rows if r["assignment"] == assignment and
             (r["template"] == template if template else (r["test"] == test and r["level"] == "test"))]
    assert len(found) == 1, (assignment, test, template, found)
    return found[0]


def vectors(klass, assignment, keep):
    """(item scores, rest scores) of the observations `keep(test, result)` selects, straight from the simulation."""
    items_, rests = [], []
    for data in klass.values():
        total = sum(r["score"] for r in data[assignment].values())
        for test, r in data[assignment].items():
            if keep(test, r):
                items_.append(r["score"])
                rests.append(total - r["score"])
    return np.array(items_), np.array(rests)


def numpy_r(xs, ys):
    return float(np.corrcoef(xs, ys)[0, 1])


# --- the lesson -----------------------------------------------------------------------------------------------

def test_facility_and_discrimination_equal_the_simulation(simulated):
    klass, rows = simulated["klass"], simulated["rows"]
    for test in klass["s00"][LESSON]:
        xs, rests = vectors(klass, LESSON, lambda t, r: t == test)
        points = klass["s00"][LESSON][test]["max_score"]
        got = row(rows, LESSON, test)
        assert int(got["n"]) == STUDENTS
        assert float(got["facility"]) == pytest.approx(np.mean(xs == points), abs=5e-4), test  # the share right
        assert float(got["mean_score"]) == pytest.approx(np.mean(xs / points), abs=5e-4), test
        assert float(got["discrimination"]) == pytest.approx(numpy_r(xs, rests), abs=5e-4), test
    # Partial credit: q7 is right only with both points; its mean score counts the partial ones.
    q7 = row(rows, LESSON, "q7_test")
    assert float(q7["mean_score"]) > float(q7["facility"])


def test_the_item_only_the_weaker_students_get_right_is_flagged(simulated):
    rows = simulated["rows"]
    q6 = row(rows, LESSON, "q6_test")
    assert float(q6["discrimination"]) < -0.2 and "negative_discrimination" in q6["flags"].split("; ")
    others = [r for r in rows if r["assignment"] == LESSON and r["test"] != "q6_test"]
    assert all(float(r["discrimination"]) > 0 and "negative_discrimination" not in r["flags"] for r in others)
    md = (simulated["out"] / "mistakes.md").read_text()
    assert f"- {LESSON} q6_test: negative discrimination" in md


def test_flags_follow_their_thresholds(simulated):
    for r in simulated["rows"]:
        flags = set(filter(None, r["flags"].split("; ")))
        facility = float(r["facility"])
        assert ("too_easy" in flags) == (facility > items.EASY), r
        assert ("too_hard" in flags) == (facility < items.HARD), r
        assert ("negative_discrimination" in flags) == (r["discrimination"] != "" and float(r["discrimination"]) < 0)
    assert "too_easy" in row(simulated["rows"], LESSON, "q1_test")["flags"]  # difficulty -3: nearly everyone


def test_lesson_option_shares_count_each_letter(simulated):
    klass, rows = simulated["klass"], simulated["rows"]
    chosen = Counter(data[LESSON]["q5_test"]["extra_data"]["answer"].strip("'") or None for data in klass.values())
    q5 = row(rows, LESSON, "q5_test")
    shares = json.loads(q5["options"])
    assert q5["key"] == "C" and list(shares) == ["A", "B", "C", "D", items.NO_OPTION]
    assert shares == {letter: pytest.approx(chosen[letter] / STUDENTS, abs=5e-4) for letter in LETTERS} | {
        items.NO_OPTION: pytest.approx(chosen[None] / STUDENTS, abs=5e-4)}
    assert float(q5["not_answered"]) == pytest.approx(chosen[None] / STUDENTS, abs=5e-4)
    assert row(rows, LESSON, "q1_test")["options"] == ""  # not multiple choice


def test_no_discrimination_and_no_flag_for_it_below_20_students(simulated):
    everyone = items.from_records(outputs.records(simulated["out"]))
    responses = [r for r in everyone if r.assignment == LESSON][:19] + [r for r in everyone if r.assignment == TEST][:19]
    assert {len([r for r in responses if r.assignment == a]) for a in (LESSON, TEST)} == {19}
    tests = {a: list(simulated["klass"]["s00"][a]) for a in (LESSON, TEST)}
    for r in items.analyse(responses, tests):
        assert r["discrimination"] is None and items.NEGATIVE not in r["flags"], r
    text = items.csv_text(items.analyse(responses, tests))
    assert all(line.split(",")[9] == "" for line in text.splitlines()[1:] if line.startswith(LESSON))


def test_pure_rows_are_exact(simulated):
    """The CSV rounds to 3 decimals; the rows themselves equal the simulation's shares and numpy's r."""
    klass = simulated["klass"]
    responses = items.from_records(outputs.records(simulated["out"]))
    tests = {a: list(klass["s00"][a]) for a in (LESSON, TEST)}
    rows = items.analyse(responses, tests)
    for test in tests[LESSON]:
        xs, rests = vectors(klass, LESSON, lambda t, r: t == test)
        got = next(r for r in rows if r["assignment"] == LESSON and r["test"] == test)
        assert got["facility"] == np.sum(xs == xs.max()) / STUDENTS
        assert got["discrimination"] == pytest.approx(numpy_r(xs, rests), abs=1e-12)


# --- the course test -------------------------------------------------------------------------------------------

def template_of(result):
    return result["item"]["template"]


def test_template_rows_equal_the_simulation(simulated):
    klass, rows = simulated["klass"], simulated["rows"]
    for difficulty, (templates, _) in POOLS.items():
        for template in templates:
            xs, rests = vectors(klass, TEST, lambda t, r: template_of(r) == template)
            got = row(rows, TEST, template=template)
            assert (got["level"], got["difficulty"], int(got["n"])) == ("template", difficulty, len(xs))
            assert float(got["facility"]) == pytest.approx(xs.mean(), abs=5e-4)
            assert float(got["discrimination"]) == pytest.approx(numpy_r(xs, rests), abs=5e-4)
    # Per test too, whatever template each student drew; no option shares where the templates differ.
    for test in klass["s00"][TEST]:
        xs, rests = vectors(klass, TEST, lambda t, r: t == test)
        got = row(rows, TEST, test)
        assert float(got["facility"]) == pytest.approx(xs.mean(), abs=5e-4)
        assert float(got["discrimination"]) == pytest.approx(numpy_r(xs, rests), abs=5e-4)
        assert got["options"] == ""


def test_course_test_options_are_counted_by_identity_not_letter(simulated):
    klass, rows = simulated["klass"], simulated["rows"]
    for template, identities in CHOICE_TEMPLATES.items():
        drawn = [r for data in klass.values() for r in data[TEST].values() if template_of(r) == template]
        by_identity = Counter(r["item"]["option"] for r in drawn)
        by_letter = Counter(r["extra_data"]["answer"].strip("'") for r in drawn)
        got = row(rows, TEST, template=template)
        shares = json.loads(got["options"])
        assert got["key"] == identities[0]
        assert set(shares) == set(identities) | {items.NO_OPTION}
        assert shares == {i: pytest.approx(by_identity[i] / len(drawn), abs=5e-4) for i in identities} | {
            items.NO_OPTION: 0.0}
        # The letters were shuffled: counting them would give other numbers.
        assert sorted(by_letter.values()) != sorted(by_identity.values()) or by_letter["A"] != by_identity[identities[0]]
        assert shares[identities[0]] == pytest.approx(float(got["facility"]), abs=5e-4)


def test_unfair_draw_fires_for_a_pool_whose_templates_differ(simulated):
    klass, rows = simulated["klass"], simulated["rows"]
    for difficulty, (templates, _) in POOLS.items():
        facility = {t: vectors(klass, TEST, lambda _, r: template_of(r) == t)[0].mean() for t in templates}
        for template in templates:
            differs = any(abs(facility[template] - f) > 0.2 for other, f in facility.items() if other != template)
            got = row(rows, TEST, template=template)
            assert ("unfair_draw" in got["flags"]) == differs, (template, facility)
        spread = max(facility.values()) - min(facility.values())
        assert (spread > 0.2) == (difficulty == "easy"), (difficulty, facility)  # as the simulation set them
    md = (simulated["out"] / "mistakes.md").read_text()
    assert re.search(r"- 07_sim input_shape \(template, easy\): .*unfair draw \(vs constructor \d+%", md), md
    assert "| hard | packed_data |" in md and "unfair" not in md.split("| hard | packed_data |", 1)[1].split("\n")[0]


def test_unfair_draw_threshold_and_minimum(tmp_path):
    def responses(facilities, n):
        found = []
        for i in range(n):
            answers = {f"q{k}_test": items.Answer(float(i < f * n), 1.0, template=f"t{k}", difficulty="easy")
                       for k, f in enumerate(facilities, 1)}
            found.append(items.Response(f"s{i}", "07_x", answers))
        return found

    def unfair(facilities, n):
        rows = items.analyse(responses(facilities, n), {"07_x": [f"q{k}_test" for k in range(1, len(facilities) + 1)]})
        return {r["template"]: items.UNFAIR in r["flags"] for r in rows if r["level"] == "template"}

    assert unfair([0.5, 0.7], 20) == {"t1": False, "t2": False}  # exactly 0.2 apart: fair
    assert unfair([0.5, 0.75], 20) == {"t1": True, "t2": True}
    assert unfair([0.5, 0.75, 0.6], 20) == {"t1": True, "t2": True, "t3": False}
    assert unfair([0.0, 1.0], items.MIN_N_COMPARE - 1) == {"t1": False, "t2": False}  # too few to compare


def test_report_png_shows_items_and_templates(simulated):
    data = (simulated["out"] / "report.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image as mpimg

    picture = mpimg.imread(io.BytesIO(data), format="png")
    assert picture.shape[0] > 3 * 3.0 * 90  # three rows: the lesson, the course test and its templates
    shutil.copy(simulated["out"] / "report.png", _artifact("items-report.png"))


def _artifact(name):
    folder = AG_REPO / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder / name


# --- nbgrader ---------------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Object of type .* not in session")  # nbgrader's own add_submission
def test_items_from_a_gradebook(ag_course, ag_grade, tmp_path):
    """`items --gradebook` reads per-cell scores through nbgrader's API: the simulated class, 60 students."""
    from nbgrader.api import Gradebook

    course_dir = shutil.copytree(ag_course, tmp_path / "course")  # gradebook.db: 01_demo's cells (q1 q2 1 pt, q3 2)
    rng = random.Random(7)
    scores = {}
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
        for i in range(STUDENTS):
            student, ability = f"s{i:02d}", rng.gauss(0, 1)
            q1 = float(rng.random() < logistic(2 * (ability + 0.5)))
            q2 = float(rng.random() < logistic(-2.5 * ability))  # only the weaker students
            q3 = 2.0 if rng.random() < logistic(2 * (ability - 0.5)) else float(rng.random() < 0.5)
            scores[student] = {"q1_test": q1, "q2_test": q2, "q3_test": q3}
            gb.add_student(student)
            gb.add_submission("01_demo", student)
            for cell, score in scores[student].items():
                gb.find_grade(cell, "01_demo", "01_demo", student).auto_score = score
        gb.db.commit()
    out = tmp_path / "items.csv"
    done = ag_grade("items", "--gradebook", course_dir / "gradebook.db", "--course", course_dir, "--out", out)
    assert done.returncode == 0, done.stderr
    rows = {r["test"]: r for r in csv.DictReader(io.StringIO(out.read_text()))}
    assert list(rows) == ["q1_test", "q2_test", "q3_test"]
    for test, points in (("q1_test", 1.0), ("q2_test", 1.0), ("q3_test", 2.0)):
        xs = np.array([s[test] for s in scores.values()])
        rests = np.array([sum(s.values()) - s[test] for s in scores.values()])
        assert (int(rows[test]["n"]), float(rows[test]["max_score"])) == (STUDENTS, points)
        assert float(rows[test]["facility"]) == pytest.approx(np.mean(xs == points), abs=5e-4)
        assert float(rows[test]["discrimination"]) == pytest.approx(numpy_r(xs, rests), abs=5e-4)
        assert rows[test]["options"] == ""  # the gradebook keeps no answers
    assert "negative_discrimination" in rows["q2_test"]["flags"]
    assert "| q2_test | 60 |" in done.stdout and "negative discrimination" in done.stdout
    empty = ag_grade("items", "--gradebook", tmp_path / "none.db", "--out", tmp_path / "x.csv")
    assert empty.returncode == 2 and "gradebook not found" in empty.stderr


def _sections(log):
    """{student: the autograde log lines about their submission} (nbgrader logs one student after another)."""
    found, student = {}, None
    for line in log.splitlines():
        m = re.search(r"Sanitizing .*/submitted/([^/]+)/", line)
        if m:
            student = m.group(1)
        if student:
            found.setdefault(student, []).append(line)
    return found


def test_real_lesson_under_nbgrader_and_grade_all(ag_env, ag_nbgrader, tmp_path):
    """A real lesson autograded by nbgrader: its checksum warnings are nbgrader's own (#1961), and the item
    analysis of its gradebook equals grade-all's over the same submitted/ folder."""
    lesson = "01_syntax"
    source = nbformat.read(str(AG_REPO / "source" / lesson / f"{lesson}.ipynb"), as_version=4)
    root = ag_make_course(tmp_path / "course", {lesson: source})
    ag_nbgrader(root, "generate_assignment", lesson, "--force")
    wrong = nbformat.from_dict(json.loads(json.dumps(source)))
    next(c for c in wrong.cells if course.grade_id(c) == "q1_answer").source = 'answer_q1 = "B"'
    release = nbformat.read(str(root / "release" / lesson / f"{lesson}.ipynb"), as_version=4)
    for student, nb in (("wrong_q1", wrong), ("untouched", release)):  # wrong_q1: the solution but for q1
        path = root / "submitted" / student / lesson / f"{lesson}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))

    done = subprocess.run(["nbgrader", "autograde", lesson, "--force"], cwd=root, env=ag_env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    # nbgrader saves each test cell's checksum with its hidden tests, then releases it without them, so an
    # untouched release copy differs in exactly the cells that have hidden tests, and in nothing else.
    hidden = {course.grade_id(c) for c in source.cells if "BEGIN HIDDEN TESTS" in c.source}
    tests = {course.grade_id(c) for c in source.cells if (course.grade_id(c) or "").endswith("_test")}
    assert hidden == tests and len(tests) >= 8  # every test cell of the lesson has hidden tests
    changed = {student: [re.search(r"Attribute '(\w+)' for cell (\S+) has changed", line).groups()
                         for line in lines if "has changed!" in line]
               for student, lines in _sections(done.stderr).items()}
    assert set(changed) == {"wrong_q1", "untouched"}
    assert sorted(changed["untouched"]) == sorted(("checksum", cell) for cell in hidden)
    assert changed["wrong_q1"] == []  # made from source/: its test cells still hold their hidden tests

    items_csv = tmp_path / "nbgrader_items.csv"
    theirs = subprocess.run([sys.executable, "-m", "autograder", "items", "--course", root, "--out", items_csv],
                            cwd=root, env=ag_env, capture_output=True, text=True, timeout=300)
    assert theirs.returncode == 0, theirs.stderr
    out = tmp_path / "out"
    ours = subprocess.run([sys.executable, "-m", "autograder", "grade-all", root / "submitted", "--out", out,
                           "--course", root], cwd=AG_REPO, env=ag_env, capture_output=True, text=True, timeout=600)
    assert ours.returncode == 0, ours.stderr
    nbgrader_rows = {r["test"]: r for r in csv.DictReader(io.StringIO(items_csv.read_text()))}
    grade_all_rows = {r["test"]: r for r in csv.DictReader(io.StringIO((out / "item_analysis.csv").read_text()))}
    assert list(nbgrader_rows) == list(grade_all_rows) == sorted(tests, key=lambda t: int(t[1:-5]))
    for test in nbgrader_rows:
        for column in ("n", "max_score", "facility", "mean_score", "discrimination", "flags"):
            assert nbgrader_rows[test][column] == grade_all_rows[test][column], (test, column)
    assert [grade_all_rows[t]["facility"] for t in ("q1_test", "q2_test")] == ["0.000", "0.500"]
    # Only grade-all knows the answers: q1's options, and its key A, which nobody chose (from source/).
    assert (grade_all_rows["q1_test"]["key"], json.loads(grade_all_rows["q1_test"]["options"])) == (
        "A", {"A": 0.0, "B": 0.5, "C": 0.0, "D": 0.0, items.NO_OPTION: 0.5})
    assert nbgrader_rows["q1_test"]["options"] == ""
