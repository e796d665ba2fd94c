"""Reads of rulesets: which version of a name a command or page means, and version order."""

from rules.choices import RulesetStatus
from rules.errors import ServiceError
from rules.models import Ruleset


def version_key(version: str) -> tuple:
    """Sort key of a version text: '1.10' after '1.9'."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (-1,)


def ruleset_lookup(*, tenant, name: str, version: str | None = None) -> Ruleset:
    """A version of `name`: the given one, else the active one, else the latest."""
    versions = list(Ruleset.objects.for_tenant(tenant).filter(name=name))
    if not versions:
        raise ServiceError(f"tenant {tenant.slug} has no ruleset named {name}")
    if version is not None:
        for candidate in versions:
            if candidate.version == version:
                return candidate
        known = ", ".join(sorted((v.version for v in versions), key=version_key))
        raise ServiceError(f"{name} has no version {version} (versions: {known})")
    for candidate in versions:
        if candidate.status == RulesetStatus.ACTIVE:
            return candidate
    return max(versions, key=lambda v: version_key(v.version))
