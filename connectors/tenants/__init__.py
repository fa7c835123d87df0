"""Tenants: who may see which tenant, their settings and credentials, and how they change.

- `access`: tenant scoping (docs/CONTRACT.md §4), the one place that decides who sees what.
- `services` / `selectors`: writes and reads behind the set-up pages, the admin and the CLI.
- `audit`: the one writer of TenantAuditEntry rows.
- `intake`, `intake_views`, `intake_urls`: credential intake links (mounted at /intake/).
- `webhook_tenants`: the webhook endpoint's short-lived in-memory tenant snapshot.
"""
