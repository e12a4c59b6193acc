using HealthScoring.Testing;

namespace HealthScoring.Benchmarks;

/// <summary>One benchmark of the suite; Program.cs lists them and runs them in order within one process.</summary>
public interface IBenchmark
{
    /// <summary>The name <c>--only</c> selects and the prefix of every result name, such as <c>eventstore.bulk_append</c>.</summary>
    string Name { get; }

    /// <summary>One line for <c>--list</c> and <c>--help</c>.</summary>
    string Description { get; }

    /// <summary>
    /// Runs the benchmark and returns its figures. Throws (and so fails the run) when the work could not be
    /// done or its outcome does not verify; a figure from a run that did not do the work must never be reported.
    /// </summary>
    Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken);
}

/// <summary>What every benchmark gets from the runner.</summary>
/// <param name="Options">The command-line options.</param>
/// <param name="ConnectionString">PostgreSQL connection string (contains the password: never print it).</param>
/// <param name="Log">Progress and informational output.</param>
public sealed record BenchmarkContext(BenchmarkOptions Options, string ConnectionString, ProgressLog Log)
{
    private readonly List<string> _verdicts = [];

    /// <summary>The acceptance criteria a benchmark found missed (see <see cref="MissedTarget"/>).</summary>
    public IReadOnlyList<string> MissedTargets => _verdicts;

    /// <summary>
    /// Records that the work was done and measured but missed a criterion the benchmark enforces (the soak's): its
    /// figures are still written, and the run then exits non-zero.
    /// </summary>
    public void MissedTarget(string criterion) => _verdicts.Add(criterion);
}
