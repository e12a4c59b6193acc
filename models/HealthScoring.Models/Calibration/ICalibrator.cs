using System.Text;

namespace HealthScoring.Models.Calibration;

/// <summary>
/// Maps a model's raw score (log-odds) to a calibrated probability. Fitted on (raw score, label) pairs the model did
/// not train on; immutable and safe to share between threads once fitted.
/// </summary>
public interface ICalibrator
{
    /// <summary>The calibrator kind written in its saved form, e.g. <c>platt</c> or <c>isotonic</c>.</summary>
    string Kind { get; }

    /// <summary>The calibrated probability of the positive class for raw score <paramref name="raw"/>.</summary>
    double Calibrate(double raw);

    /// <summary>The calibrated log-odds for raw score <paramref name="raw"/> (by default the logit of <see cref="Calibrate"/>, clamped).</summary>
    double CalibrateLogOdds(double raw) => Logistic.Logit(Calibrate(raw));

    /// <summary>Writes the calibrator, after a <see cref="CalibratorFormat"/> header, with <paramref name="writer"/>.</summary>
    void Save(BinaryWriter writer);
}

/// <summary>
/// The saved form of calibrators: kind and format version, then the body. Loading dispatches on the kind; each kind's
/// reader rejects versions it does not know. <c>platt</c> and <c>isotonic</c> are registered already.
/// </summary>
public static class CalibratorFormat
{
    private static readonly FormatReaders<ICalibrator> Readers = new(new()
    {
        [PlattCalibrator.KindName] = PlattCalibrator.Read,
        [IsotonicCalibrator.KindName] = IsotonicCalibrator.Read,
    }, "calibrator");

    /// <summary>Registers the reader of one calibrator kind; <paramref name="read"/> gets the format version found in the header.</summary>
    public static void RegisterReader(string kind, Func<BinaryReader, int, ICalibrator> read) => Readers.Register(kind, read);

    /// <summary>Writes the header; the caller writes the body with the same writer.</summary>
    public static void WriteHeader(BinaryWriter writer, string kind, int formatVersion)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(kind);
        writer.Write(formatVersion);
    }

    /// <summary>Reads a saved calibrator of any registered kind.</summary>
    public static ICalibrator Read(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var kind = reader.ReadString();
        var version = reader.ReadInt32();
        return Readers.Read(reader, kind, version);
    }

    /// <summary>Saves to a byte array.</summary>
    public static byte[] ToBytes(ICalibrator calibrator)
    {
        ArgumentNullException.ThrowIfNull(calibrator);
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            calibrator.Save(writer);
        }

        return buffer.ToArray();
    }

    /// <summary>Loads from a byte array.</summary>
    public static ICalibrator FromBytes(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        using var buffer = new MemoryStream(bytes, writable: false);
        using var reader = new BinaryReader(buffer, Encoding.UTF8, leaveOpen: true);
        try
        {
            return Read(reader);
        }
        catch (EndOfStreamException ex)
        {
            throw new ModelFormatException("The saved calibrator is truncated.", ex);
        }
    }
}

/// <summary>The calibration method of <see cref="CalibratedTrainer"/>.</summary>
public enum CalibrationMethod
{
    /// <summary>Platt scaling (<see cref="PlattCalibrator"/>): two parameters; works with a few hundred rows.</summary>
    Platt,

    /// <summary>Isotonic regression (<see cref="IsotonicCalibrator"/>): any monotone shape; wants a few thousand rows.</summary>
    Isotonic,
}

/// <summary>Checks shared by the calibrators' <c>Fit</c>.</summary>
internal static class CalibrationInput
{
    public static double[] Check(ReadOnlySpan<double> raw, ReadOnlySpan<bool> labels, ReadOnlySpan<double> weights, out double positiveWeight, out double negativeWeight)
    {
        for (var i = 0; i < raw.Length; i++)
        {
            if (!double.IsFinite(raw[i]))
            {
                throw new ArgumentException($"Score {raw[i]} of row {i} is not finite.", nameof(raw));
            }
        }

        return TrainingInput.Check(raw.Length, "scores", "Calibration needs both classes", labels, weights, out positiveWeight, out negativeWeight);
    }
}
