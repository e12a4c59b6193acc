namespace HealthScoring.Models.Linear;

/// <summary>
/// L2-regularised logistic regression on standardized features (stands in for ML.NET's
/// <c>LbfgsLogisticRegressionBinaryTrainer</c> and sklearn's <c>LogisticRegression</c>).
/// </summary>
/// <remarks>
/// Each feature is standardized with the (weighted) mean and population standard deviation of its non-missing
/// training values; a missing value is imputed with that mean, which is 0 after standardizing. A constant column
/// (or one with no values) gets standard deviation 1, so it standardizes to 0 and its weight stays 0. The optimum is
/// found by damped Newton steps, or by L-BFGS for wide data; both are deterministic, and so are the parallel sums
/// they use, so the same inputs always give the same model.
/// </remarks>
public sealed class LogisticRegressionTrainer : IBinaryTrainer
{
    /// <summary>With <see cref="LogisticSolver.Auto"/>, data with more features than this is fitted by L-BFGS.</summary>
    public const int AutoNewtonMaxFeatures = 256;

    /// <summary>Creates the trainer with <paramref name="options"/> (defaults when null).</summary>
    public LogisticRegressionTrainer(Options? options = null)
    {
        Settings = options ?? new Options();
        Settings.Validate();
    }

    /// <summary>The options this trainer was made with.</summary>
    public Options Settings { get; }

    /// <inheritdoc />
    public string Kind => LogisticRegressionModel.KindName;

    /// <inheritdoc />
    public IBinaryModel Fit(FeatureMatrix features, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default, IProgress<double>? progress = null, CancellationToken cancellationToken = default) =>
        FitModel(features, labels, weights, progress, cancellationToken);

    /// <summary>As <see cref="Fit"/>, typed.</summary>
    public LogisticRegressionModel FitModel(FeatureMatrix features, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        var rowWeights = TrainingInput.Check(features, labels, weights, out var positive, out var negative);
        var (means, stds) = Standardization(features, rowWeights);
        var objective = new LogisticObjective(features, labels.ToArray(), rowWeights, means, stds, Settings.C, Settings.FitIntercept, Settings.MaxDegreeOfParallelism);

        var start = new double[objective.Dimension];
        if (Settings.FitIntercept)
        {
            // Starting from the base rate saves the first Newton steps most of their work.
            start[features.Columns] = Math.Log(positive / negative);
        }

        var useNewton = Settings.Solver == LogisticSolver.Newton
            || (Settings.Solver == LogisticSolver.Auto && features.Columns <= AutoNewtonMaxFeatures);
        Action<double>? report = progress is null ? null : progress.Report;
        var result = useNewton
            ? Optimizers.Newton(objective, start, Settings.MaxIterations, Settings.Tolerance, report, cancellationToken)
            : Optimizers.Lbfgs(objective, start, Settings.MaxIterations, Settings.Tolerance, report, cancellationToken);

        var coefficients = result.Solution.AsSpan(0, features.Columns).ToArray();
        var intercept = Settings.FitIntercept ? result.Solution[features.Columns] : 0.0;
        progress?.Report(1.0);
        return new LogisticRegressionModel(features.ColumnNames.ToArray(), means, stds, coefficients, intercept);
    }

    /// <summary>Weighted mean and population standard deviation of each column's non-missing values.</summary>
    private static (double[] Means, double[] Stds) Standardization(FeatureMatrix x, double[] weights)
    {
        var p = x.Columns;
        var means = new double[p];
        var stds = new double[p];
        for (var j = 0; j < p; j++)
        {
            var sum = 0.0;
            var total = 0.0;
            var first = float.NaN;
            var constant = true;
            for (var i = 0; i < x.Rows; i++)
            {
                var v = x[i, j];
                if (float.IsNaN(v))
                {
                    continue;
                }

                if (float.IsInfinity(v))
                {
                    throw new ArgumentException($"Feature '{x.ColumnNames[j]}' of row {i} is infinite; use NaN for a missing value.", nameof(x));
                }

                if (weights[i] == 0)
                {
                    continue;
                }

                if (float.IsNaN(first))
                {
                    first = v;
                }
                else if (v != first)
                {
                    constant = false;
                }

                sum += weights[i] * v;
                total += weights[i];
            }

            if (total == 0 || constant)
            {
                // Exactly the constant (or 0 with no values), so training rows standardize to exactly 0.
                means[j] = total == 0 ? 0.0 : first;
                stds[j] = 1.0;
                continue;
            }

            var mean = sum / total;
            var squares = 0.0;
            for (var i = 0; i < x.Rows; i++)
            {
                var v = x[i, j];
                if (!float.IsNaN(v))
                {
                    squares += weights[i] * (v - mean) * (v - mean);
                }
            }

            var std = Math.Sqrt(squares / total);
            means[j] = mean;
            stds[j] = std > 0 && double.IsFinite(std) ? std : 1.0;
        }

        return (means, stds);
    }

    /// <summary>Options of <see cref="LogisticRegressionTrainer"/>.</summary>
    public sealed record Options
    {
        /// <summary>
        /// Inverse L2 regularisation strength, as sklearn's <c>C</c>: the trainer minimises
        /// <c>½‖w‖² + C·Σᵢ sᵢ·logloss(yᵢ, b + w·zᵢ)</c> over the weights <c>w</c> of the standardized features
        /// <c>z</c> (the intercept <c>b</c> is not penalised; <c>sᵢ</c> are the row weights). Smaller is stronger.
        /// The default 1.0 matches sklearn's default on standardized inputs.
        /// </summary>
        public double C { get; init; } = 1.0;

        /// <summary>Iteration limit of the optimiser (Newton usually needs fewer than 15; L-BFGS a few hundred).</summary>
        public int MaxIterations { get; init; } = 1000;

        /// <summary>
        /// Convergence: the largest absolute component of the gradient of the objective divided by the total row
        /// weight (a per-row average, so independent of the data size).
        /// </summary>
        public double Tolerance { get; init; } = 1e-8;

        /// <summary>Whether to fit an (unpenalised) intercept; without it the intercept is 0.</summary>
        public bool FitIntercept { get; init; } = true;

        /// <summary>The optimiser; <see cref="LogisticSolver.Auto"/> uses Newton up to <see cref="AutoNewtonMaxFeatures"/> features.</summary>
        public LogisticSolver Solver { get; init; } = LogisticSolver.Auto;

        /// <summary>Threads used for the sums over rows (-1: all cores). The result does not depend on it.</summary>
        public int MaxDegreeOfParallelism { get; init; } = -1;

        internal void Validate()
        {
            if (!(C > 0) || !double.IsFinite(C))
            {
                throw new ArgumentOutOfRangeException(nameof(C), C, "C must be a positive finite number.");
            }

            ArgumentOutOfRangeException.ThrowIfNegative(MaxIterations);
            if (!(Tolerance > 0))
            {
                throw new ArgumentOutOfRangeException(nameof(Tolerance), Tolerance, "The tolerance must be positive.");
            }

            if (MaxDegreeOfParallelism == 0 || MaxDegreeOfParallelism < -1)
            {
                throw new ArgumentOutOfRangeException(nameof(MaxDegreeOfParallelism), MaxDegreeOfParallelism, "Use -1 (all cores) or a positive number of threads.");
            }
        }
    }
}

/// <summary>The optimiser of <see cref="LogisticRegressionTrainer"/>.</summary>
public enum LogisticSolver
{
    /// <summary>Newton for up to <see cref="LogisticRegressionTrainer.AutoNewtonMaxFeatures"/> features, L-BFGS beyond.</summary>
    Auto,

    /// <summary>Damped Newton: exact second order, O(rows × features²) per iteration; best for up to a few hundred features.</summary>
    Newton,

    /// <summary>Limited-memory BFGS: O(rows × features) per iteration; for wide data.</summary>
    Lbfgs,
}
