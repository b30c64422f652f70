"""Reading the backup stand-in's log: how many backups ran at once, at most."""

from __future__ import annotations

from pathlib import Path


def most_at_once(log: Path) -> tuple[int, int]:
    """(the most backups running at one moment, how many ran in all)."""
    events = []
    for line in log.read_text().splitlines():
        kind, when, _pid = line.split()
        # at equal times an end sorts before a start: touching intervals do not overlap
        events.append((float(when), 0 if kind == "end" else 1))
    running = peak = 0
    for _when, is_start in sorted(events):
        running += 1 if is_start else -1
        peak = max(peak, running)
    return peak, sum(1 for _, is_start in events if is_start)
