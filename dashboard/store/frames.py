"""pandas as the read side uses it: text columns as Python strings, not Arrow arrays.

The read side's frames are small (a few thousand rows of counts), where pandas'
Arrow-backed text costs a conversion at every step; Python storage makes the analysis
pages' reruns 20-30% faster (measured with bench/dashboard_speed.py). The same "str"
dtype either way. Imported by the store's modules that make frames (every frame the
read side draws comes through one of them), not by the package: a process that only
opens a connection (``store.db``) or parses arguments never imports pandas.
"""

from __future__ import annotations

import pandas as pd

pd.set_option("mode.string_storage", "python")
