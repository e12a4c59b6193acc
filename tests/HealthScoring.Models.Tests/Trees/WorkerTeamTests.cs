using HealthScoring.Models.Trees;

namespace HealthScoring.Models.Tests.Trees;

public class WorkerTeamTests
{
    [Fact]
    public void Every_item_runs_exactly_once_job_after_job()
    {
        using var team = new WorkerTeam(3);
        for (var job = 0; job < 200; job++)
        {
            var counts = new int[1 + (job % 17)];
            team.Run(counts.Length, i => Interlocked.Increment(ref counts[i]));
            counts.ShouldAllBe(c => c == 1);
        }
    }

    [Fact]
    public void Workers_that_went_to_sleep_wake_up_for_the_next_job()
    {
        using var team = new WorkerTeam(2);
        var threads = new HashSet<int>();
        for (var job = 0; job < 3; job++)
        {
            Thread.Sleep(20); // longer than the spinning: the worker blocks
            team.Run(64, _ =>
            {
                Thread.SpinWait(20_000);
                lock (threads)
                {
                    threads.Add(Environment.CurrentManagedThreadId);
                }
            });
        }

        threads.Count.ShouldBeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public void An_exception_in_an_item_reaches_the_caller_after_the_job_ends()
    {
        using var team = new WorkerTeam(2);
        var done = 0;
        var ex = Should.Throw<InvalidOperationException>(() => team.Run(50, i =>
        {
            if (i == 7)
            {
                throw new InvalidOperationException("item 7");
            }

            Interlocked.Increment(ref done);
        }));

        ex.Message.ShouldBe("item 7");
        done.ShouldBe(49);
        team.Run(3, _ => Interlocked.Increment(ref done));
        done.ShouldBe(52);
    }
}
