"""NeedleWatch's read side, in layers; each imports only the layers below it, checked
by import-linter (``[tool.importlinter]`` in pyproject.toml, run by tests/test_layers.py):
``app`` (Streamlit) above ``report`` above ``figures`` above ``analysis`` above ``store``
and ``stats``, which are independent of each other. The command line (``needlewatch/``)
may import any of them but ``app``; none of them imports the command line (only
``needlewatch.settings``, which every surface shares).
"""
