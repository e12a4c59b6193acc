namespace HealthScoring.Api.Grpc;

/// <summary>
/// Writes the messages of a server-streaming call (shaped like <c>Grpc.Core.IServerStreamWriter&lt;T&gt;</c>).
/// Each message is flushed to the client as it is written. Await each write before the next: writes must not overlap.
/// </summary>
/// <typeparam name="T">The response message type.</typeparam>
public interface IServerStreamWriter<in T>
{
    /// <summary>Sends one message. Throws <see cref="OperationCanceledException"/> once the call is cancelled or past its deadline.</summary>
    Task WriteAsync(T message);
}
