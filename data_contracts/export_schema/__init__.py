"""Export contract v2: the one home of the billing export's columns and file format.

`EXPORT_SPEC` lists every column of `risk_scores_<UTC>.csv` (name, cell type, description,
nullable) in file order. The writer's column order (`models.export.EXPORT_COLUMNS`), the README
table (`markdown_table`) and the two JSON Schemas (draft 2020-12; `row_schema` for one CSV row as
a CSV reader yields it, every cell a string, and `manifest_schema` for the manifest) are derived
from it. The committed copies in this folder (`risk_scores_row.schema.json`,
`risk_scores_manifest.schema.json`) are what a billing system validates against; a test keeps
them equal to the generated ones (`uv run python -m data_contracts.export_schema` rewrites them).

v2 only adds columns at the end (v1 positions are unchanged) and adds manifest fields; v1 manifest
fields keep their meaning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

SCHEMA_VERSION = "2.0"
ENCODING = "utf-8"
DELIMITER = ","
LINE_TERMINATOR = "\n"
QUOTE_CHAR = '"'
SCHEMA_DIR = Path(__file__).parent
ROW_SCHEMA_FILE = "risk_scores_row.schema.json"
MANIFEST_SCHEMA_FILE = "risk_scores_manifest.schema.json"
SCHEMA_ID_BASE = "https://denial-risk-64520.example/schemas/export/v2/"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

CellType = Literal[
    "identifier",
    "text",
    "reason_code",
    "cpt_code",
    "band",
    "integer",
    "money",
    "probability",
    "date",
    "timestamp",
    "boolean",
]

RISK_BANDS = ("low", "medium", "high")

# What a cell of each type looks like in the CSV (the text a reader gets, before any parsing).
CELL_PATTERNS: dict[CellType, str] = {
    "identifier": r"[A-Za-z0-9][A-Za-z0-9 _./:#\-]*",
    "reason_code": r"[A-Z][A-Z0-9_]*",
    "cpt_code": r"[A-Z0-9]{5}",
    "integer": r"-?[0-9]+",
    "money": r"[0-9]+\.[0-9]{2}",
    "probability": r"0(\.[0-9]+)?|1(\.0+)?",
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "timestamp": r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z",
    "boolean": r"true|false",
}
# Free text may hold anything except a leading formula character; csv_safe quotes those
# (OWASP "CSV Injection"), so a written cell never starts with one.
FORMULA_START_PATTERN = r"^[=+\-@\t\r]"
TEXT_TYPES: frozenset[CellType] = frozenset({"identifier", "text", "reason_code", "band"})


@dataclass(frozen=True)
class ExportColumn:
    """One column of the billing export."""

    name: str
    type: CellType
    description: str
    nullable: bool = False

    @property
    def is_text(self) -> bool:
        """Text cells get formula-injection neutralisation; numbers, dates and booleans do not."""
        return self.type in TEXT_TYPES


EXPORT_SPEC: tuple[ExportColumn, ...] = (
    ExportColumn("claim_id", "identifier", "claim identifier as sent by the practice"),
    ExportColumn("line_number", "integer", "service line number within the claim (>= 1)"),
    ExportColumn("cpt_code", "cpt_code", "procedure code of the line (64520)"),
    ExportColumn("payer_id", "identifier", "payer identifier as sent by the practice"),
    ExportColumn("service_date", "date", "date of service, YYYY-MM-DD"),
    ExportColumn("charge_amount", "money", "billed charge in USD, two decimals"),
    ExportColumn(
        "denial_probability",
        "probability",
        "calibrated probability (0-1, four decimals) that the payer denies the line",
    ),
    ExportColumn(
        "risk_band",
        "band",
        "low, medium or high, chosen by expected_loss_usd against the manifest's risk_bands "
        "thresholds (not by probability)",
    ),
    ExportColumn(
        "expected_loss_usd",
        "money",
        "denial_probability × expected payment, USD, two decimals; the file is sorted by it, "
        "highest first",
    ),
    ExportColumn(
        "reason_1",
        "reason_code",
        "strongest reason code (never empty: NONE01 when no factor raises the risk)",
    ),
    ExportColumn("reason_2", "reason_code", "second reason code, empty when none", True),
    ExportColumn("reason_3", "reason_code", "third reason code, empty when none", True),
    ExportColumn(
        "reasons", "text", "the reasons in a biller's words, '; '-joined, strongest first"
    ),
    ExportColumn(
        "recommended_action",
        "text",
        "what to fix before the claim goes out ('no pre-submission change recommended' for "
        "low-band lines)",
    ),
    ExportColumn(
        "policy_change",
        "text",
        "reason categories of the payer's open policy-drift alerts (';'-joined), empty when none "
        "(docs/monitoring.md)",
        True,
    ),
    ExportColumn(
        "model_version", "identifier", "version of the champion model that scored the line"
    ),
    ExportColumn("scored_at", "timestamp", "when the line was scored, UTC, YYYY-MM-DDTHH:MM:SSZ"),
    ExportColumn(
        "low_data",
        "boolean",
        "true when the line's payer had fewer than 100 labelled lines when the model was trained "
        "(or none): the score leans on the other payers and the prior",
    ),
    ExportColumn(
        "payer_name", "text", "payer name as sent by the practice, empty when not sent", True
    ),
    ExportColumn(
        "days_to_filing_limit",
        "integer",
        "the payer's filing limit minus the days from service to this export's run (negative: "
        "past the limit); empty when the payer's limit is unknown",
        True,
    ),
    ExportColumn("action_1", "text", "the fix for reason_1 (given in every band)"),
    ExportColumn("action_2", "text", "the fix for reason_2, empty when no reason_2", True),
    ExportColumn("action_3", "text", "the fix for reason_3, empty when no reason_3", True),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in EXPORT_SPEC)
TEXT_COLUMNS: tuple[str, ...] = tuple(c.name for c in EXPORT_SPEC if c.is_text)
MONEY_COLUMNS: tuple[str, ...] = tuple(c.name for c in EXPORT_SPEC if c.type == "money")

BAND_RULE = (
    "Bands are chosen by expected loss in dollars (denial_probability × expected payment), not by "
    "probability: high at or above hold_threshold_usd (hold and fix before submission), medium at "
    "or above medium_threshold_usd (review if time allows), low below. A cheap line with a high "
    "probability can be low and an expensive line with a modest probability high, so the bands "
    "overlap in probability (docs/model.md, operating point)."
)
FORMULA_RULE = (
    "A text cell starting with =, +, -, @, a tab or a carriage return is written with a single "
    "quote in front (OWASP CSV Injection); numbers, dates and booleans are never prefixed."
)


def _cell_schema(column: ExportColumn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "description": column.description}
    if column.type == "band":
        schema["enum"] = [*RISK_BANDS, ""] if column.nullable else list(RISK_BANDS)
        return schema
    pattern = CELL_PATTERNS.get(column.type)
    if pattern is not None:
        schema["pattern"] = f"^(?:{pattern})?$" if column.nullable else f"^(?:{pattern})$"
    elif not column.nullable:
        schema["minLength"] = 1
    if column.is_text:
        schema["not"] = {"pattern": FORMULA_START_PATTERN}
    return schema


def row_schema() -> dict[str, Any]:
    """JSON Schema of one CSV row as a CSV reader yields it (column name → cell text)."""
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID_BASE + ROW_SCHEMA_FILE,
        "title": f"risk_scores export row (contract v{SCHEMA_VERSION})",
        "description": (
            "One row of risk_scores_<UTC>.csv: every cell is text as written (an empty cell is "
            "an empty string). " + FORMULA_RULE
        ),
        "type": "object",
        "properties": {c.name: _cell_schema(c) for c in EXPORT_SPEC},
        "required": list(COLUMN_NAMES),
        "additionalProperties": False,
    }


def manifest_schema() -> dict[str, Any]:
    """JSON Schema of `risk_scores_<UTC>.manifest.json`."""
    threshold = {"type": "number", "minimum": 0}
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID_BASE + MANIFEST_SCHEMA_FILE,
        "title": f"risk_scores export manifest (contract v{SCHEMA_VERSION})",
        "description": "Written after its CSV: pick up a CSV only when its manifest exists.",
        "type": "object",
        "required": [
            "schema_version",
            "file",
            "rows",
            "sha256",
            "generated_at",
            "encoding",
            "delimiter",
            "line_terminator",
            "quote_char",
            "header",
            "columns",
            "column_specs",
            "model_version",
            "model_kind",
            "risk_bands",
            "reasons",
            "reference_tables",
            "formula_injection",
            "json_schemas",
        ],
        "properties": {
            "schema_version": {"const": SCHEMA_VERSION},
            "file": {
                "type": "string",
                "pattern": r"^risk_scores_[0-9]{8}T[0-9]{6}Z(-[0-9]+)?\.csv$",
            },
            "rows": {"type": "integer", "minimum": 0},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "generated_at": {"type": "string", "pattern": "^" + CELL_PATTERNS["timestamp"] + "$"},
            "encoding": {"const": ENCODING},
            "delimiter": {"const": DELIMITER},
            "line_terminator": {"const": LINE_TERMINATOR},
            "quote_char": {"const": QUOTE_CHAR},
            "header": {"const": True},
            "columns": {"const": list(COLUMN_NAMES)},
            "column_specs": {
                "const": [
                    {
                        "name": c.name,
                        "type": c.type,
                        "description": c.description,
                        "nullable": c.nullable,
                    }
                    for c in EXPORT_SPEC
                ]
            },
            "model_version": {"type": "string", "minLength": 1},
            "model_kind": {"enum": ["lightgbm", "logistic_regression"]},
            "risk_bands": {
                "type": "object",
                "required": [
                    "chosen_by",
                    "rule",
                    "hold_threshold_usd",
                    "medium_threshold_usd",
                    "bands",
                ],
                "properties": {
                    "chosen_by": {"const": "expected_loss_usd"},
                    "rule": {"type": "string", "minLength": 1},
                    "hold_threshold_usd": threshold,
                    "medium_threshold_usd": threshold,
                    "bands": {
                        "type": "array",
                        "minItems": len(RISK_BANDS),
                        "maxItems": len(RISK_BANDS),
                        "items": {
                            "type": "object",
                            "required": ["band", "min_expected_loss_usd", "meaning"],
                            "properties": {
                                "band": {"enum": list(RISK_BANDS)},
                                "min_expected_loss_usd": threshold,
                                "meaning": {"type": "string", "minLength": 1},
                            },
                            "additionalProperties": False,
                        },
                    },
                },
                "additionalProperties": False,
            },
            "reasons": {
                "description": "the reason dictionary: every code reason_1..3 can hold",
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["code", "text", "action"],
                    "properties": {
                        "code": {
                            "type": "string",
                            "pattern": "^" + CELL_PATTERNS["reason_code"] + "$",
                        },
                        "text": {"type": "string", "minLength": 1},
                        "action": {"type": "string", "minLength": 1},
                    },
                    "additionalProperties": False,
                },
            },
            "reference_tables": {
                "description": "release (quarter or year) of each reference table used",
                "type": "object",
                "required": ["ncci_ptp", "ncci_mue", "icd10cm", "physician_fee_schedule"],
                "additionalProperties": {"type": "string", "minLength": 1},
            },
            "formula_injection": {"type": "string", "minLength": 1},
            "json_schemas": {
                "type": "object",
                "required": ["row", "manifest"],
                "properties": {
                    "row": {"const": SCHEMA_ID_BASE + ROW_SCHEMA_FILE},
                    "manifest": {"const": SCHEMA_ID_BASE + MANIFEST_SCHEMA_FILE},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    }


def file_format() -> dict[str, Any]:
    """The manifest's description of the CSV file itself (encoding, separators, columns)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "encoding": ENCODING,
        "delimiter": DELIMITER,
        "line_terminator": LINE_TERMINATOR,
        "quote_char": QUOTE_CHAR,
        "header": True,
        "columns": list(COLUMN_NAMES),
        "column_specs": [
            {"name": c.name, "type": c.type, "description": c.description, "nullable": c.nullable}
            for c in EXPORT_SPEC
        ],
        "formula_injection": FORMULA_RULE,
        "json_schemas": {
            "row": SCHEMA_ID_BASE + ROW_SCHEMA_FILE,
            "manifest": SCHEMA_ID_BASE + MANIFEST_SCHEMA_FILE,
        },
    }


def risk_bands(operating_point: dict[str, Any]) -> dict[str, Any]:
    """The manifest's band thresholds and rule, from the model's stored operating point."""
    hold = float(operating_point["hold_threshold_usd"])
    medium = float(operating_point["medium_threshold_usd"])
    return {
        "chosen_by": "expected_loss_usd",
        "rule": BAND_RULE,
        "hold_threshold_usd": hold,
        "medium_threshold_usd": medium,
        "bands": [
            {
                "band": "high",
                "min_expected_loss_usd": hold,
                "meaning": "hold and fix before submission",
            },
            {"band": "medium", "min_expected_loss_usd": medium, "meaning": "review if time allows"},
            {"band": "low", "min_expected_loss_usd": 0.0, "meaning": "send as it is"},
        ],
    }


def markdown_table() -> str:
    """The README's export column table, generated from `EXPORT_SPEC`."""
    lines = ["| column | type | empty allowed | meaning |", "|---|---|---|---|"]
    for c in EXPORT_SPEC:
        lines.append(f"| {c.name} | {c.type} | {'yes' if c.nullable else 'no'} | {c.description} |")
    return "\n".join(lines)


def committed_schema(file_name: str) -> dict[str, Any]:
    """A committed JSON Schema of this folder."""
    return json.loads((SCHEMA_DIR / file_name).read_text(encoding="utf-8"))


def write_schemas(folder: Path = SCHEMA_DIR) -> list[Path]:
    """Write both JSON Schemas (generated from the specs) into `folder`."""
    written = []
    for name, schema in (
        (ROW_SCHEMA_FILE, row_schema()),
        (MANIFEST_SCHEMA_FILE, manifest_schema()),
    ):
        path = folder / name
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
