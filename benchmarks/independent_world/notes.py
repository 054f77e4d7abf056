"""Clinical note wording of the independent world: each clinician dictates in a style of their own.

Written from the domain notes (cpt-64520.md §4b: CRPS indication, failed conservative care, relief
of earlier blocks, fluoroscopy with stored images) and the way pain physicians dictate, not from
the project's generator. What a note documents is decided by the caller (`NoteFacts`); this module
only words it, including explicit negations ("no prior conservative tx documented").
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

INDICATION_WORDS: dict[str, tuple[str, ...]] = {
    "crps_lower": (
        "CRPS type I of the {limb}",
        "complex regional pain syndrome (CRPS I) {limb}",
        "CRPS-1 {limb_abbr}",
        "RSD/CRPS of the {limb}",
    ),
    "causalgia": (
        "CRPS type II (causalgia) {limb}",
        "causalgia after sciatic nerve injury, {limb}",
    ),
    "crps_upper": ("CRPS I of the {arm}", "CRPS-1 {arm_abbr}"),
    "vascular": (
        "ischemic rest pain {limb_abbr} from PVD, not a bypass candidate",
        "peripheral vascular disease with rest pain, {limb}",
    ),
    "phn": ("post-herpetic neuralgia, {dermatome} dermatomes", "PHN {dermatome}"),
    "phantom": ("phantom limb pain s/p BKA", "phantom limb pain after {side_word} AKA"),
    "hyperhidrosis": ("plantar hyperhidrosis refractory to topicals",),
    "symptom": (
        "chronic {side_word} leg pain",
        "burning pain {limb_abbr}, etiology unclear",
        "chronic pain syndrome w/ LE involvement",
    ),
    "metabolic": ("painful diabetic peripheral neuropathy, feet", "DPN w/ burning feet"),
}

CONSERVATIVE_DONE = (
    "Failed conservative tx: PT x {weeks} wks, gabapentin titrated to {gaba} mg TID, nortriptyline.",
    "Has completed {weeks} weeks of physical therapy and a desensitization program without lasting benefit; also trialed Lyrica and Mobic.",
    "Conservative management x {months} mo (PT/HEP, NSAIDs, duloxetine, TENS) has failed.",
    "s/p {weeks} wks PT + mirror therapy, gabapentin, amitriptyline - minimal improvement.",
    "Tried and failed: PT ({weeks} wk course), Neurontin, Cymbalta, topical lidocaine.",
)
CONSERVATIVE_NEGATED = (
    "No prior conservative tx documented.",
    "Has not yet tried PT; declined medications.",
    "No trial of physical therapy or neuropathic agents on record.",
)
FUNCTION_WORDS = (
    "Unable to bear full weight on the {limb_short}; uses a cane.",
    "Difficulty with ADLs, cannot tolerate shoes or bedsheets on the foot; off work since injury.",
    "Pain limits walking to <1 block and disrupts sleep nightly.",
    "Functional decline: stopped driving, needs help with household chores.",
)
LEVEL_WORDS = {
    "lumbar": ("L2-L3 sympathetic", "L3", "L2 and L3", "lumbar sympathetic chain at L2/L3"),
    "thoracic": ("T2-T3 sympathetic", "T3 paravertebral", "upper thoracic sympathetic chain"),
}
AGENTS = (
    ("bupivacaine 0.25%", (8, 10, 12, 15)),
    ("0.2% ropivacaine", (10, 15, 20)),
    ("Marcaine 0.5%", (5, 8, 10)),
    ("Naropin 0.2%", (10, 15)),
    ("1% lidocaine followed by 0.25% bupi", (10, 12)),
)
SIDE_WORDS = {"left": "left", "right": "right", "bilateral": "bilateral"}
SIDE_ABBR = {"left": "L", "right": "R", "bilateral": "B/L"}


@dataclass(frozen=True)
class NoteFacts:
    """What one procedure note documents (decided by the world, worded here)."""

    age: int
    sex: str
    indication: str
    symptom_months: int
    side: str
    level: str
    block_number: int
    conservative: bool
    conservative_weeks: int
    functional: bool
    prior_relief_pct: int | None
    imaging: bool
    images_saved: bool
    aspiration: bool
    response: bool
    agent: bool
    injury: str


def _limb_fields(side: str) -> dict[str, str]:
    limb = {"left": "left lower extremity", "right": "right lower extremity"}.get(
        side, "bilateral lower extremities"
    )
    arm = {"left": "left upper extremity", "right": "right upper extremity"}.get(
        side, "both upper extremities"
    )
    abbr = SIDE_ABBR[side]
    return {
        "limb": limb,
        "limb_abbr": f"{abbr}LE",
        "arm": arm,
        "arm_abbr": f"{abbr}UE",
        "limb_short": {"left": "L foot", "right": "R foot"}.get(side, "feet"),
        "side_word": SIDE_WORDS[side],
        "dermatome": "T6-T8" if side != "bilateral" else "T7-T9",
    }


def _indication(rng: random.Random, facts: NoteFacts) -> str:
    return rng.choice(INDICATION_WORDS[facts.indication]).format(**_limb_fields(facts.side))


def _duration(rng: random.Random, months: int) -> str:
    if months >= 24 and rng.random() < 0.5:
        return rng.choice((f"x {months // 12} yrs", f"for about {months // 12} years"))
    return rng.choice((f"x {months} mo", f"for {months} months", f"began {months} mo ago"))


def _relief(rng: random.Random, facts: NoteFacts, style: str) -> str:
    if facts.block_number <= 1 or facts.prior_relief_pct is None:
        return ""
    pct = facts.prior_relief_pct
    n = facts.block_number - 1
    if pct <= 10:
        options = (
            f"s/p LSB #{n} with minimal relief.",
            f"Previous block #{n}: no relief.",
            f"Reports only ~{pct}% improvement after the last injection.",
        )
    else:
        days = rng.choice((4, 7, 10, 14, 21))
        options = (
            f"s/p LSB #{n} with ~{pct}% relief x {days} days, increased ROM and warmth of the foot.",
            f"Last sympathetic block gave {pct}% pain relief lasting {days} d.",
            f"Excellent response to block #{n} ({pct}% relief), now returning for repeat.",
        )
    return rng.choice(options) if style != "terse" else f"s/p blk #{n}: {pct}% relief."


def _procedure(rng: random.Random, facts: NoteFacts, style: str) -> list[str]:
    lines: list[str] = []
    side = SIDE_WORDS[facts.side]
    level = rng.choice(LEVEL_WORDS[facts.level])
    if facts.imaging:
        guidance = rng.choice(
            (
                "Under fluoroscopic guidance (AP, oblique and lateral views)",
                "Using C-arm fluoroscopy",
                "With intermittent fluoro",
                "Under live fluoroscopy",
            )
        )
    else:
        guidance = rng.choice(("Using surface landmarks", "With landmark technique"))
    needle = rng.choice(("22g 5in Quincke", "20g 6in Chiba", "22 gauge 7-inch spinal"))
    if style == "terse":
        lines.append(f"{side.upper()} {level} block. {guidance}, {needle} needle to anterolat VB.")
    else:
        lines.append(
            f"After timeout and sterile prep, {guidance[0].lower() + guidance[1:]}, "
            f"a {needle} needle was advanced to the anterolateral vertebral body at {level} on the {side} side."
        )
    if facts.aspiration:
        lines.append(
            rng.choice(("Neg aspiration for heme/CSF.", "Aspiration negative.", "-asp heme/CSF."))
        )
    if facts.imaging:
        lines.append(
            rng.choice(
                (
                    "Omnipaque 180, 3 mL, showed spread along the sympathetic chain without vascular uptake.",
                    "Contrast confirmed paravertebral spread, no intravascular pattern.",
                )
            )
        )
        if facts.images_saved:
            lines.append(
                rng.choice(
                    ("Images saved to PACS.", "Representative images archived.", "Films stored.")
                )
            )
        elif rng.random() < 0.5:
            lines.append(rng.choice(("Images not retained.", "No images saved.")))
    if facts.agent:
        agent, volumes = rng.choice(AGENTS)
        lines.append(f"Injected {rng.choice(volumes)} mL {agent} incrementally.")
    else:
        lines.append("Local anesthetic injected incrementally.")
    if facts.response:
        pre = rng.randint(6, 10)
        post = rng.randint(0, max(0, pre - 3))
        temp0 = round(rng.uniform(28.5, 31.5), 1)
        lines.append(
            rng.choice(
                (
                    f"Pre NRS {pre}/10, post {post}/10.",
                    f"Pain {pre}/10 -> {post}/10. Skin temp {temp0} -> {temp0 + round(rng.uniform(1.5, 4.0), 1)} C.",
                    f"VAS {pre} pre, {post} post; foot warm and dry.",
                )
            )
        )
    lines.append(
        rng.choice(
            (
                "Tolerated well, no complications. D/c home stable.",
                "No complications. Discharged with driver.",
                "Pt tolerated the procedure well.",
            )
        )
    )
    return lines


def procedure_note(rng: random.Random, facts: NoteFacts, style: str) -> str:
    """A procedure note for one sympathetic block in the clinician's `style`."""
    sex_word = {"F": "female", "M": "male"}.get(facts.sex, "patient")
    sex_abbr = {"F": "F", "M": "M"}.get(facts.sex, "pt")
    indication = _indication(rng, facts)
    duration = _duration(rng, facts.symptom_months)
    parts: list[str] = []
    side_abbr = SIDE_ABBR[facts.side]
    short_level = "LSB" if facts.level == "lumbar" else "thoracic symp blk"
    if style == "structured":
        parts.append(
            f"PROCEDURE: {SIDE_WORDS[facts.side].title()} {facts.level} sympathetic block #{facts.block_number}."
        )
        parts.append(
            f"INDICATION: {facts.age} yo {sex_word} {facts.injury}with {indication} {duration}."
        )
    elif style == "terse":
        parts.append(f"{side_abbr} {short_level} #{facts.block_number}")
        parts.append(f"{facts.age}{sex_abbr} {facts.injury}{indication} {duration}.")
    else:
        parts.append(
            f"Pt is a {facts.age} y/o {sex_word} {facts.injury}presenting for {SIDE_WORDS[facts.side]} "
            f"{short_level} for {indication}, symptoms {duration}."
        )
    if facts.conservative:
        parts.append(
            rng.choice(CONSERVATIVE_DONE).format(
                weeks=facts.conservative_weeks,
                months=max(1, round(facts.conservative_weeks / 4.3)),
                gaba=rng.choice((600, 900, 1200)),
            )
        )
    elif rng.random() < 0.6:
        parts.append(rng.choice(CONSERVATIVE_NEGATED))
    if facts.functional:
        parts.append(rng.choice(FUNCTION_WORDS).format(**_limb_fields(facts.side)))
    relief = _relief(rng, facts, style)
    if relief:
        parts.append(relief)
    parts.extend(_procedure(rng, facts, style))
    separator = "\n" if style == "structured" else " "
    return separator.join(p for p in parts if p)


def consult_note(rng: random.Random, age: int, sex: str, complaint: str, months: int) -> str:
    """An initial consult (history and physical) note."""
    return (
        f"New pt consult. {age}{sex} referred for {complaint}, {months} mo. "
        + rng.choice(
            (
                "Allodynia and edema of the foot, color change, temp asymmetry. Budapest criteria met.",
                "Exam: hyperalgesia, mottled skin, decreased ROM ankle.",
                "Exam limited by pain; reflexes symmetric, no focal weakness.",
            )
        )
        + " Plan: "
        + rng.choice(
            (
                "diagnostic LSB, cont PT.",
                "sympathetic block series if auth obtained.",
                "MRI L-spine, f/u 4 wks.",
            )
        )
    )


def follow_up_note(rng: random.Random, relief: int, visit_day: date) -> str:
    """A short follow-up note after a block."""
    return f"F/u {visit_day.isoformat()}: reports {relief}% relief after last block. " + rng.choice(
        ("Cont HEP.", "Will consider repeat.", "Refer back to PT.", "RTC 6 wks.")
    )
