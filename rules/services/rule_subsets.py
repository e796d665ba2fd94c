"""Some rules of an active version, compiled on their own: the original's `execute-by-ids`.

The original fetches the rules it is given by id and runs just those. Here ids name rules of the
tenant's active versions; the subset keeps its ruleset's semantics, catalog and patterns (in
`strict`, only the pattern keys as long as the subset, the only ones it can produce), and its
log rows name that version.
"""

import threading
from collections import OrderedDict

from django.conf import settings

from rules.choices import ItemStatus, RulesetSemantics, RulesetStatus
from rules.engine import CompiledRuleset, RulesetCompileError, compile_ruleset
from rules.errors import RulesetInvalid, ServiceError
from rules.models import Rule, Ruleset
from rules.services.compilation import ruleset_spec

SUBSET_CACHE_SIZE = 256

# (ruleset id, revision, rule ids) -> (compiled subset, identity); bounded, oldest out first.
_subsets: OrderedDict = OrderedDict()
_subsets_lock = threading.Lock()


class RuleIdsUnknown(ServiceError):
    """Some ids name no active rule of the tenant's active versions; `unknown` lists them."""

    code = "not_found"

    def __init__(self, message: str, *, unknown: list[str]):
        super().__init__(message)
        self.unknown = unknown


class RuleIdsAmbiguous(ServiceError):
    """The ids are rules of several active rulesets; `rulesets` names them."""

    code = "ambiguous_rule_ids"

    def __init__(self, message: str, *, rulesets: list[str]):
        super().__init__(message)
        self.rulesets = rulesets


class SubsetsNeedDatabase(ServiceError):
    code = "not_available"


def rule_subset_compiled(*, tenant, rule_ids: list[str]) -> tuple[CompiledRuleset, dict]:
    """(compiled subset, identity) of the active version holding every rule of `rule_ids`.

    The tenant's default ruleset is preferred when it holds them all; otherwise exactly one
    active version must. Raises RuleIdsUnknown (listing the ids no active version has),
    RuleIdsAmbiguous, or SubsetsNeedDatabase when serving snapshots (USE_DATABASE=false).
    """
    if not settings.USE_DATABASE:
        raise SubsetsNeedDatabase(
            "execute-by-ids reads rules from the database: it is not available while serving "
            "published snapshots (USE_DATABASE=false)"
        )
    wanted = list(dict.fromkeys(rule_ids))
    holders: dict[int, set[str]] = {}
    found = Rule.objects.filter(
        ruleset__tenant=tenant,
        ruleset__status=RulesetStatus.ACTIVE,
        status=ItemStatus.ACTIVE,
        rule_id__in=wanted,
    ).values_list("ruleset_id", "rule_id")
    for ruleset_id, rule_id in found:
        holders.setdefault(ruleset_id, set()).add(rule_id)
    complete = [pk for pk, ids in holders.items() if len(ids) == len(wanted)]
    if not complete:
        known = set().union(*holders.values()) if holders else set()
        unknown = [rule_id for rule_id in wanted if rule_id not in known]
        if unknown:
            raise RuleIdsUnknown(
                f"no active rule {', '.join(unknown)} in the active rulesets of tenant "
                f"{tenant.slug}",
                unknown=unknown,
            )
        raise RuleIdsUnknown(
            "these rules are in different rulesets; one request runs rules of one ruleset",
            unknown=[],
        )
    versions = {
        r.pk: r
        for r in Ruleset.objects.filter(pk__in=complete).only(
            "pk", "name", "is_default", "revision"
        )
    }
    defaults = [pk for pk in complete if versions[pk].is_default]
    if defaults:
        chosen = versions[defaults[0]]
    elif len(complete) == 1:
        chosen = versions[complete[0]]
    else:
        names = sorted(versions[pk].name for pk in complete)
        raise RuleIdsAmbiguous(
            f"rules {', '.join(wanted)} are in several active rulesets ({', '.join(names)}) "
            "and none of them is the default",
            rulesets=names,
        )
    return _subset(chosen.pk, chosen.revision, tuple(sorted(wanted)))


def _subset(ruleset_pk: int, revision: int, rule_ids: tuple) -> tuple[CompiledRuleset, dict]:
    key = (ruleset_pk, revision, rule_ids)
    with _subsets_lock:
        cached = _subsets.get(key)
        if cached is not None:
            _subsets.move_to_end(key)
            return cached
    ruleset = Ruleset.objects.select_related("tenant").get(pk=ruleset_pk)
    spec = ruleset_spec(ruleset)
    spec["rules"] = [rule for rule in spec["rules"] if rule["rule_id"] in rule_ids]
    if spec["ruleset"].get("semantics") != RulesetSemantics.ORIGINAL:
        # Strict patterns have one character per rule: only keys as long as the subset fit.
        size = sum(1 for rule in spec["rules"] if rule.get("status") == ItemStatus.ACTIVE)
        spec["patterns"] = [p for p in spec["patterns"] if len(p["pattern_key"]) == size]
    try:
        compiled = compile_ruleset(spec)
    except RulesetCompileError as error:
        raise RulesetInvalid(
            error.problems, heading=f"rules {', '.join(rule_ids)} of {ruleset.name} do not compile"
        ) from error
    identity = {
        "tenant": ruleset.tenant.slug,
        "ruleset_id": ruleset.pk,
        "name": ruleset.name,
        "version": ruleset.version,
        "status": ruleset.status,
        "source": "database",
    }
    with _subsets_lock:
        _subsets[key] = (compiled, identity)
        while len(_subsets) > SUBSET_CACHE_SIZE:
            _subsets.popitem(last=False)
    return compiled, identity
