"""nbgrader configuration of the course's homework (run every nbgrader command from homework/).

Layout of this folder (the course directory of nbgrader):

    nbgrader_config.py            this file
    autograding.py                SafeExecute and HideHiddenTests (see their docstrings)
    release.py                    regenerate every student version from its source
    source/<assignment>/<assignment>.ipynb    instructor versions: solutions + hidden tests
    release/<assignment>/<assignment>.ipynb   student versions (generated; committed)
    submitted/<student>/<assignment>/         collected submissions          (not committed)
    autograded/, feedback/, gradebook.db, grades.csv                         (not committed)

Timeouts and limits, per student notebook, when autograding:

* each cell may run ``timeout`` = 30 s; then the kernel is interrupted and the cell gets a
  ``CellTimeoutError`` (0 points if it is a test cell); a kernel that does not respond to the
  interrupt within ``iopub_timeout`` = 10 s, or that dies, is killed and restarted, and the cells
  before are re-run (SafeExecute);
* the whole notebook may run ``notebook_timeout`` = 240 s (every assignment runs in < 30 s);
* every kernel has a memory limit of ``memory_limit_mb`` = 4096 MiB (on Linux; the assignments
  need well under 1 GiB): a larger allocation raises MemoryError in the student's cell.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from autograding import HideHiddenTests, SafeExecute  # noqa: E402
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, GetGrades,  # noqa: E402
                                    IgnorePattern, LimitOutput, SaveAutoGrades)

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

c.CourseDirectory.course_id = "optimization-for-training-deep-models"
c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")

# Student versions keep the course's default stub, so a task left unanswered fails its tests.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Execution while autograding: nbgrader's pipeline with Execute replaced by SafeExecute.
c.Autograde.autograde_preprocessors = [
    SafeExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.Execute.timeout = 30                # seconds per cell
c.Execute.startup_timeout = 120       # seconds for a kernel to start
c.Execute.iopub_timeout = 10          # seconds to wait for a cell's last output (and for an interrupt)
c.Execute.interrupt_on_timeout = True
c.Execute.error_on_timeout = {
    "ename": "CellTimeoutError",
    "evalue": "this cell ran longer than the time limit per cell and was interrupted",
    "traceback": ["\x1b[0;31mCellTimeoutError\x1b[0m: this cell ran longer than the time "
                  "limit per cell and was interrupted"],
}
c.SafeExecute.notebook_timeout = 240  # seconds per notebook, everything included
c.SafeExecute.memory_limit_mb = 4096  # per kernel
c.SafeExecute.shutdown_kernel = "immediate"

# Feedback: never show hidden tests (their source, or tracebacks that quote them).
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

# ``nbgrader zip_collect <a>``: files named <student_id>__<a>.ipynb, anywhere under
# downloaded/<a>/archive/ (in zip files or loose), go to submitted/<student_id>/<a>/<a>.ipynb.
# Adapt the expression to the file names your learning-management system produces.
c.FileNameCollectorPlugin.named_regexp = r".*/(?P<student_id>[^/_]+)__(?P<file_id>hw\d\d_\w+\.ipynb)$"

# ``nbgrader export`` writes grades.csv in the current folder (``--to=FILE`` to change it).
