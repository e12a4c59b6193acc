using HealthScoring.Api.Grpc;
using HealthScoring.EventStore;
using Microsoft.AspNetCore.Diagnostics;

namespace HealthScoring.Api.Resilience;

/// <summary>
/// The one mapping from "try again later" failures to answers: a <see cref="RetryLaterException"/> as it is, and a
/// request that failed because PostgreSQL is unreachable, restarting or in recovery (<see cref="TransientStoreFailure"/>)
/// as 503 with a retry hint, never 500. Nothing was acknowledged for such a request: an acknowledgement follows the commit.
/// The outage is logged once when it begins (then at most once a minute while it lasts), not once per request.
/// </summary>
public sealed partial class StoreUnavailable(ILogger<StoreUnavailable> logger)
{
    /// <summary>What a client is told to wait while the database is away (a restart takes a few seconds).</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(2);

    private readonly OutageLog _outage = new();

    /// <summary>The retryable refusal <paramref name="exception"/> stands for, or null when it is an error of another kind.</summary>
    public RetryLaterException? Classify(Exception exception)
    {
        if (exception is RetryLaterException retry)
        {
            return retry;
        }

        if (!TransientStoreFailure.Is(exception))
        {
            return null;
        }

        if (_outage.Failed())
        {
            // The type and SQLSTATE only: the exception's text may carry the connection's host and user.
            LogUnavailable(logger, Describe(exception));
        }

        return new RetryLaterException(StatusCodes.Status503ServiceUnavailable, "Database unavailable",
            "The event store's database is unreachable or restarting; nothing of this request was acknowledged. Send it again after Retry-After seconds (messageIds make a repeat store nothing twice).",
            RetryAfter, exception);
    }

    private static string Describe(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is Npgsql.PostgresException postgres)
            {
                return $"{postgres.GetType().Name} {postgres.SqlState}";
            }
        }

        return exception.InnerException is { } inner ? $"{exception.GetType().Name} ({inner.GetType().Name})" : exception.GetType().Name;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL is unavailable ({Failure}): requests that need it are answered 503 / UNAVAILABLE with a retry hint until it is back")]
    private static partial void LogUnavailable(ILogger logger, string failure);
}

/// <summary>HTTP: a retryable failure as an RFC 9457 problem with <c>Retry-After</c> (429 or 503).</summary>
public sealed class RetryLaterExceptionHandler(StoreUnavailable store, IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        if (store.Classify(exception) is not { } retry || httpContext.Response.HasStarted)
        {
            return false;
        }

        await WriteAsync(httpContext, problems, retry);
        return true;
    }

    /// <summary>Writes <paramref name="retry"/> as the response: its status, <c>Retry-After</c>, and a problem document.</summary>
    public static async ValueTask WriteAsync(HttpContext httpContext, IProblemDetailsService problems, RetryLaterException retry)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(retry);
        httpContext.Response.StatusCode = retry.HttpStatus;
        httpContext.Response.Headers.RetryAfter = retry.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails =
            {
                Status = retry.HttpStatus,
                Title = retry.Title,
                Detail = retry.Message,
                Extensions = { ["retryAfterSeconds"] = retry.RetryAfterSeconds },
            },
        });
    }
}

/// <summary>gRPC: a retryable failure as RESOURCE_EXHAUSTED (rate limited) or UNAVAILABLE, with <c>grpc-retry-pushback-ms</c> and <c>retry-after</c>.</summary>
public sealed class RetryLaterGrpcMapper(StoreUnavailable store) : IGrpcExceptionMapper
{
    public GrpcException? Map(Exception exception) => store.Classify(exception)?.ToGrpc();
}
