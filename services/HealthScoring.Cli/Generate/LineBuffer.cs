using System.Buffers;
using System.Text.Json;

namespace HealthScoring.Cli.Generate;

/// <summary>
/// JSON lines written in any order and flushed sorted by (time, account, sequence within the account): the key
/// is unique, so the output does not depend on the order the lines were produced in.
/// </summary>
internal sealed class LineBuffer : IDisposable
{
    private readonly ArrayBufferWriter<byte> _bytes = new(1 << 20);
    private readonly List<Line> _lines = [];
    private readonly Utf8JsonWriter _json;
    private Line _open;

    public LineBuffer() => _json = new Utf8JsonWriter(_bytes, new JsonWriterOptions { SkipValidation = true });

    public int Count => _lines.Count;

    /// <summary>Starts a line; write one JSON value to the returned writer, then call <see cref="End"/>.</summary>
    public Utf8JsonWriter Begin(long time, int account, int seq)
    {
        _open = new Line(time, account, seq, _bytes.WrittenCount, 0);
        return _json;
    }

    public void End()
    {
        _json.Flush();
        _lines.Add(_open with { Length = _bytes.WrittenCount - _open.Offset });
        _json.Reset(_bytes);
    }

    /// <summary>Writes the lines sorted, each followed by a newline, and empties the buffer.</summary>
    public void FlushTo(Stream output)
    {
        _lines.Sort(static (a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.Account != b.Account ? a.Account.CompareTo(b.Account) : a.Seq.CompareTo(b.Seq));
        var bytes = _bytes.WrittenSpan;
        foreach (var line in _lines)
        {
            output.Write(bytes.Slice(line.Offset, line.Length));
            output.WriteByte((byte)'\n');
        }

        _lines.Clear();
        _bytes.ResetWrittenCount();
    }

    public void Dispose() => _json.Dispose();

    private readonly record struct Line(long Time, int Account, int Seq, int Offset, int Length);
}
