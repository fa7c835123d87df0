"""The demo's well-known data: the fake Lever's demo account and the fake Backcheck's client.

`make run` seeds the fake Lever with it (`python -m connectors.lever.fake --seed-demo`),
`manage.py demo_setup` points the demo tenant at it and `manage.py demo` moves its candidates.
Plain data, so the demo commands need nothing from the fakes.
"""

from __future__ import annotations

from typing import Any

BG_CHECK_STAGE_ID = "00922a60-7c15-422b-b086-f62000824fd7"
DEMO_STAGES = [
    {"id": "lead-new", "text": "New lead"},
    {"id": "lead-reached-out", "text": "Reached out"},
    {"id": "applicant-new", "text": "New applicant"},
    {"id": "3e2f1a00-0000-4000-8000-000000000003", "text": "Phone Screen"},
    {"id": "6b7c8d9e-0000-4000-8000-000000000004", "text": "On-site Interview"},
    {"id": BG_CHECK_STAGE_ID, "text": "Background Check"},
    {"id": "offer", "text": "Offer"},
]
DEMO_USERS = [
    {
        "id": "8d3c2b1a-0000-4000-8000-0000000000a1",
        "name": "Riley Recruiter",
        "email": "riley.recruiter@example.com",
        "accessRole": "super admin",
    }
]


# The fake Backcheck's own made-up client (its defaults), never a real credential.
DEMO_BACKCHECK_CLIENT_ID = "fake-backcheck-client"
DEMO_BACKCHECK_CLIENT_SECRET = "fake-backcheck-secret-do-not-use"

# The demo Lever account: other code names its stage, author and candidates by these ids.
DEMO_SEED: dict[str, Any] = {
    "background_check_stage_id": BG_CHECK_STAGE_ID,
    "stages": DEMO_STAGES,
    "users": DEMO_USERS,
    "note_author_user_id": DEMO_USERS[0]["id"],
    "candidates": {
        # Opportunity tag matches a package.
        "ada": {
            "opportunity_id": "250d8f03-738a-4bba-a671-8a3d73477145",
            "name": "Ada Lovelace",
            "emails": ["ada.lovelace@example.com"],
            "phones": [{"type": "mobile", "value": "+1 416 555 0100"}],
            "tags": ["standard-ca"],
            "posting_tags": [],
            "stage": "applicant-new",
        },
        # Only the job posting carries the package tag.
        "jose": {
            "opportunity_id": "3c1e5a7b-0000-4000-8000-000000000002",
            "name": "José Núñez-O'Brien",
            "emails": ["jose.nunez@example.com"],
            "phones": [{"type": None, "value": "+1 604 555 0199"}],
            "tags": ["Finance"],
            "posting_tags": ["executive-ca"],
            "stage": "applicant-new",
        },
        # No email address: ordering must fail with a note telling the recruiter what to fix.
        "prince": {
            "opportunity_id": "4d2f6b8c-0000-4000-8000-000000000003",
            "name": "Prince",
            "emails": [],
            "phones": [],
            "tags": ["standard-ca"],
            "posting_tags": [],
            "stage": "applicant-new",
        },
        # No tag at all: resolved by the tenant's default package, if it has one.
        "mary": {
            "opportunity_id": "5e3a7c9d-0000-4000-8000-000000000004",
            "name": "Mary Ann van der Berg",
            "emails": ["maryann.vanderberg@example.com"],
            "phones": [],
            "tags": [],
            "posting_tags": [],
            "stage": "lead-new",
        },
    },
}
