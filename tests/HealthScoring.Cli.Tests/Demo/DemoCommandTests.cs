using HealthScoring.Cli.Demo;
using HealthScoring.Testing;

namespace HealthScoring.Cli.Tests.Demo;

public sealed class DemoCommandTests(PostgresSchemaFixture fixture) : IClassFixture<PostgresSchemaFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_demo_projects_every_appended_event_once_and_a_second_run_stores_nothing_new()
    {
        var settings = new CliSettings { ConnectionString = TestSettings.PostgresConnectionString, EventStore = fixture.Options };
        var workload = new DemoWorkload(accounts: 12, days: 30, seed: 7, lastDay: new DateOnly(2026, 6, 30));
        var expected = workload.Generate().Count();

        (await DemoCommand.RunAsync(settings, fixture.DataSource, "demo-tenant", workload, Ct)).ShouldBe(0);
        var (events, projected) = await CountsAsync();
        (await DemoCommand.RunAsync(settings, fixture.DataSource, "demo-tenant", workload, Ct)).ShouldBe(0);
        var (eventsAfter, projectedAfter) = await CountsAsync();

        events.ShouldBe(expected);
        projected.ShouldBe(expected, "the projection counts each event once");
        eventsAfter.ShouldBe(expected, "event ids are deterministic, so the second run appends nothing");
        projectedAfter.ShouldBe(expected);
    }

    [Fact]
    public void The_workload_is_the_same_for_the_same_seed_and_differs_for_another()
    {
        var day = new DateOnly(2026, 6, 30);
        var a = new DemoWorkload(5, 30, 1, day).Generate().Select(e => e.Event.EventId).ToList();
        var b = new DemoWorkload(5, 30, 1, day).Generate().Select(e => e.Event.EventId).ToList();
        var c = new DemoWorkload(5, 30, 2, day).Generate().Select(e => e.Event.EventId).ToList();

        a.ShouldBe(b);
        a.ShouldNotBe(c);
        a.Distinct().Count().ShouldBe(a.Count);
    }

    private async Task<(long Events, long Projected)> CountsAsync()
    {
        await using var command = fixture.DataSource.CreateCommand(
            $"select (select count(*) from {fixture.Schema}.events where tenant_id = 'demo-tenant'), (select coalesce(sum(events), 0)::bigint from {fixture.Schema}.demo_account_daily_activity where tenant_id = 'demo-tenant')");
        await using var reader = await command.ExecuteReaderAsync(Ct);
        await reader.ReadAsync(Ct);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
}
