"""``streamlit`` with a warm start: what ``needlewatch serve`` runs.

    python -m dashboard.app.serve run dashboard/app/main.py --server.port 8501 ...

takes the arguments of ``streamlit`` itself and runs its command line in this process,
after importing the pages (``dashboard.app.warm.prepare``, in this thread) and starting
:func:`dashboard.app.warm.warm` in a background thread on the database
``needlewatch serve`` chose (``$NEEDLEWATCH_DB``). Streamlit runs the pages in this same
process, so what the warm-up imported and held is there for the first visitor. A warm-up
that fails says so in one line on stderr and changes nothing: the page that needs the
data then computes it, and shows any error itself.
"""

from __future__ import annotations

import sys
import threading

from needlewatch import settings


def _warm_quietly() -> None:
    try:
        from dashboard.app.warm import warm

        warm(settings.resolve_db_path(None))  # imports done: prepare() ran in main()
    except Exception as exc:  # noqa: BLE001  (never stops the server: the page reports it)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"needlewatch: warm-up skipped ({first})", file=sys.stderr)
    finally:
        from dashboard.app.cache import WARM_IDLE

        WARM_IDLE.set()


def main() -> None:
    from dashboard.app.warm import prepare

    prepare()  # imports in this thread, before any other starts (see prepare)
    from dashboard.app.cache import WARM_IDLE

    WARM_IDLE.clear()  # from now: a page waits for the warm-up instead of computing beside it
    threading.Thread(target=_warm_quietly, name="needlewatch-warm", daemon=True).start()
    from streamlit.web import cli

    sys.argv[0] = "streamlit"
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
