using System.Diagnostics;

namespace HealthScoring.Testing;

/// <summary>
/// One failed attempt of a load generator's sender (<see cref="SegmentHttpLoad"/>, <see cref="GrpcIngestLoad"/>).
/// </summary>
/// <param name="Sender">"http", "grpc-stream" or "grpc-unary".</param>
/// <param name="Description">What happened, for a test's failure message.</param>
/// <param name="ConnectionLevel">No answer at all: the connection was refused, reset or closed.</param>
/// <param name="HttpStatus">The HTTP status of an HTTP answer other than 200.</param>
/// <param name="GrpcStatus">The <c>grpc-status</c> of a gRPC answer other than OK.</param>
public sealed record LoadFailure(string Sender, string Description, bool ConnectionLevel, int? HttpStatus, string? GrpcStatus);

/// <summary>
/// What a load run's senders saw, for fault tests: every payload acknowledged (a success answer, so the server says
/// its events are durable) and every failed attempt. Thread-safe; it outlives a run that was cancelled or broke.
/// </summary>
public sealed class LoadRecorder
{
    private readonly Lock _lock = new();
    private readonly HashSet<int> _acknowledged = [];
    private readonly Dictionary<string, int> _acknowledgedBySender = new(StringComparer.Ordinal);
    private readonly List<LoadFailure> _failures = [];
    private int _sending;

    /// <summary>Payload indexes (into the run's <see cref="PayloadSet"/>) whose events were acknowledged.</summary>
    public IReadOnlySet<int> AcknowledgedPayloads
    {
        get
        {
            lock (_lock)
            {
                return new HashSet<int>(_acknowledged);
            }
        }
    }

    /// <summary>How many payloads each sender got acknowledged.</summary>
    public IReadOnlyDictionary<string, int> AcknowledgedBySender
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, int>(_acknowledgedBySender, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>Every failed attempt so far, in the order seen.</summary>
    public IReadOnlyList<LoadFailure> Failures
    {
        get
        {
            lock (_lock)
            {
                return [.. _failures];
            }
        }
    }

    /// <summary>Requests (or calls) begun so far.</summary>
    public int Attempts => Volatile.Read(ref _sending);

    /// <summary>Called as a request or call begins.</summary>
    public void Sending() => Interlocked.Increment(ref _sending);

    /// <summary>Called with the payloads a success answer covered.</summary>
    public void Acknowledged(string sender, IReadOnlyCollection<int> payloads)
    {
        ArgumentNullException.ThrowIfNull(payloads);
        lock (_lock)
        {
            foreach (var payload in payloads)
            {
                if (!_acknowledged.Add(payload))
                {
                    throw new UnreachableException($"Payload {payload} was acknowledged twice: a sender sent it again after its success answer.");
                }
            }

            _acknowledgedBySender[sender] = _acknowledgedBySender.GetValueOrDefault(sender) + payloads.Count;
        }
    }

    /// <summary>Called for each failed attempt.</summary>
    public void Failed(LoadFailure failure)
    {
        lock (_lock)
        {
            _failures.Add(failure);
        }
    }

    /// <summary>Waits until at least <paramref name="payloads"/> payloads were acknowledged, or <paramref name="run"/> ended.</summary>
    public async Task WaitForAcknowledgedAsync(int payloads, Task run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        while (!run.IsCompleted)
        {
            lock (_lock)
            {
                if (_acknowledged.Count >= payloads)
                {
                    return;
                }
            }

            await Task.Delay(20, cancellationToken);
        }

        // The run ended first: its exception (if any) says why.
        await run;
    }
}
