"""The metrics' text exposition, read back by prometheus_client's own parser."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from authgate.metrics import AuthgateMetrics, Counter, MetricsRegistry


def test_counters_histograms_and_gauges_parse_as_prometheus_reads_them() -> None:
    depth = [3.0]
    m = AuthgateMetrics(audit_queue_depth=lambda: depth[0])
    m.requests.inc("apikey", "success")
    m.requests.inc("apikey", "success")
    m.requests.inc("basic", "failure")
    m.cache_hits["apikey"] = 2  # answered from the identity cache: successes and hits
    m.verification.observe(0.0003, "apikey")
    m.verification.observe(0.02, "apikey")
    m.verification.observe(5.0, "apikey")  # above the last bound: +Inf only
    m.ratelimit.inc("refused")
    parsed = {
        f.name: {(s.name, tuple(sorted(s.labels.items()))): s.value for s in f.samples}
        for f in text_string_to_metric_families(m.registry.render().decode())
    }
    requests = parsed["authgate_requests"]
    assert (
        requests[("authgate_requests_total", (("outcome", "success"), ("scheme", "apikey")))] == 4
    )
    assert requests[("authgate_requests_total", (("outcome", "failure"), ("scheme", "basic")))] == 1
    cache = parsed["authgate_identity_cache"]
    assert cache[("authgate_identity_cache_total", (("result", "hit"),))] == 2
    hist = parsed["authgate_verification_seconds"]
    bucket = "authgate_verification_seconds_bucket"
    assert hist[(bucket, (("le", "0.0005"), ("scheme", "apikey")))] == 1
    assert hist[(bucket, (("le", "0.025"), ("scheme", "apikey")))] == 2
    assert hist[(bucket, (("le", "+Inf"), ("scheme", "apikey")))] == 3
    assert hist[("authgate_verification_seconds_count", (("scheme", "apikey"),))] == 3
    assert hist[("authgate_verification_seconds_sum", (("scheme", "apikey"),))] == pytest.approx(
        5.0203
    )
    assert parsed["authgate_audit_queue_depth"][("authgate_audit_queue_depth", ())] == 3
    assert (
        parsed["authgate_ratelimit_decisions"][
            ("authgate_ratelimit_decisions_total", (("decision", "refused"),))
        ]
        == 1
    )


def test_label_values_are_escaped() -> None:
    registry = MetricsRegistry()
    c = registry.add(Counter("x_total", "X.", ("v",)))
    c.inc('a"b\\c\nd')
    [family] = text_string_to_metric_families(registry.render().decode())
    [sample] = family.samples
    assert sample.labels == {"v": 'a"b\\c\nd'}


def test_a_name_is_registered_once() -> None:
    registry = MetricsRegistry()
    registry.add(Counter("x_total", "X."))
    with pytest.raises(ValueError, match="already"):
        registry.add(Counter("x_total", "X."))
