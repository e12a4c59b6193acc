namespace HealthScoring.Models.Evaluation;

/// <summary>
/// Ranking and probability metrics of binary predictions. Make one with <see cref="Compute"/>.
/// </summary>
/// <remarks>
/// When the labels hold only one class, <see cref="RocAuc"/> is undefined and is <see cref="double.NaN"/>; so is
/// <see cref="PrAuc"/> and <see cref="TopDecileLift"/> when there is no positive. <see cref="HasBothClasses"/> tells
/// which case applies; <see cref="ComputeRocAuc"/> and <see cref="ComputeAveragePrecision"/> throw instead.
/// </remarks>
/// <param name="Count">Number of rows.</param>
/// <param name="BaseRate">Share of positive rows.</param>
/// <param name="RocAuc">Area under the ROC curve; ties count one half, as sklearn's <c>roc_auc_score</c>. NaN with one class.</param>
/// <param name="PrAuc">Average precision, as sklearn's <c>average_precision_score</c>: <c>Σₙ (Rₙ − Rₙ₋₁)·Pₙ</c> over distinct score thresholds (no interpolation). NaN with no positive.</param>
/// <param name="Brier">Mean squared difference between probability and label.</param>
/// <param name="LogLoss">Mean negative log-likelihood, probabilities clipped to [1e-15, 1 − 1e-15].</param>
/// <param name="TopDecileLift">Positive rate among the 10% highest scores (⌈n/10⌉ rows; a tie at the cut counts in proportion) ÷ <see cref="BaseRate"/>. NaN with no positive.</param>
/// <param name="CalibrationTable">Equal-width probability bins over [0, 1] (each includes its lower edge; the last also 1), all of them, empty ones included.</param>
public sealed record BinaryMetrics(
    int Count,
    double BaseRate,
    double RocAuc,
    double PrAuc,
    double Brier,
    double LogLoss,
    double TopDecileLift,
    IReadOnlyList<CalibrationBin> CalibrationTable)
{
    /// <summary>Clipping of probabilities in <see cref="LogLoss"/>.</summary>
    public const double LogLossEpsilon = 1e-15;

    /// <summary>Whether both classes occur, so that every metric is defined.</summary>
    public bool HasBothClasses => BaseRate > 0 && BaseRate < 1;

    /// <summary>
    /// Computes every metric of <paramref name="probabilities"/> (each in [0, 1]) against <paramref name="labels"/>,
    /// with <paramref name="calibrationBins"/> bins in the calibration table.
    /// </summary>
    public static BinaryMetrics Compute(ReadOnlySpan<bool> labels, ReadOnlySpan<double> probabilities, int calibrationBins = 10)
    {
        Check(labels, probabilities);
        ArgumentOutOfRangeException.ThrowIfLessThan(calibrationBins, 1);
        for (var i = 0; i < probabilities.Length; i++)
        {
            if (!(probabilities[i] >= 0 && probabilities[i] <= 1))
            {
                throw new ArgumentException($"Probability {probabilities[i]} of row {i} is not in [0, 1].", nameof(probabilities));
            }
        }

        var n = labels.Length;
        var positives = 0;
        double brier = 0, logLoss = 0;
        var binCounts = new int[calibrationBins];
        var binPredicted = new double[calibrationBins];
        var binPositives = new int[calibrationBins];
        for (var i = 0; i < n; i++)
        {
            var y = labels[i] ? 1.0 : 0.0;
            var p = probabilities[i];
            positives += labels[i] ? 1 : 0;
            brier += (p - y) * (p - y);
            var clipped = Math.Clamp(p, LogLossEpsilon, 1 - LogLossEpsilon);
            logLoss -= labels[i] ? Math.Log(clipped) : Math.Log(1 - clipped);
            var bin = Bin(p, calibrationBins);
            binCounts[bin]++;
            binPredicted[bin] += p;
            binPositives[bin] += labels[i] ? 1 : 0;
        }

        var table = new CalibrationBin[calibrationBins];
        for (var b = 0; b < calibrationBins; b++)
        {
            var count = binCounts[b];
            table[b] = new CalibrationBin(
                (double)b / calibrationBins,
                (double)(b + 1) / calibrationBins,
                count,
                count == 0 ? double.NaN : binPredicted[b] / count,
                count == 0 ? double.NaN : (double)binPositives[b] / count);
        }

        var hasBoth = positives > 0 && positives < n;
        var order = DescendingOrder(probabilities);
        return new BinaryMetrics(
            n,
            (double)positives / n,
            hasBoth ? RocAucSorted(labels, probabilities, order, positives) : double.NaN,
            positives > 0 ? AveragePrecisionSorted(labels, probabilities, order, positives) : double.NaN,
            brier / n,
            logLoss / n,
            positives > 0 ? TopDecileLiftSorted(labels, probabilities, order, positives) : double.NaN,
            table);
    }

    /// <summary>ROC AUC of any scores (higher = more likely positive); throws when only one class occurs.</summary>
    public static double ComputeRocAuc(ReadOnlySpan<bool> labels, ReadOnlySpan<double> scores)
    {
        var positives = CheckScores(labels, scores);
        if (positives == 0 || positives == labels.Length)
        {
            throw new ArgumentException($"ROC AUC is undefined: all {labels.Length} labels are {(positives == 0 ? "negative" : "positive")}.", nameof(labels));
        }

        return RocAucSorted(labels, scores, DescendingOrder(scores), positives);
    }

    /// <summary>Average precision of any scores (higher = more likely positive); throws when there is no positive.</summary>
    public static double ComputeAveragePrecision(ReadOnlySpan<bool> labels, ReadOnlySpan<double> scores)
    {
        var positives = CheckScores(labels, scores);
        if (positives == 0)
        {
            throw new ArgumentException($"Average precision is undefined: none of the {labels.Length} labels is positive.", nameof(labels));
        }

        return AveragePrecisionSorted(labels, scores, DescendingOrder(scores), positives);
    }

    /// <summary>The bin whose range [b/bins, (b+1)/bins) holds <paramref name="p"/>, comparing with the same edges the table reports.</summary>
    private static int Bin(double p, int bins)
    {
        var bin = Math.Min(bins - 1, (int)(p * bins));
        if (bin > 0 && p < (double)bin / bins)
        {
            bin--;
        }
        else if (bin < bins - 1 && p >= (double)(bin + 1) / bins)
        {
            bin++;
        }

        return bin;
    }

    private static void Check(ReadOnlySpan<bool> labels, ReadOnlySpan<double> scores)
    {
        if (labels.Length != scores.Length)
        {
            throw new ArgumentException($"There are {labels.Length} labels for {scores.Length} predictions.", nameof(labels));
        }

        if (labels.IsEmpty)
        {
            throw new ArgumentException("Metrics need at least one prediction.", nameof(labels));
        }
    }

    private static int CheckScores(ReadOnlySpan<bool> labels, ReadOnlySpan<double> scores)
    {
        Check(labels, scores);
        var positives = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            if (double.IsNaN(scores[i]))
            {
                throw new ArgumentException($"Score of row {i} is NaN.", nameof(scores));
            }

            positives += labels[i] ? 1 : 0;
        }

        return positives;
    }

    /// <summary>Row indices by score, highest first; ties in row order (the metrics treat ties as groups anyway).</summary>
    private static int[] DescendingOrder(ReadOnlySpan<double> scores)
    {
        var keys = scores.ToArray();
        var order = Enumerable.Range(0, keys.Length).ToArray();
        Array.Sort(order, (a, b) => keys[a] != keys[b] ? keys[b].CompareTo(keys[a]) : a.CompareTo(b));
        return order;
    }

    /// <summary>
    /// Walks the tie groups from the top: each negative pairs with every positive above it (1) and with those tied with
    /// it (½), the Mann–Whitney count that equals the trapezoidal area under the ROC curve.
    /// </summary>
    private static double RocAucSorted(ReadOnlySpan<bool> labels, ReadOnlySpan<double> scores, int[] order, int positives)
    {
        var negatives = labels.Length - positives;
        double pairs = 0;
        long positivesAbove = 0;
        var k = 0;
        while (k < order.Length)
        {
            var score = scores[order[k]];
            long groupPositives = 0, groupNegatives = 0;
            for (; k < order.Length && scores[order[k]] == score; k++)
            {
                if (labels[order[k]])
                {
                    groupPositives++;
                }
                else
                {
                    groupNegatives++;
                }
            }

            pairs += (groupNegatives * (double)positivesAbove) + (0.5 * groupNegatives * groupPositives);
            positivesAbove += groupPositives;
        }

        return pairs / ((double)positives * negatives);
    }

    /// <summary>At each distinct score (a threshold taking every row at or above it): precision × gain in recall.</summary>
    private static double AveragePrecisionSorted(ReadOnlySpan<bool> labels, ReadOnlySpan<double> scores, int[] order, int positives)
    {
        double sum = 0;
        long truePositives = 0;
        var k = 0;
        while (k < order.Length)
        {
            var score = scores[order[k]];
            long groupPositives = 0;
            for (; k < order.Length && scores[order[k]] == score; k++)
            {
                groupPositives += labels[order[k]] ? 1 : 0;
            }

            truePositives += groupPositives;
            sum += (double)groupPositives / positives * ((double)truePositives / k);
        }

        return sum;
    }

    private static double TopDecileLiftSorted(ReadOnlySpan<bool> labels, ReadOnlySpan<double> scores, int[] order, int positives)
    {
        var n = order.Length;
        var top = (n + 9) / 10;
        return HitsInTop(labels, scores, order, top) / top / ((double)positives / n);
    }

    /// <summary>
    /// The lift table of a ranking (the points of a lift chart): rows sorted by descending score and cut into
    /// <paramref name="bins"/> equal groups (group b ends at row ⌈n·(b+1)/bins⌉; a tie across a cut counts in
    /// proportion, as in <see cref="TopDecileLift"/>). Empty when there is no positive.
    /// </summary>
    public static IReadOnlyList<LiftBin> ComputeLiftTable(ReadOnlySpan<bool> labels, ReadOnlySpan<double> scores, int bins = 10)
    {
        Check(labels, scores);
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        var n = labels.Length;
        var positives = 0;
        foreach (var label in labels)
        {
            positives += label ? 1 : 0;
        }

        if (positives == 0)
        {
            return [];
        }

        var order = DescendingOrder(scores);
        var baseRate = (double)positives / n;
        var table = new List<LiftBin>(bins);
        int previousCut = 0;
        double previousHits = 0;
        for (var b = 0; b < bins; b++)
        {
            var cut = (int)Math.Ceiling((double)n * (b + 1) / bins);
            var hits = HitsInTop(labels, scores, order, cut);
            var rows = cut - previousCut;
            var rate = rows == 0 ? double.NaN : (hits - previousHits) / rows;
            table.Add(new LiftBin(b + 1, rows, hits - previousHits, rate / baseRate, cut == 0 ? double.NaN : hits / cut / baseRate, hits / positives));
            previousCut = cut;
            previousHits = hits;
        }

        return table;
    }

    /// <summary>Expected positives among the <paramref name="top"/> highest-scored rows, a tie at the cut counting in proportion.</summary>
    private static double HitsInTop(ReadOnlySpan<bool> labels, ReadOnlySpan<double> scores, int[] order, int top)
    {
        var n = order.Length;
        double hits = 0;
        var taken = 0;
        var k = 0;
        while (taken < top && k < n)
        {
            var score = scores[order[k]];
            int groupSize = 0, groupPositives = 0;
            for (; k < n && scores[order[k]] == score; k++)
            {
                groupSize++;
                groupPositives += labels[order[k]] ? 1 : 0;
            }

            var take = Math.Min(groupSize, top - taken);
            hits += (double)groupPositives * take / groupSize;
            taken += take;
        }

        return hits;
    }
}

/// <summary>One group of a lift table (rows ranked by descending score).</summary>
/// <param name="Bin">1 for the highest-scored group.</param>
/// <param name="Rows">Rows in the group.</param>
/// <param name="Positives">Positives in the group (fractional when a tie straddles a cut).</param>
/// <param name="Lift">The group's positive rate ÷ the base rate.</param>
/// <param name="CumulativeLift">The positive rate of this and every higher group ÷ the base rate.</param>
/// <param name="CumulativeCapture">Share of all positives in this and every higher group (the gains curve).</param>
public sealed record LiftBin(int Bin, int Rows, double Positives, double Lift, double CumulativeLift, double CumulativeCapture);

/// <summary>One bin of a calibration table.</summary>
/// <param name="Lower">Lower edge of the predicted-probability range.</param>
/// <param name="Upper">Upper edge of the range.</param>
/// <param name="Count">Rows whose probability falls in the bin.</param>
/// <param name="MeanPredicted">Mean predicted probability of those rows (NaN when empty).</param>
/// <param name="ObservedRate">Share of positives among those rows (NaN when empty).</param>
public sealed record CalibrationBin(double Lower, double Upper, int Count, double MeanPredicted, double ObservedRate);
