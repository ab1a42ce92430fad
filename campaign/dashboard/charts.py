"""The dashboard's plotly figures, as plain figure dicts (plotly's JSON schema).

Only aggregated counts go in.  The page embeds these dicts as JSON and
``static/js/dashboard.js`` draws them with the plotly.js we serve ourselves
(``dashboard.plotly_js``); the JSON endpoint sends them again so the charts
follow without a reload.  Plain dicts, not ``plotly.graph_objects``: building
and validating a graph object cost more per figure (about 15 ms) than all
of the page's queries at 1,000 answers, for the same JSON.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from campaign.dashboard.figures import Dashboard

BRAND = "#0b5c73"
OK = "#1e7a43"
WARN = "#b36b00"
MUTED = "#5b6675"
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif", "size": 13}


def _layout(height: int, **extra: Any) -> dict[str, Any]:
    return {
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 10, "b": 30},
        "font": FONT,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "showlegend": False,
        "separators": ",.",
        **extra,
    }


def sector_chart(figures: Dashboard) -> dict[str, Any]:
    """Completed answers per sector as horizontal bars, with each sector's target marked."""
    sectors = list(reversed(figures.sectors))  # plotly draws the first category at the bottom
    names = [s.name for s in sectors]
    # Short labels on the bars (a phone has little room beside long sector names); the
    # numbers in full are in the hover text and in the table under the chart.
    texts = [f"{s.percent} %" if s.target else "" for s in sectors]
    hovers = [f"{s.completed} van {s.target}" for s in sectors]
    bars = {
        "type": "bar",
        "orientation": "h",
        "name": "Afgerond",
        "y": names,
        "x": [s.completed for s in sectors],
        "text": texts,
        "textposition": "outside",
        "textangle": 0,
        "cliponaxis": False,
        "customdata": hovers,
        "marker": {"color": [OK if s.on_track else WARN for s in sectors]},
        "hovertemplate": "%{y}: %{customdata} (%{text})<extra></extra>",
    }
    targets = {
        "type": "scatter",
        "mode": "markers",
        "name": "Doel",
        "y": names,
        "x": [s.target for s in sectors],
        "marker": {"symbol": "line-ns", "size": 28, "line": {"width": 3, "color": "#1d2733"}},
        "hovertemplate": "Doel %{y}: %{x}<extra></extra>",
    }
    layout = _layout(
        60 + 44 * len(sectors),
        xaxis={
            "rangemode": "tozero",
            "gridcolor": "#e6e9ee",
            "fixedrange": True,
            "automargin": True,
        },
        yaxis={"automargin": True, "fixedrange": True},
    )
    return {"data": [bars, targets], "layout": layout}


def day_chart(figures: Dashboard) -> dict[str, Any]:
    """Completed answers per day (bars), their running total, and a dashed projection of
    the running total to the close at the pace so far, beside the total target."""
    plan = figures.projection
    days = [day.day.isoformat() for day in figures.days]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": "Per dag",
            "x": days,
            "y": [day.completed for day in figures.days],
            "marker": {"color": "#9ccbd8"},
            "hovertemplate": "%{x|%d-%m-%Y}: %{y} afgerond<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Totaal",
            "x": days,
            "y": [day.cumulative for day in figures.days],
            "line": {"color": BRAND, "width": 3, "shape": "hv"},
            "yaxis": "y2",
            "hovertemplate": "%{x|%d-%m-%Y}: %{y} in totaal<extra></extra>",
        },
    ]
    if plan.close_day > plan.from_day:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "Verwacht",
                "x": [plan.from_day.isoformat(), plan.close_day.isoformat()],
                "y": [plan.completed, round(plan.projected, 1)],
                "line": {"color": OK if plan.on_track else WARN, "width": 2, "dash": "dash"},
                "yaxis": "y2",
                "hovertemplate": "Verwacht bij sluiting: %{y}<extra></extra>",
            }
        )
    end = (plan.close_day + timedelta(days=1)).isoformat()
    start = days[0] if days else plan.from_day.isoformat()
    layout = _layout(
        300,
        xaxis={"type": "date", "range": [start, end], "tickformat": "%d-%m", "fixedrange": True},
        yaxis={
            "rangemode": "tozero",
            "gridcolor": "#e6e9ee",
            "fixedrange": True,
            "automargin": True,
            "title": {"text": "per dag"},
            "tickformat": ",d",
        },
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
            "fixedrange": True,
            "automargin": True,
            "title": {"text": "in totaal"},
        },
        shapes=[
            {
                "type": "line",
                "xref": "paper",
                "yref": "y2",
                "x0": 0,
                "x1": 1,
                "y0": plan.target,
                "y1": plan.target,
                "line": {"color": "#1d2733", "width": 1, "dash": "dot"},
            }
        ],
        annotations=[
            {
                "xref": "paper",
                "yref": "y2",
                "x": 0,
                "y": plan.target,
                "xanchor": "left",
                "yanchor": "bottom",
                "text": f"doel {plan.target}",
                "showarrow": False,
                "font": {"color": MUTED},
            }
        ],
    )
    return {"data": data, "layout": layout}


def stop_chart(figures: Dashboard) -> dict[str, Any]:
    """Responses not completed per page they stopped on."""
    stops = figures.stops
    bars = {
        "type": "bar",
        "name": "Gestopt",
        "x": [f"p. {stop.number}" for stop in stops],
        "y": [stop.stopped for stop in stops],
        "text": [stop.title for stop in stops],
        "marker": {"color": WARN},
        "hovertemplate": "%{text}: %{y} gestopt<extra></extra>",
        "textposition": "none",
    }
    layout = _layout(
        240,
        xaxis={"fixedrange": True},
        yaxis={
            "rangemode": "tozero",
            "gridcolor": "#e6e9ee",
            "fixedrange": True,
            "automargin": True,
        },
    )
    return {"data": [bars], "layout": layout}


def charts(figures: Dashboard) -> dict[str, dict[str, Any]]:
    """Every chart of the dashboard by the id of the element that shows it."""
    return {
        "grafiek-sectoren": sector_chart(figures),
        "grafiek-dagen": day_chart(figures),
        "grafiek-stoppers": stop_chart(figures),
    }
