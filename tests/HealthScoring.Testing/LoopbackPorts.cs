using System.Net;
using System.Net.Sockets;

namespace HealthScoring.Testing;

/// <summary>Free TCP ports on 127.0.0.1, for servers a test or benchmark starts on a real socket.</summary>
public static class LoopbackPorts
{
    /// <summary>A port the system just handed out and released (another process could take it first, rarely).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
