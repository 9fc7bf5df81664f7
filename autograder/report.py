"""Results for people (a table) and for Gradescope (its results JSON)."""
import json


def totals(results):
    return sum(r.score for r in results), sum(r.max_score for r in results)


def gradescope(results):
    """Gradescope's results format: {"score", "max_score", "tests": [{name, score, max_score, status, output}]}."""
    score, max_score = totals(results)
    return {"score": score, "max_score": max_score, "tests": [r.as_dict() for r in results]}


def to_json(results):
    return json.dumps(gradescope(results), indent=1, ensure_ascii=False)


def _points(value):
    return f"{value:g}"


def _first_line(text, width=80):
    lines = text.splitlines() or [""]
    line = lines[0]
    return line if len(line) <= width and len(lines) == 1 else line[:width - 3].rstrip() + " ..."


def table(results, title=""):
    """A plain-text table: one row per test (first line of its feedback), then the total."""
    rows = [(r.name, f"{_points(r.score)}/{_points(r.max_score)}", r.status, _first_line(r.output))
            for r in results]
    head = ("test", "score", "status", "feedback")
    widths = [max([len(head[i])] + [len(row[i]) for row in rows]) for i in range(3)]

    def line(cols):
        return ("  ".join(c.ljust(w) for c, w in zip(cols[:3], widths)) + "  " + cols[3]).rstrip()

    score, max_score = totals(results)
    out = [title] if title else []
    out += [line(head), line(["-" * w for w in widths] + ["-" * 8])]
    out += [line(row) for row in rows]
    out.append(f"Total: {_points(score)}/{_points(max_score)}")
    return "\n".join(out)
