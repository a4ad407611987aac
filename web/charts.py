"""Pictures drawn server-side as inline SVG: no front-end library, every label escaped.

Each function takes plain rows and returns `Markup` the templates embed as is.
"""

from __future__ import annotations

import math
from datetime import datetime

from markupsafe import Markup, escape

from db.models import AriEvent, Call, CallEvent, HitlRequest, TranscriptTurn
from db.stats import CampaignOutcomes, DayCount

# Status and outcome colours: the same palette as the CSS badges.
COLOURS = {
    "succeeded": "#2f9e44", "answered": "#2f9e44",
    "failed": "#e03131", "rejected": "#e03131", "unallocated": "#c92a2a", "failed_call": "#e03131",
    "retry_scheduled": "#f08c00", "busy": "#f08c00", "no_answer": "#fab005", "congestion": "#e8590c",
    "unavailable": "#d9480f",
    "scheduled": "#1c7ed6", "draft": "#adb5bd", "dialing": "#7048e8", "in_call": "#7048e8", "live": "#7048e8",
    "pending_user_info": "#c2255c", "cancelled": "#868e96", "blocked_dnd": "#5c0f0f",
}
_ORDER = ["succeeded", "answered", "in_call", "dialing", "live", "scheduled", "retry_scheduled", "pending_user_info",
          "busy", "no_answer", "congestion", "unavailable", "draft", "failed", "rejected", "unallocated", "cancelled",
          "blocked_dnd"]


def _colour(key: str) -> str:
    return COLOURS.get(key, "#495057")


def _sorted_keys(counts: dict[str, int]) -> list[str]:
    return sorted(counts, key=lambda k: (_ORDER.index(k) if k in _ORDER else 99, k))


def _legend(keys: list[str], y: int, labels: dict[str, str] | None = None) -> str:
    parts, x = [], 0
    for key in keys:
        label = (labels or {}).get(key, key.replace("_", " "))
        parts.append(f'<rect x="{x}" y="{y}" width="10" height="10" rx="2" fill="{_colour(key)}"/>'
                     f'<text x="{x + 14}" y="{y + 9}" class="legend">{escape(label)}</text>')
        x += 24 + 7.5 * len(label)
    return "".join(parts)


def campaign_outcomes(rows: list[CampaignOutcomes], labels: dict[str, str] | None = None) -> Markup:
    """One stacked bar per campaign: how many of its tasks are in which state."""
    rows = [r for r in rows if r.counts]
    if not rows:
        return Markup('<p class="empty">No tasks yet.</p>')
    width, label_w, bar_h, gap = 560, 150, 20, 10
    keys = _sorted_keys({k: 0 for r in rows for k in r.counts})
    height = len(rows) * (bar_h + gap) + 30
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="Task outcomes per campaign">']
    for i, row in enumerate(rows):
        y = i * (bar_h + gap)
        total = sum(row.counts.values())
        title = row.title if len(row.title) <= 20 else row.title[:19] + "…"
        out.append(f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end" class="label">{escape(title)}</text>')
        x = float(label_w)
        span = width - label_w - 40
        for key in _sorted_keys(row.counts):
            w = span * row.counts[key] / total
            out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{_colour(key)}">'
                       f'<title>{escape((labels or {}).get(key, key))}: {row.counts[key]}</title></rect>')
            x += w
        out.append(f'<text x="{x + 6:.1f}" y="{y + 13}" class="label">{total}</text>')
    out.append(_legend(keys, height - 16, labels))
    out.append("</svg>")
    return Markup("".join(out))


def calls_over_time(days: list[DayCount]) -> Markup:
    """Calls per day, stacked by outcome."""
    if not days or not any(d.counts for d in days):
        return Markup('<p class="empty">No calls in the last two weeks.</p>')
    width, height, left, bottom = 560, 190, 30, 36
    peak = max(sum(d.counts.values()) for d in days) or 1
    slot = (width - left) / len(days)
    plot_h = height - bottom - 10
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="Calls per day">']
    out.append(f'<text x="{left - 6}" y="16" text-anchor="end" class="label">{peak}</text>'
               f'<line x1="{left}" y1="{10 + plot_h}" x2="{width}" y2="{10 + plot_h}" class="axis"/>')
    keys: set[str] = set()
    for i, day in enumerate(days):
        x = left + i * slot + slot * 0.15
        y = 10.0 + plot_h
        for key in _sorted_keys(day.counts):
            h = plot_h * day.counts[key] / peak
            y -= h
            keys.add(key)
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{_colour(key)}">'
                       f'<title>{day.day:%d %b} {escape(key)}: {day.counts[key]}</title></rect>')
        if i % 2 == 0 or len(days) <= 8:
            out.append(f'<text x="{x + slot * 0.35:.1f}" y="{height - 20}" text-anchor="middle" class="tick">{day.day:%d %b}</text>')
    out.append(_legend(_sorted_keys({k: 0 for k in keys}), height - 10))
    out.append("</svg>")
    return Markup("".join(out))


TICK_STEPS = (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)


def _tick_step(total: float, most: int = 6) -> float:
    """A round number of seconds between axis ticks, so that at most `most` + 1 ticks fit."""
    longest = TICK_STEPS[-1]
    return next((step for step in TICK_STEPS if total / step <= most), longest * math.ceil(total / (longest * most)))


def _tick_label(seconds: float, total: float) -> str:
    if total >= 120:
        return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"
    return f"{seconds:g}s"


LANES = ("ARI", "Agent", "Callee", "DTMF", "Tools", "HITL")


def call_timeline(
    call: Call,
    ari: list[AriEvent],
    turns: list[TranscriptTurn],
    call_events: list[CallEvent],
    questions: list[HitlRequest],
) -> Markup:
    """One call on one time axis: ARI events, both speakers, DTMF, tool calls and HITL."""
    marks: list[tuple[str, datetime, datetime | None, str]] = []  # lane, start, end, label
    marks += [("ARI", e.at, None, e.event_type) for e in ari]
    for t in turns:
        lane = "Agent" if t.speaker == "agent" else "Callee" if t.speaker == "callee" else "Tools"
        marks.append((lane, t.started_at, t.ended_at, t.text))
    for e in call_events:
        lane = "DTMF" if "dtmf" in e.kind.lower() else "Tools" if "tool" in e.kind.lower() else "ARI"
        marks.append((lane, e.at, None, e.message))
    marks += [("HITL", q.created_at, q.answered_at, q.question) for q in questions]
    if not marks:
        return Markup('<p class="empty">Nothing recorded for this call yet.</p>')
    start = min([call.originated_at, *[m[1] for m in marks]])
    end = max([call.ended_at or start, *[m[2] or m[1] for m in marks]])
    total = max((end - start).total_seconds(), 1.0)
    width, left, lane_h = 1000, 70, 28
    height = len(LANES) * lane_h + 30
    span = width - left - 10

    def x_of(t: datetime) -> float:
        return left + span * (t - start).total_seconds() / total

    out = [f'<svg class="chart timeline" viewBox="0 0 {width} {height}" role="img" aria-label="Call timeline">']
    for i, lane in enumerate(LANES):
        y = i * lane_h
        out.append(f'<rect x="{left}" y="{y + 2}" width="{span}" height="{lane_h - 4}" class="lane"/>'
                   f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" class="label">{lane}</text>')
    colours = {"ARI": "#495057", "Agent": "#1c7ed6", "Callee": "#2f9e44", "DTMF": "#f08c00", "Tools": "#7048e8", "HITL": "#c2255c"}
    for lane, t0, t1, label in marks:
        y = LANES.index(lane) * lane_h
        x0 = x_of(t0)
        tip = f"<title>{escape(f'{(t0 - start).total_seconds():.1f}s {label}'[:300])}</title>"
        if t1 is not None and t1 > t0:
            out.append(f'<rect x="{x0:.1f}" y="{y + 6}" width="{max(x_of(t1) - x0, 3):.1f}" height="{lane_h - 12}" rx="3" '
                       f'fill="{colours[lane]}">{tip}</rect>')
        else:
            out.append(f'<circle cx="{x0:.1f}" cy="{y + lane_h / 2}" r="4" fill="{colours[lane]}">{tip}</circle>')
    axis_y = len(LANES) * lane_h + 14
    step = _tick_step(total)
    for k in range(int(total / step + 1e-9) + 1):
        seconds = k * step
        out.append(f'<text x="{left + span * seconds / total:.1f}" y="{axis_y}" text-anchor="middle" '
                   f'class="tick">{_tick_label(seconds, total)}</text>')
    out.append("</svg>")
    return Markup("".join(out))

