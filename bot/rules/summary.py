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
    rehearsal: bool = False  # the first try, rehearsed right after /new


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
    # Practice depth: a noticing practice ("did" is "noticed it"), the local days a reward was
    # faded, and what would make it worth doing, in the client's words, by day.
    noticing: bool = False
    faded: list[date] = field(default_factory=list)
    worth: list[tuple[date, str]] = field(default_factory=list)

    @property
    def rehearsals(self) -> int:
        return sum(1 for mark in self.days if mark.rehearsal)

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
    # The week and the session: the next one (described in the client's zone), whether the
    # period starts at the last one, the weekly choices (local day, choice) and marks to bring.
    next_session: str | None = None
    since_session: bool = False
    week_choices: list[tuple[date, str]] = field(default_factory=list)
    to_bring: list[str] = field(default_factory=list)


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


def _counts(practice: PracticeFacts) -> str:
    """How it went; reports that came with no nudge in the period (by /done) are said so, not
    counted "of 0 nudges"."""
    if practice.planned == 0 and not practice.counts:
        return t.SUMMARY_COUNTS_NONE
    text = t.SUMMARY_COUNTS if practice.planned else t.SUMMARY_COUNTS_UNNUDGED
    return text.format(
        did=practice.counts["did"],
        partly=practice.counts["partly"],
        not_today=practice.counts["not_today"],
        planned=practice.planned,
        trend=_trend(practice.tries, practice.previous["did"] + practice.previous["partly"]),
    )


def _depth_lines(practice: PracticeFacts) -> list[str]:
    """Noticings, rehearsals, rewards faded and what would make it worth doing."""
    lines = []
    if practice.noticing:
        lines.append(
            t.SUMMARY_NOTICINGS.format(
                noticed=practice.counts["did"], not_noticed=practice.counts["not_today"]
            )
        )
    if practice.rehearsals:
        lines.append(t.SUMMARY_REHEARSALS.format(count=practice.rehearsals))
    if practice.faded:
        lines.append(t.SUMMARY_FADED.format(count=len(practice.faded)))
    lines += [t.SUMMARY_WORTH.format(text=words) for _, words in practice.worth]
    return lines


def render(client: ClientFacts) -> str:
    """The summary as text for a phone: one block per practice, then what the client wrote."""
    lines = [t.SUMMARY_TITLE.format(name=client.name, since=client.since, until=client.until)]
    if client.since_session:
        lines[0] += " " + t.SUMMARY_SINCE_SESSION
    if client.next_session:
        lines.append(t.SUMMARY_NEXT_SESSION.format(when=client.next_session))
    if client.crisis:
        lines += ["", t.SUMMARY_CRISIS_TITLE, *client.crisis]
    for practice in client.practices:
        lines += ["", practice.card + (t.SUMMARY_TALK_FLAG if practice.talk_over else "")]
        lines.append(_counts(practice))
        if practice.obstacles:
            got_in_the_way = ", ".join(
                f"{t.OBSTACLES.get(k, k).lower()} × {n}"
                for k, n in practice.obstacles.most_common()
            )
            lines.append(t.SUMMARY_OBSTACLES.format(items=got_in_the_way))
        lines += _depth_lines(practice)
        lines += [t.SUMMARY_CHANGE.format(change=c) for c in practice.adjustments]
        lines += [t.SUMMARY_REFLECTION.format(text=r) for r in practice.reflections]
    if client.week_choices:
        lines.append("")
        lines += [
            t.SUMMARY_WEEK_CHOICE.format(day=day, choice=t.WEEK_CHOICE_NOTES.get(choice, choice))
            for day, choice in client.week_choices
        ]
    if client.to_bring:
        lines += ["", t.SUMMARY_TO_BRING_TITLE, *(f"“{text}”" for text in client.to_bring)]
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
    axes.set_xticks(range(len(days)), [t.short_day(d) for d in days], rotation=90)
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


def _csv_outcome(practice: PracticeFacts, mark: DayMark) -> str:
    """A day's outcome as the CSV says it: a noticing practice's are "noticed" / "not noticed",
    a rehearsed first try is marked."""
    if mark.outcome is None:
        return "no answer"
    outcome = mark.outcome
    if practice.noticing:
        outcome = {"did": "noticed", "not_today": "not noticed"}.get(outcome, outcome)
    return f"{outcome} (rehearsal)" if mark.rehearsal else outcome


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
                _csv_outcome(practice, mark),
                practice.talk_over,
            ]
            writer.writerow([safe_cell(cell) for cell in row])
        depth = [(day, "reward faded") for day in practice.faded]
        depth += [(day, f"worth doing if: {words}") for day, words in practice.worth]
        for day, what in sorted(depth, key=lambda item: item[0]):
            row = [client.name, practice.card, day.isoformat(), what, practice.talk_over]
            writer.writerow([safe_cell(cell) for cell in row])
    # The week and the session, one row each, named in the practice column.
    extra = [["weekly choice", on.isoformat(), choice] for on, choice in client.week_choices]
    extra += [["to bring", "", text] for text in client.to_bring]
    if client.next_session:
        extra.append(["next session", "", client.next_session])
    for what, when, value in extra:
        row = [client.name, what, when, value, ""]
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue().encode()
