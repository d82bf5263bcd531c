#!/usr/bin/env python3
"""Deterministic generator for psoxy's SYNTHETIC sample data.

Every person, email address, badge, survey answer and calendar event
produced here is invented.  Names are random first/last combinations;
the company domain is ``acme.com`` and "personal"/external addresses use
``example.org``.

Usage (from any directory):

    python3 sample-data/generate.py

Writes hris.csv, survey.csv, badge.csv and events.ndjson next to this
script.  Python 3.11 standard library only, fixed seed, no network, so
re-running produces byte-identical files.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from pathlib import Path

SEED = 20240630
OUT_DIR = Path(__file__).resolve().parent
SNAPSHOT = dt.date(2024, 6, 30)
COMPANY_DOMAIN = "acme.com"
EXTERNAL_DOMAIN = "example.org"

rng = random.Random(SEED)

# --------------------------------------------------------------------------
# Name pools (generic given names / surnames; combinations are random)
# --------------------------------------------------------------------------
FIRST_NAMES = [
    "Aaron", "Abigail", "Adam", "Aisha", "Alan", "Alice", "Amir", "Ana",
    "Andre", "Angela", "Ben", "Bianca", "Brandon", "Carla", "Carlos",
    "Chen", "Chloe", "Chris", "Claire", "Daniel", "Daria", "David", "Diana",
    "Elena", "Eli", "Emily", "Eric", "Fatima", "Felix", "Fiona", "Gabriel",
    "Grace", "Hannah", "Hiro", "Ian", "Ines", "Isaac", "Ivy", "Jack",
    "Jamal", "Jane", "Jason", "Julia", "Kai", "Karen", "Kevin", "Laura",
    "Leo", "Lina", "Lucas", "Maya", "Marco", "Megan", "Mei", "Michael",
    "Nadia", "Nathan", "Nina", "Noah", "Olivia", "Omar", "Paul", "Priya",
    "Quinn", "Rachel", "Rosa", "Ryan", "Samir", "Sofia", "Stefan", "Tara",
    "Theo", "Uma", "Victor", "Wendy", "Xavier", "Yara", "Yusuf", "Zoe",
]
LAST_NAMES = [
    "Adams", "Ahmed", "Alvarez", "Anderson", "Baker", "Banerjee", "Bauer",
    "Bennett", "Brooks", "Campbell", "Carter", "Castro", "Chang", "Cohen",
    "Collins", "Cooper", "Diaz", "Dubois", "Edwards", "Evans", "Fischer",
    "Fleming", "Foster", "Garcia", "Gomez", "Gupta", "Hansen", "Harris",
    "Hughes", "Ibrahim", "Ito", "Jensen", "Johnson", "Kaur", "Keller",
    "Khan", "Kowalski", "Larsen", "Lopez", "Martin", "Mehta", "Miller",
    "Moreau", "Murphy", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen",
    "Ortiz", "Park", "Perez", "Petrov", "Quinn", "Reed", "Reyes", "Rossi",
    "Russo", "Sato", "Schmidt", "Shah", "Silva", "Singh", "Sullivan",
    "Tanaka", "Taylor", "Thomas", "Torres", "Turner", "Varga", "Vogel",
    "Walker", "Ward", "Watson", "Weber", "Wright", "Yamamoto", "Young",
    "Zhang", "Zimmerman",
]

# External (non-company) contacts used as meeting guests; all invented.
EXTERNAL_PEOPLE = [
    ("Dana", "Whitfield"), ("Marcus", "Lindqvist"), ("Zoë", "Ångström"),
    ("Renée", "Faure"), ("Tobias", "Marlowe"), ("Ingrid", "Solberg"),
    ("Kwame", "Mensah"), ("Lucía", "Beltrán"), ("Oren", "Halevi"),
    ("Paige", "Holloway"), ("Sven", "Eriksen"), ("Mira", "Castellanos"),
]

# --------------------------------------------------------------------------
# Organisation
# --------------------------------------------------------------------------
DEPARTMENTS = {
    # name: (exec title, manager title, IC titles, relative size)
    "Engineering": ("VP, Engineering", "Engineering Manager",
                    ["Software Engineer", "Senior Software Engineer",
                     "Staff Engineer", "QA Engineer", "Site Reliability Engineer"], 30),
    "Research, Development": ("VP, Research & Development", "Research Manager",
                              ["Research Scientist", "Data Scientist",
                               "Applied Scientist", "Research Engineer"], 12),
    "Sales": ("VP, Sales", "Sales Manager",
              ["Account Executive", "Sales Development Rep",
               "Solutions Engineer", "Enterprise Account Executive"], 16),
    "Marketing": ("VP, Marketing", "Marketing Manager",
                  ["Product Marketing Manager", "Content Strategist",
                   "Growth Marketer", "Designer"], 8),
    "Customer Success": ("VP, Customer Success", "Support Manager",
                         ["Customer Success Manager", "Support Engineer",
                          "Technical Account Manager"], 12),
    "Finance": ("Chief Financial Officer", "Finance Manager",
                ["Financial Analyst", "Accountant", "Payroll Specialist"], 6),
    "People Operations": ("VP, People", "HR Business Partner Lead",
                          ["HR Business Partner", "Recruiter",
                           "People Analyst", "HR Coordinator"], 6),
    "Legal": ("General Counsel", "Legal Manager",
              ["Corporate Counsel", "Paralegal", "Privacy Analyst"], 3),
    "IT": ("Director, IT", "IT Manager",
           ["IT Support Specialist", "Systems Administrator",
            "Security Analyst"], 7),
}

LOCATIONS = {
    # city: (buildings, weight)
    "San Francisco": (["HQ-1", "HQ-2"], 35),
    "New York": (["NYC-1", "NYC-2"], 24),
    "Austin": (["AUS-1"], 12),
    "London": (["LON-1"], 12),
    "Toronto": (["TOR-1"], 9),
    "Denver": (["DEN-1"], 8),
}

N_EMPLOYEES = 300
N_EXECS = len(DEPARTMENTS)          # one head per department
N_MANAGERS = 45
N_LEAVERS = 15                      # ~5 %


def rand_date(start: dt.date, end: dt.date, skew: float = 1.0) -> dt.date:
    """Random date in [start, end]; skew > 1 biases towards `end`."""
    span = (end - start).days
    frac = rng.random() ** (1.0 / skew)
    return start + dt.timedelta(days=int(frac * span))


class Person:
    def __init__(self, first: str, last: str, level: str, dept: str):
        self.first = first
        self.last = last
        self.level = level          # ceo | exec | manager | ic
        self.dept = dept
        self.manager: Person | None = None
        self.emp_id = ""
        self.local = ""             # canonical local part (lower case)
        self.hris_email = ""        # as exported by the HRIS (may be quirky)
        self.join = SNAPSHOT
        self.leave: dt.date | None = None
        self.title = ""
        self.location = ""
        self.emp_type = "FULL_TIME"
        self.badge = ""

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def email(self) -> str:
        """Canonical lower-case address (as calendars would report it)."""
        return f"{self.local}@{COMPANY_DOMAIN}"

    @property
    def bare_hris_email(self) -> str:
        """HRIS address with any display-name wrapper removed."""
        e = self.hris_email
        if "<" in e:
            e = e[e.index("<") + 1:e.index(">")]
        return e

    def active_on(self, day: dt.date) -> bool:
        return self.join <= day and (self.leave is None or self.leave > day)


def build_people() -> list[Person]:
    used_names: set[tuple[str, str]] = set()
    # reserved "special" people so that their names never collide
    specials = {
        "mary": ("Mary", "O'Neil"),
        "ann": ("Ann", "Lee"),
        "jose": ("José", "Núñez"),
        "raj": ("Raj", "Patel"),
    }
    for fl in specials.values():
        used_names.add(fl)

    def new_name() -> tuple[str, str]:
        while True:
            fl = (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
            if fl not in used_names:
                used_names.add(fl)
                return fl

    dept_names = list(DEPARTMENTS)
    dept_weights = [DEPARTMENTS[d][3] for d in dept_names]

    people: list[Person] = []
    ceo = Person(*new_name(), "ceo", "Executive")
    ceo.title = "Chief Executive Officer"
    people.append(ceo)

    heads: dict[str, Person] = {}
    for d in dept_names:
        p = Person(*new_name(), "exec", d)
        p.manager = ceo
        p.title = DEPARTMENTS[d][0]
        heads[d] = p
        people.append(p)

    managers_by_dept: dict[str, list[Person]] = {d: [] for d in dept_names}
    for i in range(N_MANAGERS):
        if i == 7:
            fl = specials["mary"]
            d = "Engineering"
        else:
            fl = new_name()
            d = rng.choices(dept_names, dept_weights)[0]
        p = Person(*fl, "manager", d)
        peers = managers_by_dept[d]
        if peers and rng.random() < 0.3:
            p.manager = rng.choice(peers)       # second-line manager
            p.title = "Senior " + DEPARTMENTS[d][1] if rng.random() < 0.3 else DEPARTMENTS[d][1]
        else:
            p.manager = heads[d]
        p.title = p.title or DEPARTMENTS[d][1]
        peers.append(p)
        people.append(p)

    n_ic = N_EMPLOYEES - len(people)
    special_ic_slots = {11: "ann", 58: "raj", 103: "jose"}
    for i in range(n_ic):
        key = special_ic_slots.get(i)
        fl = specials[key] if key else new_name()
        d = rng.choices(dept_names, dept_weights)[0]
        if key == "jose":
            d = "Research, Development"
        p = Person(*fl, "ic", d)
        pool = managers_by_dept[d]
        p.manager = rng.choice(pool) if pool else heads[d]
        p.title = rng.choice(DEPARTMENTS[d][2])
        p.emp_type = rng.choices(["FULL_TIME", "PART_TIME", "CONTRACTOR"], [82, 7, 11])[0]
        people.append(p)

    # ---- join dates, locations --------------------------------------------
    ceo.join = dt.date(2012, 1, 3)
    ceo.location = "San Francisco"
    cities = list(LOCATIONS)
    city_w = [LOCATIONS[c][1] for c in cities]
    for p in people[1:]:
        if p.level == "exec":
            p.join = rand_date(dt.date(2012, 1, 9), dt.date(2016, 12, 31))
            p.location = rng.choice(["San Francisco", "San Francisco", "New York"])
        elif p.level == "manager":
            p.join = rand_date(dt.date(2012, 3, 1), dt.date(2022, 12, 31))
            p.location = rng.choices(cities, city_w)[0]
        else:
            p.join = rand_date(dt.date(2012, 2, 1), dt.date(2024, 6, 14), skew=1.6)
            # ICs mostly sit with their manager
            p.location = (p.manager.location if rng.random() < 0.6
                          else rng.choices(cities, city_w)[0])

    # ---- leavers (individual contributors only, so the tree stays whole) --
    ics = [p for p in people if p.level == "ic" and p.join < dt.date(2024, 3, 1)
           and p.first not in ("Ann", "Raj", "José")]
    for p in rng.sample(ics, N_LEAVERS):
        earliest = max(p.join + dt.timedelta(days=60), dt.date(2019, 1, 1))
        p.leave = rand_date(earliest, dt.date(2024, 6, 28))

    # ---- employee ids in order of joining ---------------------------------
    people.sort(key=lambda p: (p.join, p.last, p.first))
    for n, p in enumerate(people, 1):
        p.emp_id = f"E{n:04d}"

    # ---- email addresses --------------------------------------------------
    used_locals: set[str] = set()
    for p in people:
        base = (ascii_fold(p.first) + "." + ascii_fold(p.last)).lower()
        local, k = base, 2
        while local in used_locals:
            local, k = f"{base}{k}", k + 1
        used_locals.add(local)
        p.local = local
        p.hris_email = p.email

    # quirky HRIS exports
    by_name = {p.name: p for p in people}
    by_name["Mary O'Neil"].hris_email = "Mary.O'Neil@Acme.com"
    by_name["Ann Lee"].hris_email = '"Lee, Ann" <ann.lee@acme.com>'
    by_name["Raj Patel"].hris_email = "raj.patel+hr@acme.com"
    mixed = [p for p in people if p.level == "ic" and p.hris_email == p.email]
    for style, p in zip(("title", "upper", "domain", "title"), rng.sample(mixed, 4)):
        if style == "title":
            p.hris_email = f"{p.first}.{p.last}@{COMPANY_DOMAIN}"
        elif style == "upper":
            p.hris_email = p.email.upper()
        else:
            p.hris_email = f"{p.local}@Acme.Com"

    # badges: one per employee, unique 6-digit number
    numbers = rng.sample(range(100000, 1000000), len(people))
    for p, num in zip(people, numbers):
        p.badge = f"B-{num}"
    return people


def ascii_fold(s: str) -> str:
    table = str.maketrans({"é": "e", "ú": "u", "ñ": "n", "á": "a", "í": "i",
                           "ó": "o", "ë": "e", "Å": "A", "å": "a", "ö": "o"})
    return s.translate(table)


def manager_email_for(p: Person) -> str:
    m = p.manager
    if m is None:
        return ""
    # A second feed wrote Mary's address in lower case: same person, different
    # spelling -- pseudonymization must treat them as one identity.
    if m.name == "Mary O'Neil":
        return m.hris_email.lower()
    return m.hris_email


# --------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------
def write_csv(name: str, header: list[str], rows: list[list[str]]) -> None:
    with open(OUT_DIR / name, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(header)
        w.writerows(rows)


def write_hris(people: list[Person]) -> None:
    header = ["EMPLOYEE_ID", "EMPLOYEE_EMAIL", "MANAGER_ID", "MANAGER_EMAIL",
              "JOIN_DATE", "LEAVE_DATE", "DEPARTMENT", "JOB_TITLE", "LOCATION",
              "EMPLOYMENT_TYPE", "SNAPSHOT"]
    rows = []
    for p in sorted(people, key=lambda p: p.emp_id):
        rows.append([
            p.emp_id, p.hris_email,
            p.manager.emp_id if p.manager else "", manager_email_for(p),
            p.join.isoformat(), p.leave.isoformat() if p.leave else "",
            p.dept, p.title, p.location, p.emp_type, SNAPSHOT.isoformat(),
        ])
    write_csv("hris.csv", header, rows)


WEEKDAYS_JUNE = [dt.date(2024, 6, d) for d in range(1, 31)
                 if dt.date(2024, 6, d).weekday() < 5]

COMMENT_TEMPLATES = [
    "Great team, but too many meetings.",
    "My manager, {mgr}, is very supportive.",
    "Workload has been heavy since the Q2 reorg; we need more headcount.",
    'We were told the "no meetings Friday" policy would stick. It hasn\'t.',
    "Thanks to {peer} for covering for me during my leave.",
    "Build times are 40+ minutes, which kills focus.",
    "I'd like clearer career paths in {dept}.",
    "Happy to discuss further, reach me at {personal}.",
    "N/A",
    "Onboarding was smooth; {peer} was a great buddy.",
    "Pay feels below market for {city}, in my opinion.",
    'The new "hybrid" policy is confusing — 3 days? 2 days?',
    "More transparency about promotions, please.",
    "{peer} and {peer2} keep the on-call rotation sane. Kudos!",
    "Too many priorities, not enough people, and no clear owner.",
    "I feel supported, though the tooling (CI, laptops, VPN) needs work.",
    "Love the flexibility. Would recommend Acme to friends.",
    "Honestly, I'm burnt out.",
]


def write_survey(people: list[Person]) -> None:
    header = ["EMPLOYEE_ID", "EMPLOYEE_EMAIL", "SURVEY_ID", "SUBMITTED_AT",
              "Q1_ENGAGEMENT", "Q2_MANAGER_SUPPORT", "Q3_WORKLOAD", "COMMENT"]
    plan = [("ENG-2024-Q2", 205, dt.date(2024, 6, 3), dt.date(2024, 6, 14)),
            ("PULSE-2024-06", 45, dt.date(2024, 6, 17), dt.date(2024, 6, 26))]
    rows = []
    for survey_id, n, first_day, last_day in plan:
        eligible = [p for p in people if p.active_on(last_day)]
        for p in rng.sample(eligible, n):
            day = rand_date(first_day, last_day)
            while day.weekday() >= 5 and rng.random() < 0.85:
                day = rand_date(first_day, last_day)
            ts = dt.datetime.combine(day, dt.time(0)) + dt.timedelta(
                seconds=rng.randint(13 * 3600, 23 * 3600 + 59 * 60))
            q1 = rng.choices([1, 2, 3, 4, 5], [4, 8, 22, 40, 26])[0]
            q2 = max(1, min(5, q1 + rng.choice([-1, 0, 0, 1])))
            q3 = rng.choices([1, 2, 3, 4, 5], [8, 18, 34, 28, 12])[0]
            comment = ""
            if rng.random() < 0.42:
                peers = [x for x in people if x is not p and x.dept == p.dept] or people
                peer, peer2 = rng.sample(peers, 2)
                comment = rng.choice(COMMENT_TEMPLATES).format(
                    mgr=p.manager.name if p.manager else "the board",
                    peer=peer.name, peer2=peer2.name, dept=p.dept, city=p.location,
                    personal=f"{ascii_fold(p.first).lower()}{rng.randint(10, 99)}@{EXTERNAL_DOMAIN}",
                )
            rows.append([p.emp_id, p.bare_hris_email, survey_id,
                         ts.strftime("%Y-%m-%dT%H:%M:%SZ"), str(q1), str(q2), str(q3),
                         comment])
    rows.sort(key=lambda r: (r[3], r[0]))
    write_csv("survey.csv", header, rows)


def write_badge(people: list[Person]) -> None:
    header = ["EMPLOYEE_ID", "BADGE_ID", "BUILDING_ID", "SWIPE_DATE",
              "SWIPE_TIME", "DIRECTION"]
    regulars = rng.sample([p for p in people if p.emp_type != "CONTRACTOR"
                           and p.active_on(dt.date(2024, 6, 3))], 95)
    home = {p.emp_id: rng.choice(LOCATIONS[p.location][0]) for p in regulars}
    candidates = [(p, d) for p in regulars for d in WEEKDAYS_JUNE if p.active_on(d)]
    visits = rng.sample(candidates, 725)      # 700 plain days + 25 with a lunch exit
    lunch = set(range(25))

    def t(lo_min: int, hi_min: int) -> int:
        return rng.randint(lo_min * 60, hi_min * 60)

    def fmt(sec: int) -> str:
        return f"{sec // 3600:02d}:{sec % 3600 // 60:02d}:{sec % 60:02d}"

    rows = []
    for i, (p, d) in enumerate(visits):
        building = home[p.emp_id]
        if rng.random() < 0.04:                   # visiting another building
            building = rng.choice([b for bs, _ in LOCATIONS.values() for b in bs])
        swipes = [(t(7 * 60 + 15, 10 * 60 + 30), "IN")]
        if i in lunch:
            swipes += [(t(11 * 60 + 45, 12 * 60 + 30), "OUT"),
                       (t(12 * 60 + 50, 13 * 60 + 40), "IN")]
        swipes.append((t(15 * 60 + 45, 19 * 60 + 45), "OUT"))
        for sec, direction in swipes:
            rows.append([p.emp_id, p.badge, building, d.isoformat(), fmt(sec), direction])
    rows.sort(key=lambda r: (r[3], r[4], r[0]))
    write_csv("badge.csv", header, rows)


EVENT_KINDS = [
    # summary, weight, attendee range, durations, recurring probability
    ("Quarterly budget review", 3, (3, 7), [60, 90], 0.2),
    ("1:1", 10, (1, 1), [30], 0.9),
    ("Weekly {dept} sync", 8, (3, 8), [30, 45], 0.95),
    ("Sprint planning", 4, (4, 8), [60, 90], 0.8),
    ("Interview: {title}", 5, (1, 2), [45, 60], 0.0),
    ("Customer call: {customer}", 5, (1, 3), [30, 60], 0.1),
    ("Design review", 4, (2, 6), [45, 60], 0.0),
    ("Lunch & learn: {topic}", 2, (5, 9), [60], 0.0),
    ("Offsite planning", 2, (3, 6), [30, 90], 0.0),
    ("Vendor demo", 2, (1, 4), [30, 45], 0.0),
]
CUSTOMERS = ["Northwind", "Globex", "Initech", "Umbrella Labs", "Vandelay Imports"]
TOPICS = ["Rust ownership", "Privacy by design", "SQL window functions", "Negotiation"]
ROOMS = ["Room 4B", "Room 2A", "Room 7C", "Boardroom", "HQ-2 / Atrium", "NYC-1 / 12th floor",
         "LON-1 / Thames", ""]
DESCRIPTIONS = [
    "Agenda: 1) Q2 actuals, 2) forecast, 3) hiring plan.",
    "Please review the doc before the meeting. Questions to {email}.",
    "Dial-in: +1 555-0142, PIN 4471#",
    "Prep notes from {name}: bring your OKR drafts.",
    "Standing agenda — blockers, demos, \"parking lot\" items.",
    "Notes from last time are in the shared folder; {name} will take notes.",
    "Candidate packet attached. Feedback due within 24h, please.",
    "Rescheduled from Tuesday because {name} is out.",
    "Let's keep this short.\nAction items go in the tracker.",
    "",
]
RESPONSES = ["accepted", "accepted", "accepted", "tentative", "declined", "needsAction"]


def raw_number(text: str) -> str:
    """Placeholder that is swapped for the literal JSON number `text`."""
    return f"\x00RAW{text}\x00"


def dumps_exact(obj: dict) -> str:
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    # json.dumps escapes NUL as \u0000, so the placeholder is unambiguous.
    while '"\\u0000RAW' in s:
        i = s.index('"\\u0000RAW')
        j = s.index('\\u0000"', i + 10)
        s = s[:i] + s[i + 10:j] + s[j + 7:]
    return s


def write_events(people: list[Person]) -> None:
    active = [p for p in people if p.active_on(dt.date(2024, 6, 28))]
    externals = [(f"{f} {l}", f"{ascii_fold(f).lower()}.{ascii_fold(l).lower()}@{EXTERNAL_DOMAIN}")
                 for f, l in EXTERNAL_PEOPLE]
    reports: dict[str, list[Person]] = {}
    for p in active:
        if p.manager is not None:
            reports.setdefault(p.manager.emp_id, []).append(p)
    managers = [p for p in active if p.emp_id in reports]
    jose = next(p for p in people if p.first == "José")

    def person_ref(p: Person) -> tuple[str, str]:
        return p.name, p.email

    events = []
    used_slots: set[tuple[str, str]] = set()
    for n in range(200):
        kind = rng.choices(EVENT_KINDS, [k[1] for k in EVENT_KINDS])[0]
        if n == 17:                         # guaranteed non-ASCII organizer + guest
            kind = EVENT_KINDS[5]
        summary, _, (lo, hi), durations, p_recur = kind
        if summary == "1:1":
            org = rng.choice(managers)
            guests = [person_ref(rng.choice(reports[org.emp_id]))]
            summary = f"1:1 {org.first} / {guests[0][0].split()[0]}"
        else:
            org = rng.choice(active) if n != 17 else jose
            k = rng.randint(lo, hi)
            same = [x for x in active if x.dept == org.dept and x is not org]
            others = [x for x in active if x is not org]
            pool = same if len(same) >= k and rng.random() < 0.7 else others
            guests = [person_ref(x) for x in rng.sample(pool, k)]
            if summary.startswith(("Customer call", "Vendor demo", "Interview")) or rng.random() < 0.08:
                guests += rng.sample(externals, rng.randint(1, 2))
            summary = summary.format(dept=org.dept, title=rng.choice(DEPARTMENTS.get(org.dept, DEPARTMENTS["Finance"])[2]),
                                     customer=rng.choice(CUSTOMERS), topic=rng.choice(TOPICS))
        if n == 17 and ("Zoë Ångström", "zoe.angstrom@example.org") not in guests:
            guests.append(("Zoë Ångström", "zoe.angstrom@example.org"))
        duration = rng.choice(durations)
        while True:
            day = rng.choice(WEEKDAYS_JUNE)
            start = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(minutes=30 * rng.randint(0, 17))
            if (org.emp_id, start.isoformat()) not in used_slots:
                used_slots.add((org.emp_id, start.isoformat()))
                break
        end = start + dt.timedelta(minutes=duration)

        ev: dict = {
            "id": "",
            "organizer": {"email": org.email, "displayName": org.name},
            "attendees": [
                {"email": e, "displayName": name,
                 "responseStatus": rng.choice(RESPONSES),
                 "optional": rng.random() < 0.15}
                for name, e in guests
            ],
            "summary": summary,
        }
        r = rng.random()
        if r < 0.72:
            someone = rng.choice(guests)
            ev["description"] = rng.choice(DESCRIPTIONS).format(email=someone[1], name=someone[0])
        elif r < 0.76:
            ev["description"] = None
        ev["start"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        ev["end"] = end.strftime("%Y-%m-%dT%H:%M:%SZ")
        ev["durationMinutes"] = duration
        ev["durationHours"] = raw_number(f"{duration / 60:.2f}")   # e.g. 1.50, 0.50
        ev["location"] = rng.choice(ROOMS)
        ev["recurring"] = rng.random() < p_recur
        if rng.random() < 0.12 or n == 17:
            code = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(10))
            ev["conferenceData"] = {"joinUrl": f"https://meet.{EXTERNAL_DOMAIN}/{code[:3]}-{code[3:7]}-{code[7:]}"}
        events.append(ev)

    events.sort(key=lambda e: (e["start"], e["organizer"]["email"]))
    with open(OUT_DIR / "events.ndjson", "w", encoding="utf-8", newline="\n") as fh:
        for i, ev in enumerate(events, 1):
            ev["id"] = f"evt_{i:04d}"
            fh.write(dumps_exact(ev) + "\n")


def write_directory(people: list[Person]) -> None:
    """A people-directory export as one JSON array (the shape SaaS directory APIs return).
    Uses no randomness, so adding it changed none of the other samples."""
    entries = []
    for p in sorted(people, key=lambda p: p.emp_id):
        if not p.active_on(SNAPSHOT):
            continue
        number = int(p.emp_id[1:])
        entries.append({
            "id": p.emp_id,
            "primaryEmail": p.email,
            "name": {"fullName": p.name, "givenName": p.first, "familyName": p.last},
            "manager": {"email": p.manager.email} if p.manager else None,
            "orgUnit": {"department": p.dept, "title": p.title, "location": p.location},
            "phones": [{"type": "work", "value": f"+1 415 555 {number:04d}"}],
            "isAdmin": p.level in ("ceo", "exec"),
        })
    with open(OUT_DIR / "directory.json", "w", encoding="utf-8", newline="\n") as fh:
        json.dump(entries, fh, indent=1, ensure_ascii=False)
        fh.write("\n")


def main() -> None:
    people = build_people()
    write_hris(people)
    write_survey(people)
    write_badge(people)
    write_events(people)
    write_directory(people)


if __name__ == "__main__":
    main()
