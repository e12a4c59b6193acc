namespace HealthScoring.Models.Linear;

/// <summary>
/// A logistic regression on standardized features: <c>raw = b + Σⱼ wⱼ·zⱼ</c> with <c>zⱼ = (xⱼ − meanⱼ) / stdⱼ</c>,
/// and <c>zⱼ = 0</c> (the training mean) when <c>xⱼ</c> is missing. Saved as kind <c>logistic</c>, format version 1.
/// </summary>
public sealed class LogisticRegressionModel : IBinaryModel
{
    /// <summary>The kind written in the saved form.</summary>
    public const string KindName = "logistic";

    /// <summary>The format version this build writes and reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>A saved model claiming more features than this is treated as damaged.</summary>
    private const int MaxFeatures = 10_000_000;

    private readonly string[] featureNames;
    private readonly double[] means;
    private readonly double[] stds;
    private readonly double[] inverseStds;
    private readonly double[] weights;

    /// <summary>
    /// Creates a model from its parameters: per feature the standardization mean and standard deviation (positive)
    /// and the weight of the standardized feature, plus the intercept. Arrays are copied.
    /// </summary>
    public LogisticRegressionModel(IReadOnlyList<string> featureNames, IReadOnlyList<double> means, IReadOnlyList<double> standardDeviations, IReadOnlyList<double> weights, double intercept)
    {
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentNullException.ThrowIfNull(means);
        ArgumentNullException.ThrowIfNull(standardDeviations);
        ArgumentNullException.ThrowIfNull(weights);
        var p = featureNames.Count;
        if (p == 0)
        {
            throw new ArgumentException("A model needs at least one feature.", nameof(featureNames));
        }

        if (means.Count != p || standardDeviations.Count != p || weights.Count != p)
        {
            throw new ArgumentException($"Expected {p} means, standard deviations and weights; got {means.Count}, {standardDeviations.Count} and {weights.Count}.", nameof(featureNames));
        }

        for (var j = 0; j < p; j++)
        {
            if (!double.IsFinite(means[j]) || !double.IsFinite(weights[j]) || !(standardDeviations[j] > 0) || !double.IsFinite(standardDeviations[j]))
            {
                throw new ArgumentException($"Feature '{featureNames[j]}' has mean {means[j]}, standard deviation {standardDeviations[j]}, weight {weights[j]}: all must be finite and the deviation positive.", nameof(featureNames));
            }
        }

        if (!double.IsFinite(intercept))
        {
            throw new ArgumentOutOfRangeException(nameof(intercept), intercept, "The intercept must be finite.");
        }

        this.featureNames = [.. featureNames];
        this.means = [.. means];
        stds = [.. standardDeviations];
        this.weights = [.. weights];
        inverseStds = stds.Select(s => 1.0 / s).ToArray();
        Intercept = intercept;
        Coefficients = Enumerable.Range(0, p).Select(j => new LogisticCoefficient(this.featureNames[j], this.weights[j], this.means[j], stds[j])).ToArray();
    }

    /// <inheritdoc />
    public string Kind => KindName;

    /// <inheritdoc />
    public IReadOnlyList<string> FeatureNames => featureNames;

    /// <summary>The intercept on the standardized scale: the raw score of a row with every feature at its training mean.</summary>
    public double Intercept { get; }

    /// <summary>The intercept for unstandardized features: <c>b − Σⱼ wⱼ·meanⱼ/stdⱼ</c> (pairs with <see cref="LogisticCoefficient.PerUnitWeight"/>).</summary>
    public double UnstandardizedIntercept => Intercept - Coefficients.Sum(c => c.PerUnitWeight * c.Mean);

    /// <summary>Per feature, in feature order: its weight and standardization, for reports.</summary>
    public IReadOnlyList<LogisticCoefficient> Coefficients { get; }

    /// <inheritdoc />
    public double PredictRaw(ReadOnlySpan<float> features)
    {
        RowParallel.CheckRow(featureNames.Length, features);
        return Score(features);
    }

    /// <inheritdoc />
    public void PredictProbabilities(FeatureMatrix features, Span<double> destination, int maxDegreeOfParallelism = -1)
    {
        RowParallel.CheckBatch(featureNames, features, destination.Length, maxDegreeOfParallelism);
        RowParallel.Score(features, destination, maxDegreeOfParallelism, row => Logistic.Sigmoid(Score(row)));
    }

    /// <summary>
    /// Exact linear attribution: contribution <c>j = wⱼ·(zⱼ − z̄ⱼ)</c> with <c>z̄ⱼ</c> the mean of <c>zⱼ</c> over the
    /// training rows, and <c>BaseValue = b + Σⱼ wⱼ·z̄ⱼ</c> (as linear SHAP with the training set as background). Because
    /// features are standardized on the training rows (missing ones imputed with the mean), every <c>z̄ⱼ</c> is 0: the
    /// base value is <see cref="Intercept"/>, the score of the average training account, and a missing feature
    /// contributes 0.
    /// </summary>
    public FeatureContributions Explain(ReadOnlySpan<float> features)
    {
        RowParallel.CheckRow(featureNames.Length, features);
        var contributions = new double[featureNames.Length];
        for (var j = 0; j < contributions.Length; j++)
        {
            contributions[j] = weights[j] * Standardized(features[j], j);
        }

        return new FeatureContributions(Intercept, contributions);
    }

    /// <inheritdoc />
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        ModelFormat.WriteHeader(writer, KindName, FormatVersion);
        writer.Write(featureNames.Length);
        for (var j = 0; j < featureNames.Length; j++)
        {
            writer.Write(featureNames[j]);
            writer.Write(means[j]);
            writer.Write(stds[j]);
            writer.Write(weights[j]);
        }

        writer.Write(Intercept);
    }

    /// <summary>Reads the body after the header (registered with <see cref="ModelFormat"/> by <see cref="BuiltInModelKinds"/>).</summary>
    internal static LogisticRegressionModel Read(BinaryReader reader, int version)
    {
        if (version != FormatVersion)
        {
            throw new ModelFormatException($"Saved {KindName} model has format version {version}; this build reads version {FormatVersion} only.");
        }

        var p = reader.ReadInt32();
        if (p is <= 0 or > MaxFeatures)
        {
            throw new ModelFormatException($"The saved {KindName} model is damaged: it claims {p} features.");
        }

        var names = new string[p];
        var means = new double[p];
        var stds = new double[p];
        var weights = new double[p];
        for (var j = 0; j < p; j++)
        {
            names[j] = reader.ReadString();
            means[j] = reader.ReadDouble();
            stds[j] = reader.ReadDouble();
            weights[j] = reader.ReadDouble();
        }

        var intercept = reader.ReadDouble();
        try
        {
            return new LogisticRegressionModel(names, means, stds, weights, intercept);
        }
        catch (ArgumentException ex)
        {
            throw new ModelFormatException($"The saved {KindName} model is damaged: {ex.Message}", ex);
        }
    }

    private double Score(ReadOnlySpan<float> features)
    {
        var raw = Intercept;
        for (var j = 0; j < weights.Length; j++)
        {
            raw += weights[j] * Standardized(features[j], j);
        }

        return raw;
    }

    private double Standardized(float value, int j) => float.IsNaN(value) ? 0.0 : (value - means[j]) * inverseStds[j];
}

/// <summary>One feature's part in a <see cref="LogisticRegressionModel"/>.</summary>
/// <param name="Feature">The feature name.</param>
/// <param name="Weight">Weight of the standardized feature: the change in log-odds per training standard deviation.</param>
/// <param name="Mean">The training mean (also the value a missing feature is imputed with).</param>
/// <param name="StandardDeviation">The training standard deviation (1 for a constant column).</param>
public sealed record LogisticCoefficient(string Feature, double Weight, double Mean, double StandardDeviation)
{
    /// <summary>The change in log-odds per unit of the unstandardized feature: <c>Weight / StandardDeviation</c>.</summary>
    public double PerUnitWeight => Weight / StandardDeviation;

    /// <summary>The odds ratio for one standard deviation more: <c>e^Weight</c>.</summary>
    public double OddsRatioPerStandardDeviation => Math.Exp(Weight);
}
