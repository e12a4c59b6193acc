using System.Text.Json;
using HealthScoring.Api.Accounts;
using HealthScoring.Api.Billing;
using HealthScoring.Api.Ingestion;
using HealthScoring.Api.Scoring;
using HealthScoring.Api.Tenancy;
using HealthScoring.Cli.Generate;
using HealthScoring.Cli.Import;
using HealthScoring.Cli.Models;
using HealthScoring.Cli.Tests.Generate;
using HealthScoring.EventStore;
using HealthScoring.Models;
using HealthScoring.Models.Features;
using HealthScoring.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HealthScoring.Cli.Tests.Models;

/// <summary>
/// End to end on the repo's own synthetic data: generate → import → project → train → score, plus the
/// point-in-time guarantee checked against a second tenant that never received anything after the as-of date.
/// One host and one import for the class (they are the slow part).
/// </summary>
public sealed class TrainAndScoreFixture : PostgresSchemaFixture
{
    public static readonly DateOnly End = new(2026, 10, 31);
    public static readonly DateOnly Cutoff = new(2026, 8, 1);

    public GeneratedData Data { get; private set; } = null!;
    public IHost Host { get; private set; } = null!;
    public string Full { get; } = $"full{Guid.NewGuid():N}"[..16];
    public string Truncated { get; } = $"trunc{Guid.NewGuid():N}"[..16];

    public T Service<T>() where T : notnull => Host.Services.GetRequiredService<T>();

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        var ct = TestContext.Current.CancellationToken;
        Data = new GeneratedData(new SyntheticSaas.Options(Accounts: 120, Months: 6, Seed: 5, End: End));
        Host = await CliHost.StartAsync(new CliSettings { ConnectionString = TestSettings.PostgresConnectionString, EventStore = Options }, ct);

        // The truncated tenant gets only what happened before the cutoff (by event time).
        var events = Path.Combine(Data.Directory, "events-before.jsonl");
        var billing = Path.Combine(Data.Directory, "billing-before.jsonl");
        await File.WriteAllLinesAsync(events, (await File.ReadAllLinesAsync(Data.EventsPath, ct)).Where(l => DateTimeOffset.Parse(JsonDocument.Parse(l).RootElement.GetProperty("timestamp").GetString()!, System.Globalization.CultureInfo.InvariantCulture) < AccountHistory.Instant(Cutoff)), ct);
        await File.WriteAllLinesAsync(billing, (await File.ReadAllLinesAsync(Data.BillingPath, ct)).Where(l => DateTimeOffset.FromUnixTimeSeconds(JsonDocument.Parse(l).RootElement.GetProperty("created").GetInt64()) < AccountHistory.Instant(Cutoff)), ct);
        foreach (var (tenant, eventsFile, billingFile) in new[] { (Full, Data.EventsPath, Data.BillingPath), (Truncated, events, billing) })
        {
            await Service<ApiKeyStore>().EnsureTenantAsync(tenant, ct);
            await DataQualityCommands.DeclareAsync(Service<EventTaxonomy>(), tenant, new FileInfo(Data.TaxonomyPath), ct);
            await ImportEventsCommand.ImportAsync(Service<IngestionPipeline>(), tenant, new FileInfo(eventsFile), 5_000, ct);
            await ImportBillingCommand.ImportAsync(Service<BillingIngestion>(), tenant, new FileInfo(billingFile), ct);
        }

        await Service<ProjectionRebuilder>().CatchUpAsync(null, ct);
    }

    public override async ValueTask DisposeAsync()
    {
        Host?.Dispose();
        Data?.Dispose();
        await base.DisposeAsync();
    }
}

public sealed class TrainAndScoreTests(TrainAndScoreFixture fixture) : IClassFixture<TrainAndScoreFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Features_as_of_a_date_are_identical_whether_or_not_later_events_exist_in_the_store()
    {
        var reader = fixture.Service<AccountHistoryReader>();
        var full = await reader.ReadAsync(fixture.Full, TrainAndScoreFixture.Cutoff, null, Ct);
        var truncated = await reader.ReadAsync(fixture.Truncated, TrainAndScoreFixture.Cutoff, null, Ct);
        full.Select(h => h.AccountId).ShouldBe(truncated.Select(h => h.AccountId));

        // The full tenant's store really does hold later events (else the test proves nothing).
        var later = await reader.ReadAsync(fixture.Full, TrainAndScoreFixture.End, null, Ct);
        later.Sum(h => h.Days.Count).ShouldBeGreaterThan(full.Sum(h => h.Days.Count));

        var schema = FeatureSchema.For(later);
        var extractor = new FeatureExtractor(schema);
        var a = new float[schema.Columns.Count];
        var b = new float[schema.Columns.Count];
        var c = new float[schema.Columns.Count];
        var laterById = later.ToDictionary(h => h.AccountId);
        for (var i = 0; i < full.Count; i++)
        {
            extractor.Compute(full[i], TrainAndScoreFixture.Cutoff, a);
            extractor.Compute(truncated[i], TrainAndScoreFixture.Cutoff, b);
            extractor.Compute(laterById[full[i].AccountId], TrainAndScoreFixture.Cutoff, c);
            b.ShouldBe(a, $"account {full[i].AccountId}");
            c.ShouldBe(a, $"account {full[i].AccountId}, history read up to the end");
        }
    }

    [Fact]
    public async Task Train_backtests_registers_and_promotes_then_score_writes_the_csv_and_appends_each_score()
    {
        var outcomes = await fixture.Service<TrainingService>().TrainAsync(new TrainingRequest(fixture.Full, TrainAndScoreFixture.End), [TargetKind.Churn, TargetKind.Expansion], null, Ct);

        var churn = outcomes.Single(o => o.Target == TargetKind.Churn);
        churn.Registered.ShouldNotBeNull(churn.Message);
        churn.Promoted.ShouldBeTrue();
        churn.Registered.Metrics.BacktestRocAuc.ShouldBeGreaterThan(0.65, "usage patterns drive the synthetic churn");
        churn.Candidates.Select(c => c.Algorithm).ShouldBe(["gbdt", "logistic"]);

        var run = await fixture.Service<HealthScorer>().ScoreAsync(fixture.Full, TrainAndScoreFixture.End, null, Ct);
        run.Scores.ShouldNotBeEmpty();
        run.Scores.ShouldAllBe(s => s.HealthScore >= 0 && s.HealthScore <= 100 && s.ChurnProbability >= 0 && s.ChurnProbability <= 1);
        run.Scores.ShouldAllBe(s => s.Band == "healthy" || s.Band == "watch" || s.Band == "at-risk");
        run.Scores.ShouldContain(s => s.Drivers.Count > 0);
        run.Appended.ShouldBe(run.Scores.Count);

        // Churned accounts (no live subscription, no recent activity) are not scored.
        var gone = fixture.Data.Accounts.Where(a => a.Churn is { } d && d < TrainAndScoreFixture.End.AddDays(-28)).Select(a => a.AccountId).ToHashSet();
        run.Scores.ShouldNotContain(s => gone.Contains(s.AccountId));

        var csv = Path.Combine(fixture.Data.Directory, "scores.csv");
        await ScoreCommand.WriteCsvAsync(csv, run.Scores, Ct);
        var lines = await File.ReadAllLinesAsync(csv, Ct);
        lines[0].ShouldBe("account_id,health_score,band,churn_probability,expansion_probability,top_drivers");
        lines.Length.ShouldBe(run.Scores.Count + 1);

        // The score is in the account's history; scoring the same date again with the same models adds nothing.
        var first = run.Scores[0];
        var history = await fixture.Service<IEventStore>().ReadStreamAsync(fixture.Full, IngestionPipeline.AccountStream(first.AccountId), cancellationToken: Ct).ToListAsync(Ct);
        history.Select(e => e.Data).OfType<AccountHealthScored>().ShouldHaveSingleItem().HealthScore.ShouldBe(first.HealthScore);
        var again = await fixture.Service<HealthScorer>().ScoreAsync(fixture.Full, TrainAndScoreFixture.End, null, Ct);
        again.Appended.ShouldBe(0);
        run.Alerts.Count(a => a.Kind == "became_at_risk").ShouldBe(run.Scores.Count(s => s.Band == "at-risk"), "each at-risk account alerts once");
        again.Alerts.ShouldNotContain(a => a.Kind == "became_at_risk", "a second run at risk raises nothing new");
        again.Scores.Select(s => s.HealthScore).ShouldBe(run.Scores.Select(s => s.HealthScore));

        // The promoted model reloaded from the registry scores exactly as the one just trained.
        var promoted = await fixture.Service<ModelRegistry>().GetPromotedAsync(fixture.Full, TargetKind.Churn, Ct);
        var reloaded = ModelFormat.FromBytes(ModelFormat.ToBytes(promoted!.Value.Model));
        var histories = await fixture.Service<AccountHistoryReader>().ReadAsync(fixture.Full, TrainAndScoreFixture.End, null, Ct);
        var extractor = new FeatureExtractor(promoted.Value.Info.Schema);
        var x = FeatureMatrix.Create(histories.Count, extractor.Columns);
        for (var i = 0; i < histories.Count; i++)
        {
            extractor.Compute(histories[i], TrainAndScoreFixture.End, x.RowSpan(i));
        }

        var p1 = new double[x.Rows];
        var p2 = new double[x.Rows];
        promoted.Value.Model.PredictProbabilities(x, p1);
        reloaded.PredictProbabilities(x, p2);
        p2.ShouldBe(p1);
    }

    [Fact]
    public async Task The_usage_billing_report_lists_every_paying_account_with_consistent_flags()
    {
        var rows = await fixture.Service<UsageBillingReport>().GetAsync(fixture.Full, TrainAndScoreFixture.End, Ct);
        var paying = (await fixture.Service<AccountHistoryReader>().ReadAsync(fixture.Full, TrainAndScoreFixture.End, null, Ct))
            .Count(h => h.BillingAt(AccountHistory.Instant(TrainAndScoreFixture.End)).IsCustomer);

        rows.Count.ShouldBe(paying);
        rows.ShouldAllBe(r => r.Mrr > 0 && r.Seats > 0);
        rows.Where(r => r.SeatUtilization < 0.5).ShouldAllBe(r => r.Flags.Contains("paying for unused seats"));
        rows.Where(r => r.ActiveUsers > r.Seats).ShouldAllBe(r => r.Flags.Contains("over-using plan"));
        rows.ShouldAllBe(r => r.UnusedSeats == Math.Max(0, r.Seats - r.ActiveUsers));
        rows.ShouldContain(r => r.Flags.Count == 0, "healthy accounts raise no finding");
    }

    [Fact]
    public async Task Promoting_an_older_version_rolls_back_and_an_unknown_version_is_refused()
    {
        var training = fixture.Service<TrainingService>();
        var registry = fixture.Service<ModelRegistry>();
        var tenant = fixture.Full;
        var first = (await training.TrainAsync(new TrainingRequest(tenant, TrainAndScoreFixture.End), [TargetKind.Expansion], null, Ct)).Single();
        first.Registered.ShouldNotBeNull(first.Message);
        var second = (await training.TrainAsync(new TrainingRequest(tenant, TrainAndScoreFixture.End, ForcePromote: true), [TargetKind.Expansion], null, Ct)).Single();
        second.Registered!.Version.ShouldBe(first.Registered.Version + 1);
        (await registry.GetPromotedAsync(tenant, TargetKind.Expansion, Ct))!.Value.Info.Version.ShouldBe(second.Registered.Version);

        (await registry.PromoteAsync(tenant, TargetKind.Expansion, first.Registered.Version, Ct)).ShouldBeTrue();
        (await registry.GetPromotedAsync(tenant, TargetKind.Expansion, Ct))!.Value.Info.Version.ShouldBe(first.Registered.Version);
        (await registry.PromoteAsync(tenant, TargetKind.Expansion, 999, Ct)).ShouldBeFalse();
        (await registry.GetPromotedAsync(tenant, TargetKind.Expansion, Ct))!.Value.Info.Version.ShouldBe(first.Registered.Version, "a refused promotion changes nothing");
        (await registry.ListAsync(tenant, Ct)).Count(m => m.IsPromoted && m.Target == TargetKind.Expansion).ShouldBe(1);
    }

    [Fact]
    public async Task Training_with_no_churn_in_history_says_so_and_registers_nothing_and_scoring_says_how_to_train()
    {
        var tenant = $"nochurn{Guid.NewGuid():N}"[..16];
        var ct = Ct;
        await fixture.Service<ApiKeyStore>().EnsureTenantAsync(tenant, ct);
        var events = Path.Combine(fixture.Data.Directory, $"{tenant}-events.jsonl");
        var billing = Path.Combine(fixture.Data.Directory, $"{tenant}-billing.jsonl");
        await File.WriteAllLinesAsync(events, (await File.ReadAllLinesAsync(fixture.Data.EventsPath, ct)).Take(20_000), ct);
        await File.WriteAllLinesAsync(billing, (await File.ReadAllLinesAsync(fixture.Data.BillingPath, ct)).Where(l => !l.Contains("\"customer.subscription.deleted\"", StringComparison.Ordinal)), ct);
        await ImportEventsCommand.ImportAsync(fixture.Service<IngestionPipeline>(), tenant, new FileInfo(events), 5_000, ct);
        await ImportBillingCommand.ImportAsync(fixture.Service<BillingIngestion>(), tenant, new FileInfo(billing), ct);
        await fixture.Service<ProjectionRebuilder>().CatchUpAsync(null, ct);

        var outcome = (await fixture.Service<TrainingService>().TrainAsync(new TrainingRequest(tenant, TrainAndScoreFixture.End), [TargetKind.Churn], null, ct)).Single();

        outcome.Registered.ShouldBeNull();
        outcome.Message.ShouldContain("No churn in history");
        (await fixture.Service<ModelRegistry>().ListAsync(tenant, ct)).ShouldBeEmpty();
        var ex = await Should.ThrowAsync<NoPromotedModelException>(() => fixture.Service<HealthScorer>().ScoreAsync(tenant, TrainAndScoreFixture.End, null, ct));
        ex.Message.ShouldContain("healthscore train");
    }
}
