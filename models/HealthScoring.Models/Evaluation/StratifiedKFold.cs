namespace HealthScoring.Models.Evaluation;

/// <summary>
/// Stratified k-fold split: each class is shuffled (deterministically for the seed) and dealt round-robin into the
/// folds, continuing where the other class stopped, so every fold holds each class's share to within one row and fold
/// sizes differ by at most one. The same labels and seed give the same folds on every platform and .NET version.
/// </summary>
public sealed class StratifiedKFold
{
    /// <summary>Creates the splitter for <paramref name="folds"/> folds (at least 2) and a shuffling seed.</summary>
    public StratifiedKFold(int folds, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(folds, 2);
        Folds = folds;
        Seed = seed;
    }

    /// <summary>Number of folds.</summary>
    public int Folds { get; }

    /// <summary>The shuffling seed.</summary>
    public int Seed { get; }

    /// <summary>
    /// The fold (0 … <see cref="Folds"/> − 1) of each row. Throws when a class has fewer rows than there are folds,
    /// since some fold would then miss that class.
    /// </summary>
    public int[] AssignFolds(ReadOnlySpan<bool> labels)
    {
        var positives = new List<int>();
        var negatives = new List<int>();
        for (var i = 0; i < labels.Length; i++)
        {
            (labels[i] ? positives : negatives).Add(i);
        }

        if (positives.Count < Folds || negatives.Count < Folds)
        {
            throw new ArgumentException(
                $"A stratified {Folds}-fold split needs at least {Folds} rows of each class; got {positives.Count} positive and {negatives.Count} negative.",
                nameof(labels));
        }

        var random = new SplitMix64(Seed);
        random.Shuffle(positives);
        random.Shuffle(negatives);
        var folds = new int[labels.Length];
        for (var i = 0; i < positives.Count; i++)
        {
            folds[positives[i]] = i % Folds;
        }

        for (var i = 0; i < negatives.Count; i++)
        {
            folds[negatives[i]] = (positives.Count + i) % Folds;
        }

        return folds;
    }

    /// <summary>Train and test rows of every fold; each list is in ascending row order.</summary>
    public IReadOnlyList<FoldSplit> Split(ReadOnlySpan<bool> labels)
    {
        var assignment = AssignFolds(labels);
        var splits = new FoldSplit[Folds];
        for (var f = 0; f < Folds; f++)
        {
            var train = new List<int>();
            var test = new List<int>();
            for (var i = 0; i < assignment.Length; i++)
            {
                (assignment[i] == f ? test : train).Add(i);
            }

            splits[f] = new FoldSplit(f, [.. train], [.. test]);
        }

        return splits;
    }
}

/// <summary>One fold of a k-fold split.</summary>
/// <param name="Fold">The fold index.</param>
/// <param name="TrainRows">Rows to train on (every row outside the fold), ascending.</param>
/// <param name="TestRows">Rows of the fold, ascending.</param>
public sealed record FoldSplit(int Fold, int[] TrainRows, int[] TestRows);

/// <summary>SplitMix64: a tiny seeded generator whose sequence is fixed by its definition, unlike <see cref="Random"/>'s.</summary>
internal sealed class SplitMix64(long seed)
{
    private ulong state = unchecked((ulong)seed);

    public ulong Next()
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, <paramref name="bound"/>) (multiply-high; bias below 2⁻³²).</summary>
    public int NextInt(int bound) => (int)Math.BigMul(Next(), (ulong)bound, out _);

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
