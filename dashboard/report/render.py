"""One report, four formats: ``render(report, fmt) -> bytes``, ``write_report`` and, for the
dashboard's download button, ``report_file``.

pdf   HTML with Plotly charts, drawn and printed to A4 by one headless Chromium (report.pdf)
html  one self-contained file: Plotly's library inlined once, interactive charts
xlsx  one sheet per table, native Excel charts (dashboard.report.xlsx)
csv   one tidy long table (dashboard.report.csvout)
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.errors import NeedleWatchError
from needlewatch import settings

from .model import FORMATS, Report, ReportRequest

#: Static chart size in the PDF, CSS pixels (A4 text width is about 660 px).
PDF_WIDTH, PDF_HEIGHT = 680, 360
#: Charts that need more height on paper: the u-chart, its legend under 24 month labels;
#: the feedback edition's forest plot, a row per kind of event.
PDF_HEIGHTS = {"trend": 470, "peers": 600}


class ReportPathError(NeedleWatchError):
    """The output path cannot be used (unknown extension, folder missing, not writable)."""


def format_of(path: Path) -> str:
    """'q.pdf' -> 'pdf'; raises ReportPathError for an extension with no format."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ReportPathError(
            f"{path}: cannot tell the format from the extension; end the name in "
            + ", ".join(f".{f}" for f in FORMATS)
        )
    return fmt


def _plotly_html(figures) -> dict[str, str]:
    config = {"displaylogo": False, "responsive": True}
    return {
        key: fig.to_html(
            full_html=False, include_plotlyjs=False, config=config, div_id=f"chart-{key}"
        )
        for key, fig in figures.items()
    }


def render(report: Report, fmt: str, printer=None) -> bytes:
    """The report in ``fmt`` (pdf, html, xlsx or csv) as bytes.

    ``printer``: a started ``pdf.PdfPrinter`` for a PDF, left open for the caller to reuse
    and close (one is started and closed here otherwise); starting it before building the
    report hides Chromium's start-up.
    """
    if fmt == "csv":
        from .csvout import write_csv

        return write_csv(report)
    if fmt == "xlsx":
        from .xlsx import write_xlsx

        return write_xlsx(report)
    from .figures import report_figures
    from .html import render_html

    figures = report_figures(report)
    if fmt == "html":
        from plotly.offline import get_plotlyjs

        return render_html(report, _plotly_html(figures), get_plotlyjs()).encode("utf-8")
    if fmt == "pdf":
        from .page import chart_html
        from .pdf import html_to_pdf

        tags = {
            k: chart_html(k, figure, PDF_WIDTH, PDF_HEIGHTS.get(k, PDF_HEIGHT))
            for k, figure in figures.items()
        }
        return html_to_pdf(pdf_html(report, tags), printer=printer)
    raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")


def pdf_html(report: Report, tags: dict[str, str]) -> str:
    """The PDF's HTML: charts as ``tags`` (``page.chart_html``), the serious events of page 1 and the
    listing capped (``settings.PDF_SERIOUS_ROWS``, ``PDF_LISTING_ROWS``), the rest counted
    in notes that point to the XLSX and HTML editions."""
    from .html import render_html

    return render_html(
        report,
        tags,
        listing_limit=settings.PDF_LISTING_ROWS,
        serious_limit=settings.PDF_SERIOUS_ROWS,
    )


def prepare(fmt: str):
    """Start the slow, data-independent part of a format before the queries run: for a
    PDF, Chromium and plotly.js (in the background). Returns the printer to pass to
    ``render`` (None for other formats)."""
    if fmt != "pdf":
        return None
    from .pdf import PdfPrinter

    printer = PdfPrinter()
    printer.start()
    return printer


def make_report(
    con: duckdb.DuckDBPyConnection, request: ReportRequest, fmt: str, printer=None
) -> tuple[Report, bytes]:
    """Build ``request``'s report and render it as ``fmt``: the command line's and the
    dashboard's one path. A PDF's Chromium starts while the queries run, unless the caller
    passes a started ``printer`` (``pdf.PdfPrinter``, the caller's to close)."""
    from .content import build_report

    own = printer is None
    printer = prepare(fmt) if own else printer
    try:
        report = build_report(con, request)
        return report, render(report, fmt, printer)
    finally:
        if own and printer is not None:
            printer.close()


@dataclass(frozen=True)
class ReportFile:
    """A report's bytes, and what its public edition suppressed (for the publisher)."""

    data: bytes
    disclosure: tuple[tuple[str, str], ...]


def report_file(
    con: duckdb.DuckDBPyConnection,
    quarter: str,
    clinic: str | None,
    edition: str,
    fmt: str,
    rounding: int | None = None,
) -> ReportFile:
    """The quarterly report as ``needlewatch report`` writes it (same content, same bytes
    but for the PDF's timestamps), for the dashboard's download buttons."""
    report, data = make_report(con, ReportRequest(quarter, clinic, edition, rounding=rounding), fmt)
    return ReportFile(data, report.disclosure)


def _umask() -> int:
    """The process's umask, read without changing it (Linux), else set and restored."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def writable_folder(out: Path) -> Path:
    """``out``'s folder, or ReportPathError naming it when it is missing or read-only."""
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise ReportPathError(
            f"{out}: the folder {folder} does not exist; create it or choose another --out"
        )
    if not os.access(folder, os.W_OK):
        raise ReportPathError(f"{out}: cannot write in {folder}; choose another --out")
    return folder


def write_atomically(out: Path, data: bytes, what: str = "the report") -> None:
    """``data`` to ``out`` through a temporary file beside it and os.replace, so a failed
    run never leaves a half-written file; the file gets the permissions of any file the
    user creates (0666 less the umask, usually 0644)."""
    fd, tmp = tempfile.mkstemp(dir=writable_folder(out), prefix=f".{out.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600: give an ordinary file's mode
        os.replace(tmp, out)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ReportPathError(
            f"{out}: cannot write {what} ({exc.strerror}); choose another --out"
        ) from None


def feedback_path(pattern: Path, clinic: str) -> Path:
    """``feedback/{clinic}-2026Q3.pdf`` -> ``feedback/C04-2026Q3.pdf``; ReportPathError when
    the pattern has no ``{clinic}`` (every clinic's file would have one name)."""
    if "{clinic}" not in pattern.name:
        raise ReportPathError(
            f"{pattern}: put {{clinic}} in the file name (e.g. feedback/{{clinic}}-Q.pdf), so "
            "each clinic's report gets its own file"
        )
    return pattern.with_name(pattern.name.replace("{clinic}", clinic))


def write_each_feedback(
    con: duckdb.DuckDBPyConnection,
    quarter: str,
    pattern: Path,
    overdispersion: str = settings.FUNNEL_OVERDISPERSION,
    printer=None,
) -> list[tuple[Path, Report]]:
    """The feedback edition for every clinic with treatments in ``quarter``, one file each
    (``feedback_path``), written atomically one after another through one Chromium (PDF;
    ``printer`` as in ``make_report``):
    what a body sends its members each quarter. Returns (path, report) per clinic, by id.
    Raises ``feedback.TooFewPeersError`` before writing anything when the network is too
    small."""
    from dashboard.store.counts import rate_counts
    from dashboard.store.filters import Filters, parse_quarter

    from .common import NoTreatmentsError
    from .content import build_report

    fmt = format_of(pattern)
    feedback_path(pattern, "x")  # the pattern names each clinic's file
    writable_folder(pattern)
    start, end = parse_quarter(quarter)
    counts = rate_counts(con, ("clinic",), Filters(date_from=start, date_to=end))
    clinics = sorted(str(c) for c in counts.loc[counts["treatments"] > 0, "clinic"])
    if not clinics:
        raise NoTreatmentsError(
            f"no treatments in {quarter}: check the quarter (needlewatch rates --by quarter "
            "lists them)"
        )
    requests = [ReportRequest(quarter, c, "feedback", overdispersion=overdispersion)
                for c in clinics]  # fmt: skip
    own = printer is None
    printer = prepare(fmt) if own else printer
    written = []
    try:
        for request in requests:
            report = build_report(con, request)
            clinic = request.clinic
            out = feedback_path(pattern, clinic)
            write_atomically(out, render(report, fmt, printer))
            written.append((out, report))
    finally:
        if own and printer is not None:
            printer.close()
    return written


def write_report(
    con: duckdb.DuckDBPyConnection, request: ReportRequest, out: Path, printer=None
) -> Report:
    """Build, render and write ``out`` atomically (``write_atomically``). Returns the
    report written. ``printer``: a started ``pdf.PdfPrinter`` (see ``make_report``)."""
    out = Path(out)
    fmt = format_of(out)
    writable_folder(out)  # before any work
    report, data = make_report(con, request, fmt, printer)
    write_atomically(out, data)
    return report
