using System.Buffers;
using System.Text;

namespace HealthScoring.Models.Trees;

/// <summary>
/// Gradient-boosted decision trees for binary classification, as trained by <see cref="GradientBoostedTreesTrainer"/>:
/// the raw score is the initial score (log-odds of the training base rate) plus one leaf value per tree. Trees split
/// on raw feature values (<c>x ≤ threshold</c> goes left; a missing value takes the direction learnt for the split),
/// so scoring needs no binning. Immutable and safe to share between threads.
/// </summary>
public sealed class GradientBoostedTreesModel : IBinaryModel
{
    /// <summary>The kind written in the saved form.</summary>
    public const string ModelKind = "gbdt";

    /// <summary>The saved form's version this build writes, and the only one it reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>Rows per work item when scoring in parallel.</summary>
    private const int RowsPerTask = 64 * BlockScorer.BlockRows;

    private readonly string[] _featureNames;
    private readonly IReadOnlyList<string> _readOnlyNames;
    private readonly float[][] _binUpperBounds;
    private readonly TreeEnsemble _trees;
    private readonly BlockScorer? _blockScorer;
    private readonly double _baseValue;

    internal GradientBoostedTreesModel(string[] featureNames, double initialScore, float[][] binUpperBounds, TreeEnsemble trees)
    {
        _featureNames = featureNames;
        _readOnlyNames = Array.AsReadOnly(featureNames);
        InitialScore = initialScore;
        _binUpperBounds = binUpperBounds;
        BinUpperBounds = Array.AsReadOnly(binUpperBounds.Select(b => (IReadOnlyList<float>)Array.AsReadOnly(b)).ToArray());
        _trees = trees;
        _blockScorer = BlockScorer.TryCreate(trees);
        _baseValue = initialScore;
        foreach (var expected in trees.ExpectedValue)
        {
            _baseValue += expected;
        }
    }

    /// <inheritdoc />
    public string Kind => ModelKind;

    /// <inheritdoc />
    public IReadOnlyList<string> FeatureNames => _readOnlyNames;

    /// <summary>The raw score every row starts from: the log-odds of the (weighted) positive rate in training.</summary>
    public double InitialScore { get; }

    /// <summary>Number of trees (after early stopping, the trees up to the best validation round).</summary>
    public int TreeCount => _trees.TreeCount;

    /// <summary>The per-feature upper bounds of the bins training used (missing values had a bin of their own).</summary>
    public IReadOnlyList<IReadOnlyList<float>> BinUpperBounds { get; }

    internal TreeEnsemble Trees => _trees;

    /// <summary>Whether batches are scored by the SIMD block scorer (trees of at most 32 leaves, SIMD available).</summary>
    internal bool UsesBlockScorer => _blockScorer is not null;

    /// <inheritdoc />
    public double PredictRaw(ReadOnlySpan<float> features)
    {
        CheckWidth(features.Length);
        return _trees.PredictRaw(InitialScore, features);
    }

    /// <summary>
    /// Raw scores (log-odds) of every row of <paramref name="features"/> into <paramref name="destination"/>, using up
    /// to <paramref name="maxDegreeOfParallelism"/> threads (-1: all cores). Bitwise equal to <see cref="PredictRaw(ReadOnlySpan{float})"/>.
    /// </summary>
    public void PredictRaw(FeatureMatrix features, Span<double> destination, int maxDegreeOfParallelism = -1) =>
        Predict(features, destination, maxDegreeOfParallelism, probabilities: false);

    /// <inheritdoc />
    public void PredictProbabilities(FeatureMatrix features, Span<double> destination, int maxDegreeOfParallelism = -1) =>
        Predict(features, destination, maxDegreeOfParallelism, probabilities: true);

    private void Predict(FeatureMatrix features, Span<double> destination, int maxDegreeOfParallelism, bool probabilities)
    {
        ArgumentNullException.ThrowIfNull(features);
        CheckWidth(features.Columns);
        if (destination.Length < features.Rows)
        {
            throw new ArgumentException($"The destination holds {destination.Length} values for {features.Rows} rows.", nameof(destination));
        }

        if (maxDegreeOfParallelism == 0 || maxDegreeOfParallelism < -1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxDegreeOfParallelism), maxDegreeOfParallelism, "Use -1 (all cores) or a positive number.");
        }

        var rows = features.Rows;
        var tasks = (rows + RowsPerTask - 1) / RowsPerTask;
        var threads = maxDegreeOfParallelism == -1 ? Environment.ProcessorCount : maxDegreeOfParallelism;
        if (threads == 1 || tasks <= 1)
        {
            ScoreRange(features, 0, rows, destination[..rows], probabilities, NewScratch());
            return;
        }

        // A span cannot be shared with worker threads: score into a pooled array, then copy.
        var scores = ArrayPool<double>.Shared.Rent(rows);
        try
        {
            Parallel.For(0, tasks, new ParallelOptions { MaxDegreeOfParallelism = threads }, NewScratch, (task, _, scratch) =>
            {
                var from = task * RowsPerTask;
                var to = Math.Min(rows, from + RowsPerTask);
                ScoreRange(features, from, to, scores.AsSpan(from, to - from), probabilities, scratch);
                return scratch;
            }, _ => { });
            scores.AsSpan(0, rows).CopyTo(destination);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(scores);
        }
    }

    private BlockScorer.Scratch? NewScratch() => _blockScorer is null ? null : new BlockScorer.Scratch(_featureNames.Length);

    private void ScoreRange(FeatureMatrix features, int from, int to, Span<double> destination, bool probabilities, BlockScorer.Scratch? scratch)
    {
        if (_blockScorer is not null)
        {
            for (var r = from; r < to; r += BlockScorer.BlockRows)
            {
                var count = Math.Min(BlockScorer.BlockRows, to - r);
                _blockScorer.Score(features.Values, r, count, InitialScore, destination.Slice(r - from, count), scratch!);
            }
        }
        else
        {
            for (var r = from; r < to; r++)
            {
                destination[r - from] = _trees.PredictRaw(InitialScore, features.Row(r));
            }
        }

        if (probabilities)
        {
            for (var i = 0; i < destination.Length; i++)
            {
                destination[i] = Logistic.Sigmoid(destination[i]);
            }
        }
    }

    /// <summary>
    /// Exact TreeSHAP contributions (path-dependent, weighted by the training rows that reached each node), in
    /// log-odds. <see cref="FeatureContributions.BaseValue"/> is the initial score plus each tree's mean output over
    /// its training rows.
    /// </summary>
    public FeatureContributions Explain(ReadOnlySpan<float> features)
    {
        CheckWidth(features.Length);
        var contributions = new double[_featureNames.Length];
        TreeShap.Explain(_trees, features, contributions);
        return new FeatureContributions(_baseValue, contributions);
    }

    /// <summary>Total split gain per feature over all trees (in <see cref="FeatureNames"/> order): how much each feature reduced the training loss.</summary>
    public double[] FeatureImportance()
    {
        var importance = new double[_featureNames.Length];
        for (var n = 0; n < _trees.NodeCount; n++)
        {
            if (_trees.Feature[n] >= 0)
            {
                importance[_trees.Feature[n]] += _trees.Gain[n];
            }
        }

        return importance;
    }

    /// <summary>The model with only its first <paramref name="trees"/> trees (as if training had stopped there).</summary>
    internal GradientBoostedTreesModel Take(int trees) => new(_featureNames, InitialScore, _binUpperBounds, _trees.Take(trees));

    private void CheckWidth(int columns)
    {
        if (columns != _featureNames.Length)
        {
            throw new ArgumentException($"The model expects {_featureNames.Length} features, not {columns}.");
        }
    }

    /// <inheritdoc />
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        ModelFormat.WriteHeader(writer, ModelKind, FormatVersion);
        writer.Write(_featureNames.Length);
        foreach (var name in _featureNames)
        {
            writer.Write(name);
        }

        writer.Write(InitialScore);
        foreach (var bounds in _binUpperBounds)
        {
            writer.Write(bounds.Length);
            foreach (var bound in bounds)
            {
                writer.Write(bound);
            }
        }

        var trees = _trees;
        writer.Write(trees.TreeCount);
        for (var t = 0; t < trees.TreeCount; t++)
        {
            int first = trees.TreeStart[t], end = trees.TreeStart[t + 1];
            writer.Write(end - first);
            for (var n = first; n < end; n++)
            {
                var leaf = trees.Feature[n] < 0;
                writer.Write(trees.Feature[n]);
                writer.Write(trees.Threshold[n]);
                writer.Write(trees.DefaultLeft[n]);
                writer.Write(leaf ? -1 : trees.Left[n] - first);
                writer.Write(leaf ? -1 : trees.Right[n] - first);
                writer.Write(trees.Value[n]);
                writer.Write(trees.Cover[n]);
                writer.Write(trees.Gain[n]);
            }
        }
    }

    /// <summary>Reads the body of a saved model after its header (registered with <see cref="ModelFormat"/>).</summary>
    internal static GradientBoostedTreesModel Read(BinaryReader reader, int version)
    {
        if (version != FormatVersion)
        {
            throw new ModelFormatException(
                $"{ModelKind} model format version {version} is not supported by this build (supported: {FormatVersion}).");
        }

        var features = ReadCount(reader, 1, "feature");
        if (features == 0)
        {
            throw new ModelFormatException($"The saved {ModelKind} model has no features.");
        }

        var names = new string[features];
        for (var f = 0; f < features; f++)
        {
            names[f] = reader.ReadString();
        }

        var initialScore = reader.ReadDouble();
        if (!double.IsFinite(initialScore))
        {
            throw new ModelFormatException($"The saved {ModelKind} model's initial score is not finite.");
        }

        var bounds = new float[features][];
        for (var f = 0; f < features; f++)
        {
            bounds[f] = new float[ReadCount(reader, sizeof(float), "bin bound")];
            for (var i = 0; i < bounds[f].Length; i++)
            {
                bounds[f][i] = reader.ReadSingle();
            }
        }

        const int nodeBytes = sizeof(int) + sizeof(float) + 1 + (2 * sizeof(int)) + (3 * sizeof(double));
        var treeCount = ReadCount(reader, sizeof(int) + nodeBytes, "tree");
        var treeStart = new int[treeCount + 1];
        var feature = new List<int>();
        var threshold = new List<float>();
        var defaultLeft = new List<bool>();
        var left = new List<int>();
        var right = new List<int>();
        var value = new List<double>();
        var cover = new List<double>();
        var gain = new List<double>();
        for (var t = 0; t < treeCount; t++)
        {
            var first = feature.Count;
            treeStart[t] = first;
            var nodes = ReadCount(reader, nodeBytes, "node");
            for (var n = 0; n < nodes; n++)
            {
                feature.Add(reader.ReadInt32());
                threshold.Add(reader.ReadSingle());
                defaultLeft.Add(reader.ReadBoolean());
                var l = reader.ReadInt32();
                var r = reader.ReadInt32();
                left.Add(feature[^1] < 0 ? -1 : first + l);
                right.Add(feature[^1] < 0 ? -1 : first + r);
                value.Add(reader.ReadDouble());
                cover.Add(reader.ReadDouble());
                gain.Add(reader.ReadDouble());
            }
        }

        treeStart[treeCount] = feature.Count;
        var ensemble = new TreeEnsemble(features, treeStart, [.. feature], [.. threshold], [.. defaultLeft], [.. left], [.. right], [.. value], [.. cover], [.. gain]);
        return new GradientBoostedTreesModel(names, initialScore, bounds, ensemble);
    }

    /// <summary>A count from the stream, refused when negative or larger than the bytes left could hold.</summary>
    private static int ReadCount(BinaryReader reader, int bytesEach, string what)
    {
        var count = reader.ReadInt32();
        var stream = reader.BaseStream;
        if (count < 0 || (stream.CanSeek && (long)count * bytesEach > stream.Length - stream.Position))
        {
            throw new ModelFormatException($"The saved {ModelKind} model is truncated or damaged (a {what} count of {count}).");
        }

        return count;
    }
}
