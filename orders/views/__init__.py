"""The account managers' pages: orders list, case detail and its actions, needs attention,
manual launch, profile. One module per page family; orders/urls.py maps them.

Every lookup goes through connectors.tenants.access (another tenant's order, note or event → 404).
Actions are confirmed on a page of their own (no inline JS: the CSP is default-src 'self'), then
call one service, which writes the OrderAction audit row; the view only reports the outcome.
"""
