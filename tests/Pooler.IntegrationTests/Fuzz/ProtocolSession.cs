// One wire-level session for the differential protocol fuzz test, to PostgreSQL directly or through the pooler:
// logs in with SCRAM (the pooler's own ScramClient), sends raw bytes, and reads replies as (type, detail) pairs
// where detail is the SQLSTATE of an ErrorResponse and the status of a ReadyForQuery.
using System.Text;
using Tuki.Pool.Pooler.Auth;
using Tuki.Pool.Pooler.IntegrationTests.Faults;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests.Fuzz;

public sealed class ProtocolSession : IAsyncDisposable
{
    private readonly RawClient _client;

    private ProtocolSession(RawClient client) => _client = client;

    public static async Task<ProtocolSession> OpenAsync(int port, (string Database, string User, string Password) db)
    {
        var client = await RawClient.ConnectAsync(port);
        await client.SendStartupAsync(("user", db.User), ("database", db.Database));
        var scram = new ScramClient(db.Password);
        while (await client.ReadMessageAsync() is { } message)
        {
            if (message.Type == 'R')
            {
                switch (Wire.AuthenticationCode(message.Body))
                {
                    case 10:
                        var first = Encoding.ASCII.GetBytes(scram.ClientFirst());
                        await client.SendAsync(Wire.Message('p', Wire.CString("SCRAM-SHA-256"), Wire.Int32(first.Length), first));
                        break;
                    case 11:
                        await client.SendAsync(Wire.Message('p', Encoding.ASCII.GetBytes(scram.ClientFinal(Encoding.ASCII.GetString(message.Body, 4, message.Body.Length - 4)))));
                        break;
                    case 12:
                        scram.VerifyServerFinal(Encoding.ASCII.GetString(message.Body, 4, message.Body.Length - 4));
                        break;
                }
            }
            else if (message.Type == 'E')
                throw new InvalidOperationException("login failed: " + RawClient.SqlState(message.Body));
            else if (message.Type == 'Z')
                return new ProtocolSession(client);
        }
        throw new InvalidOperationException("connection closed during login");
    }

    public Task SendAsync(byte[] bytes) => _client.SendAsync(bytes);

    /// <summary>Replies until <paramref name="readyForQuery"/> ReadyForQuery messages have arrived (or the
    /// connection ends, or <paramref name="timeout"/> passes: then the last entry says so).</summary>
    public async Task<List<string>> ReadRepliesAsync(int readyForQuery, TimeSpan timeout)
    {
        var replies = new List<string>();
        var deadline = DateTime.UtcNow + timeout;
        while (readyForQuery > 0)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                replies.Add("TIMEOUT");
                break;
            }
            (char Type, byte[] Body)? message;
            try { message = await _client.ReadMessageAsync(left); }
            catch (OperationCanceledException) { replies.Add("TIMEOUT"); break; }
            catch (IOException) { message = null; }
            if (message is not { } m)
            {
                replies.Add("EOF");
                break;
            }
            switch (m.Type)
            {
                case 'E':
                    replies.Add("E:" + RawClient.SqlState(m.Body));
                    break;
                case 'Z':
                    replies.Add("Z:" + (char)m.Body[0]);
                    readyForQuery--;
                    break;
                case 'N' or 'S':
                    break; // notices and parameter changes may differ in number (the pooler's own queries)
                default:
                    replies.Add(m.Type.ToString());
                    break;
            }
        }
        return replies;
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
