"""The management API's viewsets, a module per resource family; rules/api/urls.py routes them.

Thin: serializers validate HTTP input and rules/services do every write and check every business
rule. Querysets are scoped to the caller's tenants, so another tenant's objects answer 404.
"""
