using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace HealthScoring.Models.Trees;

/// <summary>
/// Threads kept for the length of one training, that run the work items of each histogram build with the calling
/// thread. Between builds (tens of microseconds apart while a tree grows) they wait by spinning and yielding, as
/// OpenMP runtimes do, then block after a while without work. Thread-pool fork-join loses here: a woken pool thread
/// often gets a core only after the caller has done all the items, the more so on a busy machine.
/// Which thread runs an item never changes what the item computes.
/// </summary>
internal sealed class WorkerTeam : IDisposable
{
    private static readonly TimeSpan SpinTime = TimeSpan.FromMilliseconds(2);

    private readonly Thread[] _workers;
    private readonly SemaphoreSlim _wake = new(0);
    private Job? _job;
    private int _sleepers;
    private volatile bool _stopping;

    /// <summary>A team of <paramref name="threads"/> including the caller (so <c>threads - 1</c> new threads).</summary>
    public WorkerTeam(int threads)
    {
        _workers = new Thread[Math.Max(0, threads - 1)];
        for (var i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(Loop) { IsBackground = true, Name = $"gbdt worker {i + 1}" };
            _workers[i].Start();
        }
    }

    /// <summary>Threads that run items, the caller included.</summary>
    public int Threads => _workers.Length + 1;

    private sealed class Job(Action<int> body, int count)
    {
        public readonly Action<int> Body = body;
        public readonly int Count = count;
        public int Next;
        public int Done;
        public Exception? Error;
    }

    /// <summary>Runs <paramref name="body"/> for items 0..<paramref name="count"/>-1, each once, on the team; returns when all are done.</summary>
    public void Run(int count, Action<int> body)
    {
        if (_workers.Length == 0 || count <= 1)
        {
            for (var i = 0; i < count; i++)
            {
                body(i);
            }

            return;
        }

        var job = new Job(body, count);

        // A full fence between publishing the job and reading the sleepers: a worker going to sleep either is
        // counted here or sees the job (it counts itself, then looks again).
        Interlocked.Exchange(ref _job, job);
        var sleepers = Volatile.Read(ref _sleepers);
        if (sleepers > 0)
        {
            _wake.Release(sleepers);
        }

        Work(job);
        var spin = default(SpinWait);
        while (Volatile.Read(ref job.Done) < count)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }

        if (job.Error is not null)
        {
            ExceptionDispatchInfo.Throw(job.Error);
        }
    }

    private static void Work(Job job)
    {
        int i;
        while ((i = Interlocked.Increment(ref job.Next) - 1) < job.Count)
        {
            try
            {
                job.Body(i);
            }
            catch (Exception ex)
            {
                Interlocked.CompareExchange(ref job.Error, ex, null);
            }
            finally
            {
                Interlocked.Increment(ref job.Done);
            }
        }
    }

    private void Loop()
    {
        Job? last = null;
        while (true)
        {
            var idleSince = Stopwatch.GetTimestamp();
            var spin = default(SpinWait);
            Job? job;
            while ((job = Volatile.Read(ref _job)) == last && !_stopping)
            {
                if (Stopwatch.GetElapsedTime(idleSince) < SpinTime)
                {
                    // Spin politely (soon yielding): when the process gets less than all cores (a busy machine,
                    // CPU shared per session), a busy spin would take its time from the thread doing the work.
                    spin.SpinOnce(sleep1Threshold: -1);
                    continue;
                }

                Interlocked.Increment(ref _sleepers);
                if (Volatile.Read(ref _job) == last && !_stopping)
                {
                    _wake.Wait();
                }

                Interlocked.Decrement(ref _sleepers);
                idleSince = Stopwatch.GetTimestamp();
            }

            if (_stopping)
            {
                return;
            }

            last = job;
            Work(job!);
        }
    }

    /// <summary>Stops and joins the threads.</summary>
    public void Dispose()
    {
        _stopping = true;
        if (_workers.Length > 0)
        {
            _wake.Release(_workers.Length);
        }

        foreach (var worker in _workers)
        {
            worker.Join();
        }

        _wake.Dispose();
    }
}
