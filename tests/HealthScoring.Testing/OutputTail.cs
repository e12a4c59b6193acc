namespace HealthScoring.Testing;

/// <summary>The last lines a child process wrote (stdout and stderr together), kept for error messages; thread-safe.</summary>
public sealed class OutputTail(int capacity)
{
    private readonly Queue<string> _lines = new();

    /// <summary>Keeps a line (null, the end of a stream, is ignored), dropping the oldest beyond the capacity.</summary>
    public void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lines)
        {
            _lines.Enqueue(line);
            while (_lines.Count > capacity)
            {
                _lines.Dequeue();
            }
        }
    }

    /// <summary>The lines kept so far, oldest first.</summary>
    public IReadOnlyList<string> Lines()
    {
        lock (_lines)
        {
            return [.. _lines];
        }
    }

    /// <summary>The lines kept, one per line, or "(no output)".</summary>
    public override string ToString()
    {
        var lines = Lines();
        return lines.Count == 0 ? "(no output)" : string.Join(Environment.NewLine, lines);
    }
}
