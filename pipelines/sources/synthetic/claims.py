"""Patients, their encounters and claims, simulated chronologically one patient at a time.

A patient gets an indication, a payer and a pain physician, a consult, one or more series of
64520 blocks over up to two years (cpt-64520.md §8.1 episode pattern) and background care (PT,
follow-ups, imaging, labs, other injections) so that most lines of the extract are not 64520.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cache

import polars as pl

from data_contracts import codes
from data_contracts.input_contract import TARGET_CPT, column_names
from pipelines.sources.synthetic import notes as note_text
from pipelines.sources.synthetic.notes import NoteFacts
from pipelines.sources.synthetic.outcomes import (
    CLAIM_LEVEL_CAUSES,
    LineContext,
    combine,
    companion_hazards,
    denial_codes,
    eligibility_hazard,
    line_hazards,
)
from pipelines.sources.synthetic.world import (
    COMORBIDITIES,
    END_DAY,
    HEADER_CODES,
    NON_FACILITY_POS,
    PAYERS,
    PENDING_DAY,
    POS_CODES,
    START_DAY,
    Indication,
    Payer,
    PolicyChange,
    Provider,
    checked_indications,
    day_number,
    fee_table,
    payer_convention,
    payer_policy_on,
    payer_requires_auth,
)

TARGET = TARGET_CPT
# Column-1 codes that may share a claim with 64520 (§2b); the indicator is read from the table.
COL1_CANDIDATES: tuple[str, ...] = ("64633", "64635", "64680", "20553", "64624", "62280")
MEDICARE_DEDUCTIBLE: dict[int, int] = {2024: 24000, 2025: 25700, 2026: 28300}  # cents


@cache
def ncci_with_64520() -> tuple[dict[str, int], dict[str, int]]:
    """Active practitioner PTP edits: codes bundled into 64520, and codes 64520 is bundled into."""
    frame = codes.ncci_ptp_pairs().filter(
        (pl.col("table") == "ncci_ptp_prac") & (pl.col("deletion_date") > pl.date(2026, 12, 31))
    )
    col2 = dict(
        frame.filter(pl.col("ptp_type") == "Comprehensive")
        .select("other_code", "modifier_indicator")
        .iter_rows()
    )
    col1 = dict(
        frame.filter(pl.col("ptp_type") == "Component")
        .select("other_code", "modifier_indicator")
        .iter_rows()
    )
    return col2, col1


@cache
def col1_codes() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Candidate column-1 codes split by modifier indicator (1 bypassable, 0 not)."""
    _, col1 = ncci_with_64520()
    bypassable = tuple(c for c in COL1_CANDIDATES if col1.get(c) == 1)
    unbypassable = tuple(c for c in COL1_CANDIDATES if col1.get(c) == 0)
    return bypassable, unbypassable


@dataclass
class Line:
    """One claim line before it is written."""

    code: str
    mods: tuple[str, ...] = ()
    units: int = 1
    kind: str = "other"
    fee_factor: float = 1.0  # bilateral 150%, second procedure 50%
    reduction_factor: float = 1.0


@dataclass
class PatientState:
    """What the simulation remembers about a patient while walking through time."""

    block_days: list[int] = field(default_factory=list)
    payers_seen: set[str] = field(default_factory=set)
    auth_uses: dict[str, int] = field(default_factory=dict)
    deductible_left: dict[int, int] = field(default_factory=dict)


class ChunkSimulator:
    """Generates the rows of one chunk of patients into column lists."""

    def __init__(
        self,
        r: random.Random,
        providers: tuple[Provider, ...],
        other_npis: tuple[str, ...],
        counters: dict[str, int],
        payers: tuple[Payer, ...] = PAYERS,
        planted: tuple[PolicyChange, ...] = (),
    ) -> None:
        self.r = r
        self.payers = payers
        self.planted = {c.payer_id: c for c in planted}
        # The planted change in force for each truth row (None before it or for other payers).
        self.truth_policy: list[str | None] = []
        self.providers = providers
        self.other_npis = other_npis
        self.counters = counters
        self.fees = fee_table()
        self.col2_edits, _ = ncci_with_64520()
        self.bypassable, self.unbypassable = col1_codes()
        self.indications = checked_indications()
        self.claims: dict[str, list] = {k: [] for k in CLAIM_KEYS}
        self.remits: dict[str, list] = {k: [] for k in REMIT_KEYS}
        self.adjustments: dict[str, list] = {k: [] for k in ADJ_KEYS}
        self.notes: dict[str, list] = {k: [] for k in NOTE_KEYS}
        self.truth: dict[str, list] = {k: [] for k in TRUTH_KEYS}
        self.lines = 0
        provider_weights = [r.paretovariate(1.5) for _ in providers]
        self.provider_cum = _cumulative(provider_weights)
        self.payer_cum = _cumulative([p.share for p in payers])
        self.indication_cum = _cumulative([i.share for i in self.indications])

    def next_id(self, kind: str) -> int:
        self.counters[kind] += 1
        return self.counters[kind]

    # ------------------------------------------------------------------ patient
    def patient(self) -> None:
        """Simulate one patient's whole history."""
        r = self.r
        pid = f"P{self.next_id('patient'):07d}"
        payer = self.payers[_pick(r, self.payer_cum)]
        switch_day, second_payer = None, None
        if r.random() < 0.06:
            switch_day = r.randint(START_DAY + 60, END_DAY)
            second_payer = self.payers[_pick(r, self.payer_cum)]
        provider = self.providers[_pick(r, self.provider_cum)]
        indication = self.indications[_pick(r, self.indication_cum)]
        dx, side = r.choice(indication.codes)
        if side == "U":
            side = r.choices(("RT", "LT", "B"), (0.4, 0.4, 0.2))[0]
        level = "thoracic" if indication.group in ("zoster_phn", "hyperhidrosis") else "lumbar"
        first_block = r.randint(START_DAY, END_DAY - 3)
        medicare_like = payer.plan_type in ("medicare", "medicare_advantage")
        age = r.randint(65, 89) if medicare_like and r.random() > 0.06 else r.randint(19, 64)
        birth = first_block - int(age * 365.25) - r.randint(0, 364)
        sex = r.choices(("F", "M", "U"), (0.6, 0.39, 0.01))[0]
        comorbid = r.sample(COMORBIDITIES, r.choice((0, 1, 1, 2)))
        responder = r.random() < 0.65
        plan_deductible = r.choice((0, 50000, 100000, 200000, 300000))
        copay = r.random() < 0.35
        patient = dict(
            pid=pid,
            birth=birth,
            sex=sex,
            dx=dx,
            side=side,
            level=level,
            indication=indication,
            comorbid=comorbid,
            provider=provider,
            payer=payer,
            switch_day=switch_day,
            second_payer=second_payer,
            age=age,
            plan_deductible=plan_deductible,
            copay=copay,
        )
        state = PatientState()
        events: list[tuple[int, int, str, dict]] = []
        seq = 0
        if first_block - 30 > START_DAY and r.random() < 0.8:
            events.append((first_block - r.randint(7, 30), seq, "consult", {}))
            seq += 1
        day = first_block
        episodes = 1 + min(3, _poisson(r, 0.9))
        for _ in range(episodes):
            blocks = r.choices(
                (1, 2, 3, 4, 5, 6, 7, 8), (0.28, 0.3, 0.22, 0.08, 0.05, 0.03, 0.02, 0.02)
            )[0]
            for _ in range(blocks):
                if day > END_DAY:
                    break
                relief = r.randint(50, 90) if responder else r.randint(0, 45)
                events.append((day, seq, "block", {"relief": relief}))
                seq += 1
                if r.random() < 0.5:
                    events.append((day + r.randint(10, 21), seq, "followup", {"relief": relief}))
                    seq += 1
                if relief < 50 and r.random() < 0.5:
                    break
                gap = r.randint(3, 6) if r.random() < 0.04 else r.randint(7, 28)
                day += gap
            for _ in range(_poisson(r, 0.8)):
                events.append((day + r.randint(3, 60), seq, "pt", {}))
                seq += 1
            day += r.randint(60, 200)
            if day > END_DAY or day - first_block > 700:
                break
        for _ in range(_poisson(r, 0.35)):
            events.append((r.randint(first_block - 20, first_block + 500), seq, "imaging", {}))
            seq += 1
        for _ in range(_poisson(r, 0.3)):
            events.append((r.randint(first_block - 60, first_block + 600), seq, "labs", {}))
            seq += 1
        for _ in range(_poisson(r, 0.5)):
            events.append((r.randint(first_block, first_block + 600), seq, "injection", {}))
            seq += 1
        events.sort()
        previous_relief: int | None = None
        for day, _, kind, info in events:
            if day < START_DAY or day > END_DAY:
                continue
            cur_payer = second_payer if switch_day is not None and day >= switch_day else payer
            if kind == "block":
                self.block_claim(patient, state, day, cur_payer, previous_relief)
                previous_relief = info["relief"]
            else:
                self.background_claim(patient, state, day, cur_payer, kind, info)

    # ------------------------------------------------------------------ 64520
    def block_claim(
        self, pt: dict, state: PatientState, day: int, payer: Payer, previous_relief: int | None
    ) -> None:
        """A 64520 encounter: the block, its companions, the note, the outcome."""
        r = self.r
        prov: Provider = pt["provider"]
        pos = POS_CODES[_pick(r, _cumulative(prov.pos_weights))]
        convention = payer_convention(payer, day)
        side = pt["side"]
        lines: list[Line] = []
        other_proc = None
        roll = r.random()
        if roll < 0.010 and self.bypassable:
            other_proc = Line(r.choice(self.bypassable), kind="col1_bypassable")
        elif roll < 0.013 and self.unbypassable:
            other_proc = Line(r.choice(self.unbypassable), kind="col1_unbypassable")
        elif roll < 0.093:
            other_proc = Line(
                r.choice(("64483", "64493")), (side if side != "B" else "RT",), kind="other_proc"
            )
        elif roll < 0.143:
            other_proc = Line("64510", (r.choice(("RT", "LT")),), kind="other_proc")
        if other_proc is not None and other_proc.kind.startswith("col1"):
            lines.append(other_proc)
        block_mods: list[str] = []
        if (
            other_proc is not None
            and other_proc.kind == "col1_bypassable"
            and r.random() < prov.mod59_rate
        ):
            block_mods.append(r.choice(("59", "XU", "XS")))
        if side == "B":
            style = self.bilateral_style(prov, payer, day)
            if style == "modifier_50":
                m = ["50", *block_mods]
                if r.random() < 0.02:
                    m.append("RT")
                lines.append(Line(TARGET, tuple(m), 1, "block", 1.5))
            elif style == "rt_lt_two_lines":
                first, second = ("RT", "LT") if r.random() < 0.97 else ("LT", "RT")
                lines.append(Line(TARGET, (first, *block_mods), 1, "block"))
                lines.append(Line(TARGET, (second, *block_mods), 1, "block_second", 1.0, 0.5))
            else:
                lines.append(Line(TARGET, tuple(block_mods), 2, "block"))
        else:
            m = [side] if r.random() < 0.88 else []
            units = r.choice((2, 3)) if r.random() < prov.per_level_units_rate else 1
            lines.append(Line(TARGET, tuple(m + block_mods), units, "block"))
        if r.random() < prov.pctc_error_rate:
            first_block_line = next(x for x in lines if x.code == TARGET)
            first_block_line.mods = (*first_block_line.mods, r.choice(("26", "TC")))
        if other_proc is not None and other_proc.kind == "other_proc":
            lines.append(other_proc)
        if other_proc is not None and other_proc.kind.startswith("col1"):
            for x in lines:
                if x.code == TARGET:
                    x.reduction_factor *= 0.5  # multiple-procedure indicator 2 (§1)
        facility = pos not in NON_FACILITY_POS
        roll = r.random()
        fluoro_line = None
        if roll < 0.45:
            fluoro_line = Line(
                "77003", ("26",) if facility and r.random() < 0.85 else (), kind="imaging"
            )
        elif roll < 0.65:
            m = ["26"] if facility and r.random() < 0.85 else []
            if r.random() < prov.mod59_rate:
                m.append(r.choice(("59", "XU")))
            fluoro_line = Line("77002", tuple(m), kind="imaging")
        if fluoro_line is not None:
            lines.append(fluoro_line)
        if r.random() < (0.28 if pos == "11" else 0.12):
            lines.append(
                Line(
                    r.choice(("99213", "99214")),
                    ("25",) if r.random() < prov.mod25_rate else (),
                    kind="em",
                )
            )
        roll = r.random()
        if roll < 0.08:
            lines.append(Line("99152", kind="sedation"))
        elif roll < 0.087:
            lines.append(Line("99155", kind="sedation"))
        if pos == "11" and r.random() < 0.25:
            drug = r.choice(("J1030", "J1040", "J3301", "J1100"))
            lines.append(
                Line(
                    drug,
                    units={
                        "J1030": 1,
                        "J1040": 1,
                        "J3301": r.choice((4, 8)),
                        "J1100": r.choice((4, 10)),
                    }[drug],
                    kind="drug",
                )
            )
        if r.random() < 0.03:
            lines.append(
                Line(
                    "J2001",
                    (r.choice(("59", "XU")),) if r.random() < 0.3 else (),
                    units=r.choice((10, 20)),
                    kind="drug",
                )
            )
        if r.random() < 0.02:
            lines.append(Line("96374", kind="drug"))
        prior = [d for d in state.block_days if d < day]
        prior_365 = sum(1 for d in prior if day - d <= 365)
        # Most offices know the payer's yearly limit and do not schedule the block; decided
        # before the note and the authorization count, which only a performed block has.
        known_limit = payer.max_blocks_365d
        if payer.frequency_limit_from is not None:
            # Nobody told the offices: they learn the tighter limit from denials over ~5 months.
            since = day - day_number(payer.frequency_limit_from)
            if since >= 0 and r.random() < min(1.0, since / 150):
                known_limit = payer.max_blocks_365d_after
        if known_limit and prior_365 >= known_limit and r.random() < 0.8:
            return
        auth = None
        requires_auth = payer_requires_auth(payer, day)
        auth_reused = False
        if requires_auth:
            rate = prov.auth_rate
            if payer.auth_required_from is not None:
                since = day - day_number(payer.auth_required_from)
                rate *= min(1.0, 0.25 + since / 160)
            if r.random() < rate:
                # One authorisation usually covers a short series (3 blocks); some offices
                # keep quoting it after it is used up (CO-198).
                open_auths = [a for a, n in state.auth_uses.items() if n < 3]
                used_up = [a for a, n in state.auth_uses.items() if n >= 3]
                if open_auths and r.random() < 0.8:
                    auth = open_auths[-1]
                elif used_up and r.random() < 0.08:
                    auth = used_up[-1]
                else:
                    auth = f"PA{r.randint(10_000_000, 99_999_999)}"
        elif r.random() < 0.1:
            auth = f"PA{r.randint(10_000_000, 99_999_999)}"
        if auth is not None:
            auth_reused = state.auth_uses.get(auth, 0) >= 3
            state.auth_uses[auth] = state.auth_uses.get(auth, 0) + 1
        # Note: written by the provider's habits (§4a documentation, §4b criteria).
        encounter = f"E{self.next_id('encounter'):09d}"
        ind: Indication = pt["indication"]
        if r.random() < prov.note_missing_rate:
            facts = NoteFacts(present=False, is_repeat=previous_relief is not None)
        else:
            text, facts = note_text.procedure_note(
                r,
                prov.documentation,
                prov.verbosity,
                pt["age"],
                ind.conditions,
                side,
                pt["level"],
                fluoro_line is not None,
                previous_relief,
            )
            self.add_note(
                pt["pid"], encounter, day + (1 if r.random() < 0.05 else 0), "procedure", text
            )
        since_last = day - prior[-1] if prior else None
        first_with_payer = payer.payer_id not in state.payers_seen
        dx_header = r.random() < 0.02
        lag = self.submission_lag(prov)
        claim = dict(
            pt=pt,
            day=day,
            payer=payer,
            pos=pos,
            provider=prov,
            encounter=encounter,
            auth=auth,
            dx_header=dx_header,
            lag=lag,
        )
        other_same_day = any(
            x.kind in ("other_proc", "col1_bypassable", "col1_unbypassable") for x in lines
        )
        contexts: list[LineContext | None] = []
        for x in lines:
            if x.code != TARGET:
                contexts.append(None)
                continue
            contexts.append(
                LineContext(
                    payer=payer_policy_on(payer, day),
                    convention=convention,
                    requires_auth=requires_auth,
                    units=x.units,
                    modifiers=x.mods,
                    second_rt_lt_line=x.kind == "block_second",
                    ncci_col1_bypassable=other_proc is not None
                    and other_proc.kind == "col1_bypassable",
                    ncci_col1_unbypassable=other_proc is not None
                    and other_proc.kind == "col1_unbypassable",
                    other_procedure_same_day=other_same_day,
                    dx_group=ind.group,
                    dx_header=dx_header,
                    note=facts,
                    prior_blocks_365d=prior_365,
                    days_since_last_block=since_last,
                    first_claim_with_payer=first_with_payer,
                    auth_present=auth is not None,
                    auth_reused=auth_reused,
                    lag_days=lag,
                    duplicate=False,
                    fluoro_billed=fluoro_line is not None,
                )
            )
        state.block_days.append(day)
        self.emit_claim(claim, state, lines, contexts)
        if r.random() < 0.004:
            # A resubmitted copy of the same claim: the payer answers OA-18 (§5).
            dup_claim = dict(claim, lag=lag + r.randint(20, 45))
            dup_contexts = [
                None
                if c is None
                else LineContext(
                    **{
                        **c.__dict__,
                        "duplicate": True,
                        "lag_days": dup_claim["lag"],
                        "first_claim_with_payer": False,
                        "hazards": {},
                    }
                )
                for c in contexts
            ]
            self.emit_claim(dup_claim, state, lines, dup_contexts)

    def bilateral_style(self, prov: Provider, payer: Payer, day: int) -> str:
        """How this provider bills a bilateral block for this payer on this day."""
        r = self.r
        know = prov.knows_payer_convention
        if payer.bilateral_convention_from is not None:
            since = day - day_number(payer.bilateral_convention_from)
            if since >= 0:
                know *= min(1.0, since / 150)
                if r.random() >= know:
                    return payer.bilateral_convention_before or prov.default_bilateral
                return payer.bilateral_convention
        if r.random() < know:
            return payer_convention(payer, day)
        return prov.default_bilateral

    def submission_lag(self, prov: Provider) -> int:
        r = self.r
        if r.random() < prov.late_filing_rate:
            return r.randint(60, 420)
        return 1 + int(r.expovariate(1.0 / prov.lag_mean_days))

    # ------------------------------------------------------------------ other care
    def background_claim(
        self, pt: dict, state: PatientState, day: int, payer: Payer, kind: str, info: dict
    ) -> None:
        """A claim for other services of the same patient."""
        r = self.r
        prov: Provider = pt["provider"]
        npi_override = None
        pos = "11"
        if kind == "consult":
            lines = [Line(r.choice(("99203", "99204", "99204", "99205")), kind="em_alone")]
        elif kind == "followup":
            lines = [Line(r.choice(("99212", "99213", "99213", "99214")), kind="em_alone")]
        elif kind == "pt":
            npi_override = r.choice(self.other_npis)
            lines = [
                Line("97110", units=r.choice((2, 3, 4)), kind="pt"),
                Line("97140", units=r.choice((1, 2)), kind="pt"),
            ]
            if r.random() < 0.3:
                lines.append(Line("97530", units=r.choice((1, 2)), kind="pt"))
            if r.random() < 0.1:
                lines.insert(0, Line("97161", kind="pt"))
        elif kind == "imaging":
            npi_override = r.choice(self.other_npis)
            pos = r.choice(("22", "11"))
            lines = [
                Line(
                    r.choice(("72148", "72100", "73610")),
                    ("26",) if pos == "22" else (),
                    kind="imaging_alone",
                )
            ]
        elif kind == "labs":
            npi_override = r.choice(self.other_npis)
            lines = [Line("80053", kind="lab"), Line("85025", kind="lab")]
        else:
            pos = POS_CODES[_pick(r, _cumulative(prov.pos_weights))]
            code = r.choice(("64483", "64493", "62323", "64450"))
            mods = (r.choice(("RT", "LT")),) if code in ("64483", "64493", "64450") else ()
            lines = [Line(code, mods, kind="injection")]
            if code == "62323":
                lines = [Line(code, kind="injection")]
        encounter = f"E{self.next_id('encounter'):09d}"
        if kind == "consult" and r.random() < 0.7:
            self.add_note(
                pt["pid"],
                encounter,
                day,
                "history_physical",
                note_text.history_note(r, pt["indication"].conditions),
            )
        elif kind == "followup" and r.random() < 0.6:
            self.add_note(
                pt["pid"], encounter, day, "follow_up", note_text.follow_up_note(r, info["relief"])
            )
        claim = dict(
            pt=pt,
            day=day,
            payer=payer,
            pos=pos,
            provider=prov,
            encounter=encounter,
            auth=None,
            dx_header=False,
            lag=self.submission_lag(prov),
            npi=npi_override,
            background=kind,
        )
        self.emit_claim(claim, state, lines, [None] * len(lines))

    # ------------------------------------------------------------------ rows
    def add_note(self, pid: str, encounter: str, day: int, note_type: str, text: str) -> None:
        n = self.notes
        n["note_id"].append(f"N{self.next_id('note'):09d}")
        n["patient_id"].append(pid)
        n["encounter_id"].append(encounter)
        n["note_date"].append(day)
        n["note_type"].append(note_type)
        n["text"].append(text)

    def diagnosis_codes(self, pt: dict, prov: Provider, dx_header: bool, kind: str | None) -> str:
        r = self.r
        primary = HEADER_CODES[pt["indication"].group] if dx_header else pt["dx"]
        dxs = [primary, *pt["comorbid"]]
        if kind == "labs" and pt["comorbid"]:
            dxs = [*pt["comorbid"], pt["dx"]]
        elif kind == "imaging":
            dxs = [r.choice((pt["dx"], "M54.50")), *pt["comorbid"]]
        with_dot = prov.dx_with_dot if prov.dx_with_dot in (0.0, 1.0) else float(r.random() < 0.5)
        if not with_dot:
            dxs = [d.replace(".", "") for d in dxs]
        return ";".join(dxs)

    def emit_claim(
        self,
        claim: dict,
        state: PatientState,
        lines: list[Line],
        contexts: list[LineContext | None],
    ) -> None:
        """Write the claim lines, draw outcomes and, unless pending, the remit rows."""
        r = self.r
        pt, payer, prov, day = claim["pt"], claim["payer"], claim["provider"], claim["day"]
        submission = day + claim["lag"]
        if submission > END_DAY:
            return
        claim_id = f"CLM{self.next_id('claim'):09d}"
        pending = submission >= PENDING_DAY
        first_with_payer = payer.payer_id not in state.payers_seen
        state.payers_seen.add(payer.payer_id)
        dx = self.diagnosis_codes(pt, prov, claim["dx_header"], claim.get("background"))
        facility = claim["pos"] not in NON_FACILITY_POS
        # Claim-level events (§8.3 registration/eligibility; untimely filing).
        elig_h = eligibility_hazard(payer, first_with_payer)
        tf_h = 0.97 if claim["lag"] > payer.filing_limit_days else 0.0
        claim_events = {"eligibility": r.random() < elig_h, "timely_filing": r.random() < tf_h}
        c = self.claims
        adjudication = submission + (
            r.randint(10, 30) if payer.plan_type == "medicare" else r.randint(12, 45)
        )
        npi = claim.get("npi") or prov.npi
        for number, (line, ctx) in enumerate(zip(lines, contexts, strict=True), start=1):
            national_nf, national_fac = self.fees[line.code]
            base = (national_fac if facility else national_nf) * prov.locality_factor
            charge_cents = (
                int(
                    round(
                        national_nf
                        * prov.charge_multiplier
                        * line.units
                        * (1.6 if "50" in line.mods else 1.0)
                    )
                )
                * 100
            )
            c["claim_id"].append(claim_id)
            c["line_number"].append(number)
            c["encounter_id"].append(claim["encounter"])
            c["patient_id"].append(pt["pid"])
            c["patient_birth_date"].append(pt["birth"])
            c["patient_sex"].append(pt["sex"])
            c["payer_id"].append(payer.payer_id)
            c["payer_name"].append(payer.payer_name)
            c["plan_type"].append(payer.plan_type)
            # Each provider bills under its own NPI (no group NPI in the synthetic practice).
            c["billing_npi"].append(npi)
            c["rendering_npi"].append(npi)
            # Therapy, imaging and lab claims of other practices carry their NPI only.
            c["rendering_provider_name"].append(prov.name if npi == prov.npi else None)
            c["place_of_service"].append(claim["pos"])
            c["service_date"].append(day)
            c["submission_date"].append(submission)
            c["cpt_code"].append(line.code)
            mods = list(line.mods) + [None] * (4 - len(line.mods))
            c["modifier_1"].append(mods[0])
            c["modifier_2"].append(mods[1])
            c["modifier_3"].append(mods[2])
            c["modifier_4"].append(mods[3])
            c["units"].append(line.units)
            c["charge_amount"].append(charge_cents)
            c["diagnosis_codes"].append(dx)
            c["prior_auth_number"].append(
                claim["auth"] if line.code == TARGET or line.kind.startswith("col1") else None
            )
            self.lines += 1
            if ctx is not None:
                h = line_hazards(ctx)
                h["eligibility"] = elig_h
                if tf_h:
                    h["timely_filing"] = tf_h
                p = combine(list(h.values()))
                fired = []
                for cause, hz in h.items():
                    event = claim_events[cause] if cause in CLAIM_LEVEL_CAUSES else r.random() < hz
                    if event:
                        fired.append((cause, hz))
                cause = None
                if fired:
                    cause = r.choices([f[0] for f in fired], [f[1] for f in fired])[0]
                t = self.truth
                t["claim_id"].append(claim_id)
                t["line_number"].append(number)
                t["true_probability"].append(p)
                t["denied"].append(1 if cause else 0)
                t["cause"].append(cause)
                t["is_pending"].append(pending)
                change = self.planted.get(payer.payer_id)
                in_force = change is not None and day >= day_number(change.start)
                self.truth_policy.append(change.kind if in_force else None)
            else:
                comp_cause, comp_h = companion_hazards(
                    line.code,
                    line.mods,
                    payer,
                    em_needs_25=line.kind == "em",
                    bundled_into_64520=line.kind in ("imaging", "drug")
                    and self.col2_edits.get(line.code) == 1,
                )
                cause = None
                if claim_events["eligibility"]:
                    cause = "eligibility"
                elif claim_events["timely_filing"]:
                    cause = "timely_filing"
                elif r.random() < comp_h:
                    cause = comp_cause
            if pending:
                continue
            allowed_full = int(round(base * payer.fee_multiplier * line.fee_factor * 100))
            if line.code.startswith("J"):
                allowed_full = int(round(base * payer.fee_multiplier * line.units * 100))
            allowed_full = min(allowed_full, charge_cents)
            self.remit_line(
                claim_id,
                number,
                adjudication,
                charge_cents,
                allowed_full,
                line,
                cause,
                payer,
                pt,
                state,
                day,
                r,
                ctx,
            )

    def remit_line(
        self,
        claim_id: str,
        number: int,
        adjudication: int,
        charge: int,
        allowed_full: int,
        line: Line,
        cause: str | None,
        payer: Payer,
        pt: dict,
        state: PatientState,
        day: int,
        r: random.Random,
        ctx: LineContext | None,
    ) -> None:
        """835-style outcome of one line: remit row and balancing adjustments (§7)."""
        rm, adj = self.remits, self.adjustments
        rm["claim_id"].append(claim_id)
        rm["line_number"].append(number)
        rm["adjudication_date"].append(adjudication)

        def add(group: str, carc: str, amount: int, rarc: str | None = None) -> None:
            if amount == 0:
                return
            adj["claim_id"].append(claim_id)
            adj["line_number"].append(number)
            adj["group_code"].append(group)
            adj["carc"].append(carc)
            adj["amount"].append(amount)
            adj["rarc"].append(rarc)
            adj["adjudication_date"].append(adjudication)

        if cause is not None:
            group, carc, rarc = denial_codes(r, cause, payer, line.mods)
            rm["allowed_amount"].append(0)
            rm["paid_amount"].append(0)
            add(group, carc, charge, rarc)
            return
        allowed = int(round(allowed_full * line.reduction_factor))
        reduction = allowed_full - allowed
        year = 1970 + int((day + 0.5) / 365.2425)
        remaining = allowed
        deductible = 0
        if payer.plan_type in ("medicare", "commercial", "other", "medicare_advantage"):
            if year not in state.deductible_left:
                if payer.plan_type == "medicare":
                    # Part B deductible; most patients have met part of it elsewhere (§8.2 PR-1 ~15% Q1).
                    full = MEDICARE_DEDUCTIBLE.get(year, 28300)
                    state.deductible_left[year] = full if r.random() < 0.5 else 0
                elif payer.plan_type == "medicare_advantage":
                    state.deductible_left[year] = 0
                else:
                    state.deductible_left[year] = pt["plan_deductible"] if r.random() < 0.6 else 0
            deductible = min(state.deductible_left[year], remaining)
            state.deductible_left[year] -= deductible
            remaining -= deductible
        patient_share = 0
        share_carc = "2"
        if payer.plan_type in ("medicare", "other") or (
            payer.plan_type == "commercial" and not pt["copay"]
        ):
            patient_share = int(round(remaining * 0.2))
        elif payer.plan_type in ("medicare_advantage", "commercial") and line.code == TARGET:
            patient_share, share_carc = (
                min(remaining, 4000 if payer.plan_type == "commercial" else 3500),
                "3",
            )
        remaining -= patient_share
        sequestration = int(round(remaining * 0.02)) if payer.sequestration else 0
        paid = remaining - sequestration
        rm["allowed_amount"].append(allowed)
        rm["paid_amount"].append(paid)
        add("CO", "45", charge - allowed_full)
        add("CO", "59", reduction)
        add("PR", "1", deductible)
        add("PR", share_carc, patient_share)
        add("CO", "253", sequestration)


def _cumulative(weights: list[float] | tuple[float, ...]) -> list[float]:
    total = sum(weights)
    out, acc = [], 0.0
    for w in weights:
        acc += w / total
        out.append(acc)
    out[-1] = 1.0
    return out


def _pick(r: random.Random, cumulative: list[float]) -> int:
    x = r.random()
    for i, c in enumerate(cumulative):
        if x < c:
            return i
    return len(cumulative) - 1


def _poisson(r: random.Random, lam: float) -> int:
    threshold, k, p = pow(2.718281828459045, -lam), 0, 1.0
    while True:
        p *= r.random()
        if p < threshold:
            return k
        k += 1


# The input contract owns the column lists; adjustments carry their remit's date only so the
# writer can file them by month.
CLAIM_KEYS: tuple[str, ...] = tuple(column_names("claims"))
REMIT_KEYS: tuple[str, ...] = tuple(column_names("remits"))
ADJ_KEYS: tuple[str, ...] = (*column_names("remit_adjustments"), "adjudication_date")
NOTE_KEYS: tuple[str, ...] = tuple(column_names("notes"))
TRUTH_KEYS: tuple[str, ...] = (
    "claim_id",
    "line_number",
    "true_probability",
    "denied",
    "cause",
    "is_pending",
)
