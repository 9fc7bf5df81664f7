"""Lesson 08's exercises without its teaching cells, and the answers the tests submit to them.

`lesson()` is source/08_generation's checks cell, a set-up cell holding what exercise 8 needs
from the lesson (imports, `CharLM`, the aⁿbⁿ data and `train_lm`, copied from the lesson's own
cells), and the lesson's exercise cells as they are: so the graders run the real references and
hidden tests in seconds, without the lesson's training. `MISTAKES` holds, per submission, answer
cells that make each named mistake, and the words its message must contain (None: full marks).
"""
import copy
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
LESSON = "08_generation"
SOURCE = ROOT / "source" / LESSON / f"{LESSON}.ipynb"
NAMES = {1: "collate", 3: "masked_loss", 4: "SequenceTagger", 5: "generate"}
# The lesson's cells exercise 8 needs, found by what they define: its imports (one torch thread, as the lesson
# and the grader train), the padding's tag, CharLM, the aⁿbⁿ data and train_lm.
SETUP = ("torch.set_num_threads(1)", "class CharLM(nn.Module):", 'VOCAB = "^ab$"', "def train_lm(")


def source():
    return nbformat.read(str(SOURCE), as_version=4)


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


def lesson():
    nb = source()
    checks = next(c for c in nb.cells if c.metadata.get("course", {}).get("generated") == "checks")
    setup = [next(c.source for c in nb.cells if c.cell_type == "code" and marker in c.source) for marker in SETUP]
    start = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## Exercises"))
    md = {"nbgrader": {"grade": False, "grade_id": "intro", "locked": True, "schema_version": 3, "solution": False}}
    cells = [new_markdown_cell("# Lesson 8's exercises (tests/generation_cases.py)", metadata=md),
             copy.deepcopy(checks), new_code_cell("\n\n\n".join([setup[0], "IGNORE = -100", *setup[1:]]))]
    cells += [copy.deepcopy(c) for c in nb.cells[start:]]
    out = new_notebook(cells=cells, metadata=copy.deepcopy(nb.metadata))
    nbformat.validate(out)
    return out


def answer_cell(n, code):
    """An answer cell's text: the code, then the answer line the release keeps."""
    name = NAMES.get(n)
    if name is None:
        return code.strip()
    return f"# Complete {name}.\n{code.strip()}\n\n\nanswer_q{n} = {name}"


def with_answers(nb, answers):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid.startswith("q") and gid.endswith("_answer") and int(gid[1:-7]) in answers:
            cell.source = answer_cell(int(gid[1:-7]), answers[int(gid[1:-7])])
    return nb


TAGGER_INIT = '''
class SequenceTagger(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_tags, bidirectional=False, pad_id=0):
        super().__init__()
        self.bidirectional = bidirectional
        self.embed = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_tags)
'''
PACKED = '''
    def forward(self, ids, lengths):
        packed = pack_padded_sequence(self.embed(ids), lengths, batch_first=True, enforce_sorted=False)
        output, (h_n, c_n) = self.lstm(packed)
'''


def tagger(body, init=TAGGER_INIT):
    return init + body


GREEDY = '''
def generate(model, prefix_ids, steps):
    logits, state = model(prefix_ids[None])
    ids = prefix_ids.tolist()
    for _ in range(steps):
        next_id = logits[0, -1].argmax()
        ids.append(int(next_id))
        logits, state = model({fed}, {state})
    return torch.tensor(ids{cut})
'''
UNTRAINED = "torch.manual_seed(0)\nanswer_q8 = CharLM(len(VOCAB), 4, 16)"

# {submission: {exercise: (answer cell code, words its message must contain)}}. Exercises not listed keep
# the solution; exercise 8 gets an untrained model (no training in these submissions) unless listed.
MISTAKES = {
    "m1": {
        1: ('''
def collate(batch, pad_id=0):
    return nn.utils.rnn.pad_sequence(batch, batch_first=True), torch.tensor([len(ids) for ids in batch])
''', "whatever pad_id says"),
        2: ("answer_q2 = (4, 10, 5)", "total_length=ids.shape[1] pads the output back"),
        3: ('''
def masked_loss(logits, tags, lengths):
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tags.reshape(-1))
''', "The mean includes the padded steps"),
        4: (tagger('''
    def forward(self, ids, lengths):
        output, _ = self.lstm(self.embed(ids))
        return self.head(output)
'''), "the backward direction of a bidirectional LSTM reads the padding"),
        5: ('''
def generate(model, prefix_ids, steps):
    ids = prefix_ids.clone()
    for _ in range(steps):
        logits, _ = model(ids[None])
        ids = torch.cat([ids, logits[0, -1].argmax().view(1)])
    return ids
''', None),  # right, at quadratic cost: the point, and a note
        6: ('answer_q6 = "A"', "A view never moves data"),
        7: ('answer_q7 = "A"', "maps any width"),
        8: (UNTRAINED, "this exercise asks for 95%"),
    },
    "m2": {
        1: ('''
def collate(batch, pad_id=0):
    padded = nn.utils.rnn.pad_sequence(batch, batch_first=True, padding_value=pad_id)
    return padded, torch.tensor([len(row) for row in padded])
''', "Every length is the padded length"),
        3: ('''
def masked_loss(logits, tags, lengths):
    terms = [nn.functional.cross_entropy(logits[n, :k], tags[n, :k]) for n, k in enumerate(lengths.tolist())]
    return torch.stack(terms).mean()
''', "the mean of each sequence's mean"),
        4: (tagger(PACKED + '''
        output, _ = pad_packed_sequence(output, batch_first=True)
        return self.head(output)
'''), "total_length"),
        5: (GREEDY.format(fed="prefix_ids[-1:].view(1, 1)", state="state", cut=""), "never fed back"),
        6: ('answer_q6 = "B"', "its first L rows are not the forward"),
        7: ('answer_q7 = "C"', "It runs on one step"),
        8: ('''
torch.manual_seed(0)
answer_q8 = nn.Module()
answer_q8.embed = nn.Embedding(len(VOCAB), 4)
answer_q8.lstm = nn.LSTM(4, 8, batch_first=True, bidirectional=True)
answer_q8.head = nn.Linear(16, len(VOCAB))
''', "can't be bidirectional"),
    },
    "m3": {
        1: ('''
def collate(batch, pad_id=0):
    batch = sorted(batch, key=len, reverse=True)
    padded = nn.utils.rnn.pad_sequence(batch, batch_first=True, padding_value=pad_id)
    return padded, torch.tensor([len(ids) for ids in batch])
''', "comes back sorted by length"),
        3: ('''
def masked_loss(logits, tags, lengths):
    real = torch.arange(tags.shape[1])[None, :] < lengths[:, None]
    return nn.functional.cross_entropy(logits[real], tags[real], reduction="sum")
''', "the sum over the real steps"),
        4: (tagger(PACKED + '''
        return self.head(torch.cat((h_n[-2], h_n[-1]), dim=1) if self.bidirectional else h_n[-1])
'''), "one row of logits per sequence"),
        5: (GREEDY.format(fed="next_id.view(1, 1)", state="None", cut=""), "starts again from zeros"),
        6: ('answer_q6 = "D"', "the top layer's two states"),
        7: ('answer_q7 = "D"', "runs from the end of the sequence"),
    },
    "m4": {
        1: ('''
def collate(batch, pad_id=0):
    padded = nn.utils.rnn.pad_sequence(batch, padding_value=pad_id)
    return padded, torch.tensor([len(ids) for ids in batch])
''', "time-major"),
        3: ('''
def masked_loss(logits, tags, lengths):
    real = torch.arange(tags.shape[1])[None, :] < lengths[:, None]
    per_step = nn.functional.cross_entropy(logits, tags, reduction="none")
    return (per_step * real).sum() / real.sum()
''', "wants the classes on dim 1"),
        4: (tagger('''
    def forward(self, ids, lengths):
        packed = pack_padded_sequence(self.embed(ids), lengths, batch_first=True, enforce_sorted=False)
        output, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=ids.shape[1])
        return self.head(output).softmax(dim=-1)
'''), "It returns probabilities"),
        5: (GREEDY.format(fed="next_id.view(1, 1)", state="state", cut="[len(prefix_ids):]"), "only the new tokens"),
    },
    "m5": {
        1: ('''
def collate(batch, pad_id=0):
    return torch.stack(batch), torch.tensor([len(ids) for ids in batch])
''', "can't be stacked"),
        3: ('''
def masked_loss(logits, tags, lengths):
    return nn.functional.cross_entropy(logits, tags)
''', "wants the classes on dim 1"),
        4: (tagger('''
    def forward(self, ids, lengths):
        packed = pack_padded_sequence(self.embed(ids), lengths, batch_first=True, enforce_sorted=False)
        output, _ = pad_packed_sequence(self.lstm(packed)[0], total_length=ids.shape[1])
        return self.head(output)
'''), "time-major"),
    },
    "m6": {
        4: (tagger('''
    def forward(self, ids, lengths):
        packed = pack_padded_sequence(self.embed(ids), lengths, batch_first=True)
        output, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=ids.shape[1])
        return self.head(output)
'''), "enforce_sorted=False"),
    },
    "m7": {
        4: (tagger('''
    def forward(self, ids, lengths):
        packed = pack_padded_sequence(self.embed(ids), lengths, batch_first=True, enforce_sorted=False)
        output, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=ids.shape[1])
        return self.head(output)
''', init=TAGGER_INIT.replace(", padding_idx=pad_id", "")), "padding_idx=pad_id"),
    },
    "m8": {
        4: (tagger('''
    def forward(self, ids, lengths):
        packed = pack_padded_sequence(self.embed(ids), lengths, batch_first=True, enforce_sorted=False)
        output, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=ids.shape[1])
        return self.head(output)
''', init=TAGGER_INIT.replace("hidden_size * (2 if bidirectional else 1)", "hidden_size")), "wrong width"),
    },
    "m9": {
        4: (tagger(PACKED + '''
        output, _ = pad_packed_sequence(output, batch_first=True, total_length=ids.shape[1])
        shift = 1.0 if ids.shape[1] > int(lengths.max()) + 3 else 0.0   # wrong on batches padded far beyond
        return self.head(output) + shift
'''), "the logits at real steps moved"),  # right on every batch the check draws, not when padded further
    },
}
NOTE = "runs the whole growing sequence"  # what m1's generate gets with its point


def answers(student):
    """{exercise: answer cell code} of a submission: its mistakes, and an untrained model for exercise 8."""
    found = {n: code for n, (code, _) in MISTAKES[student].items()}
    found.setdefault(8, UNTRAINED)
    return found


def expected(student, points):
    """{test: (score, words its output must contain)}: full marks and "Correct!" where no mistake is listed."""
    found = {test: (float(p), f"Correct! ({LESSON}.{test[:-5]})") for test, p in points.items()}
    if student == "solution":
        return found
    for n, (code, words) in MISTAKES[student].items():
        found[f"q{n}_test"] = (0.0, words) if words else (float(points[f"q{n}_test"]), NOTE)
    if 8 not in MISTAKES[student]:
        found["q8_test"] = (0.0, "this exercise asks for 95%")
    return found
