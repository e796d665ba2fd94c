"""Admin for business analysts. Thin: scoping comes from TenantQuerySet and the cached role map
the API uses too, every write from `rules.services`. A module per page family:

- `tenancy`: the scoping and permission hooks every page shares;
- `rulesets`: ruleset versions with their rules, patterns and test cases;
- `ruleset_pages`: lifecycle transitions, new versions and test runs of a version;
- `history`: diffs and reverts; `catalogs`: conditions and actions; `attributes`: the
  attributes catalog (and `attribute_widgets`, its side of the rule forms);
- `members`: tenants, members, invitations and API clients.

Try-it, backtests and the dashboard live in the executions app (it may import rules, not the other
way round); these modules link to them by URL name only.
"""

from django.contrib import admin

# Imported for their registrations on the admin site.
from rules.admin import attributes, catalogs, members, ruleset_parts, rulesets  # noqa: F401

admin.site.site_header = "Rule engine"
admin.site.site_title = "Rule engine admin"
admin.site.index_title = "Rulesets, catalogs and execution logs"
admin.site.site_url = None  # there is no public site to view
