"""engagesync: connectors and local sandboxes for customer-engagement APIs."""

__version__ = "0.1.0"
