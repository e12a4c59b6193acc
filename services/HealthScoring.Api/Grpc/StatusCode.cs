namespace HealthScoring.Api.Grpc;

/// <summary>
/// The standard gRPC status codes (grpc/grpc <c>doc/statuscodes.md</c>), numbered as on the wire in
/// <c>grpc-status</c>. Names and values match <c>Grpc.Core.StatusCode</c>.
/// </summary>
public enum StatusCode
{
    /// <summary>Not an error.</summary>
    Ok = 0,

    /// <summary>The call was cancelled, typically by the caller.</summary>
    Cancelled = 1,

    /// <summary>Unknown error.</summary>
    Unknown = 2,

    /// <summary>The client sent an invalid argument, whatever the system's state.</summary>
    InvalidArgument = 3,

    /// <summary>The deadline expired before the operation could complete.</summary>
    DeadlineExceeded = 4,

    /// <summary>A requested entity was not found.</summary>
    NotFound = 5,

    /// <summary>The entity the client tried to create already exists.</summary>
    AlreadyExists = 6,

    /// <summary>The caller is authenticated but not allowed to do this.</summary>
    PermissionDenied = 7,

    /// <summary>A resource (a quota, a message size limit, ...) has been exhausted.</summary>
    ResourceExhausted = 8,

    /// <summary>The system is not in a state required for the operation.</summary>
    FailedPrecondition = 9,

    /// <summary>The operation was aborted, typically by a concurrency conflict.</summary>
    Aborted = 10,

    /// <summary>The operation was attempted past the valid range.</summary>
    OutOfRange = 11,

    /// <summary>The method is not implemented or not supported (also: wrong request cardinality, unsupported compression).</summary>
    Unimplemented = 12,

    /// <summary>An invariant of the underlying system is broken (also: malformed frames, unparsable messages).</summary>
    Internal = 13,

    /// <summary>The service is currently unavailable; retrying may help.</summary>
    Unavailable = 14,

    /// <summary>Unrecoverable data loss or corruption.</summary>
    DataLoss = 15,

    /// <summary>The request lacks valid authentication credentials.</summary>
    Unauthenticated = 16,
}
