namespace HealthScoring.EventStore.Tests;

/// <summary>The in-process side of claimed versions: how they are handed out, and who may enter when.</summary>
public sealed class StreamVersionClaimsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly ManualClock _clock = new();

    [Fact]
    public void Claims_continue_from_the_versions_handed_out_before_and_a_failed_claim_s_streams_are_read_again()
    {
        var claims = new StreamVersionClaims(_clock);
        var first = Take(claims, Counts(("a", 2), ("b", 1)), Stored(("a", 5), ("b", 0)));
        first.Before.ShouldBe([5L, 0L]);
        first.After.ShouldBe([7L, 1L]);

        claims.Unknown("t", Counts(("a", 1), ("c", 1))).ShouldBe(["c"]);
        var second = Take(claims, Counts(("a", 3)), Stored());
        second.Before.ShouldBe([7L], "the second follows the first, still in flight");
        claims.Unknown("other-tenant", Counts(("a", 1))).ShouldBe(["a"]);

        claims.Finish(first, committed: false, stale: false);
        claims.Unknown("t", Counts(("a", 1), ("b", 1))).ShouldBe(["a", "b"], "a failed claim leaves its streams to be read from the database again");
    }

    [Fact]
    public async Task A_claim_checks_its_rows_only_after_the_one_handed_out_before_it_is_over()
    {
        var claims = new StreamVersionClaims(_clock);
        var first = Take(claims, Counts(("a", 1)), Stored(("a", 0)));
        var second = Take(claims, Counts(("a", 1)), Stored());

        var waiting = second.WaitForPreviousAsync(Ct);
        await Task.Delay(50, Ct);
        waiting.IsCompleted.ShouldBeFalse();
        claims.Finish(first, committed: true, stale: false);
        await waiting.WaitAsync(TimeSpan.FromSeconds(5), Ct);
    }

    [Fact]
    public async Task An_append_waiting_to_lock_goes_before_claims_that_arrive_after_it()
    {
        var claims = new StreamVersionClaims(_clock);
        (await claims.EnterAsync(locks: false, Ct)).ShouldBeTrue();

        var locking = claims.EnterAsync(locks: true, Ct);
        var laterClaim = claims.EnterAsync(locks: false, Ct);
        await Task.Delay(50, Ct);
        locking.IsCompleted.ShouldBeFalse("a lock waits for the claims in flight");
        laterClaim.IsCompleted.ShouldBeFalse("a claim arriving after a waiting lock waits too");

        claims.Exit();
        (await locking.WaitAsync(TimeSpan.FromSeconds(5), Ct)).ShouldBeFalse();
        await Task.Delay(50, Ct);
        laterClaim.IsCompleted.ShouldBeFalse();

        claims.Exit();
        (await laterClaim.WaitAsync(TimeSpan.FromSeconds(5), Ct)).ShouldBeTrue();
    }

    [Fact]
    public async Task After_a_failed_claim_nothing_enters_until_the_appends_in_flight_are_over()
    {
        var claims = await TwoClaimsInFlightAsync();
        var failed = Take(claims, Counts(("a", 1)), Stored(("a", 0)));
        var after = Take(claims, Counts(("a", 1)), Stored());

        claims.Finish(failed, committed: false, stale: false);
        claims.Exit();
        var next = claims.EnterAsync(locks: false, Ct);
        await Task.Delay(50, Ct);
        next.IsCompleted.ShouldBeFalse("the claim still in flight was numbered after the failed one");

        claims.Finish(after, committed: false, stale: true);
        claims.Exit();
        (await next.WaitAsync(TimeSpan.FromSeconds(5), Ct)).ShouldBeTrue("its staleness is explained by the failure before it, so claims go on");
    }

    [Fact]
    public async Task A_stale_claim_that_no_failure_explains_makes_appends_lock_for_a_while()
    {
        var claims = new StreamVersionClaims(_clock);
        (await claims.EnterAsync(locks: false, Ct)).ShouldBeTrue();
        var stale = Take(claims, Counts(("a", 1)), Stored(("a", 3)));
        claims.Finish(stale, committed: false, stale: true);
        claims.Exit();

        (await claims.EnterAsync(locks: false, Ct)).ShouldBeFalse("another writer is on these streams");
        claims.Exit();
        _clock.Now += StreamVersionClaims.LocksAfterStale;
        (await claims.EnterAsync(locks: false, Ct)).ShouldBeTrue();
        claims.Exit();
    }

    [Fact]
    public async Task A_lock_that_gives_up_waiting_holds_back_no_claim()
    {
        var claims = new StreamVersionClaims(_clock);
        (await claims.EnterAsync(locks: false, Ct)).ShouldBeTrue();
        using var giveUp = new CancellationTokenSource();
        var locking = claims.EnterAsync(locks: true, giveUp.Token);
        var behind = claims.EnterAsync(locks: false, Ct);
        await giveUp.CancelAsync();
        await Should.ThrowAsync<OperationCanceledException>(() => locking);

        claims.Exit();
        (await behind.WaitAsync(TimeSpan.FromSeconds(5), Ct)).ShouldBeTrue();
        (await claims.EnterAsync(locks: false, Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct)).ShouldBeTrue("claims enter alongside claims again");
    }

    [Fact]
    public async Task A_stream_forgotten_by_a_failed_claim_between_asking_and_taking_hands_out_nothing()
    {
        var claims = await TwoClaimsInFlightAsync();
        var failing = Take(claims, Counts(("a", 1)), Stored(("a", 4)));

        // The second append finds "a" known, so it reads no stored version for it; then the first fails.
        claims.Unknown("t", Counts(("a", 2), ("b", 1))).ShouldBe(["b"]);
        claims.Finish(failing, committed: false, stale: false);

        claims.Take("t", Counts(("a", 2), ("b", 1)), Stored(("b", 0))).ShouldBeNull("no version is known for \"a\" any more");
        claims.Unknown("t", Counts(("a", 2), ("b", 1))).ShouldBe(["a", "b"], "a refused take hands out no version, not even for \"b\"");
    }

    /// <summary>A new instance with two appends entered, both claiming.</summary>
    private async Task<StreamVersionClaims> TwoClaimsInFlightAsync()
    {
        var claims = new StreamVersionClaims(_clock);
        (await claims.EnterAsync(locks: false, Ct)).ShouldBeTrue();
        (await claims.EnterAsync(locks: false, Ct)).ShouldBeTrue();
        return claims;
    }

    private static StreamVersionClaims.Claim Take(StreamVersionClaims claims, Dictionary<string, int> counts, Dictionary<string, long> stored) =>
        claims.Take("t", counts, stored).ShouldNotBeNull();

    private static Dictionary<string, int> Counts(params (string Stream, int Count)[] counts) => counts.ToDictionary(c => c.Stream, c => c.Count);

    private static Dictionary<string, long> Stored(params (string Stream, long Version)[] versions) => versions.ToDictionary(v => v.Stream, v => v.Version);

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
