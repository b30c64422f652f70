"""All four services, the Moodle simulator and demo data in one process (``fusion run``).

The same service code as the distributed mode; only the configuration differs: SQLite files
under the data directory, the in-process bus, the simulator standing in for the platforms.

The simulator lives in memory, so the services' databases start afresh with it on every start:
a ledger that remembers enrolments the simulator has forgotten would make the next runs lie
("adds 0"). Only the generated Apogée (read only, the same on every start) is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import SecretStr

from fusion.asgi import HostedApp, PrefixDispatcher
from fusion.observability import metrics_response
from fusion.settings import MoodlePlatform
from fusion.settings_errors import InvalidSettings
from fusion.web.i18n import LANGUAGE_COOKIE
from launcher import demo_activity
from launcher.allinone_workers import running_workers, worker_settings
from launcher.demo_activity import USER01_STAFF_NUMBER
from launcher.registry import SERVICES, ServiceEntry
from sim.moodle.app import create_sim_app
from sim.moodle.demo import DEMO_BACKUPS, DEMO_TOKENS, HISTORICAL, seed_demo
from sim.moodle.platform import Platform
from sim.moodle.state import SimMoodle


@dataclass(frozen=True)
class AllInOne:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("var")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def sqlite_url(self, name: str) -> str:
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{name}.db').resolve()}"

    def reset_world(self) -> list[Path]:
        """Remove the services' databases (not the generated Apogée); the files removed."""
        removed = []
        for entry in SERVICES.values():
            if entry.name == "apogee_api":
                continue
            for suffix in ("", "-wal", "-shm", "-journal"):
                path = self.data_dir / f"{entry.name}.db{suffix}"
                if path.exists():
                    path.unlink()
                    removed.append(path)
        return removed


RESET_NOTICE = (
    "Monde de démonstration remis à zéro (bases des services et simulateur ensemble) / "
    "demo world reset: the services' databases start afresh with the in-memory simulator"
)


def refuse_production(environ: Mapping[str, str]) -> None:
    """``fusion run`` serves the simulator and honours demo tokens: never in production."""
    if environ.get("FUSION_ENVIRONMENT", "").strip().lower() == "production":
        raise InvalidSettings(
            "fusion run is the all-in-one development mode (simulator, demo tokens): refused "
            "with FUSION_ENVIRONMENT=production; use fusion serve SERVICE",
            message_fr="fusion run est le mode tout-en-un de développement (simulateur, jetons "
            "de démonstration) : refusé avec FUSION_ENVIRONMENT=production ; utilisez fusion "
            "serve SERVICE",
        )


def service_overrides(entry: ServiceEntry, config: AllInOne) -> dict[str, Any]:
    """Settings that make one service run inside the all-in-one process."""
    overrides: dict[str, Any] = {
        "environment": "development",
        "demo_tokens": True,
        "log_json": False,
        "database_url": config.sqlite_url(entry.name),
        "database_create_tables": True,
        "bus_url": "memory://fusion",
    }
    if entry.name == "apogee_api":
        overrides["database_url"] = config.sqlite_url("apogee")
    if entry.name in ("identity", "migration_orchestrator", "enrolment_sync"):
        overrides["platforms"] = demo_platforms(config)
    if entry.name == "migration_orchestrator":
        overrides |= demo_pages(config)
        overrides |= {
            "apogee_url": config.base_url,
            "identity_url": config.base_url,
            "store_dir": config.data_dir.resolve() / "backups",
            "inprocess_workers": ["ub1", "ub2", "ub4"],
            "workers_orchestrator_url": config.base_url,
            "workers_dir": config.data_dir.resolve() / "worker",
        }
    if entry.name == "enrolment_sync":
        overrides |= {
            "apogee_url": config.base_url,
            "apogee_token": "demo-service",
            "target_platform": "target",
        }
    fields = entry.settings_class().model_fields
    return {key: value for key, value in overrides.items() if key in fields}


DEMO_TEACHERS = ("prof1", "prof2", "prof3", "prof4", "prof5")
DEMO_SUPPORT = "support"


def demo_pages(config: AllInOne) -> dict[str, Any]:
    """The pages with a development login as the demo teachers or the support team."""
    return {
        "web_secret_key": "all-in-one-development-key-not-secret",
        "web_dev_login": True,
        "web_dev_users": [*DEMO_TEACHERS, DEMO_SUPPORT],
        "web_admins": [DEMO_SUPPORT],
        "web_cookie_secure": False,  # plain http on 127.0.0.1
        "pages_apogee_url": config.base_url,
        "pages_apogee_token": "demo-service",
        "pages_sync_url": config.base_url,
        "pages_sync_token": "demo-service",
        "pages_sync_plugin_token": "demo-plugin",
        "pages_identity_url": config.base_url,
        "pages_identity_token": "demo-admin",
        "pages_target_platform": "target",
    }


def demo_platforms(config: AllInOne) -> list[MoodlePlatform]:
    """The simulator's platforms, with its CLI stand-ins in place of Moodle's own scripts."""
    platforms = []
    for name, token in DEMO_TOKENS.items():
        stand_in = f"{sys.executable} -m sim.moodle.cli_{{}} --sim-url={config.base_url}/sim "
        stand_in += f"--platform={name} "
        platforms.append(
            MoodlePlatform(
                name=name,
                label=f"Moodle {name.upper()} (simulateur)",
                url=f"{config.base_url}/sim/{name}",
                token=SecretStr(token),
                backup_command=stand_in.format("backup")
                + "--courseid={courseid} --destination={destination}",
                restore_command=stand_in.format("restore")
                + "--file={file} --categoryid={categoryid}",
                # The simulated target's manual enrolments have Moodle 4.4+'s welcome message off.
                welcome_messages_off=name == "target",
            )
        )
    return platforms


def service_settings(entry: ServiceEntry, config: AllInOne) -> Any:
    return entry.settings_class()(**service_overrides(entry, config))


# The landing page in each language; the choice is the pages' own cookie, so it carries over.
_LANDING_TEXT = {
    "fr": {
        "title": "Fusion — tout-en-un",
        "intro": "Les quatre services tournent dans ce processus (mode de développement, "
        "données de démonstration remises à zéro à chaque démarrage).",
        "open": "Ouvrir Fusion",
        "open_what": "mes cours, créer mon espace de cours, administration (connexion de "
        "démonstration : les enseignants prof1 à prof5, l'équipe d'appui support).",
        "api": "API (pour les développeurs)",
        "apis": ("API Apogée", "Identités", "Migrations", "Synchronisation des inscriptions"),
        "tokens": "Jetons de démonstration",
        "header": "en-tête",
        "other": ("en", "English"),
    },
    "en": {
        "title": "Fusion — all-in-one",
        "intro": "All four services run in this process (development mode, demo data reset "
        "at every start).",
        "open": "Open Fusion",
        "open_what": "my courses, create my course space, administration (demo sign-in: "
        "teachers prof1 to prof5, the support team support).",
        "api": "APIs (for developers)",
        "apis": ("Apogée API", "Identities", "Migrations", "Enrolment synchronisation"),
        "tokens": "Demo tokens",
        "header": "header",
        "other": ("fr", "Français"),
    },
}
_API_PREFIXES = ("apogee", "identity", "migrations", "sync")


def landing_page(language: str) -> str:
    text = _LANDING_TEXT[language]
    other, other_name = text["other"]
    apis = "\n".join(
        f'<li><a href="/{prefix}/docs">{name}</a> — <code>/{prefix}/v1/</code></li>'
        for prefix, name in zip(_API_PREFIXES, text["apis"], strict=True)
    )
    return f"""<!doctype html>
<html lang="{language}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Fusion</title></head>
<body><main>
<p><a href="/?lang={other}" hreflang="{other}" lang="{other}">{other_name}</a></p>
<h1>{text["title"]}</h1>
<p>{text["intro"]}</p>
<p><a href="/migrations/pages/"><strong>{text["open"]}</strong></a> — {text["open_what"]}</p>
<h2>{text["api"]}</h2>
<ul>
{apis}
</ul>
<p>{text["tokens"]} : <code>demo-admin</code>, <code>demo-plugin</code>,
<code>demo-service</code> ({text["header"]} <code>Authorization: Bearer …</code>).</p>
</main></body></html>"""


def root_app(config: AllInOne | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if config is None:
            yield
            return
        workers = worker_settings(
            base_url=config.base_url,
            platforms=demo_platforms(config),
            work_dir=config.data_dir.resolve() / "worker",  # the CLI takes absolute paths
            bus_url="memory://fusion",
        )
        async with running_workers(workers):
            # The server listens once every lifespan has started: the demo waits for it.
            task = asyncio.create_task(
                demo_activity.play_in_background(
                    config.base_url,
                    data_dir=config.data_dir,
                    platforms=[p.name for p in workers.platforms],
                )
            )
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="Fusion (all-in-one)",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )

    @app.get("/", response_class=HTMLResponse)
    async def landing(request: Request, lang: str | None = None) -> HTMLResponse:
        """French first; ``?lang=`` switches and is remembered in the pages' language cookie."""
        chosen = lang if lang in _LANDING_TEXT else request.cookies.get(LANGUAGE_COOKIE)
        language = chosen if chosen in _LANDING_TEXT else "fr"
        response = HTMLResponse(landing_page(language))
        if lang in _LANDING_TEXT:
            response.set_cookie(
                LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, path="/", samesite="lax"
            )
        return response

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "services": sorted(SERVICES)}

    @app.get("/metrics")
    async def metrics() -> Response:
        return metrics_response()

    return app


async def prepare_demo_data(config: AllInOne) -> None:
    """A synthetic Apogée at demo scale, made once: the same data on every start."""
    from sim.apogee.generator import generate

    config.data_dir.mkdir(parents=True, exist_ok=True)
    target = config.data_dir / "apogee.db"
    if target.exists():
        return
    partial = config.data_dir / "apogee-partial.db"  # an interrupted start leaves no half file
    partial.unlink(missing_ok=True)
    await generate(config.sqlite_url("apogee-partial"), scale="demo")
    partial.rename(target)


def moodle_simulator(config: AllInOne) -> HostedApp:
    """The platforms under ``/sim/<platform>/``, seeded with demo courses and users."""
    sim = SimMoodle()
    seed_demo(sim, base_url=f"{config.base_url}/sim", fixtures=DEMO_BACKUPS)
    apogee_db = config.data_dir / "apogee.db"
    seed_target_students(sim["target"], apogee_db)
    for name in HISTORICAL:
        align_student_names(sim[name], apogee_db)
    # user01, a member of staff in the demo directory, has its staff number on the merged
    # platform (CAS fills idnumber), with the old e-mail and name that block CS01's restore
    target = sim["target"]
    target.users[target.user_by_username["user01"]].idnumber = USER01_STAFF_NUMBER
    return HostedApp(create_sim_app(sim), root_path="/sim")


def _apogee_students(apogee_db: Path) -> list[tuple[str, str, str]]:
    """(COD_ETU, first name, last name) of every student of the demo Apogée."""
    if not apogee_db.exists():
        return []
    with sqlite3.connect(f"file:{apogee_db}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT cod_etu, lib_pr1_ind, coalesce(lib_nom_usu_ind, lib_nom_pat_ind) "
            "FROM individu WHERE cod_etu IS NOT NULL ORDER BY cod_etu"
        ).fetchall()
    return [(str(cod_etu), str(first), str(last)) for cod_etu, first, last in rows]


def align_student_names(platform: Platform, apogee_db: Path) -> None:
    """The simulated students of a historical platform carry the names Apogée (and so the
    demo directory) gives their student number, as a university's CAS-fed accounts do: the
    demo's identity conflicts are then the few real ones (changed e-mails, the fixture's
    user01), not a made-up name for every student."""
    names = {cod_etu: (first, last) for cod_etu, first, last in _apogee_students(apogee_db)}
    for user in platform.users.values():
        if user.idnumber in names:
            first, last = names[user.idnumber]
            user.firstname, user.lastname = first.title(), last.title()


def seed_target_students(target: Platform, apogee_db: Path, *, without_account: int = 30) -> None:
    """The demo Apogée's students hold CAS accounts on the target (idnumber = COD_ETU), all but
    one in ``without_account``, so a sync shows both enrolments and missing accounts."""
    if not apogee_db.exists():
        return
    with sqlite3.connect(f"file:{apogee_db}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT cod_etu, lib_pr1_ind, coalesce(lib_nom_usu_ind, lib_nom_pat_ind) "
            "FROM individu WHERE cod_etu IS NOT NULL ORDER BY cod_etu"
        ).fetchall()
    for index, (cod_etu, first, last) in enumerate(rows):
        if index % without_account == without_account - 1:
            continue
        target.add_user(
            f"e{cod_etu}",
            first.title(),
            last.title(),
            f"e{cod_etu}@etu.univ-demo.fr",
            idnumber=str(cod_etu),
            auth="cas",
        )


def build(config: AllInOne) -> PrefixDispatcher:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    apps = {
        entry.prefix: HostedApp(entry.create_app(service_settings(entry, config)))
        for entry in SERVICES.values()
    }
    apps["/sim"] = moodle_simulator(config)
    return PrefixDispatcher(apps, fallback=HostedApp(root_app(config)))
