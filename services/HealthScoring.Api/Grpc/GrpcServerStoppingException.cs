using System.Globalization;

namespace HealthScoring.Api.Grpc;

/// <summary>
/// Thrown by a client stream's reader when the server began a graceful shutdown while the client's stream was still
/// open: every whole message received until then was read (<see cref="MessagesRead"/> in all), the rest was not. A
/// handler may catch it to answer with what it did; otherwise the call ends with UNAVAILABLE, which clients retry.
/// </summary>
public sealed class GrpcServerStoppingException(int messagesRead)
    : Exception(string.Create(CultureInfo.InvariantCulture,
        $"The server is shutting down: the first {messagesRead} message(s) of this stream were handled, the rest were not read; send them again."))
{
    /// <summary>How many request messages of the call were read (and handed to the handler) before it stopped.</summary>
    public int MessagesRead { get; } = messagesRead;
}
