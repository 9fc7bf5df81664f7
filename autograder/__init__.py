"""The course's grading engine: `python -m autograder grade NOTEBOOK`.

One job per module, in the order a submission goes through them:

- `course`   finds the course directory and which assignment a submission is;
- `restore`  rebuilds the notebook to run from the submission and source/ (pure);
- `execute`  runs it in a fresh kernel (the only module that starts processes);
- `scoring`  turns the executed notebook into per-test results (pure);
- `report`   prints them as a table or as Gradescope's results JSON;
- `pipeline` chains the steps; `cli` is the command line.

`nbgrader_plugins` holds the preprocessors that nbgrader_config.py adds to
nbgrader itself. Nothing here imports torch: only the kernel does.
"""

DEFAULT_TIMEOUT = 60  # seconds each cell may run
