"""Keys carried by hidden tests: run one in a scope of its own, and leave nothing of it behind (pasted after
course/numbers.py into the checks cell of every notebook whose hidden tests carry a key).

A key is what computes a graded answer: the course test's solvers (course/graded_key/) or a lesson's
references and named mistakes (course/keys/). No notebook a student receives holds one: course/build.py
writes it, compressed, into the hidden region of the test cells that need it, `key='<base64 of zlib>'`.
`key_scope(key)` runs it with one global, `api` (this cell's `_course_answers`), and the builtins captured
when this cell ran, and clears that scope when the block ends.

Under nbgrader the hidden tests run in the student's own kernel, which keeps a cell's source in its input
history (In, _ih, _i, _iN, its SQLite file) and in linecache, and its code object in a failure's traceback
(sys.last_traceback), even when the visible check above it failed first. So after each cell that held a
key, and after each hidden test (`forget_key`), every copy of a `key='...'` literal is scrubbed, and a
traceback that reaches a key is dropped (best effort: docs/hostile-corpus.md).
"""


def _install_hidden_key(api):
    import base64
    import builtins
    import contextlib
    import gc
    import linecache
    import re
    import sys
    import zlib

    str_, len_, list_, dict_, tuple_, any_ = str, len, list, dict, tuple, any
    isinstance_, hasattr_, setattr_, getattr_, enumerate_, exec_, compile_ = (
        isinstance, hasattr, setattr, getattr, enumerate, exec, compile)
    clean_builtins = dict_(vars(builtins))  # a key runs with these, whatever a student's code patches later
    KEY_LITERAL = re.compile(r"key=(['\"])[A-Za-z0-9+/=]{200,}\1")
    KEY_BLOB = re.compile(r"[A-Za-z0-9+/=]+")
    WITHHELD = "key='(withheld)'"
    key_frames = {"key_scope"}  # functions whose frames hold a key (the files that run keys add theirs)

    @contextlib.contextmanager
    def key_scope(key, filename="<course key>"):
        """The key's namespace, for the block only: its source runs in a scope of its own, cleared after."""
        scope = {"api": api, "__name__": "course_key", "__builtins__": clean_builtins}
        try:
            exec_(compile_(zlib.decompress(base64.b64decode(key)).decode(), filename, "exec"), scope)
            yield scope
        finally:
            scope.clear()

    def clean(text):
        return KEY_LITERAL.sub(WITHHELD, text) if isinstance_(text, str_) and "key=" in text else text

    def ipython():
        try:
            from IPython import get_ipython
        except ImportError:
            return None
        shell = get_ipython()
        return shell if shell is not None and hasattr_(shell, "events") else None

    def forget_key():
        """Scrub every key literal from the kernel's input history and linecache; collect what the key made."""
        shell = ipython()
        if shell is not None:
            history = shell.history_manager
            for entries in (history.input_hist_parsed, history.input_hist_raw):
                for n, text in enumerate_(entries):
                    entries[n] = clean(text)
            for name, value in list_(shell.user_ns.items()):
                if name.startswith("_i") and isinstance_(value, str_):
                    shell.user_ns[name] = clean(value)
            for name in ("_i00", "_i", "_ii", "_iii"):  # what the next cells' _i, _ii, _iii are made from
                if isinstance_(getattr_(history, name, None), str_):
                    setattr_(history, name, clean(getattr_(history, name)))
            try:
                history.writeout_cache()
                if history.db is not None and getattr_(history, "enabled", True):
                    with history.db:
                        rows = list_(history.db.execute(
                            "SELECT line, source, source_raw FROM history WHERE session = ? AND source_raw LIKE ?",
                            (history.session_number, "%key=%")))
                        for line, source, raw in rows:
                            history.db.execute("UPDATE history SET source = ?, source_raw = ? WHERE session = ? AND "
                                               "line = ?", (clean(source), clean(raw), history.session_number, line))
            except Exception:  # a history without its database: nothing written, nothing to clean
                pass
        for cache in (linecache.cache, getattr_(linecache, "_ipython_cache", None)):
            for name, entry in list_((cache or {}).items()):
                if isinstance_(entry, tuple_) and len_(entry) >= 3 and any_("key=" in line for line in entry[2]):
                    cache[name] = entry[:2] + ([clean(line) for line in entry[2]],) + entry[3:]
        gc.collect()

    def reaches_key(tb):
        """True when a traceback's frames hold a key: a hidden test's code, or the functions that ran it."""
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_name in key_frames or any_(
                    isinstance_(c, str_) and len_(c) > 1000 and KEY_BLOB.fullmatch(c) for c in code.co_consts):
                return True
            tb = tb.tb_next
        return False

    def after_cell(*args):
        shell = ipython()
        if shell is None:
            return
        raw = shell.history_manager.input_hist_raw
        if raw and KEY_LITERAL.search(raw[-1] or ""):
            forget_key()
        result = getattr_(shell, "last_execution_result", None)
        errors = [getattr_(result, "error_in_exec", None), getattr_(sys, "last_value", None)]
        if any_(err is not None and reaches_key(err.__traceback__) for err in errors) or \
                reaches_key(getattr_(sys, "last_traceback", None)):
            for name in ("last_type", "last_value", "last_traceback", "last_exc"):
                if hasattr_(sys, name):
                    setattr_(sys, name, None)
            for err in errors:
                if err is not None:
                    err.__traceback__ = None
            gc.collect()

    def watch():
        """Run after_cell after every cell of this kernel (once, however often this cell runs)."""
        shell = ipython()
        if shell is None:
            return
        old = getattr_(shell, "_course_after_cell", None)
        if old is not None:
            try:
                shell.events.unregister("post_run_cell", old)
            except ValueError:
                pass
        shell._course_after_cell = after_cell
        shell.events.register("post_run_cell", after_cell)

    watch()
    api.update({"key_scope": key_scope, "forget_key": forget_key, "key_frames": key_frames})


_install_hidden_key(_course_answers)
del _install_hidden_key
