import json
from datetime import datetime, time, timedelta

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from executions.backtest import backtest_run
from ruleengine.tenant_command import TenantCommand
from rules.errors import ServiceError
from rules.selectors.backtest_baseline import backtest_baseline
from rules.selectors.rulesets import ruleset_lookup


def moment(text: str) -> datetime:
    """An ISO date or date-time; a date means its midnight, a naive time the current zone's."""
    parsed = parse_datetime(text)
    if parsed is None:
        day = parse_date(text)
        if day is None:
            raise ValueError(f"{text!r} is not an ISO date or date-time")
        parsed = datetime.combine(day, time.min)
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


class Command(TenantCommand):
    help = (
        "Replay the inputs logged for a ruleset version (default: the active one) through a "
        "candidate version and report what would change. Writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--candidate-version", required=True)
        parser.add_argument("--baseline-version", help="default: the active version")
        parser.add_argument(
            "--days", type=int, help="the last N days (default BACKTEST_DEFAULT_DAYS)"
        )
        parser.add_argument("--since", help="ISO date or date-time (inclusive)")
        parser.add_argument("--until", help="ISO date or date-time (exclusive; default now)")
        parser.add_argument("--max-inputs", type=int, help="default BACKTEST_MAX_INPUTS")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, name, tenant, **options):
        tenant_obj = self.tenant_get(tenant)
        if options["days"] is not None and options["since"]:
            raise CommandError("give --days or --since, not both")
        try:
            until = moment(options["until"]) if options["until"] else None
            since = moment(options["since"]) if options["since"] else None
        except ValueError as error:
            raise CommandError(str(error)) from error
        if options["days"] is not None:
            if options["days"] < 1:
                raise CommandError("--days must be at least 1")
            until = until or timezone.now()
            since = until - timedelta(days=options["days"])
        try:
            candidate = ruleset_lookup(
                tenant=tenant_obj, name=name, version=options["candidate_version"]
            )
            if options["baseline_version"] is not None:
                baseline = ruleset_lookup(
                    tenant=tenant_obj, name=name, version=options["baseline_version"]
                )
            else:
                baseline = backtest_baseline(candidate=candidate)
                if baseline is None:
                    raise CommandError(f"{name} has no active version; give --baseline-version")
            report = backtest_run(
                candidate=candidate,
                baseline=baseline,
                since=since,
                until=until,
                max_inputs=options["max_inputs"],
            )
        except ServiceError as error:
            raise CommandError(str(error)) from error
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self.stdout.write(report_text(report))


def report_text(report: dict) -> str:
    """The backtest report for people."""
    candidate, baseline, window = report["candidate"], report["baseline"], report["window"]
    replayed = report["inputs_replayed"]
    lines = [
        f"Backtest of {candidate['name']} {candidate['version']} ({candidate['status']}) "
        f"against the logs of {baseline['version']} ({baseline['status']})",
        f"window: {window['since']} to {window['until']}",
        f"inputs replayed: {replayed:,}"
        + (f" (capped at {report['max_inputs']:,}, newest first)" if report["capped"] else ""),
    ]
    if not replayed:
        lines.append("no logged inputs in the window: nothing to compare")
        return "\n".join(lines)
    decisions, patterns = report["decisions_changed"], report["patterns_changed"]
    lines += [
        f"decisions changed: {decisions['count']:,} ({decisions['percent']}%)",
        f"patterns changed: {patterns['count']:,} ({patterns['percent']}%)",
        "",
        "action recommendation (logged -> candidate):",
    ]
    for transition in report["transitions"]:
        marker = "*" if transition["changed"] else " "
        lines.append(
            f" {marker} {transition['from']} -> {transition['to']}: "
            f"{transition['count']:,} ({transition['percent']}%)"
        )
    points = report["total_points"]
    lines += ["", f"total points ({points['percentile_method']}):"]
    for label in ("before", "after"):
        summary = points[label]
        lines.append(
            f"  {label:<6}  mean {summary['mean']}  p50 {summary['p50']}  p95 {summary['p95']}"
        )
    lines.append(f"  mean shift {points['mean_shift']:+}")
    lines.append("  histogram (before -> after):")
    for bucket in points["histogram"]:
        lines.append(
            f"    [{bucket['from']}, {bucket['to']}): {bucket['before']:,} -> {bucket['after']:,}"
        )
    if report["rule_match_rates"]:
        lines += ["", "rules whose match rate changed most:"]
        for rate in report["rule_match_rates"]:
            lines.append(
                f"  {rate['rule_id']}: {rate['before']:.2%} -> {rate['after']:.2%} "
                f"({rate['change']:+.2%})"
            )
    for group in report["examples"]:
        lines += ["", f"examples {group['from']} -> {group['to']} ({len(group['examples'])}):"]
        for example in group["examples"][:5]:
            lines.append(f"  {example['timestamp']}  {example['execution_id']}")
        if len(group["examples"]) > 5:
            lines.append(f"  ... {len(group['examples']) - 5} more with --json")
    lines += ["", f"{report['seconds']} s ({report['read_strategy']})"]
    return "\n".join(lines)
