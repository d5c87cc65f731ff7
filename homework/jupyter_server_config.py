"""Jupyter server settings for grading by hand in the formgrader (run from homework/):

    jupyter lab --config=jupyter_server_config.py

Student notebooks are opened here: a script in a student's output must find nothing to run
with the instructor's rights. So the server has no terminals, listens on this machine only,
and every HTML view nbgrader renders (formgrader, feedback) sanitizes HTML and Markdown
(``HTMLExporter.sanitize_html``; the autograded notebooks' outputs are sanitized already by
``SanitizeOutputs``). Do not mark student notebooks as trusted in Jupyter.
"""

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

c.ServerApp.terminals_enabled = False
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.allow_remote_access = False
c.HTMLExporter.sanitize_html = True
