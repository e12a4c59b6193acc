using HealthScoring.Models.Evaluation;
using HealthScoring.Models.Linear;

namespace HealthScoring.Models.Tests.Evaluation;

public class TimeSplitBacktestTests
{
    private static readonly DateOnly Start = new(2025, 1, 6);

    /// <summary>Weekly snapshots of 80 accounts over 20 weeks; feature 0 is the snapshot's day number.</summary>
    private static (FeatureMatrix X, bool[] Y, DateOnly[] Dates) WeeklySnapshots()
    {
        const int accounts = 80, weeks = 20;
        var random = new Random(5);
        var x = FeatureMatrix.Create(accounts * weeks, ["day", "usage"]);
        var y = new bool[x.Rows];
        var dates = new DateOnly[x.Rows];
        for (var w = 0; w < weeks; w++)
        {
            for (var a = 0; a < accounts; a++)
            {
                var i = (w * accounts) + a;
                dates[i] = Start.AddDays(7 * w);
                x[i, 0] = dates[i].DayNumber;
                x[i, 1] = (float)TestData.Gaussian(random);
                y[i] = random.NextDouble() < Logistic.Sigmoid(-1 - (1.5 * x[i, 1]));
            }
        }

        return (x, y, dates);
    }

    [Fact]
    public void Never_trains_on_rows_whose_label_window_ends_after_the_test_date()
    {
        var (x, y, dates) = WeeklySnapshots();
        const int horizon = 30;
        var testDates = TimeSplitBacktest.RollingTestDates(dates, last: 8, every: 2);
        var spies = new List<SpyTrainer>();
        var report = TimeSplitBacktest.Run(() => { var s = new SpyTrainer(); spies.Add(s); return s; }, x, y, dates, horizon, testDates, cancellationToken: TestData.Ct);

        report.Periods.Count.ShouldBe(4);
        spies.Count.ShouldBe(4);
        for (var t = 0; t < testDates.Count; t++)
        {
            var testDate = testDates[t];
            var trainedDays = Enumerable.Range(0, spies[t].Fits.Single().Features.Rows).Select(r => (int)spies[t].Fits.Single().Features[r, 0]).ToArray();

            // Every training row's label was known at T …
            trainedDays.ShouldAllBe(day => DateOnly.FromDayNumber(day).AddDays(horizon) <= testDate);

            // … and every row whose label was known at T was used.
            trainedDays.Length.ShouldBe(dates.Count(d => d.AddDays(horizon) <= testDate));

            var period = report.Periods[t];
            period.TestDate.ShouldBe(testDate);
            period.Rows.ShouldAllBe(i => dates[i] == testDate);
            period.TestRows.ShouldBe(80);
            period.Metrics.ShouldNotBeNull().Count.ShouldBe(80);
        }

        report.Pooled.ShouldNotBeNull().Count.ShouldBe(4 * 80);
        report.Pooled.RocAuc.ShouldBeGreaterThan(0.7);
    }

    [Fact]
    public void A_date_with_nothing_labelled_yet_is_skipped_with_the_reason()
    {
        var (x, y, dates) = WeeklySnapshots();
        var report = TimeSplitBacktest.Run(() => new LogisticRegressionTrainer(), x, y, dates, horizonDays: 30, [Start.AddDays(14), Start.AddDays(3), Start.AddDays(70)], cancellationToken: TestData.Ct);
        report.Periods.Select(p => p.TestDate).ShouldBe([Start.AddDays(3), Start.AddDays(14), Start.AddDays(70)]);
        report.Periods[0].Skipped.ShouldNotBeNull().ShouldContain("no rows are dated");
        report.Periods[1].Skipped.ShouldNotBeNull().ShouldContain("no row's 30-day label window ends by 2025-01-20");
        report.Periods[1].TrainRows.ShouldBe(0);
        report.Periods[2].Skipped.ShouldBeNull();
        report.Pooled.ShouldNotBeNull().Count.ShouldBe(80);
    }

    [Fact]
    public void The_rolling_rule_takes_every_kth_of_the_last_n_dates_ending_with_the_latest()
    {
        var dates = Enumerable.Range(0, 10).Select(w => Start.AddDays(7 * w)).SelectMany(d => new[] { d, d }).ToArray();
        TimeSplitBacktest.RollingTestDates(dates, last: 5, every: 2).ShouldBe([Start.AddDays(7 * 5), Start.AddDays(7 * 7), Start.AddDays(7 * 9)]);
        TimeSplitBacktest.RollingTestDates(dates, last: 3).ShouldBe([Start.AddDays(7 * 7), Start.AddDays(7 * 8), Start.AddDays(7 * 9)]);
        TimeSplitBacktest.RollingTestDates(dates, last: 50, every: 4).Count.ShouldBe(3);
    }
}
