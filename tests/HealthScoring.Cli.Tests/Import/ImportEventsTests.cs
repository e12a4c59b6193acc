using System.IO.Compression;
using System.Text.Json;
using HealthScoring.Api.Ingestion;
using HealthScoring.Cli.Import;
using HealthScoring.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace HealthScoring.Cli.Tests.Import;

public sealed class ImportEventsTests(PostgresSchemaFixture fixture) : IClassFixture<PostgresSchemaFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_import_with_exact_duplicate_lines_stores_each_messageId_once_and_a_second_run_stores_nothing()
    {
        var settings = new CliSettings { ConnectionString = TestSettings.PostgresConnectionString, EventStore = fixture.Options };
        using var host = await CliHost.StartAsync(settings, Ct);
        var pipeline = host.Services.GetRequiredService<IngestionPipeline>();
        var tenant = $"t{Guid.NewGuid():N}"[..20];
        var random = new Random(5);
        var lines = Enumerable.Range(0, 3_000).Select(i => JsonSerializer.Serialize(new
        {
            type = "track",
            messageId = $"m-{i}",
            userId = $"u-{i % 37}",
            @event = "Report Viewed",
            context = new { groupId = $"acct-{i % 11}" },
            timestamp = "2026-09-01T10:00:00Z",
        })).ToList();
        lines.AddRange(Enumerable.Range(0, 6).Select(_ => lines[random.Next(3_000)])); // 0.2% exact duplicates
        lines.Add("{\"type\":\"track\",\"messageId\":\"x\"");                           // truncated line
        var file = new FileInfo(Path.Combine(Path.GetTempPath(), $"{tenant}.jsonl.gz"));
        await using (var gzip = new StreamWriter(new GZipStream(file.Create(), CompressionLevel.Fastest)))
        {
            foreach (var line in lines.OrderBy(_ => random.Next()))
            {
                await gzip.WriteLineAsync(line);
            }
        }

        try
        {
            var first = await ImportEventsCommand.ImportAsync(pipeline, tenant, file, batchSize: 500, Ct);
            var second = await ImportEventsCommand.ImportAsync(pipeline, tenant, file, batchSize: 500, Ct);

            first.Accepted.ShouldBe(3_000);
            first.Duplicates.ShouldBe(6);
            first.Rejected.ShouldBe(1);
            first.Reasons.Keys.ShouldHaveSingleItem().ShouldStartWith("malformed JSON");
            second.Accepted.ShouldBe(0);
            second.Duplicates.ShouldBe(3_006);
            await using var count = fixture.DataSource.CreateCommand($"select count(*), count(distinct event_id) from {fixture.Schema}.events where tenant_id = $1");
            count.Parameters.AddWithValue(tenant);
            await using var reader = await count.ExecuteReaderAsync(Ct);
            await reader.ReadAsync(Ct);
            reader.GetInt64(0).ShouldBe(3_000);
            reader.GetInt64(1).ShouldBe(3_000);
        }
        finally
        {
            file.Delete();
        }
    }
}
