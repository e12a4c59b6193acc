using System.Globalization;
using HealthScoring.Cli.Generate;

namespace HealthScoring.Cli.Tests.Generate;

/// <summary>One row of accounts.csv.</summary>
public sealed record GroundTruth(
    string AccountId, string Name, string Plan, int SeatsStart, int SeatsEnd, DateOnly Signup, string Owner, string Scenario, DateOnly? Churn, DateOnly? Expansion, string PlanEnd);

/// <summary>A generated data set in a temporary directory, deleted on dispose.</summary>
public sealed class GeneratedData : IDisposable
{
    internal GeneratedData(SyntheticSaas.Options options)
    {
        Options = options;
        Directory = Path.Combine(Path.GetTempPath(), $"hs-generate-{Guid.NewGuid():N}");
        Summary = new SyntheticSaas(options).Write(Directory);
        Accounts = ReadAccounts(Path.Combine(Directory, SyntheticSaas.AccountsFile));
    }

    internal SyntheticSaas.Options Options { get; }

    internal SyntheticSaas.Summary Summary { get; }

    public string Directory { get; }

    public IReadOnlyList<GroundTruth> Accounts { get; }

    public string EventsPath => Path.Combine(Directory, SyntheticSaas.EventsFile);

    public string BillingPath => Path.Combine(Directory, SyntheticSaas.BillingFile);

    public string TaxonomyPath => Path.Combine(Directory, SyntheticSaas.TaxonomyFile);

    public string AccountsPath => Path.Combine(Directory, SyntheticSaas.AccountsFile);

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A temporary directory left behind is not worth failing a test for.
        }
    }

    private static List<GroundTruth> ReadAccounts(string path)
    {
        var lines = File.ReadAllLines(path);
        lines[0].ShouldBe("account_id,name,plan,seats_start,seats_end,signup_date,owner,scenario,churn_date,expansion_date,plan_end");
        return [.. lines.Skip(1).Select(line =>
        {
            var f = SplitCsv(line);
            f.Count.ShouldBe(11, line);
            return new GroundTruth(
                f[0], f[1], f[2], int.Parse(f[3], CultureInfo.InvariantCulture), int.Parse(f[4], CultureInfo.InvariantCulture), DateOnly.Parse(f[5], CultureInfo.InvariantCulture),
                f[6], f[7], f[8].Length == 0 ? null : DateOnly.Parse(f[8], CultureInfo.InvariantCulture), f[9].Length == 0 ? null : DateOnly.Parse(f[9], CultureInfo.InvariantCulture), f[10]);
        })];
    }

    private static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var current = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted && c == '"' && i + 1 < line.Length && line[i + 1] == '"')
            {
                current.Append('"');
                i++;
            }
            else if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == ',' && !quoted)
            {
                fields.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        fields.Add(current.ToString());
        return fields;
    }
}

/// <summary>A data set shared by the tests of a class: 200 accounts over 6 months, ending 2026-06-30.</summary>
public sealed class SixMonthsFixture : IDisposable
{
    public GeneratedData Data { get; } = new(new SyntheticSaas.Options(Accounts: 200, Months: 6, Seed: 11, End: new DateOnly(2026, 6, 30)));

    public void Dispose() => Data.Dispose();
}
