namespace HealthScoring.Models.Trees;

/// <summary>
/// The trees of a model in flat arrays, all trees one after the other; tree <c>t</c> holds nodes
/// <c>[TreeStart[t], TreeStart[t+1])</c>, its root first and every child after its parent. A node with
/// <c>Feature &lt; 0</c> is a leaf. At an internal node a row goes left when <c>x ≤ Threshold</c>, right when
/// <c>x &gt; Threshold</c>, and by <c>DefaultLeft</c> when x is missing (NaN). Children are absolute node indices.
/// </summary>
internal sealed class TreeEnsemble
{
    public TreeEnsemble(int features, int[] treeStart, int[] feature, float[] threshold, bool[] defaultLeft, int[] left, int[] right, double[] value, double[] cover, double[] gain)
    {
        Features = features;
        TreeStart = treeStart;
        Feature = feature;
        Threshold = threshold;
        DefaultLeft = defaultLeft;
        Left = left;
        Right = right;
        Value = value;
        Cover = cover;
        Gain = gain;
        Validate();
        ExpectedValue = new double[TreeCount];
        for (var t = 0; t < TreeCount; t++)
        {
            ExpectedValue[t] = Expected(TreeStart[t]);
            MaxDepth = Math.Max(MaxDepth, Depth(TreeStart[t]));
        }
    }

    public int Features { get; }
    public int[] TreeStart { get; }
    public int[] Feature { get; }
    public float[] Threshold { get; }
    public bool[] DefaultLeft { get; }
    public int[] Left { get; }
    public int[] Right { get; }
    public double[] Value { get; }
    public double[] Cover { get; }
    public double[] Gain { get; }

    /// <summary>Per tree, the cover-weighted mean of its leaves: its mean output over the training rows.</summary>
    public double[] ExpectedValue { get; }

    /// <summary>Edges on the longest root-to-leaf path of any tree.</summary>
    public int MaxDepth { get; }

    public int TreeCount => TreeStart.Length - 1;

    public int NodeCount => Feature.Length;

    /// <summary>The leaf <paramref name="row"/> reaches in the tree rooted at <paramref name="node"/>.</summary>
    public int LeafOf(int node, ReadOnlySpan<float> row)
    {
        var feature = Feature;
        while (feature[node] >= 0)
        {
            var x = row[feature[node]];
            var t = Threshold[node];
            node = x <= t ? Left[node] : x > t ? Right[node] : DefaultLeft[node] ? Left[node] : Right[node];
        }

        return node;
    }

    /// <summary><paramref name="initialScore"/> plus every tree's output, added in tree order.</summary>
    public double PredictRaw(double initialScore, ReadOnlySpan<float> row)
    {
        var sum = initialScore;
        var starts = TreeStart;
        for (var t = 0; t < starts.Length - 1; t++)
        {
            sum += Value[LeafOf(starts[t], row)];
        }

        return sum;
    }

    /// <summary>The first <paramref name="trees"/> trees.</summary>
    public TreeEnsemble Take(int trees)
    {
        var nodes = TreeStart[trees];
        return new TreeEnsemble(Features, TreeStart[..(trees + 1)], Feature[..nodes], Threshold[..nodes], DefaultLeft[..nodes],
            Left[..nodes], Right[..nodes], Value[..nodes], Cover[..nodes], Gain[..nodes]);
    }

    private double Expected(int node) =>
        Feature[node] < 0 ? Value[node] : Cover[node] > 0
            ? ((Cover[Left[node]] * Expected(Left[node])) + (Cover[Right[node]] * Expected(Right[node]))) / Cover[node]
            : (Expected(Left[node]) + Expected(Right[node])) / 2;

    private int Depth(int node) => Feature[node] < 0 ? 0 : 1 + Math.Max(Depth(Left[node]), Depth(Right[node]));

    /// <summary>
    /// Every tree is a proper binary tree: each node but the root is the child of exactly one node of its tree that
    /// comes before it, features are in range, values finite. A damaged saved model fails here, not while scoring.
    /// </summary>
    private void Validate()
    {
        var n = Feature.Length;
        if (TreeStart.Length < 1 || TreeStart[0] != 0 || TreeStart[^1] != n
            || Threshold.Length != n || DefaultLeft.Length != n || Left.Length != n || Right.Length != n
            || Value.Length != n || Cover.Length != n || Gain.Length != n)
        {
            throw new ModelFormatException("The gbdt model's node arrays are inconsistent.");
        }

        var parents = new int[n];
        for (var t = 0; t < TreeStart.Length - 1; t++)
        {
            int start = TreeStart[t], end = TreeStart[t + 1];
            if (end <= start)
            {
                throw new ModelFormatException($"Tree {t} of the gbdt model has no nodes.");
            }

            for (var i = start; i < end; i++)
            {
                if (!double.IsFinite(Value[i]) || !double.IsFinite(Cover[i]) || Cover[i] < 0)
                {
                    throw new ModelFormatException($"Node {i - start} of tree {t} of the gbdt model has a non-finite value or cover.");
                }

                if (Feature[i] < 0)
                {
                    continue;
                }

                if (Feature[i] >= Features || float.IsNaN(Threshold[i])
                    || Left[i] <= i || Left[i] >= end || Right[i] <= i || Right[i] >= end || Left[i] == Right[i])
                {
                    throw new ModelFormatException($"Node {i - start} of tree {t} of the gbdt model is damaged.");
                }

                parents[Left[i]]++;
                parents[Right[i]]++;
            }

            for (var i = start + 1; i < end; i++)
            {
                if (parents[i] != 1)
                {
                    throw new ModelFormatException($"Tree {t} of the gbdt model is not a tree (node {i - start}).");
                }
            }
        }
    }
}
