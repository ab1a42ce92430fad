"""plotly figures of a question's results, rendered without plotly.js (the page loads it
once from ``dashboard.plotly_js``).  Only aggregated counts go into a chart."""

from __future__ import annotations

from typing import Any

import plotly.io as pio

from campaign.results.services import QuestionResult, Results
from campaign.security import nonce_scripts

#: Bar colours for the values of a scale, from "not at all" to "fully".
SCALE_COLOURS = ["#b2182b", "#ef8a62", "#fddbc7", "#d1e5f0", "#67a9cf", "#2166ac", "#053061"]
BAR_COLOUR = "#1f5f8b"
CONFIG = {"displayModeBar": False, "responsive": True}


def _layout(rows: int, legend: bool) -> dict[str, Any]:
    return dict(
        height=max(160, 42 * rows + (130 if legend else 60)),
        margin={"l": 10, "r": 20, "t": 70 if legend else 10, "b": 40},
        xaxis={
            "title": {"text": "% van wie antwoordde"},
            "ticksuffix": " %",
            "rangemode": "tozero",
        },
        yaxis={"automargin": True, "autorange": "reversed"},
        showlegend=legend,
        # Above the bars: below them it ran into the axis title on a phone.
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "traceorder": "normal"},
        barmode="stack",
        font={"family": "system-ui, sans-serif", "size": 13},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        separators=", ",
    )


def _wrap(label: str, width: int = 38) -> str:
    """A long option label over several lines (plotly does not wrap by itself)."""
    words, lines, line = label.split(), [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(lines)


def choice_chart(result: QuestionResult) -> str:
    """Horizontal bars, one per option (a multiple question's bars may add up past 100 %)."""
    trace = {
        "type": "bar",
        "x": [round(bar.percent, 1) for bar in result.bars],
        "y": [_wrap(bar.label) for bar in result.bars],
        "orientation": "h",
        "marker": {"color": BAR_COLOUR},
        "customdata": [bar.count for bar in result.bars],
        "hovertemplate": "%{y}: %{x} % (%{customdata})<extra></extra>",
    }
    return _html([trace], _layout(len(result.bars), legend=False), result.id)


def grid_chart(result: QuestionResult) -> str:
    """One stacked bar per item (to 100 %), one colour per scale value; suppressed rows are
    left out of the chart (the table says why)."""
    rows = [row for row in result.rows if not row.suppressed]
    traces = []
    colours = _scale_colours(len(result.scale))
    for position, value in enumerate(result.scale):
        bars = [next(b for b in row.bars if b.value == value["value"]) for row in rows]
        traces.append(
            {
                "type": "bar",
                "name": value["label"],
                "x": [round(bar.percent, 1) for bar in bars],
                "y": [_wrap(row.label) for row in rows],
                "orientation": "h",
                "marker": {"color": colours[position]},
                "customdata": [bar.count for bar in bars],
                "hovertemplate": f"{value['label']}: %{{x}} % (%{{customdata}})<extra></extra>",
            }
        )
    return _html(traces, _layout(len(rows), legend=True), result.id)


def _scale_colours(count: int) -> list[str]:
    if count <= 1:
        return [BAR_COLOUR]
    step = (len(SCALE_COLOURS) - 1) / (count - 1)
    return [SCALE_COLOURS[round(i * step)] for i in range(count)]


def _html(traces: list[dict[str, Any]], layout: dict[str, Any], question_id: str) -> str:
    """The chart's div and script. The figure is a plain dict, not validated by plotly's
    graph objects: that validation cost about 12 ms per chart, most of the page's time.
    Its inline script carries the response's CSP nonce (campaign/security.py)."""
    html = pio.to_html(
        {"data": traces, "layout": layout},
        full_html=False,
        include_plotlyjs=False,
        config=CONFIG,
        div_id=f"grafiek-{question_id}",
        validate=False,
    )
    return nonce_scripts(html)


def charts_for(results: Results) -> dict[str, str]:
    """A chart per question that shows counts (choices and grids), by question id."""
    found = {}
    for result in results.questions:
        if result.suppressed:
            continue
        if result.kind == "choice" and result.bars:
            found[result.id] = choice_chart(result)
        elif result.kind == "grid" and any(not row.suppressed for row in result.rows):
            found[result.id] = grid_chart(result)
    return found
