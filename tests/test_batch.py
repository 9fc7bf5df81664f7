"""`python -m autograder grade-all`: discovery, ungradable files, outputs, caching, interruption, reports.

Runs the real command (a subprocess) over copies of the fixture course of conftest.py (`ag_course`:
01_demo with tests q1 1 pt, q2 1 pt, q3 2 pts; 02_extra with q1 1 pt), and once over the real lessons.
"""
import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import AG_REPO, AG_SENTINEL

from autograder import batch, course, mistakes, outputs, student_ids

CSV_HEADER = ("assignment,duedate,timestamp,student_id,last_name,first_name,email,raw_score,"
              "late_submission_penalty,score,max_score")
Q1_HINT = "Which axis holds the batch?"  # 01_demo q1's named mistake: (5, 7, 3)
Q3_HINT = "Check the order of the two sizes."  # 01_demo q3's named mistake: LSTM(9, 6, num_layers=2)
STAMP = "2025-03-01 10:00:00.000000 UTC"
SUMMARY = re.compile(r"^autograder: (\d+) submission\(s\): (.*)$", re.M)


# --- helpers -----------------------------------------------------------------------------------------------

def source_nb(course_dir, name="01_demo"):
    return nbformat.read(str(course_dir / "source" / name / f"{name}.ipynb"), as_version=4)


def answered(course_dir, name="01_demo", **answers):
    """The source notebook (the solution) with some answer cells replaced: q1="answer_q1 = ..."."""
    nb = source_nb(course_dir, name)
    for cell in nb.cells:
        gid = course.grade_id(cell)
        if gid and gid.endswith("_answer") and gid[:-7] in answers:
            cell.source = answers[gid[:-7]]
    return nb


def blank(course_dir):
    """What a student downloads (nbgrader's release), unanswered."""
    return nbformat.read(str(course_dir / "release" / "01_demo" / "01_demo.ipynb"), as_version=4)


def put(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content)
    else:
        nbformat.write(content, str(path))
    return path


def command(*args):
    return [sys.executable, "-m", "autograder", "grade-all", *map(str, args)]


def grade_all(ag_env, *args, timeout=600):
    return subprocess.run(command(*args), cwd=AG_REPO, env=ag_env, capture_output=True, text=True, timeout=timeout)


def summary(done):
    """The counts of grade-all's last line: {total, graded, cached, ungradable} (0 when not named)."""
    m = SUMMARY.search(done.stderr)
    assert m, done.stderr

    def count(label):
        found = re.search(rf"(?:^|, )(\d+) {label}", m.group(2))
        return int(found.group(1)) if found else 0
    return {"total": int(m.group(1)), "graded": count("graded"), "cached": count("unchanged and skipped"),
            "ungradable": count("ungradable")}


def result(out, student, assignment):
    return json.loads((out / student / f"{assignment}.json").read_text())


def csv_rows(out):
    text = (out / "grades.csv").read_text()
    return text, list(csv.DictReader(io.StringIO(text)))


def visible_text(page):
    import html
    page = re.sub(r"<style.*?</style>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


# --- discovery (no grading) -------------------------------------------------------------------------------

@pytest.mark.parametrize("filename, student, assignment", [
    ("alice_01_demo.ipynb", "alice", "01_demo"),
    ("01_demo - bob.ipynb", "bob", "01_demo"),
    ("Copy of carol_01_DEMO (1).ipynb", "carol", "01_demo"),
    ("dan.lee-01_demo-Copy1.ipynb", "dan.lee", "01_demo"),
    ("eve_02_extra - Copy.ipynb", "eve", "02_extra"),
    ("dave_01_demo.txt", "dave", "01_demo"),
    ("frank.ipynb", "frank", None),
    ("01_demo.ipynb", "01_demo", "01_demo"),  # nothing left: the stem
    ("Copy of 01_demo (2).ipynb", "Copy of 01_demo (2)", "01_demo"),
    ("gus_01_demo_02_extra.ipynb", "gus_01_demo_02_extra", None),  # two assignments: no guess
    ("hal.tar.gz", "hal", None),
])
def test_student_id_from_a_flat_file_name(filename, student, assignment):
    parsed = batch.parse_flat_name(filename, ["01_demo", "02_extra"])
    assert parsed[:2] == (student, assignment)
    # Nothing but the assignment and copy marks: no student id, so the stem stands in and is flagged.
    assert parsed.id_found == (filename not in ("01_demo.ipynb", "Copy of 01_demo (2).ipynb"))


def test_student_id_with_assignment_given():
    assert batch.parse_flat_name("carol.ipynb", ["01_demo"], "01_demo")[:2] == ("carol", "01_demo")
    assert batch.parse_flat_name("carol_01_demo (1).ipynb", ["01_demo"], "01_demo")[:2] == ("carol", "01_demo")


def test_discover_both_layouts(tmp_path):
    root = tmp_path / "in"
    for path in ["alice/01_demo/01_demo.ipynb", "alice/02_extra/02_extra.ipynb", "bob/01_demo/01_demo.ipynb",
                 "bob/01_demo/notes.txt", "bob/01_demo/data/x.csv", "bob/01_demo/.ipynb_checkpoints/x.ipynb",
                 "cy/homework/mine.ipynb", "cy/02_extra.ipynb", "dee_01_demo.ipynb", "01_demo - ed.ipynb",
                 "fay.zip", ".DS_Store", "__MACOSX/x", "out/old/01_demo.json"]:
        put(root / path, "x")
    put(root / "alice/01_demo/timestamp.txt", STAMP + "\n")
    found = {(s.student, s.assignment, s.path.relative_to(root).as_posix(), s.timestamp)
             for s in batch.discover(root, ["01_demo", "02_extra"], exclude=[root / "out"])}
    assert found == {
        ("alice", "01_demo", "alice/01_demo/01_demo.ipynb", STAMP),
        ("alice", "02_extra", "alice/02_extra/02_extra.ipynb", ""),
        ("bob", "01_demo", "bob/01_demo/01_demo.ipynb", ""),
        ("bob", "01_demo", "bob/01_demo/notes.txt", ""),
        ("cy", None, "cy/homework/mine.ipynb", ""),  # not an assignment folder: the notebook tells
        ("cy", "02_extra", "cy/02_extra.ipynb", ""),
        ("dee", "01_demo", "dee_01_demo.ipynb", ""),
        ("ed", "01_demo", "01_demo - ed.ipynb", ""),
        ("fay", None, "fay.zip", ""),
    }
    only = {(s.student, s.path.name) for s in batch.discover(root, ["01_demo", "02_extra"], "02_extra",
                                                             exclude=[root / "out"])}
    assert ("alice", "02_extra.ipynb") in only and not any(name == "01_demo.ipynb" for _, name in only)


def test_safe_names_never_escape_or_collide():
    assert batch.safe_name("alice") == "alice"
    names = [batch.safe_name(s) for s in ("../x", "a/b", "a_b", ".hidden", "Ann Lee")]
    assert len(set(names)) == len(names)
    assert all("/" not in n and not n.startswith(".") for n in names)


def test_a_grader_failure_is_flagged_and_not_cached(ag_course, tmp_path):
    from autograder import engine, pipeline, scoring

    path = put(tmp_path / "alice_01_demo.ipynb", source_nb(ag_course))
    sub = batch.Submission(path, "alice", "01_demo", key="k")
    sub.job = pipeline.prepare(path, ag_course, "01_demo")
    assignments = batch.Assignments(ag_course)
    ok = [scoring.TestResult(g.grade_id, g.points, g.points, "passed", "Correct!") for g in sub.job.graded]
    record = batch.make_record(sub, assignments, ok)
    assert (record["score"], record["flagged"], record["key"]) == (4.0, False, "k")
    record = batch.make_record(sub, assignments, engine.failed_results(sub.job, "its worker stopped"))
    assert (record["score"], record["flagged"], record["key"]) == (0.0, True, "")
    assert "its worker stopped" in record["reason"]


# --- one run over the fixture course (nbgrader's submitted/ layout) ------------------------------------------

@pytest.fixture(scope="module")
def graded(ag_course, ag_env, tmp_path_factory):
    """A copy of the fixture course, its submitted/ folder, and the first grade-all run into OUT."""
    base = tmp_path_factory.mktemp("batch")
    course_dir = shutil.copytree(ag_course, base / "course")
    sub = base / "submitted"
    put(sub / "alice/01_demo/01_demo.ipynb", source_nb(course_dir))
    put(sub / "alice/01_demo/timestamp.txt", STAMP + "\n")
    put(sub / "alice/02_extra/02_extra.ipynb", source_nb(course_dir, "02_extra"))
    put(sub / "bob/01_demo/01_demo.ipynb", answered(course_dir, q1="answer_q1 = (5, 7, 3)", q2='answer_q2 = "B"'))
    put(sub / "grace/01_demo/01_demo.ipynb",
        answered(course_dir, q1="answer_q1 = [5, 7, 3]", q3="answer_q3 = nn.LSTM(9, 6, num_layers=2)"))
    put(sub / "carol/01_demo/01_demo.ipynb", blank(course_dir))
    put(sub / "dave/01_demo/homework.txt", "my answers: (7, 5, 3)\n")
    put(sub / "erin/01_demo/01_demo.ipynb", "{ not json")
    out = base / "out"
    started = time.monotonic()
    done = grade_all(ag_env, sub, "--out", out, "--course", course_dir, "--workers", 2)
    return {"course": course_dir, "sub": sub, "out": out, "done": done, "wall": time.monotonic() - started}


def test_results_csv_and_exit_code(graded):
    done, out = graded["done"], graded["out"]
    assert done.returncode == 1, done.stderr  # two ungradable submissions
    assert done.stdout == ""
    assert summary(done) == {"total": 7, "graded": 5, "cached": 0, "ungradable": 2}
    assert "[5/5]" in done.stderr  # stderr is no terminal: one progress line per result
    assert "s per graded submission" in done.stderr

    assert (result(out, "alice", "01_demo")["score"], result(out, "alice", "01_demo")["max_score"]) == (4.0, 4.0)
    assert result(out, "alice", "02_extra")["score"] == 1.0
    bob = result(out, "bob", "01_demo")
    assert {t["name"]: t["score"] for t in bob["tests"]} == {"q1_test": 0.0, "q2_test": 0.0, "q3_test": 2.0}
    assert set(bob) >= {"score", "max_score", "tests", "student", "assignment", "submission", "status", "flagged",
                        "reason", "key"}
    assert (bob["student"], bob["assignment"], bob["status"], bob["flagged"]) == ("bob", "01_demo", "graded", False)
    assert [t["extra_data"]["answer"] for t in bob["tests"]] == ["(5, 7, 3)", "'B'", "nn.LSTM(6, 9, num_layers=2)"]
    assert [t["extra_data"]["verdict"] for t in bob["tests"]] == ["wrong", "wrong", "correct"]
    assert Path(bob["submission"]) == graded["sub"] / "bob/01_demo/01_demo.ipynb"
    assert all(set(t) >= {"name", "score", "max_score", "status", "output"} for t in bob["tests"])
    assert result(out, "carol", "01_demo")["score"] == 0.0

    dave = result(out, "dave", "01_demo")
    assert (dave["status"], dave["flagged"], dave["score"], dave["max_score"], dave["tests"]) == (
        "ungradable", True, 0.0, 4.0, [])
    assert "not a notebook" in dave["reason"] and "homework.txt" in dave["reason"]
    erin = result(out, "erin", "01_demo")
    assert erin["flagged"] and "not valid JSON" in erin["reason"]
    assert "homework.txt" in done.stderr and "not valid JSON" in done.stderr

    for student, assignment in [("alice", "01_demo"), ("alice", "02_extra"), ("bob", "01_demo"),
                                ("grace", "01_demo"), ("carol", "01_demo"), ("dave", "01_demo"),
                                ("erin", "01_demo")]:
        assert (out / student / f"{assignment}.html").is_file()

    text, rows = csv_rows(out)
    assert text.splitlines()[0] == CSV_HEADER + ",status,reason"  # nbgrader's columns, then why
    assert len(rows) == 7
    by = {(r["student_id"], r["assignment"]): r for r in rows}
    assert by["alice", "01_demo"]["timestamp"] == STAMP
    assert (by["alice", "01_demo"]["raw_score"], by["alice", "01_demo"]["score"],
            by["alice", "01_demo"]["max_score"]) == ("4.0", "4.0", "4.0")
    assert by["bob", "01_demo"]["late_submission_penalty"] == "0.0" and by["bob", "01_demo"]["timestamp"] == ""
    assert (by["dave", "01_demo"]["score"], by["dave", "01_demo"]["max_score"]) == ("0.0", "4.0")
    assert all(r["duedate"] == r["last_name"] == r["email"] == "" for r in rows)  # no gradebook data
    # Every 0 explains itself: carol is graded (and answered nothing), dave and erin are not gradable.
    assert (by["carol", "01_demo"]["status"], by["carol", "01_demo"]["reason"]) == ("graded", "")
    assert by["dave", "01_demo"]["status"] == "ungradable" and "not a notebook" in by["dave", "01_demo"]["reason"]
    flagged = list(csv.DictReader(io.StringIO((out / "flagged.csv").read_text())))
    assert {(r["student"], r["status"]) for r in flagged} == {("dave", "ungradable"), ("erin", "ungradable")}


def test_feedback_html_shows_results_and_hides_tests(graded):
    out = graded["out"]
    for page in out.glob("*/*.html"):
        text = page.read_text()
        for secret in ("BEGIN HIDDEN TESTS", AG_SENTINEL, "expect_", "Traceback", "answer_q1 = (7, 5, 3)"):
            assert secret not in text, (page, secret)
    bob = visible_text((out / "bob" / "01_demo.html").read_text())
    assert "q1_test" in bob and Q1_HINT in bob and "wrong" in bob and "2 / 4" in bob
    # Context: the exercise's title, the student's own answer as plain data, the verdict.
    assert "Exercise 1" in bob and "(5, 7, 3)" in bob and "correct" in bob
    carol = visible_text((out / "carol" / "01_demo.html").read_text())
    assert "not answered" in carol and "NameError" not in carol
    erin = visible_text((out / "erin" / "01_demo.html").read_text())
    assert "could not be graded" in erin and "not valid JSON" in erin


def test_mistakes_report_counts_named_mistakes(graded):
    out = graded["out"]
    rows = list(csv.DictReader(io.StringIO((out / "mistakes.csv").read_text())))
    count = {(r["assignment"], r["test"], r["kind"], r["mistake"]): (int(r["students"]), int(r["graded"]))
             for r in rows}
    assert count["01_demo", "q1_test", "named", Q1_HINT] == (2, 4)  # bob (5, 7, 3) and grace [5, 7, 3]
    assert count["01_demo", "q3_test", "named", Q3_HINT] == (1, 4)  # grace
    assert count["01_demo", "q2_test", "other", mistakes.OTHER] == (1, 4)  # bob's "B" is no listed mistake
    assert count["01_demo", "q1_test", "not_answered", mistakes.NOT_ANSWERED] == (1, 4)  # carol
    assert count["02_extra", "q1_test", "not_answered", mistakes.NOT_ANSWERED] == (0, 1)
    md = (out / "mistakes.md").read_text()
    top = md.split("## Most frequent named mistakes", 1)[1].split("\n## ", 1)[0]
    assert top.index(Q1_HINT) < top.index(Q3_HINT)  # the most frequent first
    assert "| 2 | 50% | 01_demo | q1_test | Which axis holds the batch? |" in top
    assert "| students | share | mistake |" in md and "| students | share | answer |" not in md
    # The wrong answers no named mistake matched, as plain data: bob's "B" for q2.
    wrong = list(csv.DictReader(io.StringIO((out / "wrong_answers.csv").read_text())))
    assert [(r["assignment"], r["test"], r["answer"], r["students"]) for r in wrong] == [
        ("01_demo", "q2_test", "'B'", "1")]
    assert "| 1 | `'B'` |" in md.split("### q2_test", 1)[1]


def test_mistakes_report_leaves_out_assignments_nobody_submitted(graded, ag_env, tmp_path):
    only = tmp_path / "only"
    put(only / "alice" / "01_demo" / "01_demo.ipynb", source_nb(graded["course"]))
    out = tmp_path / "out"
    done = grade_all(ag_env, only, "--out", out, "--course", graded["course"])
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO((out / "mistakes.csv").read_text())))
    assert rows and {r["assignment"] for r in rows} == {"01_demo"}
    assert "## 02_extra" not in (out / "mistakes.md").read_text()


def test_an_empty_folder_is_an_error(graded, ag_env, tmp_path):
    (tmp_path / "empty").mkdir()
    done = grade_all(ag_env, tmp_path / "empty", "--out", tmp_path / "out", "--course", graded["course"])
    assert done.returncode == 2 and "no submissions found" in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and not (tmp_path / "out" / "grades.csv").exists()


def test_report_png(graded):
    data = (graded["out"] / "report.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_csv_matches_nbgrader_export(graded, ag_nbgrader, ag_env, tmp_path):
    """The header of `nbgrader export`; names and due dates come from the course's gradebook when it has them."""
    course_dir = shutil.copytree(graded["course"], tmp_path / "course")
    ag_nbgrader(course_dir, "db", "student", "add", "bob", "--last-name=Lee", "--first-name=Bob", "--email=bob@x.org")
    ag_nbgrader(course_dir, "db", "assignment", "add", "01_demo", "--duedate=2025-03-01 09:00:00 UTC")
    ag_nbgrader(course_dir, "export", "--to", tmp_path / "nbgrader.csv")
    theirs = list(csv.DictReader(io.StringIO((tmp_path / "nbgrader.csv").read_text())))
    assert (tmp_path / "nbgrader.csv").read_text().splitlines()[0] == CSV_HEADER
    assert csv_rows(graded["out"])[0].splitlines()[0].startswith(CSV_HEADER + ",")  # theirs, then ours
    out = shutil.copytree(graded["out"], tmp_path / "out")
    done = grade_all(ag_env, graded["sub"], "--out", out, "--course", course_dir)
    assert summary(done)["graded"] == 0, done.stderr
    ours = {(r["student_id"], r["assignment"]): r for r in csv_rows(out)[1]}
    nbgrader_bob = next(r for r in theirs if (r["student_id"], r["assignment"]) == ("bob", "01_demo"))
    for column in ("duedate", "last_name", "first_name", "email", "late_submission_penalty"):
        assert ours["bob", "01_demo"][column] == nbgrader_bob[column], column
    assert ours["bob", "01_demo"]["duedate"] == "2025-03-01 09:00:00"
    assert ours["alice", "01_demo"]["last_name"] == ""  # not in the gradebook


def test_rerun_skips_unchanged_and_force_regrades(graded, ag_env, tmp_path):
    out = shutil.copytree(graded["out"], tmp_path / "out")
    before = {p.name: p.read_text() for p in out.glob("*/*.json")}
    again = grade_all(ag_env, graded["sub"], "--out", out, "--course", graded["course"])
    assert again.returncode == 1, again.stderr  # the ungradable ones are still there
    assert summary(again) == {"total": 7, "graded": 0, "cached": 7, "ungradable": 0}
    # Each file is counted once: the two ungradable ones are among the unchanged.
    assert "7 unchanged and skipped (2 of them ungradable)" in again.stderr
    assert "per graded submission" not in again.stderr
    assert {p.name: p.read_text() for p in out.glob("*/*.json")} == before
    assert len(csv_rows(out)[1]) == 7

    forced = grade_all(ag_env, graded["sub"], "--out", out, "--course", graded["course"], "--force")
    assert summary(forced) == {"total": 7, "graded": 5, "cached": 0, "ungradable": 2}
    assert result(out, "bob", "01_demo")["graded_at"] >= json.loads(before["01_demo.json"])["graded_at"]
    assert len(csv_rows(out)[1]) == 7


def test_a_fixed_test_regrades_that_assignment_only(graded, ag_env, tmp_path):
    course_dir = shutil.copytree(graded["course"], tmp_path / "course")
    out = shutil.copytree(graded["out"], tmp_path / "out")
    path = course_dir / "source" / "01_demo" / "01_demo.ipynb"

    # A new solution in source/ changes no test: nothing is regraded.
    nb = nbformat.read(str(path), as_version=4)
    answer = next(c for c in nb.cells if course.grade_id(c) == "q2_answer")
    answer.source = answer.source.replace('"C"', '"c"')
    nbformat.write(nb, str(path))
    same = grade_all(ag_env, graded["sub"], "--out", out, "--course", course_dir)
    assert summary(same)["graded"] == 0, same.stderr

    # A fixed test cell: every 01_demo submission is regraded, 02_extra's is not.
    test = next(c for c in nb.cells if course.grade_id(c) == "q1_test")
    test.source = test.source.replace(f"# {AG_SENTINEL} q1", f"# {AG_SENTINEL} q1 (fixed)")
    nbformat.write(nb, str(path))
    extra_before = (out / "alice" / "02_extra.json").read_text()
    keys_before = {p: json.loads(p.read_text())["key"] for p in out.glob("*/01_demo.json")}
    fixed = grade_all(ag_env, graded["sub"], "--out", out, "--course", course_dir)
    assert summary(fixed) == {"total": 7, "graded": 4, "cached": 1, "ungradable": 2}, fixed.stderr
    assert (out / "alice" / "02_extra.json").read_text() == extra_before
    changed = {p for p, key in keys_before.items() if json.loads(p.read_text())["key"] != key}
    assert {p.parent.name for p in changed} == {"alice", "bob", "carol", "grace", "dave", "erin"}


# --- flat folder ------------------------------------------------------------------------------------------------

def test_flat_folder(graded, ag_env, tmp_path):
    course_dir = graded["course"]
    flat = tmp_path / "flat"
    put(flat / "alice_01_demo.ipynb", source_nb(course_dir))
    put(flat / "01_demo - bob.ipynb", answered(course_dir, q1="answer_q1 = (5, 7, 3)"))
    put(flat / "Copy of alice_01_demo (1).ipynb", blank(course_dir))  # older duplicate: not graded
    os.utime(flat / "Copy of alice_01_demo (1).ipynb", (1e9, 1e9))
    put(flat / "dave_01_demo.txt", "answers")
    put(flat / "erin.zip", "PK\x03\x04")
    put(flat / "fred_01_demo.ipynb", json.dumps({"cells": "no", "nbformat": 4}))
    put(flat / "Copy of 01_demo.ipynb", source_nb(course_dir))  # whose? graded, and flagged
    out = tmp_path / "out"
    done = grade_all(ag_env, flat, "--out", out, "--course", course_dir, "--workers", 2)
    assert done.returncode == 1, done.stderr
    assert summary(done) == {"total": 6, "graded": 3, "cached": 0, "ungradable": 3}
    assert "1 of them flagged" in done.stderr
    nameless = next(r for r in map(lambda p: json.loads(p.read_text()), out.glob("*/01_demo.json"))
                    if r["student"] == "Copy of 01_demo")
    assert (nameless["score"], nameless["status"]) == (4.0, "flagged") and "no student id" in nameless["reason"]
    # A submission with no student id is no student: flagged.csv keeps it, with its score and what to do;
    # grades.csv, scores_by_question.csv, canvas.csv and the item analysis leave it out.
    flagged = {r["student"]: r for r in csv.DictReader(io.StringIO((out / "flagged.csv").read_text()))}
    nameless_row = flagged["Copy of 01_demo"]
    assert (nameless_row["status"], nameless_row["score"], nameless_row["max_score"]) == ("flagged", "4.0", "4.0")
    assert "no student id" in nameless_row["reason"]
    assert "not in grades.csv" in nameless_row["what_to_do"] and "rename the file" in nameless_row["what_to_do"]
    assert "Copy of 01_demo" not in {r["student_id"] for r in csv_rows(out)[1]}
    by_question = list(csv.DictReader(io.StringIO((out / "scores_by_question.csv").read_text())))
    assert {r["student_id"] for r in by_question} == {"alice", "bob", "dave", "fred"}  # erin: no assignment
    items = [r for r in csv.DictReader(io.StringIO((out / "item_analysis.csv").read_text()))
             if r["assignment"] == "01_demo"]
    assert {r["n"] for r in items} == {"2"}  # alice and bob; the nameless copy (4/4) is not counted
    assert flagged["dave"]["what_to_do"].startswith("scored 0: get the student's .ipynb")
    assert result(out, "alice", "01_demo")["score"] == 4.0
    assert result(out, "alice", "01_demo")["ignored"] == [str(flat / "Copy of alice_01_demo (1).ipynb")]
    assert result(out, "bob", "01_demo")["score"] == 3.0
    assert result(out, "dave", "01_demo")["flagged"]
    assert result(out, "fred", "01_demo")["flagged"]
    erin = json.loads(next((out / "erin").glob("*.json")).read_text())
    assert erin["flagged"] and erin["assignment"] == "" and ".zip" in erin["reason"]
    assert len(csv_rows(out)[1]) == 5  # six submissions, five students

    # --assignment names the assignment of a file whose name does not; all gradable: exit 0.
    only = tmp_path / "only"
    put(only / "carol.ipynb", answered(course_dir, q3="answer_q3 = nn.LSTM(9, 6, num_layers=2)"))
    out2 = tmp_path / "out2"
    done = grade_all(ag_env, only, "--out", out2, "--course", course_dir, "--assignment", "01_demo")
    assert done.returncode == 0, done.stderr
    assert result(out2, "carol", "01_demo")["score"] == 2.0


# --- interruption -------------------------------------------------------------------------------------------------

def test_an_interrupted_run_keeps_results_and_a_rerun_finishes(graded, ag_env, tmp_path):
    course_dir = graded["course"]
    sub = tmp_path / "submitted"
    students = [f"s{n}" for n in range(6)]
    for name in students:  # each takes a second or more to grade
        put(sub / name / "01_demo" / "01_demo.ipynb",
            answered(course_dir, q1=f"import time\ntime.sleep(1.5)\nanswer_q1 = (7, 5, 3)  # {name}"))
    out = tmp_path / "out"
    proc = subprocess.Popen(command(sub, "--out", out, "--course", course_dir, "--workers", 1), cwd=AG_REPO, env=ag_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not list(out.glob("*/01_demo.json")):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no result after 300 s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the grader and its workers, at once, with no cleanup
        proc.wait()
        proc.stderr.close()
    kept = list(out.glob("*/01_demo.json"))
    assert 1 <= len(kept) < len(students)
    for path in kept:
        assert json.loads(path.read_text())["score"] == 4.0  # complete files only (atomic writes)
    done = grade_all(ag_env, sub, "--out", out, "--course", course_dir)
    assert done.returncode == 0, done.stderr
    counts = summary(done)
    assert (counts["graded"], counts["cached"]) == (len(students) - len(kept), len(kept))
    assert sorted(r["student_id"] for r in csv_rows(out)[1]) == students
    assert not list(out.glob("**/.*.tmp"))


# --- the real lessons -----------------------------------------------------------------------------------------------

def test_real_lessons(ag_env, tmp_path):
    """Every lesson's solution (source/) scores full marks and its blank release 0, all not answered."""
    lessons = sorted(p.parent.name for p in AG_REPO.glob("release/*/*.ipynb") if p.stem == p.parent.name)
    if not lessons:
        pytest.skip("no lesson released yet")
    sub = tmp_path / "submitted"
    # The course test's solutions answer its example id's questions: they are handed in as that student.
    solver = {name: student_ids.typed_id(nbformat.read(AG_REPO / "source" / name / f"{name}.ipynb", as_version=4))
              or "solution"
              for name in lessons}
    for name in lessons:
        for student, folder in ((solver[name], "source"), ("blank", "release")):
            (sub / student / name).mkdir(parents=True)
            shutil.copy(AG_REPO / folder / name / f"{name}.ipynb", sub / student / name / f"{name}.ipynb")
    # A completed 03_states saved in the 02_shapes folder, as a renamed copy: graded by its cells, flagged.
    (sub / "mixup" / "02_shapes").mkdir(parents=True)
    shutil.copy(AG_REPO / "source" / "03_states" / "03_states.ipynb", sub / "mixup" / "02_shapes" / "02_shapes (1).ipynb")
    out = tmp_path / "out"
    started = time.monotonic()
    done = grade_all(ag_env, sub, "--out", out, "--course", AG_REPO)
    wall = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    for name in lessons:
        solution, empty = result(out, solver[name], name), result(out, "blank", name)
        assert solution["score"] == solution["max_score"] > 0, solution["tests"]
        assert empty["score"] == 0.0
    mixup = result(out, "mixup", "03_states")
    assert mixup["score"] == mixup["max_score"] > 0 and mixup["status"] == "flagged"
    assert "named like 02_shapes, but its cells are 03_states's" in mixup["reason"]
    assert not (out / "mixup" / "02_shapes.json").exists()
    assert "flagged: " in done.stderr and "its cells are 03_states's" in done.stderr
    flagged = {r["student"]: r for r in csv.DictReader(io.StringIO((out / "flagged.csv").read_text()))}
    assert "its cells are 03_states's" in flagged["mixup"]["reason"]
    rows = list(csv.DictReader(io.StringIO((out / "mistakes.csv").read_text())))
    not_answered = [r for r in rows if r["kind"] == "not_answered"]
    assert not_answered and all(r["students"] == "1" for r in not_answered)
    assert all(r["students"] == "0" for r in rows if r["kind"] != "not_answered")
    print(f"\ngrade-all over {2 * len(lessons)} real lesson notebooks: {wall:.1f} s wall "
          f"({wall / (2 * len(lessons)):.2f} s per submission)")


# --- scores where instructors keep them -------------------------------------------------------------------------

def test_scores_by_question(graded):
    rows = {r["student_id"]: r for r in csv.DictReader(io.StringIO((graded["out"] / "scores_by_question.csv").read_text()))}
    header = (graded["out"] / "scores_by_question.csv").read_text().splitlines()[0].split(",")
    assert header == ["student_id", "01_demo/q1_test", "01_demo/q2_test", "01_demo/q3_test", "02_extra/q1_test",
                      "01_demo/total", "02_extra/total", "total"]
    assert {k: rows["bob"][k] for k in header[1:]} == {
        "01_demo/q1_test": "0", "01_demo/q2_test": "0", "01_demo/q3_test": "2", "02_extra/q1_test": "",
        "01_demo/total": "2", "02_extra/total": "", "total": "2"}
    assert rows["alice"]["total"] == "5" and rows["alice"]["02_extra/q1_test"] == "1"
    assert rows["dave"]["01_demo/q1_test"] == "0" and rows["dave"]["01_demo/total"] == "0"  # ungradable: 0, not blank


def test_canvas_import_from_a_roster(graded, ag_env, tmp_path):
    sample = (Path(__file__).parent / "data" / "canvas-gradebook-export.csv").read_text().splitlines()
    canvas_header, canvas_points = next(csv.reader([sample[0]])), next(csv.reader([sample[1]]))
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,email,canvas_id,sis_user_id,sis_login_id,section\n"
                      'alice,"Smith, Alice",alice@uni.example,90001,S001,asmith,LSTM 101 - A\n'
                      'bob,"Lee, Bob",bob@uni.example,90002,S002,blee,LSTM 101 - A\n'
                      'zed,"Zed, Zoe",zed@uni.example,90003,S003,zzed,LSTM 101 - B\n')  # zed submitted nothing
    out = shutil.copytree(graded["out"], tmp_path / "out")
    done = grade_all(ag_env, graded["sub"], "--out", out, "--course", graded["course"], "--roster", roster,
                     "--canvas", "01_demo=48215")
    assert done.returncode == 1, done.stderr  # the ungradable files are still there
    text = (out / "canvas.csv").read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:5] == canvas_header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[0][5] == "01_demo (48215)" and re.fullmatch(r".+ \(\d+\)", canvas_header[5])  # Canvas's own form
    assert rows[1][0] == canvas_points[0] == "    Points Possible" and rows[1][5] == "4"
    by_id = {row[1]: row for row in rows[2:]}
    assert by_id["90001"] == ["Smith, Alice", "90001", "S001", "asmith", "LSTM 101 - A", "4"]
    assert by_id["90002"][5] == "2" and by_id["90003"][5] == ""  # missing work is blank, not 0
    assert len(rows) == 2 + 3
    flagged = {r["student"]: r for r in csv.DictReader(io.StringIO((out / "flagged.csv").read_text()))}
    assert flagged["grace"]["status"] == "not in the roster" and flagged["carol"]["status"] == "not in the roster"
    bad = grade_all(ag_env, graded["sub"], "--out", tmp_path / "out2", "--course", graded["course"],
                    "--canvas", "01_demo=48215")
    assert bad.returncode == 2 and "--canvas needs --roster" in bad.stderr


# --- which questions work (item analysis; tests/test_items.py checks its statistics) ------------------------------

def test_item_analysis_of_nbgrader_layout(graded):
    """grade-all over nbgrader's submitted/ folder writes item_analysis.csv and its section of mistakes.md."""
    out = graded["out"]
    rows = {(r["assignment"], r["test"]): r for r in csv.DictReader(io.StringIO((out / "item_analysis.csv").read_text()))}
    assert set(rows) == {("01_demo", "q1_test"), ("01_demo", "q2_test"), ("01_demo", "q3_test"), ("02_extra", "q1_test")}
    # 01_demo: alice right everywhere, bob right on q3, grace on q2, carol answered nothing; dave and erin ungradable.
    q1, q2, q3 = rows["01_demo", "q1_test"], rows["01_demo", "q2_test"], rows["01_demo", "q3_test"]
    assert [(r["n"], r["facility"], r["not_answered"]) for r in (q1, q2, q3)] == [
        ("4", "0.250", "0.250"), ("4", "0.500", "0.250"), ("4", "0.500", "0.250")]
    assert all(r["discrimination"] == "" and r["level"] == "test" for r in rows.values())  # fewer than 20 students
    # q2 is the multiple choice: the share of each letter (bob B, alice and grace C, carol none), the key C.
    assert (q2["key"], json.loads(q2["options"])) == ("C", {"A": 0.0, "B": 0.25, "C": 0.5, "D": 0.0, "(no option)": 0.25})
    assert q1["options"] == q1["key"] == ""
    assert rows["02_extra", "q1_test"]["flags"] == "too_easy" and q1["flags"] == ""
    md = (out / "mistakes.md").read_text()
    section = md.split("## Which questions work (item analysis)", 1)[1]
    assert "| q2_test | 4 | 50% | - | `A` 0%, `B` 25%, **`C` 50%**, `D` 0%, none 25% |  |" in section
    assert "- 02_extra q1_test: nearly everyone right" in section


def test_no_student_id_is_no_student():
    """A graded copy with no student id: in flagged.csv with its score, in no student's file."""
    from autograder import exports, outputs

    tests = [{"name": "q1_test", "score": 1.0, "max_score": 1.0, "status": "passed", "output": ""}]
    alice = {"student": "alice", "assignment": "01_demo", "score": 1.0, "max_score": 1.0, "status": "graded",
             "flagged": False, "flags": [], "tests": tests}
    copy = dict(alice, student="Copy of 01_demo", status="flagged", flagged=True, flags=[outputs.NO_STUDENT_ID],
                reason=outputs.NO_STUDENT_ID)
    recs = [alice, copy]
    assert [r["student_id"] for r in csv.DictReader(io.StringIO(outputs.grades_csv(recs)))] == ["alice"]
    by_question = exports.scores_by_question_csv(recs, {"01_demo": ["q1_test"]})
    assert [r["student_id"] for r in csv.DictReader(io.StringIO(by_question))] == ["alice"]
    roster = [exports.Student("alice", "Alice"), exports.Student("Copy of 01_demo", "Not a student")]
    canvas = list(csv.reader(io.StringIO(exports.canvas_csv(recs, roster, "01_demo", "1"))))
    assert [row[-1] for row in canvas[1:]] == ["1", ""]  # even a roster entry of that name gets nothing
    flagged = list(csv.DictReader(io.StringIO(outputs.flagged_csv(recs, not_in_roster=[copy]))))
    assert len(flagged) == 1 and (flagged[0]["student"], flagged[0]["score"]) == ("Copy of 01_demo", "1.0")
    assert "rename the file after its student" in flagged[0]["what_to_do"]


# --- what instructors and students read: whole answers, words never split ----------------------------------------

LONG_ANSWER = "nn.LSTM(6, 9, num_layers=2, bidirectional=True, proj_size=3, batch_first=True)"
LONG_FEEDBACK = ("WrongAnswer: Your answer is a tensor. If you meant its shape, use tuple(x.shape); see "
                 "torch.nn.utils.rnn.pack_padded_sequence(enforce_sorted=False) for batch-first layouts. ") * 2


def _columns(text):
    """{row's test: (answer column text, feedback text)} of report.table's output, its column lines joined."""
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("test "))
    start, end = header.index("answer"), header.index("feedback")
    found, current = {}, None
    for line in lines[lines.index(header) + 2:]:
        if line.startswith("Total:"):
            break
        if line[:1].strip():
            current = line.split()[0]
            found[current] = ([], [])
        found[current][0].append(line[start:end].strip())
        found[current][1].append(line[end:].strip())
    return {test: (" ".join(filter(None, a)), " ".join(filter(None, f))) for test, (a, f) in found.items()}


@pytest.mark.parametrize("width", [80, 100, 160])
def test_grade_table_shows_answers_whole_and_never_splits_a_word(width):
    from autograder import report, scoring

    results = [scoring.TestResult("q1_test", 0.0, 1.0, "failed", LONG_FEEDBACK.strip(), "Exercise 1", LONG_ANSWER,
                                  "wrong"),
               scoring.TestResult("q2_test", 1.0, 1.0, "passed", "Correct!", "Exercise 2", "(4, 2, 3)", "correct")]
    text = report.table(results, "x graded as y", width=width)
    columns = _columns(text)
    assert columns["q1_test"] == (LONG_ANSWER, " ".join(LONG_FEEDBACK.split()))  # whole, in order
    assert columns["q2_test"] == ("(4, 2, 3)", "Correct!")
    assert "..." not in text
    tokens = set(text.split())
    assert all(word in tokens for word in LONG_FEEDBACK.split() + LONG_ANSWER.split()), text  # no word split
    # Only a line holding a word wider than the feedback column may pass the width.
    assert all(len(line) <= width or "pack_padded_sequence" in line for line in text.splitlines()), text


def test_feedback_page_and_mistakes_show_answers_whole():
    from autograder import mistakes

    test = {"name": "q1_test", "score": 0.0, "max_score": 1.0, "status": "failed", "output": LONG_FEEDBACK,
            "extra_data": {"title": "Exercise 1", "answer": LONG_ANSWER, "verdict": "wrong"}}
    record = {"student": "bob", "assignment": "01_demo", "score": 0.0, "max_score": 1.0, "status": "graded",
              "flagged": False, "flags": [], "tests": [test]}
    page = visible_text(outputs.feedback_html(record))
    assert LONG_ANSWER in page and LONG_FEEDBACK.strip() in page
    stats = mistakes.mistake_counts([record], {"01_demo": {"q1_test": []}})
    md = mistakes.mistakes_markdown(stats, {"01_demo": {"q1_test": []}})
    assert f"| 1 | `{LONG_ANSWER}` |" in md
    assert LONG_ANSWER in mistakes.wrong_answers_csv(stats)
