namespace HealthScoring.Models.Calibration;

/// <summary>
/// Platt scaling: <c>p = σ(A·raw + B)</c>, fitted by maximum likelihood on Platt's smoothed targets
/// (<c>(N₊ + 1)/(N₊ + 2)</c> for positives, <c>1/(N₋ + 2)</c> for negatives, with weighted class counts), which keeps
/// a separable calibration set from pushing the slope to infinity. Saved as kind <c>platt</c>, format version 1.
/// </summary>
public sealed class PlattCalibrator : ICalibrator
{
    /// <summary>The kind written in the saved form.</summary>
    public const string KindName = "platt";

    /// <summary>The format version this build writes and reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>Creates the calibrator <c>p = σ(slope·raw + offset)</c>.</summary>
    public PlattCalibrator(double slope, double offset)
    {
        if (!double.IsFinite(slope) || !double.IsFinite(offset))
        {
            throw new ArgumentException($"Slope {slope} and offset {offset} must be finite.", nameof(slope));
        }

        Slope = slope;
        Offset = offset;
    }

    /// <summary>A: the factor on the raw score.</summary>
    public double Slope { get; }

    /// <summary>B: the added log-odds.</summary>
    public double Offset { get; }

    /// <inheritdoc />
    public string Kind => KindName;

    /// <summary>Fits A and B on raw scores and labels (optionally weighted) by Newton's method with backtracking.</summary>
    public static PlattCalibrator Fit(ReadOnlySpan<double> raw, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights = default)
    {
        var w = CalibrationInput.Check(raw, labels, weights, out var positives, out var negatives);
        var high = (positives + 1) / (positives + 2);
        var low = 1 / (negatives + 2);
        var targets = new double[raw.Length];
        for (var i = 0; i < targets.Length; i++)
        {
            targets[i] = labels[i] ? high : low;
        }

        var x = raw.ToArray();
        double Loss(double a, double b)
        {
            var sum = 0.0;
            for (var i = 0; i < x.Length; i++)
            {
                var m = (a * x[i]) + b;
                sum += w[i] * ((m > 0 ? m + Math.Log(1 + Math.Exp(-m)) : Math.Log(1 + Math.Exp(m))) - (targets[i] * m));
            }

            return sum;
        }

        var total = positives + negatives;
        var slope = 0.0;
        var offset = Math.Log((positives + 1) / (negatives + 1));
        var loss = Loss(slope, offset);
        for (var iteration = 0; iteration < 100; iteration++)
        {
            double ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
            for (var i = 0; i < x.Length; i++)
            {
                var p = Logistic.Sigmoid((slope * x[i]) + offset);
                var r = w[i] * (p - targets[i]);
                var h = w[i] * p * (1 - p);
                ga += r * x[i];
                gb += r;
                haa += h * x[i] * x[i];
                hab += h * x[i];
                hbb += h;
            }

            if (Math.Max(Math.Abs(ga), Math.Abs(gb)) <= 1e-10 * total)
            {
                break;
            }

            // A tiny ridge keeps the 2×2 system solvable when all scores are (nearly) equal.
            haa += 1e-12 * total;
            hbb += 1e-12 * total;
            var det = (haa * hbb) - (hab * hab);
            var da = -((hbb * ga) - (hab * gb)) / det;
            var db = -((haa * gb) - (hab * ga)) / det;
            var slopeDirection = (ga * da) + (gb * db);
            var t = 1.0;
            var improved = false;
            while (t >= 1e-10)
            {
                var trial = Loss(slope + (t * da), offset + (t * db));
                if (trial <= loss + (1e-4 * t * slopeDirection))
                {
                    slope += t * da;
                    offset += t * db;
                    loss = trial;
                    improved = true;
                    break;
                }

                t *= 0.5;
            }

            if (!improved)
            {
                break;
            }
        }

        return new PlattCalibrator(slope, offset);
    }

    /// <inheritdoc />
    public double Calibrate(double raw) => Logistic.Sigmoid(CalibrateLogOdds(raw));

    /// <inheritdoc />
    public double CalibrateLogOdds(double raw) => (Slope * raw) + Offset;

    /// <inheritdoc />
    public void Save(BinaryWriter writer)
    {
        CalibratorFormat.WriteHeader(writer, KindName, FormatVersion);
        writer.Write(Slope);
        writer.Write(Offset);
    }

    internal static PlattCalibrator Read(BinaryReader reader, int version)
    {
        if (version != FormatVersion)
        {
            throw new ModelFormatException($"Saved {KindName} calibrator has format version {version}; this build reads version {FormatVersion} only.");
        }

        var slope = reader.ReadDouble();
        var offset = reader.ReadDouble();
        return double.IsFinite(slope) && double.IsFinite(offset)
            ? new PlattCalibrator(slope, offset)
            : throw new ModelFormatException($"The saved {KindName} calibrator is damaged: slope {slope}, offset {offset}.");
    }
}
