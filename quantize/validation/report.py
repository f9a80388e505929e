"""Validation results: one entry per check, rendered as JSON and as a readable table."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass
class CheckResult:
    """One check: ``passed`` is True, False, or None when it could not run (skipped)."""

    name: str
    passed: bool | None
    detail: str
    metrics: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        return {True: "PASS", False: "FAIL", None: "SKIP"}[self.passed]


@dataclass
class ValidationReport:
    """All checks run on one GGUF file.

    A skipped check (``passed`` None: it could not run, e.g. no tokenizer.json or no reference
    at hand) does not fail the report, but it is never counted as a pass: ``skipped()`` lists
    it, the table's verdict names it and the JSON carries it under "skipped".
    """

    model: str
    reference: str | None
    source: str | None
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True only when no check failed and at least one ran."""
        return any(c.passed for c in self.checks) and not any(
            c.passed is False for c in self.checks
        )

    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if c.passed is False]

    def skipped(self) -> list[CheckResult]:
        return [c for c in self.checks if c.passed is None]

    def to_json(self) -> str:
        data = asdict(self)
        data["passed"] = self.passed
        data["skipped"] = [c.name for c in self.skipped()]
        return json.dumps(data, indent=2, ensure_ascii=False, default=float)

    def to_table(self) -> str:
        width = max((len(c.name) for c in self.checks), default=5)
        lines = [f"Validation of {self.model}"]
        if self.reference:
            lines.append(f"  reference: {self.reference}")
        lines.append(f"  source:    {self.source or 'none (checked against the reference)'}")
        lines.append("")
        for check in self.checks:
            lines.append(f"  {check.status}  {check.name:<{width}}  {check.detail}")
        lines.append("")
        verdict = "PASSED" if self.passed else f"FAILED ({len(self.failures())} check(s))"
        skipped = [c.name for c in self.skipped()]
        if skipped:
            verdict += f"; {len(skipped)} check(s) skipped, not passed: {', '.join(skipped)}"
        lines.append(f"Result: {verdict}")
        return "\n".join(lines)
