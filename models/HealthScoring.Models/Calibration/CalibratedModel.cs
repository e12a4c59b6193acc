using System.Text;

namespace HealthScoring.Models.Calibration;

/// <summary>
/// Any <see cref="IBinaryModel"/> followed by an <see cref="ICalibrator"/> of its raw score. Saved as kind
/// <c>calibrated</c>, format version 1: the calibrator, then the inner model's complete saved bytes, nested.
/// </summary>
public sealed class CalibratedModel : IBinaryModel
{
    /// <summary>The kind written in the saved form.</summary>
    public const string KindName = "calibrated";

    /// <summary>The format version this build writes and reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>Wraps <paramref name="inner"/> with <paramref name="calibrator"/>.</summary>
    public CalibratedModel(IBinaryModel inner, ICalibrator calibrator)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(calibrator);
        Inner = inner;
        Calibrator = calibrator;
    }

    /// <summary>The model whose raw score is calibrated.</summary>
    public IBinaryModel Inner { get; }

    /// <summary>The calibrator applied to <see cref="Inner"/>'s raw score.</summary>
    public ICalibrator Calibrator { get; }

    /// <inheritdoc />
    public string Kind => KindName;

    /// <inheritdoc />
    public IReadOnlyList<string> FeatureNames => Inner.FeatureNames;

    /// <summary>The calibrated log-odds: <c>Calibrator.CalibrateLogOdds(Inner.PredictRaw(features))</c>.</summary>
    public double PredictRaw(ReadOnlySpan<float> features) => Calibrator.CalibrateLogOdds(Inner.PredictRaw(features));

    /// <summary>Calibrated probabilities: <c>Calibrator.Calibrate(Inner.PredictRaw(row))</c> for each row.</summary>
    public void PredictProbabilities(FeatureMatrix features, Span<double> destination, int maxDegreeOfParallelism = -1)
    {
        RowParallel.CheckBatch(Inner.FeatureNames, features, destination.Length, maxDegreeOfParallelism);
        RowParallel.Score(features, destination, maxDegreeOfParallelism, row => Calibrator.Calibrate(Inner.PredictRaw(row)));
    }

    /// <summary>
    /// The inner model's explanation, unchanged: its base value and contributions are in the <em>inner</em> model's
    /// log-odds and add up to <c>Inner.PredictRaw(features)</c>, not to this model's calibrated
    /// <see cref="PredictRaw"/>. Calibration is monotone, so the drivers and their ranking stay meaningful; it is not
    /// additive, so no exact split of the calibrated score exists.
    /// </summary>
    public FeatureContributions Explain(ReadOnlySpan<float> features) => Inner.Explain(features);

    /// <inheritdoc />
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var inner = ModelFormat.ToBytes(Inner);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        ModelFormat.WriteHeader(writer, KindName, FormatVersion);
        Calibrator.Save(writer);
        writer.Write(inner.Length);
        writer.Write(inner);
    }

    /// <summary>Reads the body after the header (registered with <see cref="ModelFormat"/> by <see cref="BuiltInModelKinds"/>).</summary>
    internal static CalibratedModel Read(BinaryReader reader, int version)
    {
        if (version != FormatVersion)
        {
            throw new ModelFormatException($"Saved {KindName} model has format version {version}; this build reads version {FormatVersion} only.");
        }

        var calibrator = CalibratorFormat.Read(reader);
        var length = reader.ReadInt32();
        if (length <= 0)
        {
            throw new ModelFormatException($"The saved {KindName} model is damaged: its inner model claims {length} bytes.");
        }

        var bytes = reader.ReadBytes(length);
        if (bytes.Length != length)
        {
            throw new ModelFormatException($"The saved {KindName} model is truncated: its inner model has {bytes.Length} of {length} bytes.");
        }

        return new CalibratedModel(ModelFormat.FromBytes(bytes), calibrator);
    }
}
