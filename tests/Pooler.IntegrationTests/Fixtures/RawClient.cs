// A bare-socket protocol client for tests that real drivers cannot express: garbage bytes, absurd lengths,
// abrupt kills in the middle of a transaction. Logs in only with trust auth.
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Tuki.Pool.Pooler.IntegrationTests.Fixtures;

public sealed class RawClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private RawClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    public static async Task<RawClient> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync("127.0.0.1", port);
        return new RawClient(socket);
    }

    public Task SendAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    public Task SendStartupAsync(params (string Name, string Value)[] parameters)
    {
        var body = new MemoryStream();
        foreach (var (name, value) in parameters)
        {
            body.Write(Encoding.UTF8.GetBytes(name)); body.WriteByte(0);
            body.Write(Encoding.UTF8.GetBytes(value)); body.WriteByte(0);
        }
        body.WriteByte(0);
        var packet = new byte[8 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(packet, packet.Length);
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(4), 196608);
        body.ToArray().CopyTo(packet, 8);
        return SendAsync(packet);
    }

    public Task SendQueryAsync(string sql)
    {
        var text = Encoding.UTF8.GetBytes(sql);
        var message = new byte[1 + 4 + text.Length + 1];
        message[0] = (byte)'Q';
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), 4 + text.Length + 1);
        text.CopyTo(message, 5);
        return SendAsync(message);
    }

    /// <summary>Reads one typed message; null at end of stream.</summary>
    public async Task<(char Type, byte[] Body)?> ReadMessageAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var header = new byte[5];
        if (!await ReadExactlyAsync(header, cts.Token))
            return null;
        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1)) - 4];
        if (!await ReadExactlyAsync(body, cts.Token))
            return null;
        return ((char)header[0], body);
    }

    /// <summary>Reads messages until ReadyForQuery (returned last) or an ErrorResponse followed by EOF.</summary>
    public async Task<List<(char Type, byte[] Body)>> ReadUntilReadyAsync()
    {
        var messages = new List<(char, byte[])>();
        while (await ReadMessageAsync() is { } message)
        {
            messages.Add(message);
            if (message.Type == 'Z')
                break;
        }
        return messages;
    }

    /// <summary>The SQLSTATE (C field) of an ErrorResponse body.</summary>
    public static string SqlState(byte[] errorBody)
    {
        var fields = Encoding.UTF8.GetString(errorBody).Split('\0');
        return fields.First(f => f.StartsWith('C')).Substring(1);
    }

    /// <summary>Reads one untyped byte (the answer to SSLRequest/GSSENCRequest); -1 at end of stream.</summary>
    public async Task<int> ReadByteAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var buffer = new byte[1];
        return await ReadExactlyAsync(buffer, cts.Token) ? buffer[0] : -1;
    }

    /// <summary>True when the pooler closed the connection (EOF) within the timeout.</summary>
    public async Task<bool> IsClosedByPeerAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var read = await _stream.ReadAsync(buffer, cts.Token);
                if (read == 0)
                    return true;
            }
        }
        catch (OperationCanceledException) { return false; }
        catch (IOException) { return true; }
    }

    /// <summary>True when the pooler closed the connection cleanly (FIN: the read returns 0), false on a reset or
    /// when nothing happened within the timeout.</summary>
    public async Task<bool> ReadsEndOfStreamAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { return await _stream.ReadAsync(new byte[1], cts.Token) == 0; }
        catch (Exception ex) when (ex is OperationCanceledException or IOException) { return false; }
    }

    /// <summary>Kills the connection the way a crashed process does: RST, no Terminate.</summary>
    public void Kill()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    private async Task<bool> ReadExactlyAsync(byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await _stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (n == 0)
                return false;
            read += n;
        }
        return true;
    }

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
