"""A generated university population with a known answer, for identity's tests and benchmark.

Persons carry French names (accents, ligatures, particles, compound and married names); the
directory gives students an INE and a supannEtuId and staff a supannEmpId. Four platforms hold
their accounts, each with its own habits (idnumber kept or not, names upper-cased or without
accents), and the generator injects, on purpose and on record: e-mail drift, name drift
(married names, typos), old usernames, a username taken by two persons, duplicate accounts on
one platform and external accounts that no directory knows. ``truth`` says which person each
account belongs to; ``expected`` lists every injected conflict.
"""

from __future__ import annotations

import random
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field, replace
from functools import lru_cache

from services.identity.records import AccountFacts, DirectoryEntry


def _words(text: str) -> list[str]:
    return text.split()


PLATFORMS = ("ub1", "ub2", "ub3", "target")
DOMAIN = "u-bordeaux.fr"
GIVEN = _words(
    "Élodie Hélène Chloé Zoé Gaëlle Anaïs Léa Cécile Thérèse Agnès Inès Aurélie Océane Bérénice "
    "Ségolène Adèle Amélie Noémie Maëlys Clémence Émilie Mélanie Sophie Camille Manon Julie "
    "Jérôme François Benoît Loïc Maël Joël Raphaël Timothée Clément Mathéo Noël Stéphane "
    "Hervé Gaël Jean Pierre Louis Hugo Lucas Nicolas Thomas Antoine Julien Rémi Aurélien Cédric "
    "Jean-Pierre Marie-Claire Anne-Sophie Pierre-Yves Jean-Luc Marie-Hélène Jean-François"
)
SURNAMES = _words(
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
    "Lefèvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Mercier "
    "Dupont Lambert Bonnet François Legrand Garnier Faure Rousseau Blanc Guérin Müller Boucher "
    "Lœuillet Cœurdevey Strauß Lætitia Nguyen Da_Silva Le_Goff De_La_Fontaine N'Diaye Ben_Ali "
    "Bénard Chevalier Gauthier Perrin Clément Mathieu Brun Ferré Lefèbvre Hébert Noël Joly"
)
_PREFIXES = _words("Ber Mar Du Le Fau Gi Ro Char Mo Bou La Ca Pe Lou Ver Thi Che Dé Gré Mé Sé Bé")
_SUFFIXES = _words("nard tin pont roux chet rand vier lier nier zac geot quet bert mont det ssier")
_MIDDLES = _words("ra li mo ve ta ni cha bé lo gue sa ri do pa")
FOREIGN = _words("Smith Kowalski Yamada Okafor Johansson Papadopoulos Schmidt Rossi Novak Silva")
FOREIGN_GIVEN = _words("John Anna Kenji Chidi Erik Eleni Lukas Giulia Petra Ana")


@lru_cache(maxsize=10_000)
def _ascii(text: str) -> str:
    text = text.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss").replace("Œ", "Oe")
    bare = unicodedata.normalize("NFKD", text)
    return "".join(c for c in bare if not unicodedata.combining(c))


@lru_cache(maxsize=10_000)
def _login_part(text: str) -> str:
    return "".join(c for c in _ascii(text).lower() if c.isalnum())


@dataclass
class Population:
    persons: list[DirectoryEntry]
    accounts: list[AccountFacts]
    truth: list[int | None]  # account index → person index (None: nobody in the directory)
    expected: dict[str, set[tuple[object, ...]]] = field(default_factory=lambda: defaultdict(set))

    def true_pairs(self) -> set[tuple[int, int]]:
        return {(a, p) for a, p in enumerate(self.truth) if p is not None}


class _Generator:
    def __init__(self, size: int, seed: int, presence: float) -> None:
        self.rng = random.Random(seed)
        self.size = size
        self.presence = presence
        self.uids: set[str] = set()
        self.mails: set[str] = set()
        self.counters: dict[str, int] = {}
        self.next_id = dict.fromkeys(PLATFORMS, 100)
        self.pop = Population([], [], [])

    def surname(self) -> str:
        rng = self.rng
        if rng.random() < 0.35:
            base = rng.choice(SURNAMES).replace("_", " ")
        else:
            middle = rng.choice(_MIDDLES) if rng.random() < 0.9 else ""
            base = rng.choice(_PREFIXES) + middle + rng.choice(_SUFFIXES)
        if rng.random() < 0.06:
            base += "-" + rng.choice(SURNAMES).replace("_", " ")
        return base

    def unique(self, taken: set[str], stem: str) -> str:
        n = self.counters.get(stem, 1)
        value = stem if n == 1 else f"{stem}{n}"
        while value in taken:
            n += 1
            value = f"{stem}{n}"
        self.counters[stem] = n + 1
        taken.add(value)
        return value

    def person(self, number: int) -> DirectoryEntry:
        rng = self.rng
        given, sn = rng.choice(GIVEN), self.surname()
        uid = self.unique(self.uids, (_login_part(given)[0] + _login_part(sn))[:16])
        local = self.unique(self.mails, f"{_login_part(given)}.{_login_part(sn)}")
        student = rng.random() < 0.7
        return DirectoryEntry(
            uid=uid,
            mail=f"{local}@{DOMAIN}",
            sn=sn,
            given_name=given,
            etu_id=f"{21000000 + number}" if student else "",
            emp_id="" if student else f"E{100000 + number}",
            ine=f"{1000000000 + number}{chr(65 + number % 26)}" if student else "",
            ref_ids=() if student else (f"{{SIHAM:FCT}}S{number:07d}",),
            eppn=f"{uid}@{DOMAIN}",
        )

    def account(self, platform: str, person: DirectoryEntry) -> AccountFacts:
        moodle_id = self.next_id[platform]
        self.next_id[platform] += 1
        first, last = person.given_name, person.sn
        idnumber = person.canonical_idnumber
        if platform == "ub2":  # an old platform: upper-case surnames, no accents, no idnumber
            first, last, idnumber = _ascii(first), _ascii(last).upper(), ""
        elif platform == "ub3":  # students known there by INE
            first, idnumber = _ascii(first), person.ine or person.emp_id
        firstaccess = self.rng.randrange(1_400_000_000, 1_700_000_000)
        return AccountFacts(
            platform, moodle_id, person.uid, person.mail, first, last, idnumber, "cas", firstaccess
        )

    def add(self, account: AccountFacts, person: int | None) -> int:
        self.pop.accounts.append(account)
        self.pop.truth.append(person)
        return len(self.pop.accounts) - 1


def _drift(gen: _Generator, position: int, person: DirectoryEntry) -> None:
    """Inject at most one drift into an account, and record it."""
    rng, pop = gen.rng, gen.pop
    account = pop.accounts[position]
    where = (account.platform, account.moodle_id)
    roll = rng.random()
    if roll < 0.06:  # an address from an older domain, or a personal one
        local = person.mail.split("@")[0]
        email = rng.choice([f"{local}@etu.u-bordeaux2.fr", f"{local}@laposte.net"])
        pop.accounts[position] = replace(account, email=email)
        pop.expected["email_drift"].add(where)
    elif roll < 0.09 and account.idnumber:  # married name on the platform, birth name kept
        married = rng.choice(SURNAMES).replace("_", " ")
        pop.accounts[position] = replace(account, lastname=f"{married}-{account.lastname}")
        pop.expected["name_drift"].add(where)
    elif roll < 0.11:  # a typo in the given name
        given = account.firstname
        typo = given[:-1] + ("a" if _ascii(given[-1]) == "e" else "e")
        pop.accounts[position] = replace(account, firstname=typo)
        pop.expected["name_drift"].add(where)
    elif roll < 0.16 and not account.idnumber:  # no key left: a personal address, a login
        year = rng.randrange(2008, 2020)  # with a year, names only and some resemblance
        email = f"{_login_part(person.given_name)}{year}@gmail.com"
        pop.accounts[position] = replace(account, username=f"{person.uid}_{year}", email=email)
        pop.expected["email_drift"].add(where)
    elif roll < 0.19:  # an old login scheme
        old = f"{_login_part(person.given_name)}.{_login_part(person.sn)}"
        pop.accounts[position] = replace(account, username=old)


def _duplicate(gen: _Generator, position: int, person: int) -> None:
    account = gen.pop.accounts[position]
    entry = gen.pop.persons[person]
    moodle_id = gen.next_id[account.platform]
    gen.next_id[account.platform] += 1
    second = replace(
        account, moodle_id=moodle_id, username=f"{entry.uid}.old", auth="manual", firstaccess=0
    )
    gen.add(second, person)
    for kind in ("email_drift", "name_drift"):  # the copy carries the original's drift
        if (account.platform, account.moodle_id) in gen.pop.expected[kind]:
            gen.pop.expected[kind].add((account.platform, moodle_id))
    gen.pop.expected["platform_duplicate"].add((account.platform, entry.uid))


def _collide(gen: _Generator, by_uid_stem: dict[str, list[int]]) -> None:
    """Two persons whose logins share a stem: the second one's account takes the first's."""
    pop = gen.pop
    pairs = [people for people in by_uid_stem.values() if len(people) >= 2]
    positions_of: dict[int, list[int]] = defaultdict(list)
    for position, person in enumerate(pop.truth):
        if person is not None:
            positions_of[person].append(position)
    for owner, intruder in (p[:2] for p in pairs[: max(1, len(pairs) // 8)]):
        positions, owned = positions_of[intruder], positions_of[owner]
        if not positions or not owned:
            continue
        taken = pop.persons[owner].uid
        if not any(pop.accounts[i].username == taken for i in owned):
            continue
        mine = pop.persons[intruder].mail
        # (mnethostid, username) is unique in Moodle: never on a platform where it is taken
        taken_on = {pop.accounts[i].platform for i in owned if pop.accounts[i].username == taken}
        position = next(
            (
                i
                for i in positions
                if pop.accounts[i].email == mine and pop.accounts[i].platform not in taken_on
            ),
            -1,
        )
        if position < 0:
            continue
        pop.accounts[position] = replace(pop.accounts[position], username=taken)


def _externals(gen: _Generator, count: int) -> None:
    for n in range(count):
        platform = gen.rng.choice(PLATFORMS[:3])
        given, last = gen.rng.choice(FOREIGN_GIVEN), gen.rng.choice(FOREIGN)
        moodle_id = gen.next_id[platform]
        gen.next_id[platform] += 1
        account = AccountFacts(
            platform,
            moodle_id,
            f"ext{n}{last.lower()}",
            f"{given.lower()}.{last.lower()}{n}@partner.example",
            given,
            last,
            "",
            "manual",
        )
        gen.add(account, None)
        gen.pop.expected["no_person"].add((platform, moodle_id))


def expected_username_conflicts(pop: Population) -> None:
    usernames: dict[int, set[str]] = defaultdict(set)
    holders: dict[str, set[int]] = defaultdict(set)
    for account, person in zip(pop.accounts, pop.truth, strict=True):
        if person is not None:
            usernames[person].add(account.username.lower())
            holders[account.username.lower()].add(person)
    for username, persons in holders.items():
        if len(persons) > 1:
            pop.expected["username_shared"].add((username,))
    for person, names in usernames.items():
        if len(names) > 1:
            pop.expected["username_multiple"].add((pop.persons[person].uid,))


def expected_restore_blockers(pop: Population, target: str = "target") -> None:
    """What restoring any source account onto ``target`` would do (moodle.md §9, other site):
    its username held there with another e-mail and first access is a conflict (2D); a person
    who has a target account under another username would be created again (2E)."""
    on_target = {a.username: a for a in pop.accounts if a.platform == target}
    persons_on_target = {
        p
        for a, p in zip(pop.accounts, pop.truth, strict=True)
        if a.platform == target and p is not None
    }
    for account, person in zip(pop.accounts, pop.truth, strict=True):
        if account.platform == target:
            continue
        where = (account.platform, account.moodle_id)
        held = on_target.get(account.username)
        if held is not None:
            same_access = held.firstaccess != 0 and held.firstaccess == account.firstaccess
            if held.email.lower() != account.email.lower() and not same_access:
                pop.expected["restore_conflict"].add(where)
        elif person is not None and person in persons_on_target:
            pop.expected["restore_duplicate"].add(where)


def generate_population(
    size: int = 2000, *, seed: int = 7, presence: float = 0.6, drift: bool = True
) -> Population:
    """``size`` persons, each on every platform with probability ``presence`` (at least one)."""
    gen = _Generator(size, seed, presence)
    pop = gen.pop
    pop.persons.extend(gen.person(n) for n in range(size))
    by_stem: dict[str, list[int]] = defaultdict(list)
    for number, person in enumerate(pop.persons):
        by_stem[person.uid.rstrip("0123456789")].append(number)
        where = [p for p in PLATFORMS if gen.rng.random() < presence] or [PLATFORMS[0]]
        for platform in where:
            position = gen.add(gen.account(platform, person), number)
            if drift:
                _drift(gen, position, person)
        if drift and gen.rng.random() < 0.02:
            _duplicate(gen, position, number)
    if drift:
        _collide(gen, by_stem)
        _externals(gen, max(1, size // 50))
    expected_username_conflicts(pop)
    expected_restore_blockers(pop)
    return pop
