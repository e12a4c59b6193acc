using HealthScoring.Api.Accounts;
using HealthScoring.Api.Scoring;
using HealthScoring.Api.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HealthScoring.Api.Analytics;

/// <summary>One version of a model as the model-quality chart shows it.</summary>
public sealed record ModelVersionQuality(int Version, string Algorithm, double? BacktestRocAuc, bool Promoted, DateTimeOffset CreatedAt);

/// <summary>One backtest test date; the AUC is null when the date had one outcome only.</summary>
public sealed record FoldPoint(DateOnly TestDate, int TrainRows, int TestRows, int Positives, double? RocAuc);

/// <summary>A calibration bin; the means are null for an empty bin (JSON has no NaN).</summary>
public sealed record CalibrationPoint(double Lower, double Upper, int Count, double? MeanPredicted, double? ObservedRate);

/// <summary>A lift-chart group; null where undefined (an empty group).</summary>
public sealed record LiftPoint(int Bin, int Rows, double Positives, double? Lift, double? CumulativeLift, double CumulativeCapture);

/// <summary>A target's promoted model (or, when none is promoted, its newest) with its backtest, calibration and lift; and every version's AUC.</summary>
public sealed record ModelQuality(
    string Target, int Version, string Algorithm, bool Promoted, DateOnly AsOf, int HorizonDays,
    double? BacktestRocAuc, double? BacktestPrAuc, double? BacktestBrier, double? BacktestTopDecileLift, int BacktestRows, bool LabelCleanBacktest,
    IReadOnlyList<FoldPoint> Folds, IReadOnlyList<CalibrationPoint> Calibration, IReadOnlyList<LiftPoint> Lift,
    int TrainingRows, double TrainingPositiveRate, IReadOnlyList<ModelVersionQuality> Versions);

public sealed record ModelQualityReport(IReadOnlyList<ModelQuality> Models);

/// <summary>
/// <c>GET /v1/analytics/{cohorts|funnel|adoption|stickiness|segments|anomalies}?asOf=YYYY-MM-DD</c> (default: the
/// last day the tenant's aggregates hold) and <c>GET /v1/analytics/model-quality</c>; an API key or a dashboard session.
/// </summary>
public static class AnalyticsEndpoints
{
    public static IHostApplicationBuilder AddAnalytics(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ProductAnalytics>();
        builder.Services.AddSingleton<AccountActivity>();
        return builder;
    }

    public static IEndpointRouteBuilder MapAnalytics(this IEndpointRouteBuilder app)
    {
        AccountActivity.MapAccountActivity(app);
        var analytics = app.MapGroup("/v1/analytics").RequireAuthorization(TenancyExtensions.ReadPolicy);
        analytics.MapGet("/cohorts", (HttpContext http, ProductAnalytics a, AccountActivity d, string? asOf) => RunAsync(http, d, asOf, a.CohortsAsync));
        analytics.MapGet("/funnel", (HttpContext http, ProductAnalytics a, AccountActivity d, string? asOf) => RunAsync(http, d, asOf, a.FunnelAsync));
        analytics.MapGet("/adoption", (HttpContext http, ProductAnalytics a, AccountActivity d, string? asOf) => RunAsync(http, d, asOf, a.AdoptionAsync));
        analytics.MapGet("/stickiness", (HttpContext http, ProductAnalytics a, AccountActivity d, string? asOf) => RunAsync(http, d, asOf, a.StickinessAsync));
        analytics.MapGet("/segments", (HttpContext http, ProductAnalytics a, AccountActivity d, string? asOf) => RunAsync(http, d, asOf, a.SegmentsAsync));
        analytics.MapGet("/anomalies", (HttpContext http, ProductAnalytics a, AccountActivity d, string? asOf) => RunAsync(http, d, asOf, a.AnomaliesAsync));
        analytics.MapGet("/model-quality", ModelQualityAsync);
        return app;
    }

    private static async Task<Results<Ok<T>, ProblemHttpResult>> RunAsync<T>(HttpContext http, AccountActivity activity, string? asOf, Func<string, DateOnly, CancellationToken, Task<T>> report)
    {
        if (!DateQuery.TryParse(asOf, "asOf", out var date, out var problem))
        {
            return problem!;
        }

        var tenant = http.User.TenantId();
        return TypedResults.Ok(await report(tenant, date ?? await activity.LatestDayAsync(tenant, http.RequestAborted), http.RequestAborted));
    }

    private static double? Defined(double value) => double.IsFinite(value) ? value : null;

    private static async Task<Ok<ModelQualityReport>> ModelQualityAsync(HttpContext http, ModelRegistry registry)
    {
        var models = await registry.ListAsync(http.User.TenantId(), http.RequestAborted);
        var quality = models.GroupBy(m => m.Target).OrderBy(g => g.Key).Select(g =>
        {
            var shown = g.FirstOrDefault(m => m.IsPromoted) ?? g.MaxBy(m => m.Version)!;
            var metrics = shown.Metrics;
            return new ModelQuality(ModelRegistry.Name(g.Key), shown.Version, shown.Algorithm, shown.IsPromoted, shown.AsOf, shown.HorizonDays,
                Defined(metrics.BacktestRocAuc), Defined(metrics.BacktestPrAuc), Defined(metrics.BacktestBrier), Defined(metrics.BacktestTopDecileLift), metrics.BacktestRows, metrics.LabelCleanBacktest,
                [.. metrics.Folds.Select(f => new FoldPoint(f.TestDate, f.TrainRows, f.TestRows, f.Positives, Defined(f.RocAuc)))],
                [.. (metrics.Calibration ?? []).Select(b => new CalibrationPoint(b.Lower, b.Upper, b.Count, Defined(b.MeanPredicted), Defined(b.ObservedRate)))],
                [.. (metrics.Lift ?? []).Select(b => new LiftPoint(b.Bin, b.Rows, b.Positives, Defined(b.Lift), Defined(b.CumulativeLift), b.CumulativeCapture))],
                metrics.TrainingRows, metrics.TrainingPositiveRate,
                [.. g.OrderBy(m => m.Version).Select(m => new ModelVersionQuality(m.Version, m.Algorithm, Defined(m.Metrics.BacktestRocAuc), m.IsPromoted, m.CreatedAt))]);
        }).ToList();
        return TypedResults.Ok(new ModelQualityReport(quality));
    }
}
