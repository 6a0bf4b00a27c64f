"""The clinician's summary: plain data in, text, chart and CSV out (pure, tested without a bot)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.texts import t


@dataclass(frozen=True)
class DayMark:
    """One practice on one local day: an outcome, or None for a nudge with no answer."""

    day: date
    outcome: str | None


@dataclass
class PracticeFacts:
    """What happened with one practice in the period (and the period before, for the trend)."""

    card: str
    talk_over: bool
    planned: int
    counts: Counter[str] = field(default_factory=Counter)
    previous: Counter[str] = field(default_factory=Counter)
    obstacles: Counter[str] = field(default_factory=Counter)
    adjustments: list[str] = field(default_factory=list)
    reflections: list[str] = field(default_factory=list)
    days: list[DayMark] = field(default_factory=list)

    @property
    def tries(self) -> int:
        return self.counts["did"] + self.counts["partly"]


@dataclass
class ClientFacts:
    name: str
    since: date
    until: date
    practices: list[PracticeFacts]
    thought_records: list[str]
    voice_notes: list[str]
    last_report: date | None
    crisis: list[str] = field(default_factory=list)  # flagged messages, already described


def attention(client: ClientFacts, today: date) -> int:
    """Higher first: crisis words above all, then days without a report, many "not today",
    anything to talk over."""
    quiet_days = (today - client.last_report).days if client.last_report else 14
    not_today = sum(p.counts["not_today"] for p in client.practices)
    talk = sum(5 for p in client.practices if p.talk_over)
    crisis = 1000 if client.crisis else 0
    return crisis + quiet_days + 2 * not_today + talk


def overview_line(number: int, client: ClientFacts, today: date) -> str:
    tries = sum(p.tries for p in client.practices)
    not_today = sum(p.counts["not_today"] for p in client.practices)
    if client.last_report is None:
        last = t.SUMMARY_NO_REPORT
    elif client.last_report >= today:
        last = t.SUMMARY_REPORTED_TODAY
    else:
        last = t.SUMMARY_LAST_REPORT.format(days=(today - client.last_report).days)
    talk = t.SUMMARY_TALK_FLAG if any(p.talk_over for p in client.practices) else ""
    talk += t.SUMMARY_CRISIS_FLAG if client.crisis else ""
    return t.SUMMARY_LINE.format(
        number=number, name=client.name, tries=tries, not_today=not_today, last=last, talk=talk
    )


def _trend(now: int, before: int) -> str:
    if now > before:
        return t.TREND_UP
    if now < before:
        return t.TREND_DOWN
    return t.TREND_SAME


def render(client: ClientFacts) -> str:
    """The summary as text for a phone: one block per practice, then what the client wrote."""
    lines = [t.SUMMARY_TITLE.format(name=client.name, since=client.since, until=client.until)]
    if client.crisis:
        lines += ["", t.SUMMARY_CRISIS_TITLE, *client.crisis]
    for practice in client.practices:
        lines += ["", practice.card + (t.SUMMARY_TALK_FLAG if practice.talk_over else "")]
        lines.append(
            t.SUMMARY_COUNTS.format(
                did=practice.counts["did"],
                partly=practice.counts["partly"],
                not_today=practice.counts["not_today"],
                planned=practice.planned,
                trend=_trend(
                    practice.tries, practice.previous["did"] + practice.previous["partly"]
                ),
            )
        )
        if practice.obstacles:
            got_in_the_way = ", ".join(
                f"{t.OBSTACLES.get(k, k).lower()} × {n}"
                for k, n in practice.obstacles.most_common()
            )
            lines.append(t.SUMMARY_OBSTACLES.format(items=got_in_the_way))
        lines += [t.SUMMARY_CHANGE.format(change=c) for c in practice.adjustments]
        lines += [t.SUMMARY_REFLECTION.format(text=r) for r in practice.reflections]
    if client.thought_records:
        lines += ["", t.SUMMARY_THOUGHTS_TITLE, *client.thought_records]
    if client.voice_notes:
        lines += ["", t.SUMMARY_VOICE_TITLE, *(f"“{note}”" for note in client.voice_notes)]
    if not client.practices and not client.thought_records and not client.crisis:
        lines += ["", t.SUMMARY_NOTHING]
    return "\n".join(lines)


def chart(client: ClientFacts) -> bytes:
    """A day-by-day grid per practice: tried, partly, not today, no answer (PNG)."""
    # A Figure of its own, not pyplot: pyplot's global state is not safe on a thread, and the
    # chart is drawn on one (handlers/clinician.py).
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    days = [
        client.since + timedelta(days=i) for i in range((client.until - client.since).days + 1)
    ]
    codes = {"did": 3, "partly": 2, "not_today": 1, None: 0}
    grid = [[-1] * len(days) for _ in client.practices]
    for row, practice in enumerate(client.practices):
        for mark in practice.days:
            if client.since <= mark.day <= client.until:
                column = (mark.day - client.since).days
                grid[row][column] = max(grid[row][column], codes[mark.outcome])
    colours = ["#ffffff", "#d9d9d9", "#f4b183", "#9dc3e6", "#70ad47"]
    figure = Figure(figsize=(max(4, len(days) * 0.45), 1 + 0.5 * len(grid)))
    axes = figure.subplots()
    axes.imshow(
        [[value + 1 for value in row] for row in grid] or [[0]],
        cmap=ListedColormap(colours),
        vmin=0,
        vmax=4,
        aspect="auto",
    )
    axes.set_xticks(range(len(days)), [d.strftime("%a %-d") for d in days], rotation=90)
    axes.set_yticks(range(len(grid)), [f"{i + 1}" for i in range(len(grid))])
    labels = [t.CHART_NO_ANSWER, t.CHART_NOT_TODAY, t.CHART_PARTLY, t.CHART_TRIED]
    axes.legend(
        handles=[Patch(color=c, label=lab) for c, lab in zip(colours[1:], labels, strict=True)],
        loc="upper left",
        bbox_to_anchor=(1, 1),
        fontsize=8,
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


# A cell starting with one of these is read as a formula by spreadsheets (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text: a leading single quote before a formula
    character (the writer quotes every field and doubles any quote inside)."""
    cell = str(value)
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def to_csv(client: ClientFacts) -> bytes:
    """One row per practice and day, for the clinician's records; every cell made safe to
    open in a spreadsheet (the client's name and words are theirs, not formulas)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(["client", "practice", "date", "outcome", "talk_over"])
    for practice in client.practices:
        for mark in sorted(practice.days, key=lambda m: m.day):
            row = [
                client.name,
                practice.card,
                mark.day.isoformat(),
                mark.outcome or "no answer",
                practice.talk_over,
            ]
            writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue().encode()
