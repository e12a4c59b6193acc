using System.Diagnostics.Metrics;
using HealthScoring.Api.Observability;
using HealthScoring.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace HealthScoring.Api.Tests.Observability;

public sealed class PrometheusExporterTests : IDisposable
{
    private readonly Meter _meter = new($"HealthScoring.Tests.{Guid.NewGuid():N}");
    private readonly PrometheusExporter _exporter;

    public PrometheusExporterTests() => _exporter = new PrometheusExporter(meter => ReferenceEquals(meter, _meter));

    public void Dispose()
    {
        _exporter.Dispose();
        _meter.Dispose();
    }

    [Fact]
    public void A_counter_is_a_total_with_help_and_type_summed_per_label_set()
    {
        var counter = _meter.CreateCounter<long>("test.requests", "{request}", "Requests handled.");
        counter.Add(2, new KeyValuePair<string, object?>("source", "http"));
        counter.Add(3, new KeyValuePair<string, object?>("source", "http"));
        counter.Add(7, new KeyValuePair<string, object?>("source", "grpc"));

        var text = _exporter.Collect();
        var parsed = PrometheusText.Parse(text);

        parsed.Types["test_requests_total"].ShouldBe("counter");
        parsed.Help["test_requests_total"].ShouldBe("Requests handled.");
        parsed.Value("test_requests_total", ("source", "http")).ShouldBe(5);
        parsed.Value("test_requests_total", ("source", "grpc")).ShouldBe(7);
        text.ShouldContain("# TYPE test_requests_total counter\n");
        text.ShouldContain("test_requests_total{source=\"http\"} 5\n");
    }

    [Fact]
    public void Label_values_and_help_are_escaped_and_read_back_unchanged()
    {
        const string Awkward = "back\\slash \"quoted\"\nnext line";
        var counter = _meter.CreateCounter<double>("test.escapes", null, "Help with a \\ and a\nline feed.");
        counter.Add(1.5, new KeyValuePair<string, object?>("odd-name.x", Awkward));

        var text = _exporter.Collect();
        var parsed = PrometheusText.Parse(text);

        text.ShouldContain("odd_name_x=\"back\\\\slash \\\"quoted\\\"\\nnext line\"");
        text.ShouldContain("# HELP test_escapes_total Help with a \\\\ and a\\nline feed.\n");
        parsed.Help["test_escapes_total"].ShouldBe("Help with a \\ and a\nline feed.");
        parsed.Samples.ShouldHaveSingleItem().Labels["odd_name_x"].ShouldBe(Awkward);
        parsed.Value("test_escapes_total").ShouldBe(1.5);
    }

    [Fact]
    public void Histogram_buckets_are_cumulative_with_sum_count_and_an_Inf_bucket()
    {
        var histogram = _meter.CreateHistogram<double>("test.latency", "s", "Latency.", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2, 5] });
        foreach (var value in new[] { 0.5, 1, 1.5, 3, 10 })
        {
            histogram.Record(value, new KeyValuePair<string, object?>("outcome", "ok"));
        }

        var parsed = PrometheusText.Parse(_exporter.Collect());

        parsed.Types["test_latency_seconds"].ShouldBe("histogram");
        var buckets = parsed.Samples.Where(s => s.Name == "test_latency_seconds_bucket").Select(s => (s.Labels["le"], s.Value)).ToList();
        buckets.ShouldBe([("1", 2), ("2", 3), ("5", 4), ("+Inf", 5)]);
        parsed.Value("test_latency_seconds_count", ("outcome", "ok")).ShouldBe(5);
        parsed.Value("test_latency_seconds_sum", ("outcome", "ok")).ShouldBe(16);
        parsed.Samples.Where(s => s.Name.StartsWith("test_latency_seconds", StringComparison.Ordinal)).ShouldAllBe(s => s.Labels["outcome"] == "ok");
    }

    [Fact]
    public void Observable_gauges_are_read_at_each_collection_and_series_no_longer_reported_disappear()
    {
        var reported = new List<Measurement<long>> { new(10, new KeyValuePair<string, object?>("subscription", "a")), new(20, new KeyValuePair<string, object?>("subscription", "b")) };
        _meter.CreateObservableGauge("test.lag", () => reported.ToArray(), "{event}", "Lag.");
        _meter.CreateObservableCounter("test.cpu", () => 4.25, "s", "CPU.");
        var up = _meter.CreateUpDownCounter<int>("test.in_flight");
        up.Add(3);
        up.Add(-1);

        var first = PrometheusText.Parse(_exporter.Collect());
        reported.RemoveAt(0);
        reported[0] = new(25, new KeyValuePair<string, object?>("subscription", "b"));
        var second = PrometheusText.Parse(_exporter.Collect());

        first.Types["test_lag"].ShouldBe("gauge");
        first.Value("test_lag", ("subscription", "a")).ShouldBe(10);
        first.Value("test_lag", ("subscription", "b")).ShouldBe(20);
        second.Samples.Where(s => s.Name == "test_lag").Select(s => (s.Labels["subscription"], s.Value)).ShouldBe([("b", 25)]);
        second.Types["test_cpu_seconds_total"].ShouldBe("counter");
        second.Value("test_cpu_seconds_total").ShouldBe(4.25);
        second.Types["test_in_flight"].ShouldBe("gauge");
        second.Value("test_in_flight").ShouldBe(2);
    }

    [Fact]
    public void Only_meters_named_HealthScoring_of_the_hosts_own_factory_are_exported()
    {
        using var ours = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var theirs = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = ours.GetRequiredService<IMeterFactory>();
        using var exporter = new PrometheusExporter(factory);
        factory.Create("HealthScoring").CreateCounter<long>("test.ours").Add(1);
        factory.Create("SomethingElse").CreateCounter<long>("test.other_name").Add(1);
        theirs.GetRequiredService<IMeterFactory>().Create("HealthScoring").CreateCounter<long>("test.other_host").Add(1);

        var parsed = PrometheusText.Parse(exporter.Collect());

        parsed.Value("test_ours_total").ShouldBe(1);
        parsed.Types.Keys.ShouldNotContain("test_other_name_total");
        parsed.Types.Keys.ShouldNotContain("test_other_host_total");
    }

    [Theory]
    [InlineData("healthscoring.ingest.received", "{event}", true, "healthscoring_ingest_received_total")]
    [InlineData("healthscoring.append.duration", "s", false, "healthscoring_append_duration_seconds")]
    [InlineData("process.resident_memory", "By", false, "process_resident_memory_bytes")]
    [InlineData("already_total", null, true, "already_total")]
    [InlineData("9lives-x", null, false, "_9lives_x")]
    public void Instrument_names_become_exposition_names(string instrument, string? unit, bool counter, string expected) =>
        PrometheusExporter.MetricName(instrument, unit, counter).ShouldBe(expected);

    [Theory]
    [InlineData("properties.plan", "properties")]
    [InlineData("context.traits.email", "context")]
    [InlineData("", "message")]
    [InlineData("event", "event")]
    [InlineData("acct_4711 secret", "other")]
    public void Reject_reasons_are_a_bounded_set_of_field_names(string field, string reason) =>
        HealthScoringMetrics.RejectReason(field).ShouldBe(reason);

    [Fact]
    public void Formatted_values_use_the_formats_own_spellings()
    {
        PrometheusExporter.FormatValue(double.PositiveInfinity).ShouldBe("+Inf");
        PrometheusExporter.FormatValue(double.NegativeInfinity).ShouldBe("-Inf");
        PrometheusExporter.FormatValue(double.NaN).ShouldBe("NaN");
        PrometheusExporter.FormatValue(0.0025).ShouldBe("0.0025");
        PrometheusExporter.FormatValue(1234567).ShouldBe("1234567");
    }
}
