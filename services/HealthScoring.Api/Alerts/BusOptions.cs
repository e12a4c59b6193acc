namespace HealthScoring.Api.Alerts;

/// <summary>RabbitMQ (section <c>RabbitMq</c>; <c>scripts/services.sh</c> writes these for the local broker).</summary>
public sealed class RabbitMqOptions
{
    public const string SectionName = "RabbitMq";

    public string Host { get; set; } = "127.0.0.1";

    public ushort Port { get; set; } = 56720;

    public string VirtualHost { get; set; } = "/";

    public string Username { get; set; } = "healthscoring";

    public string Password { get; set; } = "healthscoring";

    /// <summary>Off: alerts are still computed and stored, just not published (the publisher's checkpoint waits).</summary>
    public bool Enabled { get; set; } = true;
}
