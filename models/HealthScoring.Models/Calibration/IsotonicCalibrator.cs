namespace HealthScoring.Models.Calibration;

/// <summary>
/// Isotonic calibration: the non-decreasing step function of the raw score closest (weighted least squares) to the
/// labels, found by pool-adjacent-violators. Each pooled block keeps its lowest and highest score; between blocks the
/// probability is interpolated linearly, and outside the fitted scores it is clipped to the first or last block's
/// value (as sklearn's <c>IsotonicRegression(out_of_bounds="clip")</c>). Saved as kind <c>isotonic</c>, format version 1.
/// </summary>
public sealed class IsotonicCalibrator : ICalibrator
{
    /// <summary>The kind written in the saved form.</summary>
    public const string KindName = "isotonic";

    /// <summary>The format version this build writes and reads.</summary>
    public const int FormatVersion = 1;

    private const int MaxPoints = 100_000_000;

    private readonly double[] scores;
    private readonly double[] probabilities;

    /// <summary>
    /// Creates the calibrator from its knots: raw scores in non-decreasing order and non-decreasing probabilities in
    /// [0, 1]. Arrays are copied.
    /// </summary>
    public IsotonicCalibrator(IReadOnlyList<double> scores, IReadOnlyList<double> probabilities)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(probabilities);
        if (scores.Count == 0 || scores.Count != probabilities.Count)
        {
            throw new ArgumentException($"Need as many probabilities as scores, at least one; got {scores.Count} and {probabilities.Count}.", nameof(scores));
        }

        for (var i = 0; i < scores.Count; i++)
        {
            if (!double.IsFinite(scores[i]) || !(probabilities[i] >= 0 && probabilities[i] <= 1))
            {
                throw new ArgumentException($"Knot {i} ({scores[i]}, {probabilities[i]}) needs a finite score and a probability in [0, 1].", nameof(scores));
            }

            if (i > 0 && (scores[i] < scores[i - 1] || probabilities[i] < probabilities[i - 1]))
            {
                throw new ArgumentException($"Knot {i} ({scores[i]}, {probabilities[i]}) breaks the non-decreasing order.", nameof(scores));
            }
        }

        this.scores = [.. scores];
        this.probabilities = [.. probabilities];
    }

    /// <inheritdoc />
    public string Kind => KindName;

    /// <summary>The knots' raw scores, non-decreasing.</summary>
    public IReadOnlyList<double> Scores => scores;

    /// <summary>The knots' probabilities, non-decreasing.</summary>
    public IReadOnlyList<double> Probabilities => probabilities;

    /// <summary>Fits the calibrator on raw scores and labels (optionally weighted). Equal scores are pooled first.</summary>
    public static IsotonicCalibrator Fit(ReadOnlySpan<double> raw, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default)
    {
        var w = CalibrationInput.Check(raw, labels, weights, out _, out _);
        var x = raw.ToArray();
        var order = Enumerable.Range(0, x.Length).Where(i => w[i] > 0).ToArray();
        Array.Sort(order, (a, b) => x[a] != x[b] ? x[a].CompareTo(x[b]) : a.CompareTo(b));

        // Blocks as a stack: weighted label sum, weight, and the lowest and highest score pooled into each.
        var sums = new List<double>();
        var totals = new List<double>();
        var lows = new List<double>();
        var highs = new List<double>();
        var k = 0;
        while (k < order.Length)
        {
            var score = x[order[k]];
            double sum = 0, total = 0;
            for (; k < order.Length && x[order[k]] == score; k++)
            {
                sum += labels[order[k]] ? w[order[k]] : 0;
                total += w[order[k]];
            }

            sums.Add(sum);
            totals.Add(total);
            lows.Add(score);
            highs.Add(score);

            // Pool while the previous block's mean is not below the new one's (a violation, or a tie that adds no knot).
            while (sums.Count > 1)
            {
                var last = sums.Count - 1;
                if (sums[last - 1] * totals[last] < sums[last] * totals[last - 1])
                {
                    break;
                }

                sums[last - 1] += sums[last];
                totals[last - 1] += totals[last];
                highs[last - 1] = highs[last];
                sums.RemoveAt(last);
                totals.RemoveAt(last);
                lows.RemoveAt(last);
                highs.RemoveAt(last);
            }
        }

        var knotScores = new List<double>();
        var knotProbabilities = new List<double>();
        for (var b = 0; b < sums.Count; b++)
        {
            var p = Math.Clamp(sums[b] / totals[b], 0.0, 1.0);
            knotScores.Add(lows[b]);
            knotProbabilities.Add(p);
            if (highs[b] > lows[b])
            {
                knotScores.Add(highs[b]);
                knotProbabilities.Add(p);
            }
        }

        return new IsotonicCalibrator(knotScores, knotProbabilities);
    }

    /// <inheritdoc />
    public double Calibrate(double raw)
    {
        if (double.IsNaN(raw))
        {
            return double.NaN;
        }

        if (raw <= scores[0])
        {
            return probabilities[0];
        }

        var last = scores.Length - 1;
        if (raw >= scores[last])
        {
            return probabilities[last];
        }

        // The knot interval [scores[i-1], scores[i]) holding raw: i is the first knot above raw.
        var i = Array.BinarySearch(scores, raw);
        if (i >= 0)
        {
            // Exactly on a knot (knots have distinct scores: blocks cover disjoint score ranges).
            return probabilities[i];
        }

        i = ~i;
        var x0 = scores[i - 1];
        var x1 = scores[i];
        var y0 = probabilities[i - 1];
        var y1 = probabilities[i];
        return y0 + ((y1 - y0) * (raw - x0) / (x1 - x0));
    }

    /// <inheritdoc />
    public void Save(BinaryWriter writer)
    {
        CalibratorFormat.WriteHeader(writer, KindName, FormatVersion);
        writer.Write(scores.Length);
        for (var i = 0; i < scores.Length; i++)
        {
            writer.Write(scores[i]);
            writer.Write(probabilities[i]);
        }
    }

    internal static IsotonicCalibrator Read(BinaryReader reader, int version)
    {
        if (version != FormatVersion)
        {
            throw new ModelFormatException($"Saved {KindName} calibrator has format version {version}; this build reads version {FormatVersion} only.");
        }

        var n = reader.ReadInt32();
        if (n is <= 0 or > MaxPoints)
        {
            throw new ModelFormatException($"The saved {KindName} calibrator is damaged: it claims {n} knots.");
        }

        var xs = new double[n];
        var ys = new double[n];
        for (var i = 0; i < n; i++)
        {
            xs[i] = reader.ReadDouble();
            ys[i] = reader.ReadDouble();
        }

        try
        {
            return new IsotonicCalibrator(xs, ys);
        }
        catch (ArgumentException ex)
        {
            throw new ModelFormatException($"The saved {KindName} calibrator is damaged: {ex.Message}", ex);
        }
    }
}
