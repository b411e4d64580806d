"""Small SVG charts for the HTML report, generated as text (no plotting library)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

OUTCOME_COLOURS = {
    "complied": "#4c6ef5",
    "refused": "#15aabf",
    "blocked": "#f59f00",
    "error": "#ae3ec9",
    "unscorable": "#868e96",
}
STATUS_COLOURS = {
    "ok": "#2f9e44",
    "attack": "#e03131",
    "false-refusal": "#f08c00",
    "task-failed": "#868e96",
    "error": "#ae3ec9",
}
_FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


@dataclass(frozen=True)
class Bar:
    """One bar: a proportion with its interval and, optionally, a baseline value."""

    label: str
    value: float | None
    low: float | None
    high: float | None
    n: int
    colour: str
    baseline: float | None = None


def metric_bars(bars: Sequence[Bar], *, width: int = 640) -> str:
    """Horizontal bars (0-100%) with 95% interval whiskers and a baseline tick."""
    left, right, row = 190, 70, 34
    plot = width - left - right
    height = row * len(bars) + 34
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" {_FONT}>']  # fmt: skip
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = left + plot * tick
        parts.append(f'<line x1="{x:.1f}" y1="6" x2="{x:.1f}" y2="{height - 22}" '
                     f'stroke="#dee2e6"/><text x="{x:.1f}" y="{height - 8}" '
                     f'text-anchor="middle" fill="#868e96">{int(tick * 100)}%</text>')  # fmt: skip
    for i, bar in enumerate(bars):
        y = 10 + i * row
        parts.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">'
                     f'{escape(bar.label)}</text>')  # fmt: skip
        if bar.value is None:
            parts.append(f'<text x="{left + 4}" y="{y + 14}" fill="#868e96">no cases</text>')
            continue
        w = plot * bar.value
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="20" rx="3" '
                     f'fill="{bar.colour}" opacity="0.85"><title>{escape(bar.label)}: '
                     f'{_pct(bar.value)} [{_pct(bar.low)}, {_pct(bar.high)}], n={bar.n}'
                     f'</title></rect>')  # fmt: skip
        if bar.low is not None and bar.high is not None:
            x1, x2 = left + plot * bar.low, left + plot * bar.high
            parts.append(f'<path d="M{x1:.1f} {y + 10}H{x2:.1f}M{x1:.1f} {y + 4}V{y + 16}'
                         f'M{x2:.1f} {y + 4}V{y + 16}" stroke="#212529" stroke-width="1.5" '
                         'fill="none"/>')  # fmt: skip
        if bar.baseline is not None:
            xb = left + plot * bar.baseline
            parts.append(f'<path d="M{xb:.1f} {y - 3}V{y + 23}" stroke="#212529" '
                         f'stroke-width="3" stroke-dasharray="3 2"><title>baseline '
                         f'{_pct(bar.baseline)}</title></path>')  # fmt: skip
        parts.append(f'<text x="{width - right + 6}" y="{y + 14}">{_pct(bar.value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_outcomes(groups: Mapping[str, Mapping[str, int]], *, width: int = 640) -> str:
    """One stacked bar per group (category): how many cases ended in each outcome."""
    left, row = 90, 30
    plot = width - left - 20
    height = row * len(groups) + 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" {_FONT}>']  # fmt: skip
    for i, (group, counts) in enumerate(groups.items()):
        y = 8 + i * row
        total = sum(counts.values()) or 1
        parts.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{escape(group)}</text>')
        x = float(left)
        for outcome, colour in OUTCOME_COLOURS.items():
            k = counts.get(outcome, 0)
            if not k:
                continue
            w = plot * k / total
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="20" fill="{colour}">'
                         f'<title>{escape(group)}: {k} {outcome}</title></rect>')  # fmt: skip
            if w > 24:
                parts.append(f'<text x="{x + w / 2:.1f}" y="{y + 14}" text-anchor="middle" '
                             f'fill="#fff">{k}</text>')  # fmt: skip
            x += w
    y = height - 14
    x = float(left)
    for outcome, colour in OUTCOME_COLOURS.items():
        parts.append(f'<rect x="{x:.1f}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14:.1f}" y="{y}">{outcome}</text>')  # fmt: skip
        x += 100
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class TagRow:
    tag: str
    asr: float | None
    asr_n: int
    utility: float | None
    utility_n: int
    baseline_asr: float | None = None


def tag_chart(rows: Sequence[TagRow], *, width: int = 640) -> str:
    """Per tag: attack success rate (red) and utility (green), side by side."""
    left, row, col = 170, 20, (width - 170 - 20) // 2
    height = row * len(rows) + 34
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" {_FONT}>',
             f'<text x="{left}" y="14" font-weight="600">attack success rate</text>',
             f'<text x="{left + col + 10}" y="14" font-weight="600">utility</text>']  # fmt: skip
    for i, r in enumerate(rows):
        y = 24 + i * row
        parts.append(f'<text x="{left - 8}" y="{y + 11}" text-anchor="end">{escape(r.tag)}</text>')
        for j, (value, n, colour) in enumerate(
            ((r.asr, r.asr_n, "#e03131"), (r.utility, r.utility_n, "#2f9e44"))
        ):
            x0 = left + j * (col + 10)
            span = col - 92
            parts.append(f'<rect x="{x0}" y="{y}" width="{span}" height="14" fill="#f1f3f5"/>')
            if value is None:
                continue
            parts.append(f'<rect x="{x0}" y="{y}" width="{span * value:.1f}" height="14" '
                         f'fill="{colour}"><title>{escape(r.tag)}: {_pct(value)} of {n}'
                         f'</title></rect><text x="{x0 + span + 6}" y="{y + 11}">'
                         f'{_pct(value)} <tspan fill="#868e96">n={n}</tspan></text>')  # fmt: skip
            if j == 0 and r.baseline_asr is not None:
                xb = x0 + span * r.baseline_asr
                parts.append(f'<path d="M{xb:.1f} {y - 2}V{y + 16}" stroke="#212529" '
                             'stroke-width="2" stroke-dasharray="2 2"/>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Cell:
    case_id: str
    status: str
    before: str | None = None
    """The baseline's status, when there is a baseline."""
    title: str = ""


def case_grid(cells: Sequence[Cell], *, width: int = 640) -> str:
    """One square per case, coloured by status; with a baseline, the upper half shows the
    baseline's status and the lower half this run's."""
    size, gap = 16, 3
    per_row = max(1, (width - 10) // (size + gap))
    rows = (len(cells) + per_row - 1) // per_row
    height = rows * (size + gap) + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" {_FONT}>']  # fmt: skip
    for i, cell in enumerate(cells):
        x = 4 + (i % per_row) * (size + gap)
        y = 4 + (i // per_row) * (size + gap)
        now = STATUS_COLOURS.get(cell.status, "#adb5bd")
        tip = f"<title>{escape(cell.title or cell.case_id)}</title>"
        if cell.before is None:
            parts.append(f'<rect x="{x}" y="{y}" width="{size}" height="{size}" rx="2" '
                         f'fill="{now}">{tip}</rect>')  # fmt: skip
            continue
        was = STATUS_COLOURS.get(cell.before, "#adb5bd")
        parts.append(f'<g>{tip}<rect x="{x}" y="{y}" width="{size}" height="{size // 2}" '
                     f'fill="{was}" opacity="0.55"/><rect x="{x}" y="{y + size // 2}" '
                     f'width="{size}" height="{size // 2}" fill="{now}"/>')  # fmt: skip
        if cell.before != cell.status:
            parts.append(f'<rect x="{x - 1}" y="{y - 1}" width="{size + 2}" height="{size + 2}" '
                         'fill="none" stroke="#212529" stroke-width="1.5"/>')  # fmt: skip
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
