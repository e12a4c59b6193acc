using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HealthScoring.Models.Trees;

/// <summary>
/// Scores blocks of 64 rows with SIMD, in the manner of QuickScorer (Lucchese et al. 2015): within a tree every
/// row starts with all leaves possible, each split whose test sends the row right rules out the leaves of its left
/// subtree (one AND of a bit mask), and the row's leaf is the leftmost leaf left. Every split is tested for 16 (or 8)
/// rows at once on a column-major copy of the block, with no branches; the trees may have at most 32 leaves.
/// Evaluating every split instead of one path per tree costs more comparisons but no branch mispredictions nor
/// dependent loads, which is what limits tree walking.
/// The leaves reached, and the order their values are added in, are those of the tree-walking scorer, so the
/// scores are bitwise the same.
/// </summary>
internal sealed class BlockScorer
{
    public const int BlockRows = 64;
    private const int MaxLeaves = 32;

    [StructLayout(LayoutKind.Sequential)]
    private struct Split
    {
        public nint Offset;       // feature * BlockRows * 4: byte offset of the feature's values in the transposed block
        public float Threshold;
        public uint Kept;         // all leaves but those of the left subtree: what survives when the row goes right
    }

    private readonly int _features;
    private readonly int[] _splitStart;        // per tree (+1): its splits; default-left ones first
    private readonly int[] _defaultRightStart; // per tree: its first default-right split
    private readonly Split[] _splits;
    private readonly int[] _leafStart;         // per tree: its leaves' values, left to right
    private readonly double[] _leafValue;
    private readonly int[] _leafCount;          // per tree
    private readonly double[]? _leafTable;     // AVX-512 only: per tree 32 slots, its leaves left to right then zeros

    private BlockScorer(int features, int[] splitStart, int[] defaultRightStart, Split[] splits, int[] leafStart, double[] leafValue)
    {
        _leafCount = new int[defaultRightStart.Length];
        for (var t = 0; t < _leafCount.Length; t++)
        {
            _leafCount[t] = leafStart[t + 1] - leafStart[t];
        }

        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
        {
            _leafTable = new double[_leafCount.Length * MaxLeaves];
            for (var t = 0; t < _leafCount.Length; t++)
            {
                Array.Copy(leafValue, leafStart[t], _leafTable, t * MaxLeaves, _leafCount[t]);
            }
        }

        _features = features;
        _splitStart = splitStart;
        _defaultRightStart = defaultRightStart;
        _splits = splits;
        _leafStart = leafStart;
        _leafValue = leafValue;
    }

    /// <summary>A scorer for <paramref name="trees"/>, or null when a tree has more than 32 leaves or SIMD is not accelerated.</summary>
    public static BlockScorer? TryCreate(TreeEnsemble trees)
    {
        if (!Vector256.IsHardwareAccelerated)
        {
            return null;
        }

        var count = trees.TreeCount;
        var splitStart = new int[count + 1];
        var defaultRightStart = new int[count];
        var leafStart = new int[count + 1];
        var splits = new List<Split>();
        var leafValues = new List<double>();
        var right = new List<Split>();
        for (var t = 0; t < count; t++)
        {
            int first = trees.TreeStart[t], end = trees.TreeStart[t + 1];
            var leaves = 0;
            for (var n = first; n < end; n++)
            {
                leaves += trees.Feature[n] < 0 ? 1 : 0;
            }

            if (leaves > MaxLeaves)
            {
                return null;
            }

            // Number the leaves left to right; each split rules out the leaf range of its left subtree.
            var leafIndex = new int[end - first];
            var leafRange = new (int First, int Last)[end - first];
            var next = 0;
            Number(trees, first, first, leafIndex, leafRange, ref next);
            splitStart[t] = splits.Count;
            leafStart[t] = leafValues.Count;
            for (var n = first; n < end; n++)
            {
                if (trees.Feature[n] < 0)
                {
                    continue;
                }

                var (lo, hi) = leafRange[trees.Left[n] - first];
                var mask = (uint)(((1UL << (hi + 1)) - 1) ^ ((1UL << lo) - 1));
                var split = new Split { Offset = (nint)trees.Feature[n] * BlockRows * sizeof(float), Threshold = trees.Threshold[n], Kept = ~mask };
                if (trees.DefaultLeft[n])
                {
                    splits.Add(split);
                }
                else
                {
                    right.Add(split);
                }
            }

            defaultRightStart[t] = splits.Count;
            splits.AddRange(right);
            right.Clear();
            var values = new double[leaves];
            for (var n = first; n < end; n++)
            {
                if (trees.Feature[n] < 0)
                {
                    values[leafIndex[n - first]] = trees.Value[n];
                }
            }

            leafValues.AddRange(values);
        }

        splitStart[count] = splits.Count;
        leafStart[count] = leafValues.Count;
        return new BlockScorer(trees.Features, splitStart, defaultRightStart, [.. splits], leafStart, [.. leafValues]);
    }

    private static (int First, int Last) Number(TreeEnsemble trees, int first, int node, int[] leafIndex, (int, int)[] leafRange, ref int next)
    {
        if (trees.Feature[node] < 0)
        {
            leafIndex[node - first] = next;
            leafRange[node - first] = (next, next);
            next++;
            return (next - 1, next - 1);
        }

        var (lo, _) = Number(trees, first, trees.Left[node], leafIndex, leafRange, ref next);
        var (_, hi) = Number(trees, first, trees.Right[node], leafIndex, leafRange, ref next);
        leafRange[node - first] = (lo, hi);
        return (lo, hi);
    }

    /// <summary>Buffers for one thread.</summary>
    public sealed class Scratch(int features)
    {
        public float[] Block { get; } = new float[features * BlockRows];
        public int[] Leaves { get; } = new int[BlockRows / 2];
        public double[] Sums { get; } = new double[BlockRows];
    }

    /// <summary>
    /// Raw scores of rows <c>[first, first + count)</c> (count ≤ <see cref="BlockRows"/>) of the row-major
    /// <paramref name="values"/> into <paramref name="destination"/>.
    /// </summary>
    public void Score(float[] values, int first, int count, double initialScore, Span<double> destination, Scratch scratch)
    {
        var features = _features;
        var block = scratch.Block;
        for (var r = 0; r < count; r++)
        {
            var at = (first + r) * features;
            for (var f = 0; f < features; f++)
            {
                block[(f * BlockRows) + r] = values[at + f];
            }
        }

        if (count < BlockRows)
        {
            for (var f = 0; f < features; f++)
            {
                Array.Clear(block, (f * BlockRows) + count, BlockRows - count);
            }
        }

        var sums = scratch.Sums;
        Array.Fill(sums, initialScore);
        if (_leafTable is not null)
        {
            Score512(block, sums);
        }
        else
        {
            Score256(block, 0, scratch.Leaves, sums);
            Score256(block, BlockRows / 2, scratch.Leaves, sums);
        }

        sums.AsSpan(0, count).CopyTo(destination);
    }

    // The hot loops index through refs: every Offset is within the block (features * BlockRows floats), every leaf index below the
    // tree's leaf count (the leftmost surviving leaf always exists), both checked when the scorer is built.
    // AVX-512: the compare yields a mask register and the AND is masked by it; leaf values are looked up 8 rows at
    // a time with two-table permutes (16 doubles each) from the tree's 32 leaf slots, and summed in registers.
    private void Score512(float[] block, double[] sums)
    {
        ref var x = ref MemoryMarshal.GetArrayDataReference(block);
        ref var split = ref MemoryMarshal.GetArrayDataReference(_splits);
        ref var table = ref MemoryMarshal.GetArrayDataReference(_leafTable!);
        var s0 = Vector512.Create(sums[0]);
        var (s1, s2, s3, s4, s5, s6, s7) = (s0, s0, s0, s0, s0, s0, s0);
        var trees = _defaultRightStart.Length;
        var high = Vector512.Create(16L);
        for (var t = 0; t < trees; t++)
        {
            var v0 = Vector512<uint>.AllBitsSet;
            var (v1, v2, v3) = (v0, v0, v0);
            ref var s = ref Unsafe.Add(ref split, _splitStart[t]);
            ref var middle = ref Unsafe.Add(ref split, _defaultRightStart[t]);
            ref var end = ref Unsafe.Add(ref split, _splitStart[t + 1]);
            for (; Unsafe.IsAddressLessThan(ref s, ref middle); s = ref Unsafe.Add(ref s, 1))
            {
                var threshold = Vector512.Create(s.Threshold);
                var kept = Vector512.Create(s.Kept);
                ref var column = ref Unsafe.AddByteOffset(ref x, s.Offset);
                v0 = Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.LoadUnsafe(ref column), threshold).AsUInt32(), v0 & kept, v0);
                v1 = Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.LoadUnsafe(ref column, 16), threshold).AsUInt32(), v1 & kept, v1);
                v2 = Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.LoadUnsafe(ref column, 32), threshold).AsUInt32(), v2 & kept, v2);
                v3 = Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.LoadUnsafe(ref column, 48), threshold).AsUInt32(), v3 & kept, v3);
            }

            for (; Unsafe.IsAddressLessThan(ref s, ref end); s = ref Unsafe.Add(ref s, 1))
            {
                // Default right: "not x ≤ threshold" also holds for NaN.
                var threshold = Vector512.Create(s.Threshold);
                var kept = Vector512.Create(s.Kept);
                ref var column = ref Unsafe.AddByteOffset(ref x, s.Offset);
                v0 = Vector512.ConditionalSelect(~Vector512.LessThanOrEqual(Vector512.LoadUnsafe(ref column), threshold).AsUInt32(), v0 & kept, v0);
                v1 = Vector512.ConditionalSelect(~Vector512.LessThanOrEqual(Vector512.LoadUnsafe(ref column, 16), threshold).AsUInt32(), v1 & kept, v1);
                v2 = Vector512.ConditionalSelect(~Vector512.LessThanOrEqual(Vector512.LoadUnsafe(ref column, 32), threshold).AsUInt32(), v2 & kept, v2);
                v3 = Vector512.ConditionalSelect(~Vector512.LessThanOrEqual(Vector512.LoadUnsafe(ref column, 48), threshold).AsUInt32(), v3 & kept, v3);
            }

            ref var leaves = ref Unsafe.Add(ref table, t * MaxLeaves);
            var t0 = Vector512.LoadUnsafe(ref leaves);
            var t1 = Vector512.LoadUnsafe(ref leaves, 8);
            var l0 = LowestBit(v0);
            var l1 = LowestBit(v1);
            var l2 = LowestBit(v2);
            var l3 = LowestBit(v3);
            if (_leafCount[t] <= 16)
            {
                s0 += Avx512F.PermuteVar8x64x2(t0, Avx512F.ConvertToVector512Int64(l0.GetLower()), t1);
                s1 += Avx512F.PermuteVar8x64x2(t0, Avx512F.ConvertToVector512Int64(l0.GetUpper()), t1);
                s2 += Avx512F.PermuteVar8x64x2(t0, Avx512F.ConvertToVector512Int64(l1.GetLower()), t1);
                s3 += Avx512F.PermuteVar8x64x2(t0, Avx512F.ConvertToVector512Int64(l1.GetUpper()), t1);
                s4 += Avx512F.PermuteVar8x64x2(t0, Avx512F.ConvertToVector512Int64(l2.GetLower()), t1);
                s5 += Avx512F.PermuteVar8x64x2(t0, Avx512F.ConvertToVector512Int64(l2.GetUpper()), t1);
                s6 += Avx512F.PermuteVar8x64x2(t0, Avx512F.ConvertToVector512Int64(l3.GetLower()), t1);
                s7 += Avx512F.PermuteVar8x64x2(t0, Avx512F.ConvertToVector512Int64(l3.GetUpper()), t1);
            }
            else
            {
                var t2 = Vector512.LoadUnsafe(ref leaves, 16);
                var t3 = Vector512.LoadUnsafe(ref leaves, 24);
                s0 += Lookup(t0, t1, t2, t3, Avx512F.ConvertToVector512Int64(l0.GetLower()), high);
                s1 += Lookup(t0, t1, t2, t3, Avx512F.ConvertToVector512Int64(l0.GetUpper()), high);
                s2 += Lookup(t0, t1, t2, t3, Avx512F.ConvertToVector512Int64(l1.GetLower()), high);
                s3 += Lookup(t0, t1, t2, t3, Avx512F.ConvertToVector512Int64(l1.GetUpper()), high);
                s4 += Lookup(t0, t1, t2, t3, Avx512F.ConvertToVector512Int64(l2.GetLower()), high);
                s5 += Lookup(t0, t1, t2, t3, Avx512F.ConvertToVector512Int64(l2.GetUpper()), high);
                s6 += Lookup(t0, t1, t2, t3, Avx512F.ConvertToVector512Int64(l3.GetLower()), high);
                s7 += Lookup(t0, t1, t2, t3, Avx512F.ConvertToVector512Int64(l3.GetUpper()), high);
            }
        }

        s0.CopyTo(sums, 0);
        s1.CopyTo(sums, 8);
        s2.CopyTo(sums, 16);
        s3.CopyTo(sums, 24);
        s4.CopyTo(sums, 32);
        s5.CopyTo(sums, 40);
        s6.CopyTo(sums, 48);
        s7.CopyTo(sums, 56);
    }

    /// <summary>Leaf values of 8 rows from a tree's 32 slots (t0..t3, 8 each) by leaf index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Lookup(Vector512<double> t0, Vector512<double> t1, Vector512<double> t2, Vector512<double> t3, Vector512<long> index, Vector512<long> high) =>
        Vector512.ConditionalSelect(
            Vector512.Equals(index & high, high).AsDouble(),
            Avx512F.PermuteVar8x64x2(t2, index, t3),
            Avx512F.PermuteVar8x64x2(t0, index, t1));

    /// <summary>The 32 rows of the block from <paramref name="half"/> on, 8 at a time (AVX2).</summary>
    private void Score256(float[] block, int half, int[] leaves, double[] sums)
    {
        ref var x = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(block), half);
        ref var split = ref MemoryMarshal.GetArrayDataReference(_splits);
        ref var leaf = ref MemoryMarshal.GetArrayDataReference(leaves);
        var trees = _defaultRightStart.Length;
        for (var t = 0; t < trees; t++)
        {
            var v0 = Vector256<uint>.AllBitsSet;
            var v1 = Vector256<uint>.AllBitsSet;
            var v2 = Vector256<uint>.AllBitsSet;
            var v3 = Vector256<uint>.AllBitsSet;
            int n = _splitStart[t], middle = _defaultRightStart[t], end = _splitStart[t + 1];
            for (; n < middle; n++)
            {
                ref var s = ref Unsafe.Add(ref split, n);
                var threshold = Vector256.Create(s.Threshold);
                var ruledOut = ~Vector256.Create(s.Kept);
                ref var column = ref Unsafe.AddByteOffset(ref x, s.Offset);
                v0 = Vector256.AndNot(v0, Vector256.GreaterThan(Vector256.LoadUnsafe(ref column), threshold).AsUInt32() & ruledOut);
                v1 = Vector256.AndNot(v1, Vector256.GreaterThan(Vector256.LoadUnsafe(ref column, 8), threshold).AsUInt32() & ruledOut);
                v2 = Vector256.AndNot(v2, Vector256.GreaterThan(Vector256.LoadUnsafe(ref column, 16), threshold).AsUInt32() & ruledOut);
                v3 = Vector256.AndNot(v3, Vector256.GreaterThan(Vector256.LoadUnsafe(ref column, 24), threshold).AsUInt32() & ruledOut);
            }

            for (; n < end; n++)
            {
                ref var s = ref Unsafe.Add(ref split, n);
                var threshold = Vector256.Create(s.Threshold);
                var ruledOut = ~Vector256.Create(s.Kept);
                ref var column = ref Unsafe.AddByteOffset(ref x, s.Offset);
                v0 = Vector256.AndNot(v0, Vector256.AndNot(ruledOut, Vector256.LessThanOrEqual(Vector256.LoadUnsafe(ref column), threshold).AsUInt32()));
                v1 = Vector256.AndNot(v1, Vector256.AndNot(ruledOut, Vector256.LessThanOrEqual(Vector256.LoadUnsafe(ref column, 8), threshold).AsUInt32()));
                v2 = Vector256.AndNot(v2, Vector256.AndNot(ruledOut, Vector256.LessThanOrEqual(Vector256.LoadUnsafe(ref column, 16), threshold).AsUInt32()));
                v3 = Vector256.AndNot(v3, Vector256.AndNot(ruledOut, Vector256.LessThanOrEqual(Vector256.LoadUnsafe(ref column, 24), threshold).AsUInt32()));
            }

            LowestBit(v0).StoreUnsafe(ref leaf);
            LowestBit(v1).StoreUnsafe(ref leaf, 8);
            LowestBit(v2).StoreUnsafe(ref leaf, 16);
            LowestBit(v3).StoreUnsafe(ref leaf, 24);
            AddLeaves(t, leaves, sums, half);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AddLeaves(int tree, int[] leaves, double[] sums, int half)
    {
        ref var value = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_leafValue), _leafStart[tree]);
        ref var leaf = ref MemoryMarshal.GetArrayDataReference(leaves);
        ref var sum = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(sums), half);
        for (var r = 0; r < 32; r++)
        {
            Unsafe.Add(ref sum, r) += Unsafe.Add(ref value, Unsafe.Add(ref leaf, r));
        }
    }

    /// <summary>Index of the lowest set bit per lane: isolate it, convert to float (exact for a power of two), read the exponent.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> LowestBit(Vector512<uint> v)
    {
        var lowest = (v & (Vector512<uint>.Zero - v)).AsInt32();
        var exponent = Vector512.ShiftRightLogical(Vector512.ConvertToSingle(lowest).AsInt32(), 23) & Vector512.Create(0xFF);
        return exponent - Vector512.Create(127);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> LowestBit(Vector256<uint> v)
    {
        var lowest = (v & (Vector256<uint>.Zero - v)).AsInt32();
        var exponent = Vector256.ShiftRightLogical(Vector256.ConvertToSingle(lowest).AsInt32(), 23) & Vector256.Create(0xFF);
        return exponent - Vector256.Create(127);
    }
}
