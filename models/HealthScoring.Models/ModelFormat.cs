using System.Text;

namespace HealthScoring.Models;

/// <summary>The saved form of a model is not one this build can read (unknown kind, unknown format version, or damaged).</summary>
public sealed class ModelFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public ModelFormatException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception.</summary>
    public ModelFormatException() { }
}

/// <summary>
/// The header every saved model starts with: the magic <c>HSMODEL</c>, the model kind and its format version.
/// Loading dispatches on the kind; each kind's reader rejects versions it does not know, loudly.
/// </summary>
public static class ModelFormat
{
    private const string Magic = "HSMODEL";
    // Starts with the kinds built into this assembly (BuiltInModelKinds), so Load needs no registration call first.
    private static readonly FormatReaders<IBinaryModel> Readers = new(BuiltInModelKinds.Readers(), "model");

    /// <summary>Registers the reader of one model kind; <paramref name="read"/> gets the format version found in the header.</summary>
    public static void RegisterReader(string kind, Func<BinaryReader, int, IBinaryModel> read) => Readers.Register(kind, read);

    /// <summary>Writes the header; the caller writes the body with the same writer.</summary>
    public static void WriteHeader(BinaryWriter writer, string kind, int formatVersion)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Magic);
        writer.Write(kind);
        writer.Write(formatVersion);
    }

    /// <summary>Reads a saved model of any registered kind from <paramref name="stream"/> (left open).</summary>
    public static IBinaryModel Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        var (kind, version) = ReadHeader(reader);

        try
        {
            return Readers.Read(reader, kind, version);
        }
        catch (EndOfStreamException ex)
        {
            throw new ModelFormatException($"The saved {kind} model is truncated.", ex);
        }
    }

    /// <summary>The kind and format version a saved model declares, without reading its body.</summary>
    public static (string Kind, int FormatVersion) HeaderOf(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        using var reader = new BinaryReader(new MemoryStream(bytes, writable: false), Encoding.UTF8);
        return ReadHeader(reader);
    }

    private static (string Kind, int FormatVersion) ReadHeader(BinaryReader reader)
    {
        try
        {
            if (reader.ReadString() != Magic)
            {
                throw new ModelFormatException("This is not a saved HealthScoring model (bad magic).");
            }

            return (reader.ReadString(), reader.ReadInt32());
        }
        catch (EndOfStreamException ex)
        {
            throw new ModelFormatException("The saved model is truncated.", ex);
        }
    }

    /// <summary>Saves to a byte array.</summary>
    public static byte[] ToBytes(IBinaryModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var buffer = new MemoryStream();
        model.Save(buffer);
        return buffer.ToArray();
    }

    /// <summary>Loads from a byte array.</summary>
    public static IBinaryModel FromBytes(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        using var buffer = new MemoryStream(bytes, writable: false);
        return Load(buffer);
    }
}
