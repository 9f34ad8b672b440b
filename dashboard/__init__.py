"""NeedleWatch's read side, in layers; each imports only the layers below it, checked
by import-linter (``[tool.importlinter]`` in pyproject.toml, run by tests/test_layers.py):
``app`` (Streamlit) above ``report`` above ``figures`` above ``analysis`` above ``store``
and ``stats``, which are independent of each other. The command line (``needlewatch/``)
may import any of them but ``app``; none of them imports the command line (only
``needlewatch.settings``, which every surface shares).
"""

import pandas as _pd

# Text columns as Python strings, not Arrow arrays: the read side's frames are small (a
# few thousand rows of counts), where pandas' Arrow-backed text costs a conversion at
# every step; Python storage makes the analysis pages' reruns 20-30% faster (measured
# with bench/dashboard_speed.py). The same "str" dtype either way; set before any frame.
_pd.set_option("mode.string_storage", "python")
