using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace HealthScoring.Api.Observability;

/// <summary>
/// Collects the measurements of every <see cref="Meter"/> whose name starts with <c>HealthScoring</c> (made by this
/// host's <see cref="IMeterFactory"/>, or unscoped library meters) through a <see cref="MeterListener"/>, and writes
/// them in Prometheus' text exposition format 0.0.4: counters as <c>…_total</c>, histograms as cumulative
/// <c>…_bucket{le=…}</c> with <c>…_sum</c> and <c>…_count</c>, gauges (observable gauges, up-down counters) as
/// <c>gauge</c>. Units <c>s</c> and <c>By</c> become the suffixes <c>_seconds</c> and <c>_bytes</c>.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Buckets of a histogram that gives no advice (seconds).</summary>
    private static readonly double[] DefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly MeterListener _listener;
    private readonly ConcurrentDictionary<Instrument, Family> _families = new();
    private readonly Lock _collecting = new();

    /// <summary>Listens to this host's meters named <c>HealthScoring…</c> and to unscoped ones of that name (libraries' static meters).</summary>
    public PrometheusExporter(IMeterFactory meters)
        : this(meter => meter.Name.StartsWith(HealthScoringMetrics.MeterName, StringComparison.Ordinal) && (meter.Scope is null || ReferenceEquals(meter.Scope, meters)))
    {
    }

    /// <summary>Listens to the meters <paramref name="accepts"/> picks.</summary>
    public PrometheusExporter(Func<Meter, bool> accepts)
    {
        ArgumentNullException.ThrowIfNull(accepts);
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (accepts(instrument.Meter) && Family.For(instrument) is { } family)
                {
                    _families[instrument] = family;
                    listener.EnableMeasurementEvents(instrument, family);
                }
            },
            MeasurementsCompleted = (instrument, _) => _families.TryRemove(instrument, out Family? _),
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.Start();
    }

    /// <summary>Observes the observable instruments, then writes every metric family, sorted by name.</summary>
    public string Collect()
    {
        lock (_collecting)
        {
            var families = _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
            foreach (var family in families.Where(f => f.IsObservable))
            {
                family.Clear();
            }

            _listener.RecordObservableInstruments();
            var text = new StringBuilder();
            string? previous = null;
            foreach (var family in families)
            {
                // Two instruments with one exposition name (same name on two meters) share one HELP/TYPE header.
                family.Write(text, writeHeader: family.Name != previous);
                previous = family.Name;
            }

            return text.ToString();
        }
    }

    public void Dispose() => _listener.Dispose();

    /// <summary>The exposition name of an instrument: dots and other characters to underscores, the unit's suffix, <c>_total</c> for counters.</summary>
    internal static string MetricName(string instrumentName, string? unit, bool counter)
    {
        var name = new StringBuilder(instrumentName.Length + 16);
        foreach (var c in instrumentName)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_');
        }

        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            name.Insert(0, '_');
        }

        var suffix = unit switch
        {
            "s" => "_seconds",
            "ms" => "_milliseconds",
            "By" => "_bytes",
            _ => "",
        };
        var result = name.ToString();
        if (suffix.Length > 0 && !result.EndsWith(suffix, StringComparison.Ordinal))
        {
            result += suffix;
        }

        return counter && !result.EndsWith("_total", StringComparison.Ordinal) ? result + "_total" : result;
    }

    /// <summary>A label name: characters outside <c>[a-zA-Z0-9_]</c> become underscores; never starting with a digit.</summary>
    internal static string LabelName(string key)
    {
        var name = new StringBuilder(key.Length + 1);
        foreach (var c in key)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            name.Insert(0, '_');
        }

        return name.ToString();
    }

    /// <summary>A label value as the format wants it inside double quotes: backslash, double quote and line feed escaped.</summary>
    internal static string EscapeLabelValue(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>HELP text: backslash and line feed escaped.</summary>
    internal static string EscapeHelp(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>A sample value or bucket bound: Go's float syntax (<c>+Inf</c>, <c>-Inf</c>, <c>NaN</c>), invariant culture.</summary>
    internal static string FormatValue(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    private enum Kind
    {
        /// <summary>Counters and up-down counters: measurements add up.</summary>
        Sum,

        /// <summary>Observable instruments and gauges: the last measurement is the value.</summary>
        Last,

        /// <summary>Histograms: bucket counts, sum and count.</summary>
        Distribution,
    }

    /// <summary>One instrument's series (one per label set).</summary>
    private sealed class Family
    {
        private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);
        private readonly Kind _kind;
        private readonly string _type;
        private readonly string _help;
        private readonly double[] _bounds;

        private Family(string name, string type, string help, Kind kind, bool observable, double[] bounds)
        {
            Name = name;
            _type = type;
            _help = help;
            _kind = kind;
            IsObservable = observable;
            _bounds = bounds;
        }

        public string Name { get; }

        /// <summary>Its values are observed at each collection (and series not observed again disappear).</summary>
        public bool IsObservable { get; }

        public static Family? For(Instrument instrument)
        {
            var type = instrument.GetType();
            var generic = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
            (string Type, Kind Kind, bool Observable)? shape =
                generic == typeof(Counter<>) ? ("counter", Kind.Sum, false)
                : generic == typeof(ObservableCounter<>) ? ("counter", Kind.Last, true)
                : generic == typeof(UpDownCounter<>) ? ("gauge", Kind.Sum, false)
                : generic == typeof(ObservableUpDownCounter<>) || generic == typeof(ObservableGauge<>) ? ("gauge", Kind.Last, true)
                : generic == typeof(Gauge<>) ? ("gauge", Kind.Last, false)
                : generic == typeof(Histogram<>) ? ("histogram", Kind.Distribution, false)
                : null;
            if (shape is not { } s)
            {
                return null;
            }

            var name = MetricName(instrument.Name, instrument.Unit, counter: s.Type == "counter");
            return new Family(name, s.Type, instrument.Description ?? instrument.Name, s.Kind, s.Observable, s.Kind == Kind.Distribution ? Bounds(instrument) : []);
        }

        /// <summary>A histogram's bucket bounds: its advice when it gives some, else <see cref="DefaultBuckets"/>; sorted, finite, distinct.</summary>
        private static double[] Bounds(Instrument instrument)
        {
            var advised = (instrument as Histogram<double>)?.Advice?.HistogramBucketBoundaries
                ?? (instrument as Histogram<long>)?.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToList()
                ?? (instrument as Histogram<int>)?.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToList();
            return [.. (advised is { Count: > 0 } ? advised : DefaultBuckets).Where(b => !double.IsNaN(b) && !double.IsPositiveInfinity(b)).Distinct().Order()];
        }

        public void Clear() => _series.Clear();

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = Labels(tags);
            var key = string.Join('\u0001', labels.Select(l => l.Key + "\u0002" + l.Value));
            var series = _series.GetOrAdd(key, static (_, state) => new Series(state.Labels, state.Buckets), (Labels: labels, Buckets: _kind == Kind.Distribution ? _bounds.Length : -1));
            lock (series)
            {
                switch (_kind)
                {
                    case Kind.Sum:
                        series.Value += value;
                        break;
                    case Kind.Last:
                        series.Value = value;
                        break;
                    default:
                        // Non-cumulative here; the bucket a value falls in is the first bound at or above it (le).
                        var bucket = Array.BinarySearch(_bounds, value);
                        series.Buckets![bucket >= 0 ? bucket : ~bucket]++;
                        series.Value += value;
                        series.Count++;
                        break;
                }
            }
        }

        private static KeyValuePair<string, string>[] Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = new KeyValuePair<string, string>[tags.Length];
            for (var i = 0; i < tags.Length; i++)
            {
                labels[i] = new(LabelName(tags[i].Key), Convert.ToString(tags[i].Value, CultureInfo.InvariantCulture) ?? "");
            }

            Array.Sort(labels, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            return labels;
        }

        public void Write(StringBuilder text, bool writeHeader)
        {
            if (writeHeader)
            {
                text.Append("# HELP ").Append(Name).Append(' ').Append(EscapeHelp(_help)).Append('\n');
                text.Append("# TYPE ").Append(Name).Append(' ').Append(_type).Append('\n');
            }

            foreach (var series in _series.Values.OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                lock (series)
                {
                    if (_kind != Kind.Distribution)
                    {
                        Sample(text, Name, series.Labels, null, series.Value);
                        continue;
                    }

                    long cumulative = 0;
                    for (var i = 0; i < _bounds.Length; i++)
                    {
                        cumulative += series.Buckets![i];
                        Sample(text, Name + "_bucket", series.Labels, FormatValue(_bounds[i]), cumulative);
                    }

                    Sample(text, Name + "_bucket", series.Labels, "+Inf", series.Count);
                    Sample(text, Name + "_sum", series.Labels, null, series.Value);
                    Sample(text, Name + "_count", series.Labels, null, series.Count);
                }
            }
        }

        private static void Sample(StringBuilder text, string name, KeyValuePair<string, string>[] labels, string? le, double value)
        {
            text.Append(name);
            if (labels.Length > 0 || le is not null)
            {
                text.Append('{');
                var first = true;
                foreach (var (key, labelValue) in labels)
                {
                    text.Append(first ? "" : ",").Append(key).Append("=\"").Append(EscapeLabelValue(labelValue)).Append('"');
                    first = false;
                }

                if (le is not null)
                {
                    text.Append(first ? "" : ",").Append("le=\"").Append(le).Append('"');
                }

                text.Append('}');
            }

            text.Append(' ').Append(FormatValue(value)).Append('\n');
        }
    }

    /// <summary>One label set's value (sum or last), or a histogram's per-bucket counts, sum and count.</summary>
    private sealed class Series(KeyValuePair<string, string>[] labels, int buckets)
    {
        public KeyValuePair<string, string>[] Labels { get; } = labels;

        public string Key { get; } = string.Join(',', labels.Select(l => l.Key + "=" + l.Value));

        public double Value { get; set; }

        public long Count { get; set; }

        /// <summary>One count per bound, plus one for values above the last bound (+Inf).</summary>
        public long[]? Buckets { get; } = buckets < 0 ? null : new long[buckets + 1];
    }
}
