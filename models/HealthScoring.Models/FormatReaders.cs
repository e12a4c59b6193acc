namespace HealthScoring.Models;

/// <summary>
/// The readers of one family of saved objects (models, calibrators), keyed by kind; each reader gets the format
/// version found in the header and rejects versions it does not know. Thread-safe.
/// </summary>
internal sealed class FormatReaders<T>(Dictionary<string, Func<BinaryReader, int, T>> builtIn, string family)
{
    private readonly Dictionary<string, Func<BinaryReader, int, T>> _readers = new(builtIn, StringComparer.Ordinal);

    public void Register(string kind, Func<BinaryReader, int, T> read)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(read);
        lock (_readers)
        {
            _readers[kind] = read;
        }
    }

    /// <summary>Reads the body of a <paramref name="kind"/> object; an unregistered kind is a <see cref="ModelFormatException"/>.</summary>
    public T Read(BinaryReader reader, string kind, int version)
    {
        Func<BinaryReader, int, T>? read;
        lock (_readers)
        {
            _readers.TryGetValue(kind, out read);
        }

        return read is null ? throw new ModelFormatException($"Unknown {family} kind '{kind}'.") : read(reader, version);
    }
}
