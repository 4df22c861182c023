// The per-thread crypto helpers against the framework's one-shot calls: same HMACs whatever the key order (more keys
// than a thread keeps contexts for), and random draws that never repeat and leave nothing behind in the block.
using System.Security.Cryptography;
using Tuki.Pool.Pooler.Auth;

namespace Tuki.Pool.Pooler.Tests.Auth;

public sealed class ThreadCryptoTests
{
    [Fact]
    public void HmacSha256_ManyKeysInterleaved_MatchesOneShot()
    {
        var keys = Enumerable.Range(0, 9).Select(_ => RandomNumberGenerator.GetBytes(32)).ToArray();
        var expected = new byte[32];
        var actual = new byte[32];
        for (var round = 0; round < 50; round++)
        {
            var key = keys[(round * 7) % keys.Length];
            var data = RandomNumberGenerator.GetBytes(round * 13);
            HMACSHA256.HashData(key, data, expected);
            HmacSha256.HashData(key, data, actual);
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void HmacSha256_ConcurrentThreads_MatchOneShot()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        Parallel.For(0, 4, _ =>
        {
            var expected = new byte[32];
            var actual = new byte[32];
            for (var i = 0; i < 2_000; i++)
            {
                var data = BitConverter.GetBytes(i);
                HMACSHA256.HashData(key, data, expected);
                HmacSha256.HashData(key, data, actual);
                Assert.Equal(expected, actual);
            }
        });
    }

    [Fact]
    public void RandomBytes_DrawsAcrossBlocks_NeverRepeat()
    {
        // 18-byte draws (a SCRAM nonce) cross many 512-byte block boundaries; any reuse would show as a duplicate.
        var seen = new HashSet<string>();
        var nonce = new byte[18];
        for (var i = 0; i < 5_000; i++)
        {
            RandomBytes.Fill(nonce);
            Assert.True(seen.Add(Convert.ToBase64String(nonce)));
        }
        var large = new byte[4096];
        RandomBytes.Fill(large);
        Assert.Contains(large, b => b != 0);
    }

    [Fact]
    public void RandomBytes_NextInt32_SpreadsOverTheRange()
    {
        var values = Enumerable.Range(0, 1_000).Select(_ => RandomBytes.NextInt32()).ToArray();
        Assert.Equal(values.Length, values.Distinct().Count());
        Assert.Contains(values, v => v < 0);
        Assert.Contains(values, v => v > 0);
    }
}
