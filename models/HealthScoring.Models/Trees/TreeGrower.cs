using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace HealthScoring.Models.Trees;

/// <summary>The gradient and hessian sums of one histogram bin, and how many rows fell in it.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct HistogramBin
{
    public double Gradient;
    public double Hessian;
    public int Count;
}

/// <summary>The best split found for one node: rows whose bin is ≤ <see cref="Bin"/> go left, missing ones by <see cref="DefaultLeft"/>.</summary>
internal struct SplitCandidate
{
    public double Gain;
    public int Feature;
    public int Bin;
    public bool DefaultLeft;
    public double LeftGradient;
    public double LeftHessian;
    public int LeftCount;

    public static SplitCandidate None => new() { Feature = -1, Gain = double.NegativeInfinity };

    public readonly bool IsValid => Feature >= 0;

    /// <summary>Higher gain wins; on a tie the lower feature, so that the order features are searched in never matters.</summary>
    public readonly bool IsBetterThan(in SplitCandidate other) =>
        IsValid && (!other.IsValid || Gain > other.Gain || (Gain == other.Gain && Feature < other.Feature));
}

/// <summary>One tree as grown on bins: node arrays (children after parents) and, per leaf, its rows in the grower's order.</summary>
internal sealed class GrownTree
{
    public List<int> Feature { get; } = [];
    public List<int> Bin { get; } = [];
    public List<bool> DefaultLeft { get; } = [];
    public List<int> Left { get; } = [];
    public List<int> Right { get; } = [];
    public List<double> Value { get; } = [];
    public List<double> Cover { get; } = [];
    public List<double> Gain { get; } = [];
    public List<int> RowStart { get; } = [];
    public List<int> RowCount { get; } = [];

    public int Count => Feature.Count;

    public int Add(int start, int count, double cover, double value)
    {
        Feature.Add(-1);
        Bin.Add(0);
        DefaultLeft.Add(true);
        Left.Add(-1);
        Right.Add(-1);
        Value.Add(value);
        Cover.Add(cover);
        Gain.Add(0);
        RowStart.Add(start);
        RowCount.Add(count);
        return Feature.Count - 1;
    }

    public void Clear()
    {
        Feature.Clear();
        Bin.Clear();
        DefaultLeft.Clear();
        Left.Clear();
        Right.Clear();
        Value.Clear();
        Cover.Clear();
        Gain.Clear();
        RowStart.Clear();
        RowCount.Clear();
    }
}

/// <summary>
/// Grows one regression tree on the binned training rows from gradients and hessians: histogram-based, best-first
/// (the leaf whose split gains most is split next) within the depth and leaf limits. The histogram of the smaller
/// child is built and the larger one's is its parent's minus it. Histograms are built in parallel over feature
/// chunks; each feature's sums are made by one thread in row order, so the tree never depends on the thread count.
/// </summary>
internal sealed class TreeGrower
{
    /// <summary>Below this many (row, feature) updates a node's histograms are built on the calling thread.</summary>
    private const int ParallelWorkThreshold = 32_768;

    private readonly byte[] _bins;
    private readonly int _rows;
    private readonly FeatureBinning _binning;
    private readonly GradientBoostedTreesTrainer.Options _options;
    private readonly WorkerTeam _team;
    private readonly int[] _order;
    private readonly int[] _scratch;
    private readonly Vector128<double>[] _ordered; // (gradient, hessian) by position in _order, for the node being built
    private readonly Stack<HistogramBin[]> _pool = new();
    private readonly List<Leaf> _candidates = [];

    private int[] _active = [];
    private Vector128<double>[] _pairs = [];
    private bool _allRows;
    private float[]? _weights;

    public TreeGrower(byte[] bins, int rows, FeatureBinning binning, GradientBoostedTreesTrainer.Options options, WorkerTeam team)
    {
        _bins = bins;
        _rows = rows;
        _binning = binning;
        _options = options;
        _team = team;
        _order = new int[rows];
        _scratch = new int[rows];
        _ordered = new Vector128<double>[rows];
    }

    /// <summary>Row indices in leaf order after <see cref="Grow"/>: each leaf's rows are one range of it.</summary>
    public int[] Order => _order;

    private sealed class Leaf
    {
        public int Node;
        public int Start;
        public int Count;
        public double Gradient;
        public double Hessian;
        public double Cover;
        public int Depth;
        public HistogramBin[]? Histogram;
        public SplitCandidate Best = SplitCandidate.None;
    }

    /// <summary>
    /// Grows a tree from the rows' (gradient, hessian) <paramref name="pairs"/> on <paramref name="rows"/> (sorted;
    /// null: all rows) using the <paramref name="features"/> (sorted) into <paramref name="tree"/>; leaf values are
    /// the Newton steps −G/(H+λ), not yet shrunk.
    /// </summary>
    public void Grow(Vector128<double>[] pairs, float[]? weights, int[]? rows, int rowCount, int[] features, GrownTree tree)
    {
        _pairs = pairs;
        _allRows = rows is null;
        _weights = weights;
        _active = features;
        tree.Clear();
        _candidates.Clear();

        double g = 0, h = 0, cover = 0;
        for (var i = 0; i < rowCount; i++)
        {
            var r = rows is null ? i : rows[i];
            _order[i] = r;
            g += pairs[r].GetElement(0);
            h += pairs[r].GetElement(1);
            cover += weights is null ? 1 : weights[r];
        }

        var root = new Leaf { Node = tree.Add(0, rowCount, cover, NewtonStep(g, h)), Start = 0, Count = rowCount, Gradient = g, Hessian = h, Cover = cover, Depth = 0 };
        var maxLeaves = _options.MaxLeaves <= 0 ? int.MaxValue : _options.MaxLeaves;
        if (maxLeaves > 1 && CanSplit(root))
        {
            root.Histogram = Rent();
            Build(root, null, [root]);
            Consider(root);
        }

        var leaves = 1;
        while (leaves < maxLeaves && _candidates.Count > 0)
        {
            var best = 0;
            for (var i = 1; i < _candidates.Count; i++)
            {
                if (_candidates[i].Best.Gain > _candidates[best].Best.Gain)
                {
                    best = i;
                }
            }

            var parent = _candidates[best];
            _candidates.RemoveAt(best);
            var (left, right) = Split(parent, tree);
            leaves++;

            var moreSplits = leaves < maxLeaves;
            var splitLeft = moreSplits && CanSplit(left);
            var splitRight = moreSplits && CanSplit(right);
            if (splitLeft || splitRight)
            {
                var (small, large) = left.Count <= right.Count ? (left, right) : (right, left);
                small.Histogram = Rent();
                large.Histogram = parent.Histogram;
                parent.Histogram = null;
                var searched = splitLeft && splitRight ? new[] { left, right } : [splitLeft ? left : right];
                Build(small, large, searched);
                Consider(left);
                Consider(right);
            }
            else
            {
                Return(parent);
            }
        }

        foreach (var leaf in _candidates)
        {
            Return(leaf);
        }

        _candidates.Clear();
    }

    private bool CanSplit(Leaf leaf) =>
        (_options.MaxDepth <= 0 || leaf.Depth < _options.MaxDepth)
        && leaf.Count >= 2 * _options.MinSamplesPerLeaf
        && leaf.Hessian >= 2 * _options.MinChildWeight;

    /// <summary>Keeps <paramref name="leaf"/> as a candidate when it has a split worth making, else frees its histogram.</summary>
    private void Consider(Leaf leaf)
    {
        if (leaf.Histogram is null)
        {
            return;
        }

        if (leaf.Best.IsValid && leaf.Best.Gain > _options.MinSplitGain)
        {
            _candidates.Add(leaf);
        }
        else
        {
            Return(leaf);
        }
    }

    private HistogramBin[] Rent() => _pool.Count > 0 ? _pool.Pop() : new HistogramBin[_binning.HistogramSize];

    private void Return(Leaf leaf)
    {
        if (leaf.Histogram is not null)
        {
            _pool.Push(leaf.Histogram);
            leaf.Histogram = null;
        }
    }

    /// <summary>Makes <paramref name="parent"/> an internal node: partitions its rows (stable) and adds both children.</summary>
    private (Leaf Left, Leaf Right) Split(Leaf parent, GrownTree tree)
    {
        var split = parent.Best;
        var f = split.Feature;
        var missing = _binning.BinCount[f];
        var column = _bins.AsSpan(f * _rows, _rows);
        var order = _order;
        var scratch = _scratch;
        var weights = _weights;
        int l = parent.Start, k = 0;
        double leftCover = 0;
        var end = parent.Start + parent.Count;
        var threshold = split.Bin;
        var missingLeft = split.DefaultLeft;

        // Stable and branch-free: each row is written to both sides, and only the side it belongs to advances.
        for (var i = parent.Start; i < end; i++)
        {
            var r = order[i];
            int b = column[r];
            var goesLeft = b == missing ? missingLeft : b <= threshold;
            order[l] = r;
            scratch[k] = r;
            var step = goesLeft ? 1 : 0;
            l += step;
            k += 1 - step;
            if (weights is not null)
            {
                leftCover += goesLeft ? weights[r] : 0;
            }
        }

        Array.Copy(scratch, 0, order, l, k);
        var leftCount = l - parent.Start;
        var left = new Leaf
        {
            Start = parent.Start, Count = leftCount, Gradient = split.LeftGradient, Hessian = split.LeftHessian,
            Cover = weights is null ? leftCount : leftCover, Depth = parent.Depth + 1,
        };
        var right = new Leaf
        {
            Start = l, Count = k, Gradient = parent.Gradient - split.LeftGradient, Hessian = parent.Hessian - split.LeftHessian,
            Cover = weights is null ? k : parent.Cover - leftCover, Depth = parent.Depth + 1,
        };
        left.Node = tree.Add(left.Start, left.Count, left.Cover, NewtonStep(left.Gradient, left.Hessian));
        right.Node = tree.Add(right.Start, right.Count, right.Cover, NewtonStep(right.Gradient, right.Hessian));
        var n = parent.Node;
        tree.Feature[n] = f;
        tree.Bin[n] = split.Bin;
        tree.DefaultLeft[n] = split.DefaultLeft;
        tree.Left[n] = left.Node;
        tree.Right[n] = right.Node;
        tree.Gain[n] = split.Gain;
        return (left, right);
    }

    /// <summary>The leaf value minimising the second-order loss: −G / (H + λ).</summary>
    public double NewtonStep(double gradient, double hessian)
    {
        var denominator = hessian + _options.L2;
        return denominator > 0 ? -gradient / denominator : 0;
    }

    /// <summary>
    /// Builds the histogram of <paramref name="build"/>; when <paramref name="derive"/> is given, turns its histogram
    /// (the parent's) into the parent's minus <paramref name="build"/>'s; then finds the best split of each leaf of
    /// <paramref name="search"/>. All per feature chunk, in parallel when the node is large enough.
    /// </summary>
    private void Build(Leaf build, Leaf? derive, Leaf[] search)
    {
        // The rows' pairs in the node's order, so that every pass over the features reads them in sequence; not
        // needed for the root of a tree on all rows, whose order is the rows' own.
        var dense = _allRows && build.Count == _order.Length;
        if (!dense)
        {
            var order = _order;
            var pairs = _pairs;
            var ordered = _ordered;
            var end = build.Start + build.Count;
            for (var i = build.Start; i < end; i++)
            {
                ordered[i] = pairs[order[i]];
            }
        }

        var features = _active.Length;
        if (_team.Threads <= 1 || (long)build.Count * features < ParallelWorkThreshold)
        {
            BuildChunk(build, dense, derive, search, 0, features, out var best0, out var best1);
            search[0].Best = best0;
            if (search.Length > 1)
            {
                search[1].Best = best1;
            }

            return;
        }

        // Work items of four features (one pass over the rows each), claimed one at a time by the team.
        var chunks = (features + 3) / 4;
        var results = new SplitCandidate[chunks * 2];
        _team.Run(chunks, c =>
        {
            var from = c * 4;
            var to = Math.Min(features, from + 4);
            BuildChunk(build, dense, derive, search, from, to, out results[2 * c], out results[(2 * c) + 1]);
        });

        for (var s = 0; s < search.Length; s++)
        {
            var best = SplitCandidate.None;
            for (var c = 0; c < chunks; c++)
            {
                if (results[(2 * c) + s].IsBetterThan(best))
                {
                    best = results[(2 * c) + s];
                }
            }

            search[s].Best = best;
        }
    }

    private void BuildChunk(Leaf build, bool dense, Leaf? derive, Leaf[] search, int from, int to, out SplitCandidate best0, out SplitCandidate best1)
    {
        var histogram = build.Histogram!;
        var offsets = _binning.HistogramOffset;
        var binCounts = _binning.BinCount;
        for (var a = from; a < to; a++)
        {
            var f = _active[a];
            Array.Clear(histogram, offsets[f], binCounts[f] + 1);
        }

        Accumulate(histogram, dense, build.Start, build.Count, from, to);

        if (derive is not null)
        {
            var target = derive.Histogram!;
            for (var a = from; a < to; a++)
            {
                var f = _active[a];
                var end = offsets[f] + binCounts[f] + 1;
                for (var i = offsets[f]; i < end; i++)
                {
                    ref var t = ref target[i];
                    ref readonly var s = ref histogram[i];
                    t.Gradient -= s.Gradient;
                    t.Hessian -= s.Hessian;
                    t.Count -= s.Count;
                }
            }
        }

        best0 = SplitCandidate.None;
        best1 = SplitCandidate.None;
        for (var s = 0; s < search.Length; s++)
        {
            var leaf = search[s];
            var best = SplitCandidate.None;
            for (var a = from; a < to; a++)
            {
                var candidate = BestSplit(leaf, _active[a]);
                if (candidate.IsBetterThan(best))
                {
                    best = candidate;
                }
            }

            if (s == 0)
            {
                best0 = best;
            }
            else
            {
                best1 = best;
            }
        }
    }

    /// <summary>
    /// Adds the rows of <c>order[start..start+count)</c> (<paramref name="dense"/>: all rows, in row order) to the bins
    /// of features <c>_active[from..to)</c>, four features per pass over the rows: their histograms (4 × 6 KB) stay
    /// in the L1 cache while the row indices and gradient pairs are read once per four features, not once per feature.
    /// </summary>
    private void Accumulate(HistogramBin[] histogram, bool dense, int start, int count, int from, int to)
    {
        var a = from;
        for (; a + 4 <= to; a += 4)
        {
            if (dense)
            {
                AccumulateDense4(histogram, count, _active[a], _active[a + 1], _active[a + 2], _active[a + 3]);
            }
            else
            {
                Accumulate4(histogram, start, count, _active[a], _active[a + 1], _active[a + 2], _active[a + 3]);
            }
        }

        for (; a < to; a++)
        {
            Accumulate1(histogram, dense, start, count, _active[a]);
        }
    }

    // The hottest loops of training: refs instead of indexing to skip bounds checks. Every bin index is below its
    // feature's bin count + 1 by construction (FeatureBinning.Bin), every row index and position below the row count.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Accumulate4(HistogramBin[] histogram, int start, int count, int f0, int f1, int f2, int f3)
    {
        ref var order = ref MemoryMarshal.GetArrayDataReference(_order);
        ref var pairs = ref MemoryMarshal.GetArrayDataReference(_ordered);
        ref var histograms = ref MemoryMarshal.GetArrayDataReference(histogram);
        ref var bins = ref MemoryMarshal.GetArrayDataReference(_bins);
        var offsets = _binning.HistogramOffset;
        ref var h0 = ref Unsafe.Add(ref histograms, offsets[f0]);
        ref var h1 = ref Unsafe.Add(ref histograms, offsets[f1]);
        ref var h2 = ref Unsafe.Add(ref histograms, offsets[f2]);
        ref var h3 = ref Unsafe.Add(ref histograms, offsets[f3]);
        ref var c0 = ref Unsafe.Add(ref bins, f0 * _rows);
        ref var c1 = ref Unsafe.Add(ref bins, f1 * _rows);
        ref var c2 = ref Unsafe.Add(ref bins, f2 * _rows);
        ref var c3 = ref Unsafe.Add(ref bins, f3 * _rows);
        var end = start + count;
        for (var i = start; i < end; i++)
        {
            var r = Unsafe.Add(ref order, i);
            var pair = Unsafe.Add(ref pairs, i);
            Add(ref Unsafe.Add(ref h0, Unsafe.Add(ref c0, r)), pair);
            Add(ref Unsafe.Add(ref h1, Unsafe.Add(ref c1, r)), pair);
            Add(ref Unsafe.Add(ref h2, Unsafe.Add(ref c2, r)), pair);
            Add(ref Unsafe.Add(ref h3, Unsafe.Add(ref c3, r)), pair);
        }
    }

    /// <summary><see cref="Accumulate4"/> for all rows in row order: no row indices to follow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AccumulateDense4(HistogramBin[] histogram, int count, int f0, int f1, int f2, int f3)
    {
        ref var pairs = ref MemoryMarshal.GetArrayDataReference(_pairs);
        ref var histograms = ref MemoryMarshal.GetArrayDataReference(histogram);
        ref var bins = ref MemoryMarshal.GetArrayDataReference(_bins);
        var offsets = _binning.HistogramOffset;
        ref var h0 = ref Unsafe.Add(ref histograms, offsets[f0]);
        ref var h1 = ref Unsafe.Add(ref histograms, offsets[f1]);
        ref var h2 = ref Unsafe.Add(ref histograms, offsets[f2]);
        ref var h3 = ref Unsafe.Add(ref histograms, offsets[f3]);
        ref var c0 = ref Unsafe.Add(ref bins, f0 * _rows);
        ref var c1 = ref Unsafe.Add(ref bins, f1 * _rows);
        ref var c2 = ref Unsafe.Add(ref bins, f2 * _rows);
        ref var c3 = ref Unsafe.Add(ref bins, f3 * _rows);
        for (var r = 0; r < count; r++)
        {
            var pair = Unsafe.Add(ref pairs, r);
            Add(ref Unsafe.Add(ref h0, Unsafe.Add(ref c0, r)), pair);
            Add(ref Unsafe.Add(ref h1, Unsafe.Add(ref c1, r)), pair);
            Add(ref Unsafe.Add(ref h2, Unsafe.Add(ref c2, r)), pair);
            Add(ref Unsafe.Add(ref h3, Unsafe.Add(ref c3, r)), pair);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Accumulate1(HistogramBin[] histogram, bool dense, int start, int count, int feature)
    {
        ref var order = ref MemoryMarshal.GetArrayDataReference(_order);
        ref var pairs = ref MemoryMarshal.GetArrayDataReference(dense ? _pairs : _ordered);
        ref var hist = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(histogram), _binning.HistogramOffset[feature]);
        ref var column = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_bins), feature * _rows);
        var end = start + count;
        for (var i = start; i < end; i++)
        {
            Add(ref Unsafe.Add(ref hist, Unsafe.Add(ref column, Unsafe.Add(ref order, i))), Unsafe.Add(ref pairs, i));
        }
    }

    /// <summary>Adds one row to a bin: its gradient and hessian sums are the bin's first 16 bytes, one vector add.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(ref HistogramBin bin, Vector128<double> pair)
    {
        ref var sums = ref Unsafe.As<HistogramBin, Vector128<double>>(ref bin);
        sums += pair;
        bin.Count++;
    }

    /// <summary>
    /// The best split of <paramref name="leaf"/> on <paramref name="feature"/>: every threshold between bins with the
    /// missing rows sent left or right (whichever gains more), plus "missing against the rest". Without missing rows
    /// the default direction is the child with more rows, as scikit-learn does.
    /// </summary>
    private SplitCandidate BestSplit(Leaf leaf, int feature)
    {
        var histogram = leaf.Histogram!;
        var offset = _binning.HistogramOffset[feature];
        var bins = _binning.BinCount[feature];
        var lambda = _options.L2;
        var minCount = _options.MinSamplesPerLeaf;
        var minHessian = _options.MinChildWeight;
        double totalG = leaf.Gradient, totalH = leaf.Hessian;
        var totalC = leaf.Count;
        var parentScore = totalG * totalG / (totalH + lambda);
        ref readonly var missing = ref histogram[offset + bins];
        double missG = missing.Gradient, missH = missing.Hessian;
        var missC = missing.Count;

        var best = SplitCandidate.None;
        double gl = 0, hl = 0;
        var cl = 0;
        var last = missC > 0 ? bins - 1 : bins - 2;
        for (var b = 0; b <= last; b++)
        {
            ref readonly var bin = ref histogram[offset + b];
            gl += bin.Gradient;
            hl += bin.Hessian;
            cl += bin.Count;
            if (bin.Count == 0 && b < bins - 1)
            {
                // Same partition as the previous threshold.
                continue;
            }

            // Missing rows to the right.
            if (b < bins - 1 || missC > 0)
            {
                Evaluate(ref best, feature, b, defaultLeft: missC == 0 && cl >= totalC - cl, gl, hl, cl, totalG, totalH, totalC, parentScore, lambda, minCount, minHessian);
            }

            // Missing rows to the left.
            if (missC > 0 && b < bins - 1)
            {
                Evaluate(ref best, feature, b, defaultLeft: true, gl + missG, hl + missH, cl + missC, totalG, totalH, totalC, parentScore, lambda, minCount, minHessian);
            }
        }

        return best;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Evaluate(ref SplitCandidate best, int feature, int bin, bool defaultLeft, double gl, double hl, int cl,
        double totalG, double totalH, int totalC, double parentScore, double lambda, int minCount, double minHessian)
    {
        var cr = totalC - cl;
        var gr = totalG - gl;
        var hr = totalH - hl;
        if (cl < minCount || cr < minCount || hl < minHessian || hr < minHessian)
        {
            return;
        }

        var gain = 0.5 * ((gl * gl / (hl + lambda)) + (gr * gr / (hr + lambda)) - parentScore);
        if (gain > best.Gain)
        {
            best = new SplitCandidate
            {
                Gain = gain, Feature = feature, Bin = bin, DefaultLeft = defaultLeft,
                LeftGradient = gl, LeftHessian = hl, LeftCount = cl,
            };
        }
    }
}
