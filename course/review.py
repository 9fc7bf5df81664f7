"""Flashcards with spaced repetition for notebooks/review.ipynb: `start_review()`, or `review_next()` /
`reveal()` / `rate("good")` (`rate(None)`, the notebook's placeholder, rates nothing).

`python -m course.build` pastes this file into the hidden "review" code cell, after the checks cell
(which holds course/questions.py). Edit it here, never in a notebook.

The deck comes from course/review_deck.py (the cell before): fact cards whose backs torch computes,
and course/questions.py's templates with a salt of their own ("review").

Scheduling is SM-2-like: "again" puts the card back at the end of today's session and resets its
interval; "good" gives 1 day, then the interval times the card's ease; "easy" grows it faster and
raises the ease. Only cards due today are shown, and at most NEW_PER_DAY new ones a day. `today`
is a function (Review(today=...)) so tests can move time. The state survives Colab's resets as in
course/drill.py: `save_review()` prints a state string for `load_review("...")` and writes a small
JSON file to Drive when Drive is mounted. Only ipywidgets API common to 7.7.1 and 8 is used.
"""


def _install_review(api):
    import datetime

    import ipywidgets as widgets
    from IPython import get_ipython
    from IPython.display import display

    NEW_PER_DAY, START_EASE, MIN_EASE = 10, 2.5, 1.3
    EASY_FIRST, EASY_BONUS = 4, 1.3  # days after a first "easy"; extra growth of an "easy" interval
    RATINGS = ("again", "good", "easy")
    DRIVE = "/content/drive/MyDrive"
    FILE = "lstm-course-review.json"

    DECK = api["review_deck"]()  # course/review_deck.py, in the cell before this one

    as_html, plain = api["as_html"], api["plain_text"]  # course/questions.py's: Markdown for widgets, plain text

    # --- the scheduler ------------------------------------------------------------------------------

    def grown(days):
        return int(days + 0.5)  # half up: round() would send 2.5 days to 2

    class Review:
        """Today's cards and their schedule, with a widget: .widget, .card, .next(), .reveal(), .rate()."""

        def __init__(self, today=None, new_per_day=NEW_PER_DAY, deck=None):
            self.today = today or datetime.date.today  # a function: tests pass their own to move time
            self.new_per_day, self.deck = new_per_day, list(DECK if deck is None else deck)
            self.cards, self.reviewed, self.seq = {}, {}, 0  # card id -> its schedule; day -> cards rated
            self.card, self.revealed = None, False
            self._build_widget()
            self.next()

        def day(self):
            return self.today().toordinal()

        def due(self):
            """Today's queue: due reviews (oldest first), new cards up to the daily limit, then again-cards."""
            day, entries = self.day(), []
            budget = self.new_per_day - sum(1 for s in self.cards.values() if s["first"] == day)
            for index, card in enumerate(self.deck):
                s = self.cards.get(card["id"])
                if s is None and budget > 0:
                    entries.append(((1, index), card))
                    budget -= 1
                elif s is not None and s["due"] <= day:
                    again = s["last"] == day and s["interval"] == 0  # rated "again" today: after the rest
                    entries.append(((2, s["seq"]) if again else (0, s["due"], s["seq"]), card))
            return [card for _, card in sorted(entries, key=lambda entry: entry[0])]

        def next(self):
            """The card to show now (the current one until it is rated), or None when nothing is due."""
            if self.card is None or self.card["id"] not in {c["id"] for c in self.due()}:
                queue = self.due()
                self.card, self.revealed = (queue[0] if queue else None), False
            self._shown()
            return self.card

        def front_text(self):
            card = self.next()
            if card is None:
                return self.nothing_due()
            return f"[{self.status()}]\n{plain(card['front'])}"

        def reveal(self):
            if self.next() is None:
                return self.nothing_due()
            self.revealed = True
            self._shown()
            return plain(self.card["back"])

        def rate(self, rating):
            """Reschedule the current card: "again", "good" or "easy"; returns what happened."""
            if rating is None:  # the notebook's placeholder: nothing is rated
                return self._say(f"After reveal(), rate the card with one of {', '.join(map(repr, RATINGS))}: for "
                                 "example rate(\"good\").")
            if rating not in RATINGS:
                return self._say(f"Rate with one of {', '.join(map(repr, RATINGS))}.")
            if self.next() is None:
                return self._say(self.nothing_due())
            if not self.revealed:
                return self._say("Show the answer first (reveal(), or the 'show answer' button), then rate how well "
                                 "you knew it.")
            day, card = self.day(), self.card
            s = self.cards.setdefault(card["id"], {"interval": 0, "ease": START_EASE, "due": day, "reps": 0,
                                                   "lapses": 0, "first": day, "last": day, "seq": 0})
            if rating == "again":
                s["interval"], s["ease"], s["lapses"] = 0, max(MIN_EASE, round(s["ease"] - 0.2, 2)), s["lapses"] + 1
            elif rating == "good":
                s["interval"] = 1 if s["interval"] == 0 else max(s["interval"] + 1, grown(s["interval"] * s["ease"]))
            else:
                s["interval"] = EASY_FIRST if s["interval"] == 0 else \
                    max(s["interval"] + 2, grown(s["interval"] * s["ease"] * EASY_BONUS))
                s["ease"] = round(s["ease"] + 0.15, 2)
            self.seq += 1
            s["due"], s["last"], s["seq"], s["reps"] = day + s["interval"], day, self.seq, s["reps"] + 1
            self.reviewed[day] = self.reviewed.get(day, 0) + 1
            self.card, self.revealed = None, False
            when = "again later today" if s["interval"] == 0 else \
                f"in {s['interval']} day{'s' * (s['interval'] != 1)} ({datetime.date.fromordinal(s['due'])})"
            self.next()
            return self._say(f"{rating}: you will see this card {when}.")

        def status(self):
            queue = self.due()
            new = sum(1 for c in queue if c["id"] not in self.cards)
            return f"due left: {len(queue)} ({new} new) | reviewed today: {self.reviewed.get(self.day(), 0)}"

        def nothing_due(self):
            upcoming = [s["due"] for s in self.cards.values() if s["due"] > self.day()]
            after = f" Next card due on {datetime.date.fromordinal(min(upcoming))}." if upcoming else ""
            return f"Nothing due today: {self.reviewed.get(self.day(), 0)} reviewed today.{after}"

        def summary(self):
            facts = sum(1 for c in self.deck if c["kind"] == "fact")
            learned = sum(1 for s in self.cards.values() if s["interval"] >= 7)
            return (f"Deck: {len(self.deck)} cards ({facts} facts, {len(self.deck) - facts} generated questions); "
                    f"seen {len(self.cards)}, {learned} with an interval of a week or more. {self.status()}. "
                    f"Reviews in all: {sum(self.reviewed.values())}.")

        # --- saving -------------------------------------------------------------------------------------

        KEYS = ("interval", "ease", "due", "reps", "lapses", "first", "last", "seq")

        def state(self):
            data = {"v": 1, "seq": self.seq, "cards": {i: [s[k] for k in self.KEYS] for i, s in self.cards.items()},
                    "reviewed": {str(d): n for d, n in sorted(self.reviewed.items())[-60:]}}
            return api["encode_state"](data)

        def restore(self, text):
            try:
                data = api["decode_state"](text)
                known = {c["id"] for c in self.deck}  # a card dropped from the deck is forgotten
                if any(len(v) != len(self.KEYS) for v in data["cards"].values()):
                    raise ValueError
                cards = {i: dict(zip(self.KEYS, v)) for i, v in data["cards"].items() if i in known}
                reviewed = {int(d): int(n) for d, n in data["reviewed"].items()}
                seq = int(data["seq"])
            except Exception:
                raise ValueError("That is not a state string from save_review(): copy the whole line it printed, "
                                 "between the quotes.") from None
            self.cards, self.reviewed, self.seq, self.card, self.revealed = cards, reviewed, seq, None, False
            self.next()

        # --- the widget ---------------------------------------------------------------------------------

        def _build_widget(self):
            self._front, self._back = widgets.HTML(value=""), widgets.HTML(value="")
            self._show = widgets.Button(description="show answer", tooltip="turn the card over")
            self._show.on_click(lambda button: self.reveal())
            self._buttons = {}
            for rating, tip in zip(RATINGS, ("I did not know it: again today", "I knew it: see it later",
                                             "I knew it at once: see it much later")):
                self._buttons[rating] = widgets.Button(description=rating, tooltip=tip)
                self._buttons[rating].on_click(lambda button, rating=rating: self.rate(rating))
            self._status_line, self._message = widgets.Label(value=""), widgets.Label(value="")
            self.widget = widgets.VBox([self._front, self._back, widgets.HBox([self._show, *self._buttons.values()]),
                                        self._status_line, self._message])

        def _shown(self):
            card = self.card
            self._front.value = as_html(card["front"]) if card else as_html(self.nothing_due())
            self._back.value = as_html(card["back"]) if card and self.revealed else ""
            self._show.disabled = card is None or self.revealed
            for button in self._buttons.values():
                button.disabled = card is None or not self.revealed
            self._status_line.value = self.status()

        def _say(self, text):
            self._message.value = text
            return text

    session = {"current": None}

    def current():
        if session["current"] is None:
            session["current"] = Review()
        return session["current"]

    def in_kernel():
        shell = get_ipython()
        return shell is not None and getattr(shell, "kernel", None) is not None

    def start_review():
        """Show the review widget at today's first due card (the same session as the text functions)."""
        text = current().front_text()
        if in_kernel():
            # One bundle: the widget where widgets render, the card as text elsewhere (GitHub, screen readers).
            display({"text/plain": f"{text}\n(Where the widget does not show: reveal(), then rate(\"good\").)",
                     "application/vnd.jupyter.widget-view+json": {
                         "model_id": current().widget.model_id, "version_major": 2, "version_minor": 0}}, raw=True)
        return current()

    # The text interface: each prints what the widget shows.
    def review_next():
        """Print the front of the card due now."""
        print(current().front_text())

    def reveal():
        """Print the back of the current card."""
        print(current().reveal())

    def rate(rating):
        """Rate the current card after reveal(): "again", "good" or "easy"."""
        print(current().rate(rating))

    def review_summary():
        print(current().summary())

    def review_rules():
        """Print the schedule a card gets, by running the scheduler on a scratch deck over simulated days."""
        print(f"New cards a day: at most {NEW_PER_DAY}. A new card starts with ease {START_EASE}.")
        for ratings in (["good"] * 5, ["easy"] * 4, ["good", "good", "again", "good", "good"]):
            day = [datetime.date(2026, 1, 1)]
            scratch = Review(today=lambda: day[0], deck=DECK[:1])
            gaps = []
            for rating in ratings:
                scratch.reveal()
                scratch.rate(rating)
                s = scratch.cards[DECK[0]["id"]]
                gaps.append(s["interval"])
                day[0] = datetime.date.fromordinal(s["due"])
            print(f"rated {', '.join(ratings)}: seen again after {', '.join(map(str, gaps))} days")
        print("(0 days: again later the same session.)")

    def save_review(folder=DRIVE):
        """Print a state string for load_review(); also save it to Drive when Drive is mounted."""
        api["keep_state"](current().state(), current().summary(), folder, FILE, "load_review")

    def load_review(text=None, folder=DRIVE):
        """Restore from a state string, or, without one, from the file save_review() wrote to Drive."""
        if text is None:
            text = api["kept_state"](folder, FILE, "review")
        current().restore(text)
        print(f"Review restored. {current().summary()}")

    return Review, start_review, review_next, reveal, rate, review_summary, review_rules, save_review, load_review


(Review, start_review, review_next, reveal, rate, review_summary, review_rules, save_review,
 load_review) = _install_review(_course_answers)
del _install_review
