"""Stand-in for ``php admin/cli/restore_backup.php --file=PATH --categoryid=N``.

The simulator does the restore (placeholder course first, user-matching precheck, then the
course) and answers the script's output and exit code, which this process prints and returns.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from sim.moodle.cli_args import parse, release_of, say, unrecognised

HELP = """{title}

Options:
-f, --file=STRING           Path to the backup file.
-c, --categoryid=INT        ID of the category to restore too.
-s, --showdebugging         Show developer level debugging information
-h, --help                  Print out this help.

Example:
$sudo -u www-data /usr/bin/php admin/cli/restore_backup.php \\
    --file=/path/to/backup/file.mbz --categoryid=1"""


def main(argv: Sequence[str]) -> int:
    args = parse(
        argv,
        known=("file", "categoryid", "showdebugging", "help"),
        short={"f": "file", "c": "categoryid", "s": "showdebugging", "h": "help"},
    )
    if args.unrecognised:
        return unrecognised(args)
    options = args.options
    if "help" in options or not options.get("file") or not options.get("categoryid"):
        say(HELP.format(title=release_of(args).restore_help))
        return 0
    backup = Path(options["file"])
    if not backup.is_file():
        say("!!! File not found !!!")
        return 1
    if not options["categoryid"].isdigit():
        say("!!! Invalid parameter value detected !!!")
        return 1
    url = f"{args.sim_url}/{args.platform}/_sim/restore"
    with httpx.Client(timeout=600.0) as http:
        answer = http.post(
            url, params={"categoryid": options["categoryid"]}, content=backup.read_bytes()
        )
    answer.raise_for_status()
    outcome = answer.json()
    say(outcome["stdout"])
    return int(outcome["exit_code"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
