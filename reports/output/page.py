"""The self-contained HTML report: inline CSS, PNG charts as data URIs, no script and no network.

The page states that in a Content-Security-Policy (``CSP``): a browser runs no script in it, loads nothing
from anywhere, and shows only its own inline styles and ``data:`` images, even if an escaping bug let a
run file's text through as markup (a run file is untrusted input: docs/run-file.md). Every text from a
run file is escaped besides (tests/reports/test_hostile_html.py).

This module is the page's frame: the runs' header, the headline and the order of the sections; each
section is written by the module of its job (``time_sections``, ``correctness``, ``side_by_side``,
``ab_sections``, ``axis``, ``memory``, ``variants``, ``modes``).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from rnnsuite.reports.output import render as r
from rnnsuite.reports.output import table as tb
from rnnsuite.reports.output.report_data import Data
from rnnsuite.reports.output.sections import ab_sections, axis, costs, errors, memory_section, modes
from rnnsuite.reports.output.sections import time_sections as ts
from rnnsuite.reports.output.sections.correctness import correctness_section
from rnnsuite.reports.output.sections.side_by_side import compare_section
from rnnsuite.reports.runfile.run import RunFile

# default-src 'none': no script, frame, font, fetch or object from anywhere; the page's own <style> and the
# pandas tables' style attributes, and the charts as data: URIs. base-uri and form-action are not covered by
# default-src. (frame-ancestors cannot be set from a <meta>: a server's header only.)
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
HEAD = f'<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#222;
  max-width:1320px;margin:0 auto;padding:16px 28px 48px}
h1{font-size:24px;margin:8px 0 4px} h2{font-size:19px;margin:34px 0 4px;padding-top:8px;border-top:2px solid #ddd}
p.how{margin:2px 0 10px;color:#555;font-style:italic;max-width:1000px} p.none{color:#777}
nav{margin:6px 0 14px} nav a{margin-right:14px;color:#245;text-decoration:none} nav a:hover{text-decoration:underline}
table.data{border-collapse:collapse;font-size:13px;margin:6px 0 14px}
table.data th{background:#f0f2f5;text-align:left;padding:4px 9px;border-bottom:2px solid #ccc;position:sticky;top:0}
table.data td{padding:3px 9px;border-bottom:1px solid #eee;font-variant-numeric:tabular-nums}
table.data tr:hover td{background-color:#fafad8}
img{max-width:100%;display:block;margin:2px 0 16px} figure{margin:10px 0} figcaption{font-weight:600;font-size:13px;color:#333}
div.scroll{max-height:620px;overflow:auto;display:inline-block;border:1px solid #e2e2e2;margin:6px 0 14px}
div.scroll table.data{margin:0}
.meta td,.meta th{padding:2px 12px 2px 0;text-align:left;font-size:13px;vertical-align:top} .meta th{color:#555;font-weight:600}
"""


def page(data: Data, built: datetime | None = None) -> str:
    """The whole report.

    Args:
        data: the runs and their tables.
        built: when the report was built (default: now, UTC).

    Returns:
        One HTML document.
    """
    sections = [("headline", "Headline", headline(data))]
    if data.ab is not None:
        sections.append(("ab", data.ab.title, ab_sections.ab_section(data.ab)))
    if data.along is not None:
        sections.append(("by", f"By {data.along.axis}: the same benchmarks side by side", axis.section(data.along)))
    sections += [
        ("time", "(a) Time per case by dtype", ts.time_section(data)),
        ("builtin", "(b) Hand-written vs built-in", ts.builtin_section(data)),
        ("sweep", "(c) Scaling sweep", ts.sweep_section(data)),
        ("efficiency", "(d) Efficiency", ts.efficiency_section(data)),
        ("correctness", "(e) Correctness", correctness_section(data)),
    ]
    if not data.drift.empty:
        sections.append(("drift", "Numerical drift between runs", ab_sections.drift_section(data.drift)))
    sections.append(("runs", "(f) Runs side by side", compare_section(data)))
    sections.append(("memory", "(g) Memory, process state and allocator", memory_section.section_html(data.df)))
    sections.append(("costs", "(h) Options and kernels", costs.section(data.df, data.measures)))
    sections.append(("modes", "(i) A case's modes side by side", modes.section_html(data.runs)))
    nav = " ".join(f'<a href="#{sid}">{html.escape(title)}</a>' for sid, title, _ in sections)
    body = "\n".join(f'<h2 id="{sid}">{html.escape(title)}</h2>\n{text}' for sid, title, text in sections)
    title = "RNN suite report: " + ", ".join(data.labels)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head>{HEAD}<title>{html.escape(title)}</title>\n'
        f"<style>{CSS}</style></head><body>\n<h1>{html.escape(title)}</h1>\n{header(data, built)}\n"
        f"<nav>{nav}</nav>\n{body}\n</body></html>\n"
    )


PEAK_SHADE = r.Shade("Greens", vmin=0.0, vmax=1.0)


def header(data: Data, built: datetime | None) -> str:
    """The runs and machines, one column per run."""
    fields = {
        "file": lambda run: run.path.name,
        "date": lambda run: str(run.data.get("datetime", "—")),
        "commit": lambda run: _commit(run.data.get("commit_info") or {}),
        "benchmarks / checks": lambda run: f"{len(run.benchmarks)} / {len(run.correctness)}",
        "metric": _metric,
    }
    machine = ("cpu_model", "cores", "threads", "torch", "cuda", "gpu", "blas", "allocator")
    rows = [(name, [get(run) for run in data.runs]) for name, get in fields.items()]
    rows += [(key, [str(run.machine.get(key) or "—") for run in data.runs]) for key in machine]
    head = "<tr><th></th>" + "".join(f"<th>{html.escape(label)}</th>" for label in data.labels) + "</tr>"
    body = "".join(
        f"<tr><th>{html.escape(name)}</th>" + "".join(f"<td>{html.escape(v)}</td>" for v in values) + "</tr>"
        for name, values in rows
    )
    stamp = (built or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    return f'<table class="meta">{head}{body}</table>\n<p class="how">Report built {stamp}.</p>'


def _metric(run: RunFile) -> str:
    metric = run.metric
    valgrind = run.machine.get("valgrind")
    if metric != "instructions" or not valgrind:
        return metric
    full = run.machine.get("instrumentation") == "full"  # docs/run-file.md: no callgrind_control
    return f"{metric} (callgrind, valgrind {valgrind}{', instrumented from the start' if full else ''})"


def _commit(info: dict[str, object]) -> str:
    commit = str(info.get("id") or "—")[:10]
    return commit + (" (dirty)" if info.get("dirty") else "")


def headline(data: Data) -> str:
    """The headline table: one row per case, device, dtype and pass at the seed size."""
    head = tb.headline(data.df, data.checks)
    if head.empty:
        note = r.none_html("No benchmarks in the run file(s): only the correctness section below has data.")
        return note + errors.headline_html(data.runs)
    size = (
        "the seed size"
        if head["size"].eq("seed").all()
        else f"the sizes run ({', '.join(dict.fromkeys(head['size'].astype(str)))}; no seed size)"
    )
    how = (
        f"one row per benchmark at {size}; median of the timed rounds, IQR / median is the spread (orange from 10%, "
        "a noisy measurement); % of peak compares GFLOP/s with this run's dense matmul peak for the same device and "
        "dtype; correctness sums up the case's checks (section e)."
    )
    if head["instructions"].notna().any():
        how += (
            " Instructions / call were counted under valgrind's callgrind (--metric instructions): such a benchmark"
            " has no timing, so its time, rates and spread are blank."
        )
    if len(data.runs) > 1:
        how += " The runs of one benchmark sit next to each other."
    table = r.styled(
        r.headline_frame(head),
        "headline",
        r.HEADLINE_FORMATS,
        shades={"% of peak": PEAK_SHADE},
        css={"correctness": r.outcome_css, "IQR / median": r.noise_css},
    )
    return r.how_html(how) + table + errors.headline_html(data.runs)
