"""report.png: per assignment, each test's facility (flagged items in red) and the score histogram; for the
course test, a second row with each template's facility by pool (difficulty), unfair draws marked."""
import io

from .items import UNFAIR
from .outputs import has_student_id, record_status

BLUE, RED, ORANGE = "#3b75af", "#c0392b", "#e08a2c"
POOL_COLOURS = {"easy": "#7fb77e", "medium": "#e3b448", "hard": "#b5651d"}


def _tests_panel(ax, name, rows, n):
    tests = [row for row in rows if row["level"] == "test"]
    rates = [row["facility"] for row in tests]
    bars = ax.bar(range(len(tests)), rates, color=[RED if row["flags"] else BLUE for row in tests])
    ax.bar_label(bars, labels=[f"{rate:.0%}" for rate in rates], fontsize=8)
    labels = [row["test"].removesuffix("_test") + ("" if row["discrimination"] is None
                                                    else f"\nd={row['discrimination']:.2f}") for row in tests]
    ax.set_xticks(range(len(tests)), labels, fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("facility (share right)")
    ax.set_title(f"{name}: facility per test (n={n} students; red: flagged in item_analysis.csv)")


def _templates_panel(ax, text_ax, name, rows):
    templates = [row for row in rows if row["level"] == "template"]
    rates = [row["facility"] for row in templates]
    bars = ax.bar(range(len(templates)), rates, color=[POOL_COLOURS.get(row["difficulty"], BLUE) for row in templates],
                  edgecolor=[RED if UNFAIR in row["flags"] else "white" for row in templates], linewidth=2.5)
    ax.bar_label(bars, labels=[f"{rate:.0%}\nn={row['n']}" for rate, row in zip(rates, templates)], fontsize=7)
    ax.set_xticks(range(len(templates)), [row["template"] for row in templates], rotation=30, ha="right", fontsize=7)
    ax.set_ylim(0, 1.25)
    ax.set_ylabel("facility (share right)")
    ax.set_title(f"{name}: facility per template, coloured by pool (red edge: unfair draw)")
    lines = []
    for pool in dict.fromkeys(row["difficulty"] for row in templates):
        mine = sorted((row for row in templates if row["difficulty"] == pool), key=lambda row: row["facility"])
        low, high = mine[0], mine[-1]
        lines.append(f"{pool or '?'}: {len(mine)} template(s), facility {low['facility']:.0%} ({low['template']})"
                     f" to {high['facility']:.0%} ({high['template']})"
                     + ("\n    UNFAIR DRAW" if any(UNFAIR in row["flags"] for row in mine) else ""))
    text_ax.axis("off")
    text_ax.text(0, 1, "Pools\n\n" + "\n".join(lines), va="top", family="monospace", fontsize=9)


def report_png(recs, tests_by_assignment, item_rows):
    """PNG bytes: per assignment, each test's facility and the score histogram (and the templates' facilities)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend
    from matplotlib.ticker import MaxNLocator

    names = [n for n in tests_by_assignment if any(r.get("assignment") == n for r in recs)] or ["(none)"]
    panels = []
    for name in names:
        panels.append((name, "tests"))
        if any(row["assignment"] == name and row["level"] == "template" for row in item_rows):
            panels.append((name, "templates"))
    fig = Figure(figsize=(12, 3.4 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 2, squeeze=False)
    for row, (name, kind) in zip(axes, panels):
        rows = [r for r in item_rows if r["assignment"] == name]
        mine = [r for r in recs if r.get("assignment") == name and has_student_id(r)]
        graded = [r for r in mine if record_status(r) in ("graded", "flagged")]
        if kind == "templates":
            _templates_panel(row[0], row[1], name, rows)
            continue
        _tests_panel(row[0], name, rows, len(graded))
        scores = [float(r.get("score") or 0) for r in mine]
        top = max([float(r.get("max_score") or 0) for r in mine] + scores + [1.0])
        # One bar per whole point (scores are mostly whole); at most 40 bars.
        step = max(1.0, top / 40)
        edges = [i * step - step / 2 for i in range(int(top / step) + 2)]
        row[1].hist(scores, bins=edges, color=ORANGE, edgecolor="white")
        row[1].yaxis.set_major_locator(MaxNLocator(integer=True))
        row[1].set_xlabel(f"score (out of {top:g})")
        row[1].set_ylabel("students")
        ungradable = len(mine) - len(graded)
        row[1].set_title(f"{name}: scores (n={len(mine)}" + (f", {ungradable} ungradable as 0)" if ungradable else ")"))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()
