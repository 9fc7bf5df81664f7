"""The cheat sheet as one static page: `python -m course.sheet [OUT.html]` (`make cheatsheet`).

Executes notebooks/cheatsheet.ipynb top to bottom (so every line on the page is what its
asserting code printed today, on this PyTorch), then writes its markdown and printed outputs,
without the code, as one HTML page laid out for one A4 sheet. Any error output stops the export:
a sheet that would teach something PyTorch contradicts is never written.
"""
import html
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "cheatsheet.ipynb"
DEFAULT_OUT = ROOT / "build" / "cheatsheet.html"

STYLE = """
@page { size: A4; margin: 10mm 11mm; }
body { font: 8.6pt/1.3 "DejaVu Sans", Arial, sans-serif; margin: 0 auto; max-width: 188mm; color: #111; }
h1 { font-size: 14pt; margin: 0 0 1.5mm; }
h2 { font-size: 9.6pt; margin: 2.6mm 0 0.8mm; color: #0b4f79; border-bottom: 0.3mm solid #56B4E9; }
p { margin: 0 0 1mm; }
pre { font: 7.4pt/1.32 "DejaVu Sans Mono", monospace; white-space: pre-wrap; margin: 0 0 0.8mm;
      background: #f4f7fa; padding: 0.8mm 1.4mm; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 92%; }
"""


def execute(path=NOTEBOOK):
    """The notebook, executed in a fresh kernel from its own folder."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def page(nb):
    """HTML of an executed notebook: its markdown and stdout, without code; raises on an error output."""
    import mistune

    parts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and not cell.metadata.get("course", {}).get("generated"):
            parts.append(mistune.html(cell.source))
        elif cell.cell_type == "code":
            for output in cell.outputs:
                if output.output_type == "error" or (output.output_type == "stream" and output.name == "stderr"):
                    raise RuntimeError(f"the cheat sheet's code failed: {output.get('ename', 'stderr')}: "
                                       f"{output.get('evalue', output.get('text', ''))[:300]}")
                if output.output_type == "stream":
                    parts.append(f"<pre>{html.escape(output.text.rstrip())}</pre>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>nn.LSTM on one page</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else DEFAULT_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page(execute()), encoding="utf-8")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
