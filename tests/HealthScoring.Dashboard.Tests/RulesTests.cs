using HealthScoring.Api.Analytics;
using HealthScoring.Api.Tenancy;

namespace HealthScoring.Dashboard.Tests;

/// <summary>The small rules behind sign-in and the analytics, without a host.</summary>
public sealed class RulesTests
{
    [Fact]
    public void A_password_hash_is_salted_pbkdf2_and_verifies_only_the_same_password()
    {
        var a = DashboardUserStore.Hash("correct horse battery staple");
        var b = DashboardUserStore.Hash("correct horse battery staple");
        a.ShouldStartWith("pbkdf2-sha512$210000$");
        a.ShouldNotBe(b, "each hash has its own salt");
        DashboardUserStore.Verify("correct horse battery staple", a).ShouldBeTrue();
        DashboardUserStore.Verify("correct horse battery stapler", a).ShouldBeFalse();
        DashboardUserStore.Verify("correct horse battery staple", "plain-text").ShouldBeFalse();
    }

    [Theory]
    [InlineData(" Ada@Example.COM ", "ada@example.com")]
    [InlineData("no-at-sign", null)]
    [InlineData("two@@example.com", null)]
    [InlineData("", null)]
    public void Emails_are_trimmed_lower_cased_and_checked(string email, string? expected) =>
        DashboardUserStore.NormalizeEmail(email).ShouldBe(expected);

    [Fact]
    public void A_generated_password_is_long_enough_and_different_each_time()
    {
        var a = DashboardUserStore.GeneratePassword();
        a.Length.ShouldBeGreaterThanOrEqualTo(DashboardUserStore.MinimumPasswordLength);
        DashboardUserStore.GeneratePassword().ShouldNotBe(a);
    }

    [Theory]
    [InlineData(10, new long[] { 100, 110, 90, 100 }, true)] // a collapse from a steady ~100 a week
    [InlineData(60, new long[] { 100, 110, 90, 100 }, false)] // down 40 %: under the 50 % line
    [InlineData(0, new long[] { 10, 12, 8, 10 }, false)] // too quiet to call
    [InlineData(40, new long[] { 200, 10, 180, 10 }, false)] // a spiky baseline: not 2 sd under
    [InlineData(0, new long[] { 50, 50, 50, 50 }, true)] // steady then silent
    public void A_sudden_drop_is_half_the_baseline_two_deviations_under_it_and_not_noise(long last, long[] baseline, bool flagged) =>
        (ProductAnalytics.Anomaly(last, baseline) is not null).ShouldBe(flagged);

    [Theory]
    [InlineData(3, 3, 1, "Champions")]
    [InlineData(1, 3, 3, "Big spenders slipping")]
    [InlineData(2, 2, 1, "Loyal")]
    [InlineData(1, 1, 1, "Hibernating")]
    [InlineData(3, 1, 2, "Needs attention")]
    public void Rfm_scores_map_to_named_segments(int r, int f, int m, string segment)
    {
        ProductAnalytics.SegmentOf(r, f, m).ShouldBe(segment);
        ProductAnalytics.SegmentDescriptions.ContainsKey(segment).ShouldBeTrue();
    }
}
