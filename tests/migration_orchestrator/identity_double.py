"""A stand-in for identity's ``POST /identity/v1/restore-check`` until that service lands:
it answers from the simulator's own replay of Moodle's restore user matching, on the target."""

from __future__ import annotations

import json

import httpx

from sim.moodle.restore_users import BackupUser, match_users
from sim.moodle.state import SimMoodle


def _backup_user(raw: dict[str, object]) -> BackupUser:
    return BackupUser(
        id=int(str(raw["id"])),
        username=str(raw["username"]),
        email=str(raw.get("email") or ""),
        firstname=str(raw.get("firstname") or ""),
        lastname=str(raw.get("lastname") or ""),
        idnumber=str(raw.get("idnumber") or ""),
        auth=str(raw.get("auth") or "manual"),
        firstaccess=int(str(raw.get("firstaccess") or 0)),
        deleted=bool(raw.get("deleted")),
    )


def restore_check_transport(sim: SimMoodle) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/identity/v1/restore-check":
            return httpx.Response(404)
        body = json.loads(request.content)
        platform = sim[body["platform"]]
        users = [_backup_user(u) for u in body["users"]]
        matching = match_users(
            platform, users, same_site=False, site_hash=body["original_site_identifier_hash"] or ""
        )
        conflicted = {p.split(": ", 1)[1] for p in matching.problems}
        rows = []
        for user in users:
            if user.username in conflicted:
                outcome, target = "conflict", None
            elif matching.mapping.get(user.id) is None:
                outcome, target = "will_be_created", None
            else:
                outcome, target = "maps_to_existing", matching.mapping[user.id]
            rows.append(
                {
                    "backup_user_id": user.id,
                    "username": user.username,
                    "outcome": outcome,
                    "target_user_id": target,
                    "case": "2D" if outcome == "conflict" else None,
                    "conflict_id": f"c-{user.username}" if outcome == "conflict" else None,
                    "reason": "same username, other e-mail" if outcome == "conflict" else None,
                    "reason_fr": "même identifiant, autre adresse"
                    if outcome == "conflict"
                    else None,
                }
            )
        counts = {
            "maps": sum(r["outcome"] == "maps_to_existing" for r in rows),
            "creates": sum(r["outcome"] == "will_be_created" for r in rows),
            "conflicts": sum(r["outcome"] == "conflict" for r in rows),
        }
        return httpx.Response(
            200,
            json={
                "platform": body["platform"],
                "clean": counts["conflicts"] == 0,
                "counts": counts,
                "users": rows,
            },
        )

    return httpx.MockTransport(answer)
