using System.Globalization;

namespace HealthScoring.Testing;

/// <summary>
/// Progress output that suits both a terminal (one line rewritten in place) and CI logs (plain lines, one per
/// tenth of the work). Cheap on purpose: it is called inside timed sections, at most once per batch.
/// </summary>
public sealed class ProgressLog(TextWriter output, bool interactive)
{
    private string? _label;
    private int _lastTenth = -1;
    private bool _lineOpen;

    /// <summary>Writes to the console; rewrites in place only when stdout is a terminal.</summary>
    public static ProgressLog ForConsole() => new(Console.Out, !Console.IsOutputRedirected);

    /// <summary>Writes one line.</summary>
    public void Info(string line)
    {
        EndLine();
        output.WriteLine(line);
    }

    /// <summary>Reports <paramref name="done"/> of <paramref name="total"/> for <paramref name="label"/>.</summary>
    public void Report(string label, long done, long total, TimeSpan elapsed)
    {
        if (_label != label)
        {
            EndLine();
            _label = label;
            _lastTenth = -1;
        }

        var tenth = total == 0 ? 10 : (int)(done * 10 / total);
        var text = string.Create(CultureInfo.InvariantCulture, $"  {label}: {done:N0}/{total:N0} ({(total == 0 ? 100 : done * 100.0 / total):F0}%) {elapsed.TotalSeconds:F1}s");
        if (interactive)
        {
            output.Write('\r');
            output.Write(text);
            _lineOpen = true;
            if (done >= total)
            {
                EndLine();
            }
        }
        else if (tenth > _lastTenth)
        {
            output.WriteLine(text);
        }

        _lastTenth = Math.Max(_lastTenth, tenth);
    }

    private void EndLine()
    {
        if (_lineOpen)
        {
            output.WriteLine();
            _lineOpen = false;
        }
    }
}
