"""The course's grading engine: `python -m autograder grade | grade-all | gradescope`.

One job per module, in the order a submission goes through them:

- `course`    finds the course directory and which assignment a submission is;
- `restore`   rebuilds the notebook to run from the submission and source/ (pure);
- `engine`    runs jobs on worker processes (`worker`) that preload torch once; each forks a
              child per submission, confined by `sandbox`, that runs only the student's cells
              and sends the answers each test cell reads as plain data (`answers`);
- `judge`     rebuilds those answers in the clean worker and runs the test cells;
- `scoring`   turns test-cell outputs into per-test results with nbgrader's rule (pure);
- `report`    prints them as a table or as Gradescope's results JSON;
- `batch`, `outputs`  grade a folder: cache, CSV, feedback HTML, report PNG, mistakes;
- `gradescope` builds the Gradescope zips and is what their run_autograder runs;
- `pipeline`  chains the steps for one notebook; `cli` is the command line.

`nbgrader_plugins` and `kernels` harden nbgrader itself (nbgrader_config.py uses them).
The grading parent never imports torch and never runs student code.
"""

DEFAULT_TIMEOUT = 60  # seconds each cell may run
