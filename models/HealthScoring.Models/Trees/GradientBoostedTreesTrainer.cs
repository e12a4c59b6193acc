using System.Runtime.Intrinsics;

namespace HealthScoring.Models.Trees;

/// <summary>
/// Trains <see cref="GradientBoostedTreesModel"/>s: histogram-based gradient boosting on the binary log-loss (as
/// LightGBM, XGBoost's <c>hist</c> and scikit-learn's HistGradientBoostingClassifier do). Each feature is binned
/// once into at most <see cref="Options.MaxBins"/> quantile bins plus a bin for missing values; each tree is grown
/// best-first on gradient/hessian histograms, with Newton leaf values −G/(H+λ) shrunk by the learning rate, and the
/// direction of missing values learnt per split. Results depend only on the data and the options (seed included),
/// never on the number of threads.
/// </summary>
public sealed class GradientBoostedTreesTrainer : IBinaryTrainer
{
    /// <summary>Training options; the defaults suit small tabular data.</summary>
    public sealed record Options
    {
        /// <summary>Boosting rounds: one tree each (fewer when early stopping stops sooner).</summary>
        public int NumberOfTrees { get; init; } = 300;

        /// <summary>Shrinkage applied to every leaf value.</summary>
        public double LearningRate { get; init; } = 0.05;

        /// <summary>Deepest a leaf may be (edges from the root); 0 or -1: no limit.</summary>
        public int MaxDepth { get; init; } = 6;

        /// <summary>Most leaves per tree (trees grow best-first up to it); 0 or -1: no limit.</summary>
        public int MaxLeaves { get; init; } = 31;

        /// <summary>Least hessian sum (≈ p(1-p) summed over rows, times weights) a child may have.</summary>
        public double MinChildWeight { get; init; } = 1.0;

        /// <summary>Least number of training rows a leaf may have.</summary>
        public int MinSamplesPerLeaf { get; init; } = 20;

        /// <summary>L2 regularisation λ of leaf values (in gains and in −G/(H+λ)).</summary>
        public double L2 { get; init; } = 1.0;

        /// <summary>Least gain (half the reduction of the second-order loss) a split must bring.</summary>
        public double MinSplitGain { get; init; }

        /// <summary>Fraction of the training rows each tree is grown on (drawn by the seed, without replacement).</summary>
        public double RowSubsample { get; init; } = 1.0;

        /// <summary>Fraction of the features each tree may split on (drawn by the seed per tree).</summary>
        public double FeatureSubsample { get; init; } = 1.0;

        /// <summary>Most bins per feature for non-missing values (2..255); missing values get one more.</summary>
        public int MaxBins { get; init; } = 255;

        /// <summary>
        /// Stop when the validation log-loss has not improved for this many rounds and keep the trees up to the best
        /// round; null: no early stopping.
        /// </summary>
        public int? EarlyStoppingRounds { get; init; }

        /// <summary>
        /// With early stopping and no explicit validation set: the fraction of the training rows held out for
        /// validation, per class (stratified), drawn by the seed.
        /// </summary>
        public double ValidationFraction { get; init; } = 0.1;

        /// <summary>Seed of every random choice (validation split, row and feature subsampling, binning sample).</summary>
        public int Seed { get; init; } = 42;

        /// <summary>Threads to use; -1: all cores. Does not change the model.</summary>
        public int MaxDegreeOfParallelism { get; init; } = -1;
    }

    /// <summary>Creates a trainer; <paramref name="options"/> null means the defaults. Invalid options throw here.</summary>
    public GradientBoostedTreesTrainer(Options? options = null)
    {
        TrainingOptions = options ?? new Options();
        Validate(TrainingOptions);
    }

    /// <summary>The options this trainer trains with.</summary>
    public Options TrainingOptions { get; }

    /// <inheritdoc />
    public string Kind => GradientBoostedTreesModel.ModelKind;

    IBinaryModel IBinaryTrainer.Fit(FeatureMatrix features, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights, IProgress<double>? progress, CancellationToken cancellationToken) =>
        Fit(features, labels, weights, progress, cancellationToken);

    /// <summary>
    /// Trains on <paramref name="features"/> with <paramref name="labels"/> (true = positive) and optional per-row
    /// <paramref name="weights"/>. With <see cref="Options.EarlyStoppingRounds"/> set, a stratified
    /// <see cref="Options.ValidationFraction"/> of the rows is held out to decide when to stop.
    /// <paramref name="progress"/> gets the fraction of trees done after each tree; cancellation is checked per tree.
    /// </summary>
    /// <exception cref="ArgumentException">Labels or weights do not match the rows, a class is absent, or a weight is negative.</exception>
    public GradientBoostedTreesModel Fit(FeatureMatrix features, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        ValidateInput(features, labels, weights, nameof(labels), nameof(weights));
        var trainWeights = weights.IsEmpty ? null : weights.ToArray();
        if (TrainingOptions.EarlyStoppingRounds is null)
        {
            return Train(features, labels.ToArray(), trainWeights, null, progress, cancellationToken);
        }

        var (train, validation) = StratifiedSplit(labels, TrainingOptions.ValidationFraction, TrainingOptions.Seed);
        var trainLabels = Select(labels, train);
        var validationLabels = Select(labels, validation);
        if (!HasBothClasses(trainLabels) || validation.Length == 0)
        {
            throw new ArgumentException("Too few rows of a class to hold out a validation set for early stopping.", nameof(labels));
        }

        var data = new Validation(features.SelectRows(validation), validationLabels, trainWeights is null ? null : Select(weights, validation));
        return Train(features.SelectRows(train), trainLabels, trainWeights is null ? null : Select(weights, train), data, progress, cancellationToken);
    }

    /// <summary>
    /// Trains on <paramref name="features"/> and uses the given validation rows for early stopping (when
    /// <see cref="Options.EarlyStoppingRounds"/> is set; otherwise they are only checked).
    /// </summary>
    /// <exception cref="ArgumentException">Labels or weights do not match the rows, a class is absent, a weight is negative, or the validation set has other columns.</exception>
    public GradientBoostedTreesModel Fit(FeatureMatrix features, ReadOnlySpan<bool> labels, FeatureMatrix validation, ReadOnlySpan<bool> validationLabels,
        ReadOnlySpan<double> weights = default, ReadOnlySpan<double> validationWeights = default, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        ValidateInput(features, labels, weights, nameof(labels), nameof(weights));
        ArgumentNullException.ThrowIfNull(validation);
        if (validation.Columns != features.Columns)
        {
            throw new ArgumentException($"The validation set has {validation.Columns} columns; the training set has {features.Columns}.", nameof(validation));
        }

        if (validationLabels.Length != validation.Rows)
        {
            throw new ArgumentException($"{validationLabels.Length} validation labels for {validation.Rows} validation rows.", nameof(validationLabels));
        }

        if (validation.Rows == 0)
        {
            throw new ArgumentException("The validation set has no rows.", nameof(validation));
        }

        CheckWeights(validationWeights, validation.Rows, nameof(validationWeights));
        var data = new Validation(validation, validationLabels.ToArray(), validationWeights.IsEmpty ? null : validationWeights.ToArray());
        return Train(features, labels.ToArray(), weights.IsEmpty ? null : weights.ToArray(), TrainingOptions.EarlyStoppingRounds is null ? null : data, progress, cancellationToken);
    }

    private sealed record Validation(FeatureMatrix Features, bool[] Labels, double[]? Weights);

    private GradientBoostedTreesModel Train(FeatureMatrix features, bool[] labels, double[]? weights, Validation? validation, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var o = TrainingOptions;
        var threads = o.MaxDegreeOfParallelism == -1 ? Environment.ProcessorCount : o.MaxDegreeOfParallelism;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellationToken };
        var rows = features.Rows;
        var columns = features.Columns;

        var byColumn = FeatureBinning.Transpose(features, parallel);
        var binning = FeatureBinning.Fit(byColumn, rows, o.MaxBins, o.Seed, parallel);
        var bins = binning.Bin(byColumn, rows, parallel);
        cancellationToken.ThrowIfCancellationRequested();

        float[]? rowWeights = null;
        double positive = 0, total = 0;
        if (weights is not null)
        {
            rowWeights = new float[rows];
        }

        for (var i = 0; i < rows; i++)
        {
            var w = weights is null ? 1 : weights[i];
            if (rowWeights is not null)
            {
                rowWeights[i] = (float)w;
            }

            total += w;
            positive += labels[i] ? w : 0;
        }

        var initialScore = Logistic.Logit(positive / total);
        var scores = new double[rows];
        Array.Fill(scores, initialScore);
        var pairs = new Vector128<double>[rows];

        using var team = new WorkerTeam(threads);
        var grower = new TreeGrower(bins, rows, binning, o, team);
        var grown = new GrownTree();
        var nodes = new NodeLists();
        var treeStarts = new List<int>();
        var random = new Random(o.Seed);
        var sampleSize = o.RowSubsample >= 1 ? rows : Math.Max(1, (int)Math.Round(o.RowSubsample * rows));
        var sample = sampleSize < rows ? new int[rows] : null;
        var inSample = sampleSize < rows ? new bool[rows] : null;
        var featureCount = o.FeatureSubsample >= 1 ? columns : Math.Max(1, (int)Math.Round(o.FeatureSubsample * columns));
        var allFeatures = Enumerable.Range(0, columns).ToArray();
        var featureOrder = (int[])allFeatures.Clone();

        double[]? validationScores = null;
        if (validation is not null)
        {
            validationScores = new double[validation.Features.Rows];
            Array.Fill(validationScores, initialScore);
        }

        var bestLoss = double.PositiveInfinity;
        var bestTrees = 0;
        for (var t = 0; t < o.NumberOfTrees; t++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ComputeGradients(scores, labels, weights, pairs, team);

            int[]? rowsOfTree = null;
            if (sample is not null)
            {
                for (var i = 0; i < rows; i++)
                {
                    sample[i] = i;
                }

                // Partial Fisher-Yates: the first sampleSize entries are a uniform sample without replacement.
                for (var i = 0; i < sampleSize; i++)
                {
                    var j = i + random.Next(rows - i);
                    (sample[i], sample[j]) = (sample[j], sample[i]);
                }

                Array.Sort(sample, 0, sampleSize);
                rowsOfTree = sample;
            }

            var featuresOfTree = allFeatures;
            if (featureCount < columns)
            {
                for (var i = 0; i < featureCount; i++)
                {
                    var j = i + random.Next(columns - i);
                    (featureOrder[i], featureOrder[j]) = (featureOrder[j], featureOrder[i]);
                }

                featuresOfTree = featureOrder[..featureCount];
                Array.Sort(featuresOfTree);
            }

            grower.Grow(pairs, rowWeights, rowsOfTree, sampleSize, featuresOfTree, grown);

            var start = nodes.Count;
            treeStarts.Add(start);
            nodes.Append(grown, binning, o.LearningRate);
            UpdateScores(scores, grower.Order, grown, o.LearningRate, bins, binning, inSample, rowsOfTree, sampleSize);

            if (validation is not null)
            {
                var loss = UpdateValidation(validationScores!, validation, nodes, start);
                if (loss < bestLoss)
                {
                    bestLoss = loss;
                    bestTrees = t + 1;
                }
                else if (t + 1 - bestTrees >= o.EarlyStoppingRounds)
                {
                    progress?.Report(1.0);
                    break;
                }
            }

            progress?.Report((t + 1) / (double)o.NumberOfTrees);
        }

        var kept = validation is null ? treeStarts.Count : bestTrees;
        treeStarts.Add(nodes.Count);
        var ensemble = nodes.ToEnsemble(columns, [.. treeStarts]);
        if (kept < ensemble.TreeCount)
        {
            ensemble = ensemble.Take(kept);
        }

        return new GradientBoostedTreesModel([.. features.ColumnNames], initialScore, binning.UpperBounds, ensemble);
    }

    /// <summary>Log-loss (gradient, hessian) pairs at the current scores, in parallel over row blocks.</summary>
    private static void ComputeGradients(double[] scores, bool[] labels, double[]? weights, Vector128<double>[] pairs, WorkerTeam team)
    {
        const int block = 16_384;
        var blocks = (scores.Length + block - 1) / block;
        team.Run(blocks, b =>
        {
            var end = Math.Min(scores.Length, (b + 1) * block);
            for (var i = b * block; i < end; i++)
            {
                // 1 / (1 + e^-s) is exact enough in double for any s (e^-s overflows to ∞ only where p is 0 anyway).
                var p = 1 / (1 + Math.Exp(-scores[i]));
                var w = weights is null ? 1 : weights[i];
                pairs[i] = Vector128.Create((p - (labels[i] ? 1 : 0)) * w, Math.Max(p * (1 - p), 1e-16) * w);
            }
        });
    }

    /// <summary>Adds the new tree's shrunk leaf values to the training scores.</summary>
    private static void UpdateScores(double[] scores, int[] order, GrownTree tree, double learningRate, byte[] bins, FeatureBinning binning, bool[]? inSample, int[]? sample, int sampleSize)
    {
        for (var n = 0; n < tree.Count; n++)
        {
            if (tree.Feature[n] >= 0)
            {
                continue;
            }

            var value = tree.Value[n] * learningRate;
            var end = tree.RowStart[n] + tree.RowCount[n];
            for (var i = tree.RowStart[n]; i < end; i++)
            {
                scores[order[i]] += value;
            }
        }

        if (inSample is null || sample is null)
        {
            return;
        }

        // Rows left out of this tree's sample still get its output: walk the tree on their bins.
        Array.Clear(inSample);
        for (var i = 0; i < sampleSize; i++)
        {
            inSample[sample[i]] = true;
        }

        for (var r = 0; r < scores.Length; r++)
        {
            if (inSample[r])
            {
                continue;
            }

            var n = 0;
            while (tree.Feature[n] >= 0)
            {
                var f = tree.Feature[n];
                int b = bins[(f * scores.Length) + r];
                var left = b == binning.BinCount[f] ? tree.DefaultLeft[n] : b <= tree.Bin[n];
                n = left ? tree.Left[n] : tree.Right[n];
            }

            scores[r] += tree.Value[n] * learningRate;
        }
    }

    /// <summary>Adds the last tree to the validation scores and returns the validation log-loss.</summary>
    private static double UpdateValidation(double[] scores, Validation validation, NodeLists nodes, int root)
    {
        double loss = 0, total = 0;
        var features = validation.Features;
        for (var r = 0; r < scores.Length; r++)
        {
            var row = features.Row(r);
            var n = root;
            while (nodes.Feature[n] >= 0)
            {
                var x = row[nodes.Feature[n]];
                var t = nodes.Threshold[n];
                n = x <= t ? nodes.Left[n] : x > t ? nodes.Right[n] : nodes.DefaultLeft[n] ? nodes.Left[n] : nodes.Right[n];
            }

            scores[r] += nodes.Value[n];
            var w = validation.Weights is null ? 1 : validation.Weights[r];
            var s = scores[r];

            // -log σ(s) = log(1 + e^-s), computed stably for both signs.
            var margin = validation.Labels[r] ? s : -s;
            loss += w * (margin > 0 ? Math.Log(1 + Math.Exp(-margin)) : -margin + Math.Log(1 + Math.Exp(margin)));
            total += w;
        }

        return total > 0 ? loss / total : 0;
    }

    /// <summary>The trees trained so far, in the model's flat layout (absolute child indices, raw thresholds).</summary>
    private sealed class NodeLists
    {
        public List<int> Feature { get; } = [];
        public List<float> Threshold { get; } = [];
        public List<bool> DefaultLeft { get; } = [];
        public List<int> Left { get; } = [];
        public List<int> Right { get; } = [];
        public List<double> Value { get; } = [];
        public List<double> Cover { get; } = [];
        public List<double> Gain { get; } = [];

        public int Count => Feature.Count;

        public void Append(GrownTree tree, FeatureBinning binning, double learningRate)
        {
            var offset = Count;
            for (var n = 0; n < tree.Count; n++)
            {
                var f = tree.Feature[n];
                var leaf = f < 0;
                Feature.Add(f);
                Threshold.Add(leaf ? 0 : binning.ThresholdOf(f, tree.Bin[n]));
                DefaultLeft.Add(tree.DefaultLeft[n]);
                Left.Add(leaf ? -1 : offset + tree.Left[n]);
                Right.Add(leaf ? -1 : offset + tree.Right[n]);
                Value.Add(leaf ? tree.Value[n] * learningRate : 0);
                Cover.Add(tree.Cover[n]);
                Gain.Add(tree.Gain[n]);
            }
        }

        public TreeEnsemble ToEnsemble(int features, int[] treeStart) =>
            new(features, treeStart, [.. Feature], [.. Threshold], [.. DefaultLeft], [.. Left], [.. Right], [.. Value], [.. Cover], [.. Gain]);
    }

    /// <summary>Row indices of the training and validation parts: the validation fraction of each class, drawn by the seed.</summary>
    private static (int[] Train, int[] Validation) StratifiedSplit(ReadOnlySpan<bool> labels, double fraction, int seed)
    {
        var random = new Random(seed ^ 0x5EED);
        var train = new List<int>();
        var validation = new List<int>();
        foreach (var positive in new[] { false, true })
        {
            var members = new List<int>();
            for (var i = 0; i < labels.Length; i++)
            {
                if (labels[i] == positive)
                {
                    members.Add(i);
                }
            }

            var shuffled = members.ToArray();
            random.Shuffle(shuffled);
            var held = (int)Math.Round(fraction * shuffled.Length);
            validation.AddRange(shuffled[..held]);
            train.AddRange(shuffled[held..]);
        }

        train.Sort();
        validation.Sort();
        return ([.. train], [.. validation]);
    }

    private static T[] Select<T>(ReadOnlySpan<T> values, int[] rows)
    {
        var selected = new T[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            selected[i] = values[rows[i]];
        }

        return selected;
    }

    private static bool HasBothClasses(ReadOnlySpan<bool> labels) => labels.Contains(true) && labels.Contains(false);

    private static void ValidateInput(FeatureMatrix features, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights, string labelsName, string weightsName)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (labels.Length != features.Rows)
        {
            throw new ArgumentException($"{labels.Length} labels for {features.Rows} rows: there must be one label per row.", labelsName);
        }

        if (features.Rows == 0)
        {
            throw new ArgumentException("There are no training rows.", labelsName);
        }

        if (!HasBothClasses(labels))
        {
            throw new ArgumentException($"All {labels.Length} labels are {(labels[0] ? "positive" : "negative")}: training needs both classes.", labelsName);
        }

        CheckWeights(weights, features.Rows, weightsName);
        if (!weights.IsEmpty)
        {
            double positive = 0, negative = 0;
            for (var i = 0; i < labels.Length; i++)
            {
                if (labels[i])
                {
                    positive += weights[i];
                }
                else
                {
                    negative += weights[i];
                }
            }

            if (positive <= 0 || negative <= 0)
            {
                throw new ArgumentException("Every row of one class has weight 0: training needs both classes.", weightsName);
            }
        }
    }

    private static void CheckWeights(ReadOnlySpan<double> weights, int rows, string name)
    {
        if (weights.IsEmpty)
        {
            return;
        }

        if (weights.Length != rows)
        {
            throw new ArgumentException($"{weights.Length} weights for {rows} rows: give one weight per row, or none.", name);
        }

        for (var i = 0; i < weights.Length; i++)
        {
            if (!(weights[i] >= 0) || double.IsPositiveInfinity(weights[i]))
            {
                throw new ArgumentException($"Weight {weights[i]} of row {i} is not a finite non-negative number.", name);
            }
        }
    }

    private static void Validate(Options o)
    {
        static void Check(bool ok, string name, object value, string rule)
        {
            if (!ok)
            {
                throw new ArgumentOutOfRangeException(name, value, $"{name} {rule}.");
            }
        }

        Check(o.NumberOfTrees >= 1, nameof(o.NumberOfTrees), o.NumberOfTrees, "must be at least 1");
        Check(o.LearningRate > 0 && double.IsFinite(o.LearningRate), nameof(o.LearningRate), o.LearningRate, "must be positive");
        Check(o.MaxDepth >= -1, nameof(o.MaxDepth), o.MaxDepth, "must be positive, or 0 or -1 for no limit");
        Check(o.MaxLeaves >= -1 && o.MaxLeaves != 1, nameof(o.MaxLeaves), o.MaxLeaves, "must be at least 2, or 0 or -1 for no limit");
        Check(o.MinChildWeight >= 0 && double.IsFinite(o.MinChildWeight), nameof(o.MinChildWeight), o.MinChildWeight, "must be a finite non-negative number");
        Check(o.MinSamplesPerLeaf >= 1, nameof(o.MinSamplesPerLeaf), o.MinSamplesPerLeaf, "must be at least 1");
        Check(o.L2 >= 0 && double.IsFinite(o.L2), nameof(o.L2), o.L2, "must be a finite non-negative number");
        Check(o.MinSplitGain >= 0 && double.IsFinite(o.MinSplitGain), nameof(o.MinSplitGain), o.MinSplitGain, "must be a finite non-negative number");
        Check(o.RowSubsample > 0 && o.RowSubsample <= 1, nameof(o.RowSubsample), o.RowSubsample, "must be in (0, 1]");
        Check(o.FeatureSubsample > 0 && o.FeatureSubsample <= 1, nameof(o.FeatureSubsample), o.FeatureSubsample, "must be in (0, 1]");
        Check(o.MaxBins is >= 2 and <= 255, nameof(o.MaxBins), o.MaxBins, "must be between 2 and 255");
        Check(o.EarlyStoppingRounds is null or >= 1, nameof(o.EarlyStoppingRounds), o.EarlyStoppingRounds!, "must be at least 1, or null for no early stopping");
        Check(o.ValidationFraction > 0 && o.ValidationFraction < 1, nameof(o.ValidationFraction), o.ValidationFraction, "must be in (0, 1)");
        Check(o.MaxDegreeOfParallelism == -1 || o.MaxDegreeOfParallelism >= 1, nameof(o.MaxDegreeOfParallelism), o.MaxDegreeOfParallelism, "must be -1 (all cores) or positive");
    }
}
