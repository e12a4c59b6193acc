namespace HealthScoring.Models.Trees;

/// <summary>
/// Exact path-dependent TreeSHAP (Lundberg, Erion, Lee 2018, "Consistent Individualized Feature Attribution for
/// Tree Ensembles", Algorithm 2): the Shapley values of the game whose value for a feature set S is the tree's
/// expected output when only S is known, unknown features following both children weighted by their training
/// cover. O(leaves · depth²) per tree. A missing value follows the node's default direction like in scoring.
/// </summary>
internal static class TreeShap
{
    /// <summary>One feature on the current path, with the fractions of the "zero" (feature unknown) and "one"
    /// (feature known) paths that flow through it, and the permutation weight of the subsets of that size.</summary>
    private struct PathElement
    {
        public int Feature;
        public double Zero;
        public double One;
        public double Weight;
    }

    /// <summary>Adds every tree's contributions for <paramref name="row"/> into <paramref name="phi"/> (per feature).</summary>
    public static void Explain(TreeEnsemble trees, ReadOnlySpan<float> row, Span<double> phi)
    {
        // Each recursion level works on its own copy of the path, placed after its parent's (see Recurse).
        var depth = trees.MaxDepth;
        var path = new PathElement[((depth + 2) * (depth + 3) / 2) + 2];
        for (var t = 0; t < trees.TreeCount; t++)
        {
            var root = trees.TreeStart[t];
            if (trees.Feature[root] >= 0)
            {
                Recurse(trees, row, phi, path, root, 0, 0, 1, 1, -1);
            }
        }
    }

    /// <summary>
    /// Visits <paramref name="node"/> with the parent's path of <paramref name="length"/> elements at
    /// <paramref name="parentStart"/> in <paramref name="buffer"/>, extended by the split feature that led here.
    /// </summary>
    private static void Recurse(TreeEnsemble trees, ReadOnlySpan<float> row, Span<double> phi, PathElement[] buffer,
        int node, int parentStart, int length, double zero, double one, int feature)
    {
        // The parent's path had at most length + 1 elements before an unwind, so this copy never overlaps it.
        var start = parentStart + length + 1;
        var path = buffer.AsSpan(start);
        buffer.AsSpan(parentStart, length).CopyTo(path);
        Extend(path, length, zero, one, feature);
        length++;

        var split = trees.Feature[node];
        if (split < 0)
        {
            // Element 0 is the root's placeholder (no feature).
            var value = trees.Value[node];
            for (var i = 1; i < length; i++)
            {
                var weight = UnwoundSum(path, length - 1, i);
                phi[path[i].Feature] += weight * (path[i].One - path[i].Zero) * value;
            }

            return;
        }

        var x = row[split];
        var threshold = trees.Threshold[node];
        var goesLeft = x <= threshold || (!(x > threshold) && trees.DefaultLeft[node]);
        var hot = goesLeft ? trees.Left[node] : trees.Right[node];
        var cold = goesLeft ? trees.Right[node] : trees.Left[node];

        // A feature met again on the path is taken out first, and its fractions carry over to this split.
        double incomingZero = 1, incomingOne = 1;
        for (var k = 1; k < length; k++)
        {
            if (path[k].Feature == split)
            {
                incomingZero = path[k].Zero;
                incomingOne = path[k].One;
                Unwind(path, length - 1, k);
                length--;
                break;
            }
        }

        var cover = trees.Cover[node];
        double hotFraction, coldFraction;
        if (cover > 0)
        {
            hotFraction = trees.Cover[hot] / cover;
            coldFraction = trees.Cover[cold] / cover;
        }
        else
        {
            hotFraction = coldFraction = 0.5;
        }

        Recurse(trees, row, phi, buffer, hot, start, length, incomingZero * hotFraction, incomingOne, split);

        // A cold child without cover adds nothing (and would divide by its zero fraction when unwinding).
        if (incomingZero * coldFraction > 0)
        {
            Recurse(trees, row, phi, buffer, cold, start, length, incomingZero * coldFraction, 0, split);
        }
    }

    /// <summary>Appends a feature with fractions (<paramref name="zero"/>, <paramref name="one"/>) to a path of <paramref name="length"/> elements, updating the subset-size weights.</summary>
    private static void Extend(Span<PathElement> path, int length, double zero, double one, int feature)
    {
        path[length] = new PathElement { Feature = feature, Zero = zero, One = one, Weight = length == 0 ? 1 : 0 };
        for (var i = length - 1; i >= 0; i--)
        {
            path[i + 1].Weight += one * path[i].Weight * (i + 1) / (length + 1);
            path[i].Weight = zero * path[i].Weight * (length - i) / (length + 1);
        }
    }

    /// <summary>Removes element <paramref name="index"/> from a path whose last element is at <paramref name="last"/>, undoing its <see cref="Extend"/>.</summary>
    private static void Unwind(Span<PathElement> path, int last, int index)
    {
        var one = path[index].One;
        var zero = path[index].Zero;
        var carry = path[last].Weight;
        for (var j = last - 1; j >= 0; j--)
        {
            if (one != 0)
            {
                var kept = path[j].Weight;
                path[j].Weight = carry * (last + 1) / ((j + 1) * one);
                carry = kept - (path[j].Weight * zero * (last - j) / (last + 1));
            }
            else
            {
                path[j].Weight = path[j].Weight * (last + 1) / (zero * (last - j));
            }
        }

        for (var j = index; j < last; j++)
        {
            path[j].Feature = path[j + 1].Feature;
            path[j].Zero = path[j + 1].Zero;
            path[j].One = path[j + 1].One;
        }
    }

    /// <summary>The total weight the path would have with element <paramref name="index"/> unwound, without changing it.</summary>
    private static double UnwoundSum(Span<PathElement> path, int last, int index)
    {
        var one = path[index].One;
        var zero = path[index].Zero;
        var carry = path[last].Weight;
        double total = 0;
        for (var j = last - 1; j >= 0; j--)
        {
            if (one != 0)
            {
                var w = carry * (last + 1) / ((j + 1) * one);
                total += w;
                carry = path[j].Weight - (w * zero * (last - j) / (last + 1));
            }
            else
            {
                total += path[j].Weight * (last + 1) / (zero * (last - j));
            }
        }

        return total;
    }
}
