namespace HealthScoring.Api.Tests.Security;

/// <summary>The security review's test classes share one seeded host (one after another), instead of one each.</summary>
[CollectionDefinition(Name)]
public sealed class SecurityReview : ICollectionFixture<SeededLiveHostFixture>
{
    public const string Name = "security review";
}
