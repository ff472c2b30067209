"""The shipped example catalog, loaded by ``python manage.py load_catalog``.

AN EXAMPLE FOR THE ORGANISATION'S CLINICAL LEAD TO REVIEW, not clinical advice. Every
protocol, condition and question names in ``source`` where its rule comes from (see
``clinical-sources.md``); where a number is an example value with no source behind it, the
source says so. ``load_catalog`` only adds what is missing: once a row exists, the clinical
lead's version of it wins, and the command lists where it differs from this file.

Each entry holds the keyword arguments of the create service
(``protocols.services.protocol_create`` and friends). Protocols come before the protocols
and conditions that name them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

CATALOG_VERSION = "2026.1"
CODE_SYSTEM = "ICD-10-CM FY2026"

EXAMPLE = "Example rule for the organisation's clinical lead to review."
FOUNDING_CASE = (
    "The founding case study: a medical-massage educator's account of a spa client with "
    "radiating low-back pain and L4-L5 disc bulges who had a full hour of low-back work from a "
    "licensed therapist never trained in the radiculopathy protocol, then disc herniation, loss "
    "of bladder control and emergency spinal surgery. Principles: therapists treat only "
    "conditions whose protocol they were trained in; instructors need extensive clinical "
    "experience in the protocol they teach; training covers the fundamentals, the critical "
    "details and how not to cause harm; working past the point where pathological tension is "
    "gone (overstimulation) harms."
)
KNGF_LBP = (
    "KNGF (Royal Dutch Society for Physical Therapy) guideline Low back pain (2021), massage "
    "section: massage is not recommended for lumbosacral radicular syndrome, not as a sole "
    "intervention, and brief where used."
)
SUPERVISED_SOURCE = (
    "Supervised sessions: 5, an example number for the protocols whose harm-avoidance module is "
    "the longest (12 hours), modelled on hospitals' focused professional practice evaluation "
    "(The Joint Commission, Medical Staff standard MS.08.01.01: a period of focused evaluation "
    "for every newly granted privilege); the clinical lead sets the real number."
)
NICE_SCIATICA = "NICE Clinical Knowledge Summaries, Sciatica (lumbar radiculopathy): assessing for red flags."
BMJ_CES = "BMJ Best Practice, Cauda equina syndrome: diagnosis approach."
NICE_LBP = (
    "NICE Clinical Knowledge Summaries, Back pain - low (without radiculopathy): red flags; "
    "NICE guideline NG59."
)
ICD = f"{CODE_SYSTEM} code set."

PROTOCOLS: list[dict[str, Any]] = [
    {
        "slug": "low-back-no-radiculopathy",
        "name": "Low back without radiculopathy",
        "region": "lumbar",
        "max_focus_minutes": 40,
        "validity_months": 24,
        "min_instructor_years": 3,
        "min_instructor_cases": 100,
        "prerequisites": [],
        "modules": [
            {
                "kind": "fundamentals",
                "title": "Lumbar anatomy, non-specific low-back pain, and the assessment that rules out "
                "radicular signs and red flags",
                "min_hours": Decimal("16"),
            },
            {
                "kind": "critical-details",
                "title": "Positioning, pressure and sequencing for non-specific low-back pain, as part of "
                "an exercise-based plan",
                "min_hours": Decimal("12"),
            },
            {
                "kind": "harm-avoidance",
                "title": "Red flags and referral; recognising when pathological tension is gone and "
                "stopping before overstimulation",
                "min_hours": Decimal("8"),
            },
        ],
        "source": (
            f"{EXAMPLE} {FOUNDING_CASE} Focus limit 40 minutes: an example value, longer than the "
            "radicular protocol's because no nerve root is involved, still short of a full hour "
            "(overstimulation); no published dose behind the number. Red flags: "
            f"{NICE_LBP}"
        ),
        "version": "1",
    },
    {
        "slug": "low-back-radiculopathy",
        "name": "Low back with radiculopathy",
        "region": "lumbar",
        "max_focus_minutes": 30,
        "validity_months": 24,
        "min_instructor_years": 5,
        "min_instructor_cases": 200,
        "prerequisites": ["low-back-no-radiculopathy"],
        "modules": [
            {
                "kind": "fundamentals",
                "title": "Lumbar disc disorders and nerve-root (radicular) pain: anatomy, presentation "
                "and assessment",
                "min_hours": Decimal("16"),
            },
            {
                "kind": "critical-details",
                "title": "Treating radicular low-back pain: positioning, pressure, direction and a short "
                "focused dose",
                "min_hours": Decimal("16"),
            },
            {
                "kind": "harm-avoidance",
                "title": "Cauda equina and other red flags, contraindications, overstimulation and "
                "emergency referral",
                "min_hours": Decimal("12"),
            },
        ],
        "source": (
            f"{EXAMPLE} {FOUNDING_CASE} This is the protocol the therapist in that case lacked. "
            f"Focus limit 30 minutes, half the hour that preceded the harm: {KNGF_LBP} Red flags: "
            f"{NICE_SCIATICA} {BMJ_CES} Prerequisite (the non-radicular low-back protocol): an "
            "example choice for the clinical lead. "
            f"{SUPERVISED_SOURCE}"
        ),
        "version": "1",
        "supervised_sessions": 5,
    },
    {
        "slug": "neck-radiculopathy",
        "name": "Neck with radiculopathy",
        "region": "cervical",
        "max_focus_minutes": 20,
        "validity_months": 24,
        "min_instructor_years": 5,
        "min_instructor_cases": 150,
        "prerequisites": [],
        "modules": [
            {
                "kind": "fundamentals",
                "title": "Cervical spine anatomy and cervical nerve-root pain: presentation and assessment",
                "min_hours": Decimal("16"),
            },
            {
                "kind": "critical-details",
                "title": "Treating cervical radicular pain: positioning, pressure and a short focused dose",
                "min_hours": Decimal("12"),
            },
            {
                "kind": "harm-avoidance",
                "title": "Neurological warning signs, contraindications to neck work, overstimulation "
                "and referral",
                "min_hours": Decimal("12"),
            },
        ],
        "source": (
            f"{EXAMPLE} {FOUNDING_CASE} Focus limit 20 minutes: an example value by analogy with "
            f"the lumbar radicular protocol ({KNGF_LBP}); no cervical-specific source yet, for "
            "the clinical lead to set."
            f" {SUPERVISED_SOURCE}"
        ),
        "version": "1",
        "supervised_sessions": 5,
    },
    {
        "slug": "post-concussion",
        "name": "Post-concussion rehabilitation",
        "region": "head",
        "max_focus_minutes": 20,
        "validity_months": 24,
        "min_instructor_years": 5,
        "min_instructor_cases": 100,
        "prerequisites": [],
        "modules": [
            {
                "kind": "fundamentals",
                "title": "Concussion and post-concussional syndrome: mechanisms, symptoms and recovery",
                "min_hours": Decimal("12"),
            },
            {
                "kind": "critical-details",
                "title": "Head, neck and jaw work after concussion: pressure, pacing and symptom-guided dose",
                "min_hours": Decimal("12"),
            },
            {
                "kind": "harm-avoidance",
                "title": "Worsening-symptom red flags, medical clearance, overstimulation and referral",
                "min_hours": Decimal("8"),
            },
        ],
        "source": (
            f"{EXAMPLE} {FOUNDING_CASE} (post-concussion rehabilitation is one of its examples "
            "of a specific protocol). Focus limit 20 minutes: an example value with no published "
            "dose behind it, for the clinical lead to set."
        ),
        "version": "1",
    },
    {
        "slug": "tension-headache",
        "name": "Tension-type headache",
        "region": "head",
        "max_focus_minutes": 30,
        "validity_months": 36,
        "min_instructor_years": 3,
        "min_instructor_cases": 100,
        "prerequisites": [],
        "modules": [
            {
                "kind": "fundamentals",
                "title": "Tension-type headache: presentation, triggers, and telling it from other headaches",
                "min_hours": Decimal("8"),
            },
            {
                "kind": "critical-details",
                "title": "Head, neck and shoulder-girdle work for tension-type headache: pressure and dose",
                "min_hours": Decimal("8"),
            },
            {
                "kind": "harm-avoidance",
                "title": "Headache red flags, referral and overstimulation",
                "min_hours": Decimal("6"),
            },
        ],
        "source": (
            f"{EXAMPLE} {FOUNDING_CASE} Focus limit 30 minutes: an example value with no "
            "published dose behind it, for the clinical lead to set."
        ),
        "version": "1",
    },
]


def _condition(code: str, name: str, region: str, requirements: list[list[str]], why: str) -> dict[str, Any]:
    return {
        "code": code,
        "code_system": CODE_SYSTEM,
        "name": name,
        "region": region,
        "requirements": requirements,
        "source": f"{EXAMPLE} {ICD} {code}: {name}. {why}",
        "version": CATALOG_VERSION,
    }


RADICULAR_LOW_BACK = f"Requires the low-back radiculopathy protocol: {FOUNDING_CASE} {KNGF_LBP}"

CONDITIONS: list[dict[str, Any]] = [
    _condition(
        "M51.16",
        "Intervertebral disc disorders with radiculopathy, lumbar region",
        "lumbar",
        [["low-back-radiculopathy"]],
        f"The founding case's condition (M54.1- excludes radiculopathy due to a disc disorder, "
        f"which is coded M51.1-). {RADICULAR_LOW_BACK}",
    ),
    _condition(
        "M51.17",
        "Intervertebral disc disorders with radiculopathy, lumbosacral region",
        "lumbar",
        [["low-back-radiculopathy"]],
        RADICULAR_LOW_BACK,
    ),
    _condition(
        "M54.16",
        "Radiculopathy, lumbar region",
        "lumbar",
        [["low-back-radiculopathy"]],
        RADICULAR_LOW_BACK,
    ),
    _condition(
        "M54.17",
        "Radiculopathy, lumbosacral region",
        "lumbar",
        [["low-back-radiculopathy"]],
        RADICULAR_LOW_BACK,
    ),
    _condition(
        "M51.26",
        "Other intervertebral disc displacement, lumbar region",
        "lumbar",
        [["low-back-radiculopathy"]],
        "Requires the low-back radiculopathy protocol even without radicular signs: a displaced "
        f"disc is what herniated in the founding case, and that protocol teaches disc disorders. "
        f"{FOUNDING_CASE} Example choice for the clinical lead.",
    ),
    _condition(
        "M51.27",
        "Other intervertebral disc displacement, lumbosacral region",
        "lumbar",
        [["low-back-radiculopathy"]],
        "Requires the low-back radiculopathy protocol even without radicular signs, as M51.26. "
        f"{FOUNDING_CASE} Example choice for the clinical lead.",
    ),
    _condition(
        "M54.50",
        "Low back pain, unspecified",
        "lumbar",
        [["low-back-no-radiculopathy", "low-back-radiculopathy"]],
        "Valid since FY2022 (M54.5 alone is no longer billable). Either low-back protocol "
        f"suffices. {FOUNDING_CASE} Red flags: {NICE_LBP}",
    ),
    _condition(
        "M54.12",
        "Radiculopathy, cervical region",
        "cervical",
        [["neck-radiculopathy"]],
        f"Requires the neck radiculopathy protocol. {FOUNDING_CASE}",
    ),
    _condition(
        "F07.81",
        "Postconcussional syndrome",
        "head",
        [["post-concussion"]],
        f"Requires the post-concussion rehabilitation protocol. {FOUNDING_CASE}",
    ),
    _condition(
        "G44.209",
        "Tension-type headache, unspecified, not intractable",
        "head",
        [["tension-headache"]],
        f"Requires the tension-type headache protocol. {FOUNDING_CASE}",
    ),
    {
        "code": "WELLNESS",
        "code_system": "",
        "name": "General wellness (no diagnosed condition)",
        "region": "whole-body",
        "requirements": [],
        "source": (
            f"{EXAMPLE} Local code: no ICD-10-CM code applies to a wellness massage. No protocol "
            "is required (the therapist's licence covers it); the red-flag questions are still "
            f"asked. {FOUNDING_CASE}"
        ),
        "version": CATALOG_VERSION,
    },
]

# Cauda equina questions are asked wherever the low back, the saddle area or the legs are
# worked on, whole-body sessions included; NICE CKS notes that patients often do not volunteer
# these symptoms, so they are asked directly.
LOW_BACK_AND_LEGS = ["lumbar", "pelvis", "lower-limb", "whole-body"]
BACK = ["thoracic", "lumbar", "pelvis", "whole-body"]
CES = (
    f"{EXAMPLE} Possible cauda equina syndrome (G83.4): emergency assessment, never massage. "
    f"{NICE_SCIATICA} {BMJ_CES} NICE CKS notes patients often do not volunteer these symptoms: "
    "ask directly."
)
SERIOUS = f"{EXAMPLE} Possible serious pathology: a physician first. {NICE_LBP}"

SCREENING_QUESTIONS: list[dict[str, Any]] = [
    {
        "code": "ces-bladder-bowel",
        "text": "Have you had any new or worsening problem with your bladder or bowels: difficulty "
        "passing urine, leaking, or not feeling when you need to go?",
        "action": "refer-emergency",
        "regions": LOW_BACK_AND_LEGS,
        "source": CES,
        "position": 10,
    },
    {
        "code": "ces-saddle-numbness",
        "text": "Do you have any new numbness, tingling or changed feeling around your back passage, "
        "genitals or inner buttocks (the area that would touch a saddle)?",
        "action": "refer-emergency",
        "regions": LOW_BACK_AND_LEGS,
        "source": CES,
        "position": 20,
    },
    {
        "code": "ces-leg-weakness",
        "text": "Do you have new weakness in both legs, or weakness in a leg that is getting worse?",
        "action": "refer-emergency",
        "regions": LOW_BACK_AND_LEGS,
        "source": CES,
        "position": 30,
    },
    {
        "code": "ces-bilateral-sciatica",
        "text": "Do you have pain, numbness or tingling running down both legs?",
        "action": "refer-emergency",
        "regions": LOW_BACK_AND_LEGS,
        "source": CES,
        "position": 40,
    },
    {
        "code": "ces-sexual-dysfunction",
        "text": "Have you noticed any new change in sexual function, such as loss of feeling?",
        "action": "refer-emergency",
        "regions": LOW_BACK_AND_LEGS,
        "source": CES,
        "position": 50,
    },
    {
        "code": "recent-trauma",
        "text": "Have you had a significant fall, accident or other injury in the last few weeks?",
        "action": "refer-physician",
        "regions": [],
        "source": f"{SERIOUS} Asked at every intake: a recent injury matters wherever the work is.",
        "position": 60,
    },
    {
        "code": "fever-back-pain",
        "text": "Do you have a fever, or feel generally unwell, along with back pain?",
        "action": "refer-physician",
        "regions": BACK,
        "source": SERIOUS,
        "position": 70,
    },
    {
        "code": "cancer-history-back-pain",
        "text": "Have you ever had cancer, and is your back pain new since then?",
        "action": "refer-physician",
        "regions": BACK,
        "source": SERIOUS,
        "position": 80,
    },
    {
        "code": "unexplained-weight-loss",
        "text": "Have you lost weight recently without trying?",
        "action": "refer-physician",
        "regions": BACK,
        "source": SERIOUS,
        "position": 90,
    },
    {
        "code": "calf-swelling-redness",
        "text": "Is either of your calves swollen, warm, red or tender?",
        "action": "refer-physician",
        "regions": LOW_BACK_AND_LEGS,
        "source": f"{EXAMPLE} Possible deep vein thrombosis: no leg work, a physician first. {NICE_LBP}",
        "position": 100,
    },
]

# --- signs asked after every session ----------------------------------------------------------
# The founding case: the client stood up "slightly dizzy", her pain "the same or slightly worse",
# and hours later lost bladder control. Overstimulation cannot be proven after the fact: the
# early signs are asked every time, and the cauda equina signs sent to emergency care at once.

EARLY_SIGNS = (
    f"{EXAMPLE} {FOUNDING_CASE} In that case the client stood up slightly dizzy, her pain the "
    "same or slightly worse, hours before the emergency: the early signs are recorded every time."
)
NEW_NERVE_SIGNS = (
    f"{EXAMPLE} New or worsening neurological symptoms after lumbar work: a physician's "
    f"assessment, and emergency care if they spread to both legs or the saddle area. {NICE_SCIATICA}"
)
CES_AFTER = (
    f"{EXAMPLE} Possible cauda equina syndrome (G83.4): emergency assessment at once. "
    f"{NICE_SCIATICA} {BMJ_CES}"
)
EMERGENCY_INSTRUCTION = (
    "Call the emergency number now (911 in the United States, 112 in Europe, 999 in the United "
    "Kingdom) or go straight to an emergency department. Do not wait to see whether it passes, do "
    "not drive yourself, and have no more massage. Tell them you had massage on your back today "
    "and now have this sign: it can mean a nerve bundle in the lower spine is being squeezed "
    "(cauda equina syndrome), which needs emergency care within hours."
)

OUTCOME_SIGNS: list[dict[str, Any]] = [
    {
        "code": "dizziness",
        "label": "Dizziness or light-headedness",
        "severity": "mild",
        "instruction": "Sit or lie down until it passes, drink some water and stand up slowly. Do not "
        "drive while you feel it. If it has not passed within an hour, or you faint, call a doctor.",
        "source": EARLY_SIGNS,
        "position": 10,
    },
    {
        "code": "pain-worse",
        "label": "Pain worse than before the session",
        "severity": "mild",
        "instruction": "Some soreness after treatment is common and eases within a day or two. Rest, "
        "move gently, and do not book more work on that area until it has eased. Call a doctor if "
        "the pain keeps getting worse or spreads down a leg or an arm.",
        "source": EARLY_SIGNS,
        "position": 20,
    },
    {
        "code": "muscle-spasm",
        "label": "Muscle spasm",
        "severity": "mild",
        "instruction": "Rest the area, keep it warm and move it gently within what is comfortable. Call "
        "a doctor if the spasm has not eased within two days or comes with numbness or weakness.",
        "source": EARLY_SIGNS,
        "position": 30,
    },
    {
        "code": "new-numbness-tingling",
        "label": "New numbness or tingling",
        "severity": "moderate",
        "instruction": "See a doctor today or tomorrow and tell them it started after massage. Have no "
        "more massage until a doctor has seen you. If the numbness reaches both legs or the area "
        "between your legs, or you have any trouble passing urine, call the emergency number now.",
        "source": NEW_NERVE_SIGNS,
        "position": 40,
    },
    {
        "code": "new-limb-weakness",
        "label": "New weakness in a leg or an arm",
        "severity": "serious",
        "instruction": EMERGENCY_INSTRUCTION,
        "source": CES_AFTER,
        "position": 50,
    },
    {
        "code": "bladder-bowel-change",
        "label": "Any change in bladder or bowel control",
        "severity": "serious",
        "instruction": EMERGENCY_INSTRUCTION,
        "source": CES_AFTER,
        "position": 60,
    },
    {
        "code": "saddle-numbness",
        "label": "Numbness in the saddle area (between the legs, around the back passage)",
        "severity": "serious",
        "instruction": EMERGENCY_INSTRUCTION,
        "source": CES_AFTER,
        "position": 70,
    },
]
