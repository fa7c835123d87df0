"""What a new fake Lever account holds unless told otherwise: its stages and its one user.

Tests name `BG_CHECK_STAGE_ID` as the trigger stage.
"""

from __future__ import annotations

from typing import Any

BG_CHECK_STAGE_ID = "00922a60-7c15-422b-b086-f62000824fd7"
DEFAULT_STAGES: list[dict[str, Any]] = [
    {"id": "lead-new", "text": "New lead"},
    {"id": "lead-reached-out", "text": "Reached out"},
    {"id": "applicant-new", "text": "New applicant"},
    {"id": "3e2f1a00-0000-4000-8000-000000000003", "text": "Phone Screen"},
    {"id": "6b7c8d9e-0000-4000-8000-000000000004", "text": "On-site Interview"},
    {"id": BG_CHECK_STAGE_ID, "text": "Background Check"},
    {"id": "offer", "text": "Offer"},
]
DEFAULT_USERS: list[dict[str, Any]] = [
    {
        "id": "8d3c2b1a-0000-4000-8000-0000000000a1",
        "name": "Riley Recruiter",
        "email": "riley.recruiter@example.com",
        "accessRole": "super admin",
    }
]
