// The HTTP endpoint for Prometheus and probes: GET /metrics, /healthz, /readyz. A deliberately tiny HTTP/1.1 server
// on a plain socket (one request per connection, then close): prometheus-net's KestrelMetricServer needs the
// ASP.NET Core framework, and its MetricServer sits on HttpListener, which cannot bind port 0 and report the port it
// got (tests start many poolers) and on Linux needs the "+" wildcard prefix to listen on 0.0.0.0. Scrapes are rare
// and small, so none of HTTP's harder parts (keep-alive, chunked uploads, TLS) are needed here.
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Tuki.Pool.Pooler.Metrics;

public sealed class MetricsEndpoint(IPEndPoint endpoint, PoolerMetrics metrics, Func<CancellationToken, Task<(bool Ready, string Why)>> readiness, ILogger logger) : IDisposable
{
    // A request line and headers past this size, or slower than the timeout, are not a scraper.
    private const int MaxRequestBytes = 8 * 1024;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _socket = new(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public void Start()
    {
        _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _socket.Bind(endpoint);
        _socket.Listen(64);
    }

    public async Task ServeAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException && stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                logger.LogWarning("Metrics endpoint accept failed: {Error}", ex.SocketErrorCode);
                continue;
            }
            _ = Task.Run(() => HandleAsync(client, stoppingToken), CancellationToken.None);
        }
    }

    private async Task HandleAsync(Socket client, CancellationToken stoppingToken)
    {
        using var _ = client;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(RequestTimeout);
        try
        {
            await using var stream = new NetworkStream(client, ownsSocket: false);
            var path = await ReadRequestPathAsync(stream, timeout.Token).ConfigureAwait(false);
            switch (path)
            {
                case null:
                    await WriteAsync(stream, 400, "text/plain", "bad request\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
                    break;
                case "/metrics":
                    using (var body = new MemoryStream())
                    {
                        await metrics.ExportAsync(body, timeout.Token).ConfigureAwait(false);
                        await WriteAsync(stream, 200, "text/plain; version=0.0.4; charset=utf-8", body.ToArray(), timeout.Token).ConfigureAwait(false);
                    }
                    break;
                case "/healthz":
                    await WriteAsync(stream, 200, "text/plain", "ok\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
                    break;
                case "/readyz":
                    var (ready, why) = await readiness(timeout.Token).ConfigureAwait(false);
                    await WriteAsync(stream, ready ? 200 : 503, "text/plain", Encoding.UTF8.GetBytes(why + "\n"), timeout.Token).ConfigureAwait(false);
                    break;
                default:
                    await WriteAsync(stream, 404, "text/plain", "not found: try /metrics, /healthz or /readyz\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
                    break;
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The scraper left or was too slow; nothing to report.
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Metrics request failed");
        }
    }

    /// <summary>Reads up to the blank line ending the headers; returns the path of a GET, or null.</summary>
    private static async Task<string?> ReadRequestPathAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxRequestBytes];
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (read == 0)
                return null;
            filled += read;
            if (buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8) >= 0)
                break;
        }
        var text = Encoding.ASCII.GetString(buffer, 0, filled);
        var line = text.AsSpan(0, Math.Max(0, text.IndexOf("\r\n", StringComparison.Ordinal)));
        var parts = line.ToString().Split(' ');
        if (parts.Length != 3 || parts[0] != "GET")
            return null;
        var target = parts[1];
        var query = target.IndexOf('?');
        return query >= 0 ? target[..query] : target;
    }

    private static async Task WriteAsync(NetworkStream stream, int status, string contentType, byte[] body, CancellationToken cancellationToken)
    {
        var reason = status switch { 200 => "OK", 404 => "Not Found", 503 => "Service Unavailable", _ => "Bad Request" };
        var head = $"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), cancellationToken).ConfigureAwait(false);
        await stream.WriteAsync(body, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _socket.Dispose();
}
