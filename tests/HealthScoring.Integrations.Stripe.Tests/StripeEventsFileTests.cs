using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;

namespace HealthScoring.Integrations.Stripe.Tests;

public sealed class StripeEventsFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("stripe-events-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_jsonl_file_yields_each_event_with_its_line_number_and_skips_blank_lines()
    {
        var path = Write("events.jsonl",
        [
            Fixtures.Line("customer.subscription.created.pre-basil.json"),
            Fixtures.Line("invoice.paid.basil.json"),
            "   ",
            "",
            Fixtures.Line("payout.paid.basil.json"),
        ]);

        var entries = StripeEventsFile.Read(path, Ct).ToList();

        entries.Select(e => e.LineNumber).ShouldBe([1L, 2L, 5L]);
        entries.ShouldAllBe(e => e.IndexInPage == null);
        entries[0].Result.ShouldBeOfType<ParsedStripeEvent>().Fact.ShouldBeOfType<SubscriptionStarted>();
        entries[1].Result.ShouldBeOfType<ParsedStripeEvent>().Fact.ShouldBeOfType<InvoicePaid>().SubscriptionId.ShouldBe("sub_1QkSWdRrCEELX9AhjZ6IPk5T");
        entries[2].Result.ShouldBeOfType<IgnoredStripeEvent>();
    }

    [Fact]
    public void A_gz_file_is_decompressed_by_its_extension()
    {
        var path = WriteGzip("events.jsonl.gz", [Fixtures.Line("charge.failed.basil.json"), Fixtures.Line("customer.created.basil.json")]);

        var entries = StripeEventsFile.Read(path, Ct).ToList();

        entries.Count.ShouldBe(2);
        entries[0].Result.ShouldBeOfType<ParsedStripeEvent>().Fact.ShouldBeOfType<ChargeFailed>();
        entries[1].Result.ShouldBeOfType<ParsedStripeEvent>().Fact.ShouldBeOfType<CustomerCreated>();
    }

    [Fact]
    public void A_gzip_file_without_the_extension_is_recognized_by_its_magic_bytes()
    {
        var path = WriteGzip("events-export.jsonl", [Fixtures.Line("charge.dispute.created.basil.json")]);

        var entry = StripeEventsFile.Read(path, Ct).ShouldHaveSingleItem();

        entry.Result.ShouldBeOfType<ParsedStripeEvent>().Fact.ShouldBeOfType<DisputeCreated>();
    }

    [Fact]
    public void A_line_holding_a_list_page_yields_each_event_of_its_data_in_order()
    {
        var page = new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(
                Fixtures.Node("invoice.payment_failed.basil.json"),
                Fixtures.Node("customer.subscription.updated.seats.pre-basil.json"),
                Fixtures.Node("payout.paid.basil.json")),
            ["has_more"] = true,
            ["url"] = "/v1/events",
        };
        var path = Write("pages.jsonl", [page.ToJsonString(), Fixtures.Line("customer.deleted.basil.json")]);

        var entries = StripeEventsFile.Read(path, Ct).ToList();

        entries.Select(e => (e.LineNumber, e.IndexInPage)).ShouldBe([(1L, (int?)0), (1L, 1), (1L, 2), (2L, null)]);
        entries[0].Result.ShouldBeOfType<ParsedStripeEvent>().Fact.ShouldBeOfType<InvoicePaymentFailed>();
        entries[1].Result.ShouldBeOfType<ParsedStripeEvent>().Fact.ShouldBeOfType<SubscriptionChanged>().Previous.Quantity.ShouldBe(3);
        entries[2].Result.ShouldBeOfType<IgnoredStripeEvent>();
        entries[3].Result.ShouldBeOfType<ParsedStripeEvent>().Fact.ShouldBeOfType<CustomerDeleted>();
    }

    [Fact]
    public void A_bad_line_in_the_middle_is_an_error_with_its_line_number_and_the_other_lines_still_come()
    {
        var path = Write("mixed.jsonl",
        [
            Fixtures.Line("invoice.paid.pre-basil.json"),
            "{\"id\":\"evt_broken\",\"object\":\"event\",",
            """{"object":"event","id":"evt_1QuA1bRrCEELX9AhNoType","created":1740700801,"data":{"object":{}}}""",
            """{"object":"list","has_more":false}""",
            Fixtures.Line("invoice.payment_failed.pre-basil.json"),
        ]);

        var entries = StripeEventsFile.Read(path, Ct).ToList();

        entries.Count.ShouldBe(5);
        entries[0].Result.ShouldBeOfType<ParsedStripeEvent>();
        var broken = entries[1];
        broken.LineNumber.ShouldBe(2);
        broken.Result.ShouldBeOfType<InvalidStripeEvent>().Error.Kind.ShouldBe(StripeEventErrorKind.InvalidJson);
        broken.Result.ShouldBeOfType<InvalidStripeEvent>().Error.Message.ShouldContain("Line 2");
        entries[2].LineNumber.ShouldBe(3);
        entries[2].Result.ShouldBeOfType<InvalidStripeEvent>().Error.Field.ShouldBe("type");
        entries[3].LineNumber.ShouldBe(4);
        entries[3].Result.ShouldBeOfType<InvalidStripeEvent>().Error.Field.ShouldBe("data");
        entries[4].LineNumber.ShouldBe(5);
        entries[4].Result.ShouldBeOfType<ParsedStripeEvent>().Fact.ShouldBeOfType<InvoicePaymentFailed>();
    }

    [Fact]
    public async Task Reading_asynchronously_gives_the_same_entries()
    {
        var lines = new[]
        {
            Fixtures.Line("customer.subscription.deleted.basil.json"),
            "not json",
            Fixtures.Line("customer.subscription.trial_will_end.pre-basil.json"),
        };
        var plain = Write("async.jsonl", lines);
        var gzip = WriteGzip("async.jsonl.gz", lines);

        var fromPlain = await StripeEventsFile.ReadAsync(plain, Ct).ToListAsync(Ct);
        var fromGzip = await StripeEventsFile.ReadAsync(gzip, Ct).ToListAsync(Ct);

        foreach (var entries in new[] { fromPlain, fromGzip })
        {
            entries.Select(e => e.LineNumber).ShouldBe([1L, 2L, 3L]);
            entries[0].Result.ShouldBeOfType<ParsedStripeEvent>().Fact.ShouldBeOfType<SubscriptionCanceled>();
            entries[1].Result.ShouldBeOfType<InvalidStripeEvent>();
            entries[2].Result.ShouldBeOfType<ParsedStripeEvent>().Fact.ShouldBeOfType<TrialWillEnd>();
        }
    }

    [Fact]
    public void A_non_seekable_gzip_stream_is_detected_and_left_open()
    {
        using var forwardOnly = new ForwardOnlyStream(GzipBytes(Fixtures.Line("invoice.marked_uncollectible.basil.json") + "\r\n"));

        // A stream can be read once, so materialize before asserting (ShouldHaveSingleItem enumerates twice).
        var entry = StripeEventsFile.Read(forwardOnly, Ct).ToList().ShouldHaveSingleItem();

        entry.Result.ShouldBeOfType<ParsedStripeEvent>().Fact.ShouldBeOfType<InvoiceMarkedUncollectible>();
        forwardOnly.Disposed.ShouldBeFalse();
    }

    [Fact]
    public async Task A_non_seekable_gzip_stream_is_read_asynchronously_too()
    {
        await using var forwardOnly = new ForwardOnlyStream(GzipBytes(Fixtures.Line("charge.failed.basil.json")));

        var entries = await StripeEventsFile.ReadAsync(forwardOnly, Ct).ToListAsync(Ct);

        entries.ShouldHaveSingleItem().Result.ShouldBeOfType<ParsedStripeEvent>().Fact.ShouldBeOfType<ChargeFailed>();
        forwardOnly.Disposed.ShouldBeFalse();
    }

    [Fact]
    public void A_byte_order_mark_and_crlf_line_ends_are_handled()
    {
        var path = Path.Combine(_directory, "windows.jsonl");
        File.WriteAllText(path, Fixtures.Line("customer.updated.basil.json") + "\r\n" + Fixtures.Line("customer.created.basil.json") + "\r\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        var entries = StripeEventsFile.Read(path, Ct).ToList();

        entries.Count.ShouldBe(2);
        entries.ShouldAllBe(e => e.Result is ParsedStripeEvent);
    }

    [Fact]
    public void Events_are_yielded_while_the_file_is_still_being_read()
    {
        var line = Fixtures.Line("customer.subscription.updated.multi-item.basil.json");
        var content = Encoding.UTF8.GetBytes(string.Join('\n', Enumerable.Repeat(line, 500)));
        using var source = new ForwardOnlyStream(content);

        var first = StripeEventsFile.Read(source, Ct).First();

        first.Result.ShouldBeOfType<ParsedStripeEvent>();
        source.BytesRead.ShouldBeLessThan(content.Length / 10);
    }

    [Fact]
    public void An_empty_file_yields_nothing()
    {
        StripeEventsFile.Read(Write("empty.jsonl", []), Ct).ShouldBeEmpty();
    }

    private string Write(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, string.Join('\n', lines));
        return path;
    }

    private static byte[] GzipBytes(string text)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return compressed.ToArray();
    }

    private string WriteGzip(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(_directory, name);
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Optimal);
        gzip.Write(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));
        return path;
    }

    /// <summary>A stream that cannot seek (like a network body) and counts what was read from it.</summary>
    private sealed class ForwardOnlyStream(byte[] content) : Stream
    {
        private readonly MemoryStream _inner = new(content);

        public long BytesRead { get; private set; }

        public bool Disposed { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Count(_inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Count(_inner.Read(buffer));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await _inner.ReadAsync(buffer, cancellationToken));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private int Count(int read)
        {
            BytesRead += read;
            return read;
        }
    }
}
