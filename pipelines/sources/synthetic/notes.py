"""Free-text notes whose completeness follows the provider's habits, with heavy wording variety.

Each documentation element (cpt-64520.md §4a "Documentation", §4b criteria: failed conservative
care, relief from earlier blocks, imaging) has several phrasings, abbreviations and negations,
so feature extraction is tested against variety rather than one template.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SIDE_WORDS: dict[str, tuple[str, ...]] = {
    "RT": ("right", "right-sided", "R", "rt"),
    "LT": ("left", "left-sided", "L", "lt"),
    "B": ("bilateral", "bilaterally", "both sides", "B/L"),
}
LEVELS: dict[str, tuple[str, ...]] = {
    "lumbar": ("L2", "L3", "L2-L3", "L3", "L2 and L3", "L4"),
    "thoracic": ("T2", "T3", "T10", "T11", "T12"),
}

INDICATION_SENTENCES: tuple[str, ...] = (
    "Indication: {cond} of the {limb} with burning pain, allodynia and color change.",
    "Pt is a {age} y/o with {cond} involving the {limb}, {months} months of pain.",
    "{age}-year-old seen for {cond} ({limb}); symptoms began {months} mo ago after {onset}.",
    "Dx: {cond}, {limb}. Hx of {onset} with persistent neuropathic pain since.",
    "History: {months} months of {cond}-type pain in the {limb} following {onset}.",
    "Referred for sympathetically maintained pain, {cond} of {limb}, onset after {onset}.",
    "HPI: {cond} {limb}, swelling, temperature asymmetry and hyperalgesia for {months} months.",
)
ONSETS: tuple[str, ...] = (
    "an ankle fracture",
    "foot surgery",
    "a crush injury",
    "a fall at work",
    "knee arthroscopy",
    "a sprain",
    "no clear trauma",
    "shingles",
    "an amputation",
    "a MVC",
)
CONSERVATIVE_DONE: tuple[str, ...] = (
    "Failed {weeks} weeks of PT and gabapentin.",
    "Conservative tx (physical therapy x {weeks} wks, NSAIDs, pregabalin) without benefit.",
    "Has tried {weeks} weeks of physiotherapy, desensitization and meds; no improvement.",
    "Despite {weeks} wks of PT/OT and neuropathic agents, pain persists.",
    "Refractory to conservative management incl. PT for {weeks} weeks and nortriptyline.",
    "Completed a {weeks}-week course of PT and medication management, pain unchanged.",
    "Conservative care failed: {weeks} weeks of home exercise program, PT, duloxetine.",
)
CONSERVATIVE_NOT: tuple[str, ...] = (
    "Has not yet tried physical therapy.",
    "No trial of conservative therapy documented.",
    "PT not attempted; patient declined.",
)
FUNCTIONAL: tuple[str, ...] = (
    "Unable to bear weight for more than {mins} minutes; ADLs limited.",
    "Pain interferes with sleep and work; walks < {blocks} blocks.",
    "Functional limitation: needs a cane, cannot stand > {mins} min.",
    "Reports difficulty with dressing, stairs and driving due to pain.",
    "ODI {odi}%. Off work since the injury.",
    "Limited ambulation, avoids shoes on the affected foot.",
)
IMAGING_GUIDED: tuple[str, ...] = (
    "Under fluoroscopic guidance",
    "Using fluoro",
    "With C-arm guidance in AP and oblique views",
    "Under intermittent fluoroscopy",
    "Fluoroscopy was used to confirm needle position",
    "Image guidance: fluoroscopy",
)
IMAGING_NONE: tuple[str, ...] = (
    "Landmark technique, no imaging used",
    "Performed without image guidance",
)
IMAGES_SAVED: tuple[str, ...] = (
    "Images saved to PACS.",
    "AP and lateral images stored in the chart.",
    "Hard copy images retained.",
    "Two views saved showing final needle position and contrast spread.",
)
IMAGES_NOT_SAVED: tuple[str, ...] = (
    "No images saved.",
    "Images were not retained.",
    "Fluoro images not stored.",
)
ASPIRATION_DONE: tuple[str, ...] = (
    "Negative aspiration for blood and CSF.",
    "Aspiration negative prior to injection.",
    "Aspirated: no heme, no CSF.",
    "After negative aspiration,",
    "Neg aspiration x2.",
)
ASPIRATION_NOT: tuple[str, ...] = (
    "Injected without aspiration.",
    "No aspiration performed.",
)
AGENTS: tuple[tuple[str, ...], ...] = (
    ("bupivacaine 0.25%", "0.25% bupi", "Marcaine 0.25%", "bupivacaine 0.5%"),
    ("ropivacaine 0.2%", "ropi 0.2%", "Naropin 0.5%", "ropivacaine 0.5%"),
    ("lidocaine 1%", "1% lido", "Xylocaine 1%"),
)
VOLUME: tuple[str, ...] = ("{ml} mL", "{ml} ml", "{ml}cc", "a total of {ml} mL", "{ml} cc total")
INJECTION: tuple[str, ...] = (
    "{agent} {vol} injected at {level} {side} paravertebral sympathetic chain.",
    "{side} {level} lumbar sympathetic block performed with {agent}, {vol}.",
    "Injected {vol} of {agent} at the {side} {level} sympathetic chain.",
    "{agent}, {vol}, deposited anterolateral to the {level} vertebral body, {side}.",
    "A 22g spinal needle was advanced to the {side} {level} level; {vol} of {agent} given.",
)
INJECTION_SPARSE: tuple[str, ...] = (
    "Sympathetic block performed.",
    "LSB done, pt tolerated well.",
    "Block completed without complication.",
    "Paravertebral sympathetic injection given.",
)
RESPONSE: tuple[str, ...] = (
    "Pain {pre}/10 before, {post}/10 after.",
    "NRS pre {pre}, post {post}.",
    "VAS decreased from {pre} to {post}.",
    "Post-procedure pain {post}/10 (from {pre}/10); skin temp rose {temp} C.",
    "Foot temperature increased by {temp} degrees, pain {pre}->{post}.",
    "Pain score {pre}/10 pre-block, {post}/10 at 30 minutes.",
)
RESPONSE_NONE: tuple[str, ...] = ("Response to be assessed at follow-up.", "Pt discharged home.")
PRIOR_RELIEF: tuple[str, ...] = (
    "Previous block gave {pct}% relief for {weeks} weeks.",
    "Reports {pct}% improvement after last LSB lasting {weeks} wks.",
    "Prior sympathetic block: ~{pct}% relief x {weeks} weeks.",
    "Good response to the last injection ({pct}% pain reduction, {weeks} weeks).",
    "Last block provided {pct} percent relief, duration {weeks} weeks.",
)
PRIOR_NO_RELIEF: tuple[str, ...] = (
    "Denies relief from the previous block.",
    "No significant relief after the last injection.",
    "Prior block gave minimal benefit ({pct}%).",
    "Previous LSB did not help.",
)
CLOSINGS: tuple[str, ...] = (
    "Tolerated well, no complications.",
    "Pt stable, discharged.",
    "No complications. Follow up in 2 weeks.",
    "EBL none. VSS.",
    "Consent obtained, time-out performed.",
    "",
)


@dataclass(frozen=True)
class NoteFacts:
    """What a procedure note documents; the hazards read these, as a feature extractor would."""

    present: bool
    indication: bool = False
    conservative_failed: bool = False
    conservative_weeks: int | None = None
    functional: bool = False
    level: bool = False
    side: bool = False
    imaging: bool = False
    images_saved: bool | None = None
    aspiration: bool = False
    agent: bool = False
    volume: bool = False
    response: bool = False
    prior_relief_pct: int | None = None
    is_repeat: bool = False

    @property
    def completeness(self) -> float:
        """Share of the applicable elements written (0 when the note is missing)."""
        if not self.present:
            return 0.0
        flags = [
            self.indication,
            self.conservative_failed,
            self.functional,
            self.level,
            self.side,
            self.imaging,
            self.aspiration,
            self.agent,
            self.volume,
            self.response,
        ]
        if self.is_repeat:
            flags.append(self.prior_relief_pct is not None)
        return sum(flags) / len(flags)


def procedure_note(
    r: random.Random,
    documentation: float,
    verbosity: float,
    age: int,
    cond: str,
    side: str,
    level: str,
    fluoro: bool,
    prior_relief: int | None,
) -> tuple[str, NoteFacts]:
    """One procedure note and the facts it documents."""
    limb = {
        "RT": "right lower extremity",
        "LT": "left lower extremity",
        "B": "bilateral lower extremities",
    }[side]
    if level == "thoracic":
        limb = {"RT": "right chest wall", "LT": "left chest wall", "B": "upper trunk"}[side]

    def write(weight: float = 1.0) -> bool:
        return r.random() < documentation**weight

    parts: list[str] = []
    months = r.randint(3, 40)
    indication = write(0.5)
    if indication:
        parts.append(
            r.choice(INDICATION_SENTENCES).format(
                cond=cond, limb=limb, age=age, months=months, onset=r.choice(ONSETS)
            )
        )
    conservative = write(1.3)
    weeks = None
    if conservative:
        weeks = r.choice((4, 6, 6, 8, 10, 12, 12, 16))
        parts.append(r.choice(CONSERVATIVE_DONE).format(weeks=weeks))
    elif r.random() < 0.3:
        parts.append(r.choice(CONSERVATIVE_NOT))
    functional = write(1.5)
    if functional:
        parts.append(
            r.choice(FUNCTIONAL).format(
                mins=r.choice((5, 10, 15)), blocks=r.randint(1, 3), odi=r.randint(30, 70)
            )
        )
    relief_pct = None
    if prior_relief is not None and write(0.8):
        relief_pct = prior_relief
        if prior_relief >= 40:
            parts.append(r.choice(PRIOR_RELIEF).format(pct=prior_relief, weeks=r.randint(1, 8)))
        else:
            template = r.choice(PRIOR_NO_RELIEF)
            parts.append(template.format(pct=prior_relief))
            if "{pct}" not in template:
                relief_pct = 0
    imaging_sentence = ""
    images_saved: bool | None = None
    imaging_documented = fluoro and write(0.6)
    if imaging_documented:
        imaging_sentence = r.choice(IMAGING_GUIDED)
        if write(1.2):
            images_saved = True
        elif r.random() < 0.5:
            images_saved = False
    elif not fluoro and r.random() < 0.5:
        imaging_sentence = r.choice(IMAGING_NONE)
    aspiration = write(1.0)
    side_written = write(0.4)
    level_written = write(0.6)
    agent_written = write(0.7)
    volume_written = agent_written and write(0.5)
    side_word = r.choice(SIDE_WORDS[side]) if side_written else ""
    level_word = r.choice(LEVELS[level]) if level_written else ""
    if agent_written:
        agent = r.choice(r.choice(AGENTS))
        vol = (
            r.choice(VOLUME).format(ml=r.choice((5, 8, 10, 10, 12, 15, 20)))
            if volume_written
            else "a small volume"
        )
        sentence = r.choice(INJECTION).format(
            agent=agent, vol=vol, level=level_word or "the", side=side_word or "the"
        )
        sentence = " ".join(sentence.split()).replace("the the", "the")
    else:
        sentence = r.choice(INJECTION_SPARSE)
        if side_written or level_written:
            sentence = f"{sentence} ({' '.join(x for x in (side_word, level_word) if x)})"
    if imaging_sentence:
        sentence = f"{imaging_sentence}, " + sentence[0].lower() + sentence[1:]
    if aspiration:
        parts.append(r.choice(ASPIRATION_DONE))
    elif r.random() < 0.4:
        parts.append(r.choice(ASPIRATION_NOT))
    parts.append(sentence)
    if images_saved is True:
        parts.append(r.choice(IMAGES_SAVED))
    elif images_saved is False:
        parts.append(r.choice(IMAGES_NOT_SAVED))
    response = write(1.1)
    if response:
        pre = r.randint(5, 10)
        parts.append(
            r.choice(RESPONSE).format(
                pre=pre, post=max(0, pre - r.randint(2, 7)), temp=r.choice((1.5, 2, 2.5, 3, 4))
            )
        )
    elif r.random() < 0.5:
        parts.append(r.choice(RESPONSE_NONE))
    if r.random() < verbosity:
        parts.append(r.choice(CLOSINGS))
    text = " ".join(p for p in parts if p)
    facts = NoteFacts(
        present=True,
        indication=indication,
        conservative_failed=conservative,
        conservative_weeks=weeks,
        functional=functional,
        level=level_written,
        side=side_written,
        imaging=imaging_documented,
        images_saved=images_saved,
        aspiration=aspiration,
        agent=agent_written,
        volume=volume_written,
        response=response,
        prior_relief_pct=relief_pct,
        is_repeat=prior_relief is not None,
    )
    return text, facts


FOLLOW_UP: tuple[str, ...] = (
    "F/u after sympathetic block: {pct}% relief lasting {weeks} weeks. Continue PT.",
    "Seen in follow-up. Reports {pct}% improvement in pain after LSB. Plan: repeat block PRN.",
    "Post-block visit. Pain relief ~{pct}%, function improved. HEP reviewed.",
    "Follow up: {pct}% reduction in burning pain for {weeks} wks after injection.",
)
HISTORY_PHYSICAL: tuple[str, ...] = (
    "New patient consult for {cond}. Exam: allodynia, edema, mottled skin. Plan: sympathetic block.",
    "H&P: {cond} with {months} months of pain. Meds: gabapentin. Plan LSB under fluoro.",
    "Initial evaluation: {cond}. Failed PT. Discussed risks/benefits of sympathetic block.",
)


def follow_up_note(r: random.Random, relief: int) -> str:
    """A follow-up visit note mentioning the relief from the last block."""
    return r.choice(FOLLOW_UP).format(pct=relief, weeks=r.randint(1, 8))


def history_note(r: random.Random, cond: str) -> str:
    """A consult (history and physical) note."""
    return r.choice(HISTORY_PHYSICAL).format(cond=cond, months=r.randint(3, 30))
