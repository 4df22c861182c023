// Counts the established TCP connections *this process* holds to a port: the client connections the
// simulated instances really have open (Npgsql has no public pool statistics). Linux only: matches the
// socket inodes of /proc/self/fd against /proc/net/tcp{,6}.
using System.Globalization;

namespace Tuki.Pool.Bench.ServerlessLoad;

public static class OwnTcpConnections
{
    const string Established = "01";

    public static int CountTo(int remotePort)
    {
        var inodes = new HashSet<string>();
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            // A socket descriptor links to "socket:[12345]"; descriptors may close while we look.
            var target = new FileInfo(fd).LinkTarget;
            if (target is not null && target.StartsWith("socket:[", StringComparison.Ordinal))
                inodes.Add(target[8..^1]);
        }
        var count = 0;
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
                continue;
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 10 || fields[3] != Established || !inodes.Contains(fields[9]))
                    continue;
                var port = int.Parse(fields[2].AsSpan(fields[2].IndexOf(':') + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (port == remotePort)
                    count++;
            }
        }
        return count;
    }
}
