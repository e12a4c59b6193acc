using HealthScoring.Api;
using HealthScoring.Api.Health;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddProblemDetails();
builder.AddHealthScoringEventStore(registerTypes: _ => { });

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.MapHealth();
await app.RunAsync();

/// <summary>The host's entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
