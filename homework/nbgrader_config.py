"""nbgrader configuration of the course's homework (run every nbgrader command from homework/).

Layout of this folder (the course directory of nbgrader):

    nbgrader_config.py            this file
    jupyter_server_config.py      the formgrader's Jupyter server: terminals off
    autograding.py                SandboxedExecute, SanitizeOutputs, HideHiddenTests
    sandbox.py                    the bubblewrap sandbox one submission runs in
    checks/                       the trusted checks: probes and references, per assignment
    grade.py                      grade a class: one supervised autograde per roster student
    release.py                    regenerate every student version from its source
    source/<assignment>/<assignment>.ipynb    instructor versions: solutions + hidden tests
    release/<assignment>/<assignment>.ipynb   student versions (generated; committed)
    roster.csv                    the class (private, not committed; see roster.example.csv)
    submitted/<student>/<assignment>/         collected submissions          (not committed)
    autograded/, feedback/, gradebook.db, grades.csv                         (not committed)

Limits, per student notebook, when autograding (SandboxedExecute, see autograding.py):

* each cell may run ``timeout`` = 30 s; then the kernel is interrupted and the cell gets a
  ``CellTimeoutError`` (0 points if it is a test cell); a kernel that does not respond to the
  interrupt within ``iopub_timeout`` = 10 s, or that dies, is killed and restarted, and the cells
  before are re-run;
* the whole notebook may run ``notebook_timeout`` = 240 s (every assignment runs in < 30 s);
* every process of the sandbox may allocate ``memory_limit_mb`` = 4096 MiB (RLIMIT_DATA; a
  larger allocation raises MemoryError in the student's cell), use at most twice the notebook's
  time limit in CPU seconds and write files of at most 256 MiB; the sandbox user may run at most
  512 processes and threads; the submission's private folder holds at most 512 MiB.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from autograding import HideHiddenTests, SandboxedExecute, SanitizeOutputs  # noqa: E402
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput,  # noqa: E402
                                    GetGrades, IgnorePattern, LimitOutput,
                                    OverwriteKernelspec, SaveAutoGrades)

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

c.CourseDirectory.course_id = "optimization-for-training-deep-models"
c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")

# Student versions keep the course's default stub, so a task left unanswered fails its tests.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Autograding. The test cells of a submission are restored from the release copy by the trusted
# checks (checks.prepare), which also detect and report duplicated, renamed or edited test
# cells: nbgrader's own DeduplicateIds / OverwriteCells / CheckCellMetadata would instead abort
# or silently drop them, so the sanitizing step only clears outputs and the kernel name.
c.Autograde.sanitize_preprocessors = [ClearOutput, OverwriteKernelspec]
# nbgrader's pipeline with Execute replaced by SandboxedExecute (sandbox + trusted checks)
c.Autograde.autograde_preprocessors = [
    SandboxedExecute,
    SanitizeOutputs,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.SandboxedExecute.timeout = 30                # seconds per cell
c.SandboxedExecute.startup_timeout = 60        # seconds for a kernel to start
c.SandboxedExecute.iopub_timeout = 10          # seconds to wait for a cell's last output / an interrupt
c.SandboxedExecute.error_on_timeout = {
    "ename": "CellTimeoutError",
    "evalue": "this cell ran longer than the time limit per cell and was interrupted",
    "traceback": ["\x1b[0;31mCellTimeoutError\x1b[0m: this cell ran longer than the time "
                  "limit per cell and was interrupted"],
}
c.SandboxedExecute.notebook_timeout = 240  # seconds per notebook, everything included
c.SandboxedExecute.memory_limit_mb = 4096  # per process of the sandbox

# Feedback: never show hidden tests (their source, or tracebacks that quote them); outputs inert.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, SanitizeOutputs,
                                    CSSHTMLHeaderPreprocessor]
# Every HTML view of a submission (feedback, formgrader) sanitizes Markdown and HTML outputs.
c.HTMLExporter.sanitize_html = True

# Collection: use ``python grade.py collect <a> <folder>``, which takes the student's identity
# from the roster (roster.csv), never from a file name the student chose. ``nbgrader
# zip_collect`` is not used: it reads the id from the file name.

# ``nbgrader export`` writes grades.csv in the current folder (``--to=FILE`` to change it).
