using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace HealthScoring.Testing;

/// <summary>
/// A strict reader of Prometheus' text exposition format 0.0.4, for tests and benchmarks that scrape <c>/metrics</c>:
/// every line must be a HELP, a TYPE or a sample (name, optional escaped labels, value), and each sample must follow
/// the TYPE of its family. Throws <see cref="FormatException"/> naming the line otherwise.
/// </summary>
public sealed partial class PrometheusText
{
    private PrometheusText(List<PrometheusSample> samples, Dictionary<string, string> types, Dictionary<string, string> help)
    {
        Samples = samples;
        Types = types;
        Help = help;
    }

    public IReadOnlyList<PrometheusSample> Samples { get; }

    /// <summary>Family name to its TYPE (counter, gauge, histogram, ...).</summary>
    public IReadOnlyDictionary<string, string> Types { get; }

    /// <summary>Family name to its HELP text, unescaped.</summary>
    public IReadOnlyDictionary<string, string> Help { get; }

    /// <summary>The value of the one sample named <paramref name="name"/> whose labels include <paramref name="labels"/>, or 0 when there is none.</summary>
    public double Value(string name, params (string Key, string Value)[] labels)
    {
        var matching = Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();
        return matching.Count switch
        {
            0 => 0,
            1 => matching[0].Value,
            _ => throw new InvalidOperationException($"{matching.Count} samples of {name} match; name more labels."),
        };
    }

    public static PrometheusText Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var samples = new List<PrometheusSample>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var help = new Dictionary<string, string>(StringComparer.Ordinal);
        var number = 0;
        foreach (var line in text.Split('\n'))
        {
            number++;
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var m = HelpLine().Match(line);
                Require(m.Success, number, line, "HELP line");
                help[m.Groups["name"].Value] = Unescape(m.Groups["text"].Value, number, line, quoted: false);
                continue;
            }

            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var m = TypeLine().Match(line);
                Require(m.Success, number, line, "TYPE line");
                Require(!samples.Any(s => FamilyOf(s.Name, types) == m.Groups["name"].Value), number, line, "TYPE before the family's samples");
                types[m.Groups["name"].Value] = m.Groups["type"].Value;
                continue;
            }

            Require(!line.StartsWith('#'), number, line, "HELP, TYPE or a sample");
            var sample = SampleLine().Match(line);
            Require(sample.Success, number, line, "sample");
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in LabelPair().Matches(sample.Groups["labels"].Value))
            {
                Require(labels.TryAdd(label.Groups["key"].Value, Unescape(label.Groups["value"].Value, number, line, quoted: true)), number, line, "distinct label names");
            }

            Require(LabelPair().Replace(sample.Groups["labels"].Value, "").Trim(',').Length == 0, number, line, "well-formed labels");
            var name = sample.Groups["name"].Value;
            Require(FamilyOf(name, types) is not null, number, line, "a sample of a family with a TYPE");
            samples.Add(new PrometheusSample(name, labels, ParseValue(sample.Groups["value"].Value, number, line)));
        }

        return new PrometheusText(samples, types, help);
    }

    /// <summary>The family a sample belongs to: its name, or for histograms and summaries the name without _bucket, _sum, _count.</summary>
    private static string? FamilyOf(string sampleName, Dictionary<string, string> types)
    {
        if (types.ContainsKey(sampleName))
        {
            return sampleName;
        }

        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal) && types.TryGetValue(sampleName[..^suffix.Length], out var type) && type is "histogram" or "summary")
            {
                return sampleName[..^suffix.Length];
            }
        }

        return null;
    }

    private static double ParseValue(string text, int number, string line) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : throw new FormatException($"line {number}: '{text}' is not a number: {line}"),
    };

    private static string Unescape(string text, int number, string line, bool quoted)
    {
        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\')
            {
                result.Append(text[i]);
                continue;
            }

            Require(i + 1 < text.Length, number, line, "a complete escape");
            var next = text[++i];
            result.Append(next switch
            {
                '\\' => '\\',
                'n' => '\n',
                '"' when quoted => '"',
                _ => throw new FormatException($"line {number}: unknown escape \\{next}: {line}"),
            });
        }

        return result.ToString();
    }

    private static void Require(bool condition, int number, string line, string what)
    {
        if (!condition)
        {
            throw new FormatException($"line {number}: expected {what}: {line}");
        }
    }

    [GeneratedRegex("""^# HELP (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<text>.*)$""")]
    private static partial Regex HelpLine();

    [GeneratedRegex("""^# TYPE (?<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<type>counter|gauge|histogram|summary|untyped)$""")]
    private static partial Regex TypeLine();

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""(?<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>(?:[^"\\\n]|\\.)*)",?""")]
    private static partial Regex LabelPair();
}

/// <summary>One sample line: its name, labels (unescaped) and value.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);
