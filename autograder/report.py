"""Results for people (a table) and for Gradescope (its results JSON)."""
import json
import shutil
import textwrap


ANSWER_WIDTH = 30  # the answer column's width in the table at most (a longer answer wraps in it, whole)
FEEDBACK_WIDTH = 30  # the feedback column's width at least


def totals(results):
    return sum(r.score for r in results), sum(r.max_score for r in results)


def gradescope(results, extra=None):
    """Gradescope's results format: {"score", "max_score", "tests": [{name, score, max_score, status, output}]}.

    `extra`: what the grader knows of the run (protections, flags), under `extra_data`, which
    Gradescope keeps for instructors and never shows students.
    """
    score, max_score = totals(results)
    data = {"score": score, "max_score": max_score, "tests": [r.as_dict() for r in results]}
    if extra:
        data["extra_data"] = extra
    return data


def to_json(results, extra=None):
    return json.dumps(gradescope(results, extra), indent=1, ensure_ascii=False)


def _points(value):
    return f"{value:g}"


def _wrap(text, width):
    """Lines of at most `width` characters, broken between words only: a word longer than the width
    keeps its own line whole (never split mid-word or at its hyphens)."""
    return [piece for paragraph in (text.splitlines() or [""])
            for piece in (textwrap.wrap(paragraph, width, break_long_words=False, break_on_hyphens=False) or [""])]


def table(results, title="", width=None, notes=()):
    """A plain-text table: one row per test; its answer (whole) and its feedback wrapped in their own
    columns, between words; then the total."""
    width = width or max(80, shutil.get_terminal_size((100, 20)).columns)
    rows = [(r.name, f"{_points(r.score)}/{_points(r.max_score)}", r.verdict or r.status, r.answer or "-",
             r.output or "") for r in results]
    head = ("test", "score", "verdict", "answer", "feedback")
    widths = [max([len(head[i])] + [len(row[i]) for row in rows]) for i in range(3)]
    # The answer column: up to ANSWER_WIDTH wide, narrower where the feedback would get less than
    # FEEDBACK_WIDTH, and always wide enough for its longest word.
    room = width - sum(widths) - 2 * (len(widths) + 1) - FEEDBACK_WIDTH
    answer = min(ANSWER_WIDTH, room, max(len(row[3]) for row in rows) if rows else 0)
    widths.append(max([len(head[3]), answer] + [len(word) for row in rows for word in row[3].split()]))
    indent = sum(widths) + 2 * len(widths)
    text_width = max(FEEDBACK_WIDTH, width - indent)

    def line(cols):
        answer, feedback = _wrap(cols[3], widths[3]), _wrap(cols[4], text_width)
        out = []
        for i in range(max(len(answer), len(feedback))):
            first = cols[:3] if i == 0 else ("", "", "")
            cells = list(first) + [answer[i] if i < len(answer) else ""]
            text = "  ".join(c.ljust(w) for c, w in zip(cells, widths))
            out.append((text + "  " + (feedback[i] if i < len(feedback) else "")).rstrip())
        return out

    score, max_score = totals(results)
    out = [title] if title else []
    out += line(head) + line(["-" * w for w in widths] + ["-" * 8])
    for row in rows:
        out += line(row)
    out.append(f"Total: {_points(score)}/{_points(max_score)}")
    out += list(notes)
    return "\n".join(out)
