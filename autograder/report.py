"""Results for people (a table) and for Gradescope (its results JSON)."""
import json
import shutil
import textwrap


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


def table(results, title="", width=None, notes=()):
    """A plain-text table: one row per test, its feedback wrapped under its own column; then the total."""
    width = width or max(80, shutil.get_terminal_size((100, 20)).columns)
    rows = [(r.name, f"{_points(r.score)}/{_points(r.max_score)}", r.verdict or r.status, r.answer or "-",
             r.output or "") for r in results]
    head = ("test", "score", "verdict", "answer", "feedback")
    widths = [max([len(head[i])] + [len(row[i]) for row in rows]) for i in range(3)]
    widths.append(min(30, max([len(head[3])] + [len(row[3]) for row in rows])))
    indent = sum(widths) + 2 * len(widths)
    text_width = max(30, width - indent)

    def line(cols):
        answer = textwrap.shorten(cols[3], widths[3], placeholder="...")
        first = "  ".join(c.ljust(w) for c, w in zip(list(cols[:3]) + [answer], widths))
        wrapped = [piece for paragraph in (cols[4].splitlines() or [""])
                   for piece in (textwrap.wrap(paragraph, text_width) or [""])]
        out = [(first + "  " + wrapped[0]).rstrip()]
        out += [" " * indent + piece for piece in wrapped[1:]]
        return out

    score, max_score = totals(results)
    out = [title] if title else []
    out += line(head) + line(["-" * w for w in widths] + ["-" * 8])
    for row in rows:
        out += line(row)
    out.append(f"Total: {_points(score)}/{_points(max_score)}")
    out += list(notes)
    return "\n".join(out)
