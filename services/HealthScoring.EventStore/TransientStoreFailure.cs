using System.Diagnostics;
using System.Net.Sockets;
using Npgsql;

namespace HealthScoring.EventStore;

/// <summary>
/// Tells a failure that says "PostgreSQL is not there right now" (unreachable, restarting, in recovery, out of
/// connections) from every other failure. Callers answer the first kind with "retry later" (HTTP 503, gRPC
/// UNAVAILABLE) and keep running; the second kind is a bug or bad data and stays an error.
/// </summary>
public static class TransientStoreFailure
{
    /// <summary>
    /// True when <paramref name="exception"/>, or one it wraps, is a connection-level failure: a
    /// <see cref="PostgresException"/> of SQLSTATE class 08 (connection exception), 57P01 admin_shutdown,
    /// 57P02 crash_shutdown, 57P03 cannot_connect_now or 53300 too_many_connections; an
    /// <see cref="NpgsqlException"/> that Npgsql marks transient (broken stream, refused connection, timeout,
    /// exhausted pool); or a <see cref="SocketException"/>.
    /// </summary>
    public static bool Is(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException postgres:
                    // A server-side error is decided by its SQLSTATE alone: a deadlock or a constraint is not an outage.
                    return IsUnavailableSqlState(postgres.SqlState);
                case NpgsqlException { IsTransient: true }:
                case SocketException:
                    return true;
                case AggregateException aggregate:
                    return aggregate.InnerExceptions.Any(Is);
            }
        }

        return false;
    }

    /// <summary>True for the SQLSTATEs PostgreSQL answers while it cannot serve: class 08, 57P01, 57P02, 57P03, 53300.</summary>
    public static bool IsUnavailableSqlState(string sqlState) =>
        sqlState.StartsWith("08", StringComparison.Ordinal)
        || sqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
            or PostgresErrorCodes.TooManyConnections;
}

/// <summary>
/// One dependency's outages, so that a caller that retries every few hundred milliseconds logs once when an
/// outage begins and once when it ends, not once per attempt. Thread-safe.
/// </summary>
public sealed class OutageLog
{
    /// <summary>A failure this long after the previous one counts as a new outage even if no success was reported between.</summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromMinutes(1);

    private long _downSince;
    private long _lastFailure;

    /// <summary>True while failures have been reported and no success since.</summary>
    public bool IsDown => Interlocked.Read(ref _downSince) != 0;

    /// <summary>Records a failure; true when it begins an outage (log it), false while the outage goes on.</summary>
    public bool Failed()
    {
        var now = Stopwatch.GetTimestamp();
        var previous = Interlocked.Exchange(ref _lastFailure, now);
        var began = Interlocked.CompareExchange(ref _downSince, now, 0) == 0;
        return began || Stopwatch.GetElapsedTime(previous, now) > QuietPeriod;
    }

    /// <summary>Records a success; the outage's length when it ends one (log it), else null.</summary>
    public TimeSpan? Succeeded()
    {
        if (Interlocked.Read(ref _downSince) == 0)
        {
            return null;
        }

        var since = Interlocked.Exchange(ref _downSince, 0);
        return since == 0 ? null : Stopwatch.GetElapsedTime(since);
    }
}
