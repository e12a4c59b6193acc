using System.IO.Compression;
using System.Text;

namespace HealthScoring.Cli.Import;

/// <summary>
/// A JSON-lines file being imported, read through gzip when its name ends in <c>.gz</c>. <see cref="Position"/> and
/// <see cref="Length"/> count the file's own bytes, so progress is right for compressed files too.
/// </summary>
internal sealed class JsonLinesFile : IAsyncDisposable
{
    private readonly FileStream _raw;
    private readonly Stream _stream;

    private JsonLinesFile(FileInfo file)
    {
        _raw = file.OpenRead();
        _stream = file.Name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(_raw, CompressionMode.Decompress) : _raw;
        Reader = new StreamReader(_stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
    }

    public StreamReader Reader { get; }

    public long Length => _raw.Length;

    public long Position => _raw.Position;

    public static JsonLinesFile Open(FileInfo file) => new(file);

    public async ValueTask DisposeAsync()
    {
        Reader.Dispose();
        await _stream.DisposeAsync();
        await _raw.DisposeAsync();
    }
}
