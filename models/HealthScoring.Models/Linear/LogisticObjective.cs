namespace HealthScoring.Models.Linear;

/// <summary>
/// The L2-regularised, weight-averaged log-loss of a linear model on standardized features:
/// <c>F(w, b) = (1/S)·Σ sᵢ·ℓ(yᵢ, b + w·zᵢ) + ‖w‖² / (2·C·S)</c>, with <c>S = Σ sᵢ</c>. Minimising it is
/// minimising sklearn's <c>½‖w‖² + C·Σ sᵢ·ℓᵢ</c>; averaging only keeps the gradient's scale independent of the row
/// count, so one tolerance fits every data size.
/// </summary>
/// <remarks>
/// Sums run over fixed chunks of rows (the chunking depends on the row count only) and are reduced in chunk order,
/// so the value, gradient and Hessian are bit-identical whatever the number of threads.
/// </remarks>
internal sealed class LogisticObjective
{
    private const int MinChunkRows = 2048;
    private const int MaxChunks = 32;

    private readonly FeatureMatrix x;
    private readonly bool[] labels;
    private readonly double[] weights;
    private readonly double[] means;
    private readonly double[] inverseStds;
    private readonly double l2;
    private readonly double totalWeight;
    private readonly int chunkRows;
    private readonly int chunks;
    private readonly int maxDegreeOfParallelism;

    public LogisticObjective(FeatureMatrix x, bool[] labels, double[] weights, double[] means, double[] stds, double c, bool fitIntercept, int maxDegreeOfParallelism)
    {
        this.x = x;
        this.labels = labels;
        this.weights = weights;
        this.means = means;
        inverseStds = stds.Select(s => 1.0 / s).ToArray();
        FeatureCount = x.Columns;
        FitIntercept = fitIntercept;
        Dimension = FeatureCount + (fitIntercept ? 1 : 0);
        totalWeight = weights.Sum();
        l2 = 1.0 / (c * totalWeight);
        chunkRows = Math.Max(MinChunkRows, (x.Rows + MaxChunks - 1) / MaxChunks);
        chunks = Math.Max(1, (x.Rows + chunkRows - 1) / chunkRows);
        this.maxDegreeOfParallelism = maxDegreeOfParallelism;
    }

    public int FeatureCount { get; }

    public bool FitIntercept { get; }

    /// <summary>Length of the parameter vector: the feature weights, then the intercept when it is fitted.</summary>
    public int Dimension { get; }

    /// <summary>
    /// The objective at <paramref name="beta"/>; fills <paramref name="gradient"/> and the row-major
    /// <paramref name="hessian"/> (<see cref="Dimension"/>² values) when given.
    /// </summary>
    public double Evaluate(double[] beta, double[]? gradient, double[]? hessian)
    {
        var d = Dimension;
        var partials = new Partial[chunks];
        void Run(int c)
        {
            var part = new Partial(gradient is null ? 0 : d, hessian is null ? 0 : d);
            Accumulate(beta, c * chunkRows, Math.Min(x.Rows, (c + 1) * chunkRows), part);
            partials[c] = part;
        }

        if (chunks == 1 || maxDegreeOfParallelism == 1)
        {
            for (var c = 0; c < chunks; c++)
            {
                Run(c);
            }
        }
        else
        {
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, Run);
        }

        var value = 0.0;
        gradient?.AsSpan().Clear();
        hessian?.AsSpan().Clear();
        foreach (var part in partials)
        {
            value += part.Value;
            if (gradient is not null)
            {
                for (var j = 0; j < d; j++)
                {
                    gradient[j] += part.Gradient[j];
                }
            }

            if (hessian is not null)
            {
                for (var j = 0; j < hessian.Length; j++)
                {
                    hessian[j] += part.Hessian[j];
                }
            }
        }

        var scale = 1.0 / totalWeight;
        var penalty = 0.0;
        for (var j = 0; j < FeatureCount; j++)
        {
            penalty += beta[j] * beta[j];
        }

        value = (value * scale) + (0.5 * l2 * penalty);
        if (gradient is not null)
        {
            for (var j = 0; j < d; j++)
            {
                gradient[j] = (gradient[j] * scale) + (j < FeatureCount ? l2 * beta[j] : 0);
            }
        }

        if (hessian is not null)
        {
            for (var j = 0; j < d; j++)
            {
                for (var k = j; k < d; k++)
                {
                    var v = hessian[(j * d) + k] * scale;
                    if (j == k && j < FeatureCount)
                    {
                        v += l2;
                    }

                    hessian[(j * d) + k] = v;
                    hessian[(k * d) + j] = v;
                }
            }
        }

        return value;
    }

    /// <summary>Writes the standardized features of one row (missing → 0, the training mean) into <paramref name="z"/>.</summary>
    public void Standardize(ReadOnlySpan<float> row, Span<double> z)
    {
        for (var j = 0; j < row.Length; j++)
        {
            var v = row[j];
            z[j] = float.IsNaN(v) ? 0.0 : (v - means[j]) * inverseStds[j];
        }
    }

    private void Accumulate(double[] beta, int start, int end, Partial part)
    {
        var p = FeatureCount;
        var d = Dimension;
        var intercept = FitIntercept ? beta[p] : 0.0;
        var z = new double[d];
        if (FitIntercept)
        {
            z[p] = 1.0;
        }

        for (var i = start; i < end; i++)
        {
            var s = weights[i];
            if (s == 0)
            {
                continue;
            }

            Standardize(x.Row(i), z.AsSpan(0, p));
            var margin = intercept;
            for (var j = 0; j < p; j++)
            {
                margin += beta[j] * z[j];
            }

            var y = labels[i] ? 1.0 : 0.0;
            part.Value += s * (Softplus(margin) - (y * margin));
            if (part.Gradient.Length == 0)
            {
                continue;
            }

            var prob = Logistic.Sigmoid(margin);
            var r = s * (prob - y);
            for (var j = 0; j < d; j++)
            {
                part.Gradient[j] += r * z[j];
            }

            if (part.Hessian.Length == 0)
            {
                continue;
            }

            var h = s * prob * (1 - prob);
            var hessian = part.Hessian;
            for (var j = 0; j < d; j++)
            {
                var hz = h * z[j];
                if (hz == 0)
                {
                    continue;
                }

                var rowOffset = j * d;
                for (var k = j; k < d; k++)
                {
                    hessian[rowOffset + k] += hz * z[k];
                }
            }
        }
    }

    /// <summary>log(1 + e^m), without overflow.</summary>
    private static double Softplus(double m) => m > 0 ? m + Math.Log(1 + Math.Exp(-m)) : Math.Log(1 + Math.Exp(m));

    private sealed class Partial(int gradientLength, int hessianSide)
    {
        public double Value { get; set; }

        public double[] Gradient { get; } = new double[gradientLength];

        /// <summary>Upper triangle only, row-major; the lower half is filled after the reduction.</summary>
        public double[] Hessian { get; } = new double[hessianSide * hessianSide];
    }
}
