// The admin console's message loop, after login: simple Query messages only (each may hold several statements
// separated by ';'), answered like PostgreSQL answers them; an extended-protocol message gets one 0A000 error and
// everything up to its Sync is skipped, as PostgreSQL skips after an error. Terminate or EOF ends it.
using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Pooler.Admin;

public sealed class AdminSession(AdminCommands commands, PipeReader input, PipeWriter output, Func<bool> drainDue)
{
    // Admin statements are short; a bigger message is a mistake or an attack.
    private const int MaxMessageLength = 64 * 1024;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var skipToSync = false;
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var queries = new List<string>();
            var terminate = false;
            try
            {
                while (!terminate && FrameReader.TryReadFrame(ref buffer, MaxMessageLength, out var header, out var frame))
                {
                    switch (header.Code)
                    {
                        case FrontendCode.Query:
                            var body = frame.Slice(FrameHeader.Size);
                            var text = Encoding.UTF8.GetString(body.Slice(0, Math.Max(0, body.Length - 1)));
                            queries.Add(text);
                            break;
                        case FrontendCode.Terminate:
                            terminate = true;
                            break;
                        case FrontendCode.Sync:
                            if (skipToSync)
                                MessageWriter.WriteReadyForQuery(output, TransactionStatus.Idle);
                            skipToSync = false;
                            break;
                        case FrontendCode.Flush:
                            break;
                        default:
                            if (!skipToSync)
                                MessageWriter.WriteErrorResponse(output, PgErrors.AdminSimpleQueryOnly());
                            skipToSync = true;
                            break;
                    }
                }
            }
            finally
            {
                input.AdvanceTo(buffer.Start, buffer.End);
            }

            foreach (var query in queries)
                await RunQueryAsync(query, cancellationToken).ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (terminate || result.IsCompleted)
                return;
            if (result.IsCanceled && drainDue())
                throw new PgErrorException(PgErrors.Shutdown());
        }
    }

    private async Task RunQueryAsync(string query, CancellationToken cancellationToken)
    {
        var statements = query.Split(';').Select(s => s.Trim()).Where(s => s.Length > 0).ToList();
        if (statements.Count == 0)
            WriteEmptyQuery(output);
        foreach (var statement in statements)
        {
            // Results of earlier statements stay sent; the first error ends the query, as in PostgreSQL.
            var buffer = new ArrayBufferWriter<byte>();
            try
            {
                await commands.ExecuteAsync(statement, buffer, cancellationToken).ConfigureAwait(false);
                output.Write(buffer.WrittenSpan);
            }
            catch (PgErrorException ex) when (!ex.Error.IsFatal)
            {
                MessageWriter.WriteErrorResponse(output, ex.Error);
                break;
            }
        }
        MessageWriter.WriteReadyForQuery(output, TransactionStatus.Idle);
    }

    private static void WriteEmptyQuery(PipeWriter output)
    {
        var span = output.GetSpan(5);
        span[0] = BackendCode.EmptyQueryResponse;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(span[1..], 4);
        output.Advance(5);
    }
}
