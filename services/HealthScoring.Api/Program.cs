using HealthScoring.Api;

var builder = WebApplication.CreateBuilder(args);
builder.AddHealthScoringHost();

var app = builder.Build();
app.MapHealthScoringHost();
await app.RunAsync();

/// <summary>The host's entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
