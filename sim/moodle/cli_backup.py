"""Stand-in for ``php admin/cli/backup.php``: same options, same output, same exit codes.

``python -m sim.moodle.cli_backup --sim-url=http://127.0.0.1:8000/sim --platform=ub1
--courseid=2 --destination=/tmp/backups``
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from sim.moodle.cli_args import parse, release_of, say, unrecognised

HELP = """{title}

Options:
--courseid=INTEGER          Course ID for backup.
--courseshortname=STRING    Course shortname for backup.
--destination=STRING        Path where to store backup file. If not set the backup
                            will be stored within the course backup file area.
-h, --help                  Print out this help.

Example:
$sudo -u www-data /usr/bin/php admin/cli/backup.php --courseid=2 --destination=/moodle/backup/"""


def main(argv: Sequence[str]) -> int:
    args = parse(
        argv, known=("courseid", "courseshortname", "destination", "help"), short={"h": "help"}
    )
    if args.unrecognised:
        return unrecognised(args)
    options = args.options
    if "help" in options or not (options.get("courseid") or options.get("courseshortname")):
        say(HELP.format(title=release_of(args).backup_help))
        return 0
    destination = options.get("destination")
    if destination is not None and not _writable_dir(Path(destination)):
        say("Destination directory does not exists or not writable.")
        return 0  # backup.php dies without a status here (sic)
    return _backup(args.sim_url, args.platform, options, destination)


def _writable_dir(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


def _backup(sim_url: str, platform: str, options: dict[str, str], destination: str | None) -> int:
    query: dict[str, str] = {k: options[k] for k in ("courseid", "courseshortname") if k in options}
    url = f"{sim_url}/{platform}/_sim/backup"
    with httpx.Client(timeout=120.0) as http, http.stream("POST", url, params=query) as answer:
        if answer.status_code == 422:
            refused = (answer.read(), answer.json())[1]
            say(refused["stdout"])
            return int(refused["exit_code"])
        answer.raise_for_status()
        say("== Performing backup... ==")
        if destination is None:
            say("Backup completed, the new file is listed in the backup area of the given course")
            return 0
        target = Path(destination) / answer.headers["x-sim-filename"]
        with target.open("wb") as out:
            for chunk in answer.iter_bytes():
                out.write(chunk)
    say(f"Writing {target}")
    say("Backup completed.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
