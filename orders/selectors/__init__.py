"""Reads, one module per page or API: views call selectors, selectors never call services.
Scoping to the user's tenants is connectors.tenants.access's."""

from orders.selectors.orders import order_get, order_list

__all__ = ["order_get", "order_list"]
