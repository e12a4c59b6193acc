namespace HealthScoring.Models.Evaluation;

/// <summary>
/// Walk-forward backtest over snapshot dates: for each test date T a fresh model is trained only on rows whose label
/// was already known at T, then scored on the rows of T.
/// </summary>
/// <remarks>
/// A row snapshotted on date d has a label that looks <c>horizonDays</c> ahead, so its label is known from
/// <c>d + horizonDays</c> on. Training for T uses exactly the rows with <c>d + horizonDays ≤ T</c>; testing uses the
/// rows with <c>d == T</c>. Nothing later than T leaks into the model used at T. The caller supplies only rows whose
/// labels are complete (in particular, rows of the latest dates whose window has not ended yet should be left out).
/// </remarks>
public static class TimeSplitBacktest
{
    /// <summary>
    /// Runs the backtest at each of <paramref name="testDates"/> with a new trainer from <paramref name="createTrainer"/>.
    /// A date without rows, or whose training rows lack a class, is reported as skipped with the reason.
    /// </summary>
    public static BacktestReport Run(
        Func<IBinaryTrainer> createTrainer,
        FeatureMatrix x,
        bool[] y,
        DateOnly[] snapshotDates,
        int horizonDays,
        IReadOnlyList<DateOnly> testDates,
        IProgress<double>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(createTrainer);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(snapshotDates);
        ArgumentNullException.ThrowIfNull(testDates);
        ArgumentOutOfRangeException.ThrowIfNegative(horizonDays);
        if (y.Length != x.Rows || snapshotDates.Length != x.Rows)
        {
            throw new ArgumentException($"There are {x.Rows} rows but {y.Length} labels and {snapshotDates.Length} snapshot dates.", nameof(y));
        }

        var periods = new List<BacktestPeriod>(testDates.Count);
        var pooledLabels = new List<bool>();
        var pooledProbabilities = new List<double>();
        var dates = testDates.Distinct().Order().ToArray();
        for (var t = 0; t < dates.Length; t++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var testDate = dates[t];
            var train = new List<int>();
            var test = new List<int>();
            for (var i = 0; i < x.Rows; i++)
            {
                if (snapshotDates[i].AddDays(horizonDays) <= testDate)
                {
                    train.Add(i);
                }

                if (snapshotDates[i] == testDate)
                {
                    test.Add(i);
                }
            }

            var trainPositives = train.Count(i => y[i]);
            string? skipped = null;
            if (test.Count == 0)
            {
                skipped = $"no rows are dated {testDate:yyyy-MM-dd}";
            }
            else if (train.Count == 0)
            {
                skipped = $"no row's {horizonDays}-day label window ends by {testDate:yyyy-MM-dd}";
            }
            else if (trainPositives == 0 || trainPositives == train.Count)
            {
                skipped = $"the {train.Count} rows labelled by {testDate:yyyy-MM-dd} do not hold both classes ({trainPositives} positive)";
            }

            if (skipped is not null)
            {
                periods.Add(new BacktestPeriod(testDate, train.Count, test.Count, null, [.. test], [], skipped));
                progress?.Report((t + 1.0) / dates.Length);
                continue;
            }

            var trainLabels = train.Select(i => y[i]).ToArray();
            var testLabels = test.Select(i => y[i]).ToArray();
            var step = t;
            var fitProgress = progress is null ? null : new InlineProgress(f => progress.Report((step + f) / dates.Length));
            var model = createTrainer().Fit(x.SelectRows(train), trainLabels, default, fitProgress, cancellationToken);
            var probabilities = new double[test.Count];
            model.PredictProbabilities(x.SelectRows(test), probabilities);
            periods.Add(new BacktestPeriod(testDate, train.Count, test.Count, BinaryMetrics.Compute(testLabels, probabilities), [.. test], probabilities, null));
            pooledLabels.AddRange(testLabels);
            pooledProbabilities.AddRange(probabilities);
            progress?.Report((t + 1.0) / dates.Length);
        }

        var pooled = pooledLabels.Count == 0 ? null : BinaryMetrics.Compute(pooledLabels.ToArray(), pooledProbabilities.ToArray());
        return new BacktestReport(horizonDays, periods, pooled);
    }

    /// <summary>
    /// The rolling rule: among the distinct snapshot dates, the last <paramref name="last"/>; of those, every
    /// <paramref name="every"/>-th counting back from the latest (which is always included). Ascending.
    /// </summary>
    public static IReadOnlyList<DateOnly> RollingTestDates(IEnumerable<DateOnly> snapshotDates, int last, int every = 1)
    {
        ArgumentNullException.ThrowIfNull(snapshotDates);
        ArgumentOutOfRangeException.ThrowIfLessThan(last, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(every, 1);
        var distinct = snapshotDates.Distinct().Order().ToArray();
        var chosen = new List<DateOnly>();
        for (var k = 0; k < last && k < distinct.Length; k += every)
        {
            chosen.Add(distinct[distinct.Length - 1 - k]);
        }

        chosen.Reverse();
        return chosen;
    }
}

/// <summary>Result of a <see cref="TimeSplitBacktest"/> run.</summary>
/// <param name="HorizonDays">The label horizon used.</param>
/// <param name="Periods">One entry per test date, ascending.</param>
/// <param name="Pooled">Metrics of all periods' predictions together (null when every period was skipped).</param>
public sealed record BacktestReport(int HorizonDays, IReadOnlyList<BacktestPeriod> Periods, BinaryMetrics? Pooled);

/// <summary>One test date of a backtest.</summary>
/// <param name="TestDate">The date T.</param>
/// <param name="TrainRows">Rows trained on (labels known by T).</param>
/// <param name="TestRows">Rows dated T.</param>
/// <param name="Metrics">Metrics on the rows dated T (null when skipped).</param>
/// <param name="Rows">Indices of the rows dated T, ascending.</param>
/// <param name="Probabilities">Predicted probabilities of <paramref name="Rows"/> (empty when skipped).</param>
/// <param name="Skipped">Why no model was trained for T, or null.</param>
public sealed record BacktestPeriod(DateOnly TestDate, int TrainRows, int TestRows, BinaryMetrics? Metrics, int[] Rows, double[] Probabilities, string? Skipped);
