namespace HealthScoring.Cli.Tests.Progress;

/// <summary>The plain progress lines written where output is redirected (CI logs, files).</summary>
public sealed class ProgressTests
{
    [Fact]
    public void A_file_import_line_follows_the_bytes_for_its_share_and_ETA_and_shows_the_events_rate()
    {
        var line = Cli.Progress.PlainLine("importing e.jsonl", 30_000_000, 120_000_000, "bytes", "events", 150_000, TimeSpan.FromSeconds(10));

        line.ShouldBe("importing e.jsonl: 30,000,000 / 120,000,000 bytes (25%, 150,000 events, 15,000 events/s, ETA 00:30)");
    }

    [Fact]
    public void Without_items_the_line_shows_the_units_rate()
    {
        Cli.Progress.PlainLine("projecting", 500, 1_000, "events", null, 0, TimeSpan.FromSeconds(5))
            .ShouldBe("projecting: 500 / 1,000 events (50%, 100 events/s, ETA 00:05)");
    }
}
