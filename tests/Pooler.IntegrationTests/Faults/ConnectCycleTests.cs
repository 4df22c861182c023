// 10,000 client connect/disconnect cycles (100,000 with TUKI_LONG_FAULTS=1) against the in-process pooler: its
// managed memory after a full GC and its open file descriptors must come back to where they were. Clients vary:
// clean Terminate, a query first, a reset (RST) without Terminate, a close mid-startup.
using System.Diagnostics;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;
using Xunit.Abstractions;

namespace Tuki.Pool.Pooler.IntegrationTests.Faults;

[Collection("postgres")]
public sealed class ConnectCycleTests(PostgresFixture pg, ITestOutputHelper output)
{
    private const int Concurrency = 8;
    private const long MemoryTolerance = 4 * 1024 * 1024; // a leak of 400 bytes per cycle would show
    private const int DescriptorTolerance = 16;

    [Fact]
    public async Task ManyConnectDisconnectCycles_NoGrowthInMemoryOrDescriptors()
    {
        if (!OperatingSystem.IsLinux()) { output.WriteLine("skipped: /proc/self/fd is Linux only"); return; }
        var db = await pg.CreateDatabaseAsync("fault_cycles");
        await using var pooler = PoolerHarness.Start(pg, db, auth: "trust", pool: FaultSettings.Pool);

        await CyclesAsync(pooler, db, 500); // warm-up: pool servers, JIT, pipe memory pools
        var (memoryBefore, fdsBefore) = await SettleAsync(pooler);

        var cycles = FaultSettings.ConnectCycles;
        var clock = Stopwatch.StartNew();
        await CyclesAsync(pooler, db, cycles);
        var elapsed = clock.Elapsed;
        var (memoryAfter, fdsAfter) = await SettleAsync(pooler);

        output.WriteLine($"{cycles:N0} cycles in {elapsed.TotalSeconds:0.0} s ({cycles / elapsed.TotalSeconds:0}/s), concurrency {Concurrency}");
        output.WriteLine($"managed memory {memoryBefore / 1024:N0} KiB -> {memoryAfter / 1024:N0} KiB; descriptors {fdsBefore} -> {fdsAfter}");
        Assert.True(memoryAfter - memoryBefore < MemoryTolerance, $"memory grew by {(memoryAfter - memoryBefore) / 1024:N0} KiB");
        Assert.True(fdsAfter - fdsBefore < DescriptorTolerance, $"descriptors grew from {fdsBefore} to {fdsAfter}");
        Assert.True(await ServerChecks.BackendPidsAsync(pg.SuperuserConnectionString, db.Database, db.User) is { Count: <= FaultSettings.PoolSize });
    }

    private static async Task CyclesAsync(PoolerHarness pooler, (string Database, string User, string Password) db, int cycles)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < cycles)
                await OneCycleAsync(pooler.Port, db, i);
        })));
    }

    private static async Task OneCycleAsync(int port, (string Database, string User, string Password) db, int i)
    {
        var client = await RawClient.ConnectAsync(port);
        try
        {
            if (i % 50 == 7)
            {
                await client.SendAsync([0, 0, 0, 64, 0, 3, 0, 0]); // half a startup packet, then gone
                client.Kill();
                return;
            }
            await client.SendStartupAsync(("user", db.User), ("database", db.Database));
            Assert.Equal('Z', (await client.ReadUntilReadyAsync())[^1].Type);
            if (i % 10 == 3)
            {
                await client.SendQueryAsync("SELECT 1");
                Assert.Equal('Z', (await client.ReadUntilReadyAsync())[^1].Type);
            }
            if (i % 10 == 5)
            {
                client.Kill(); // RST, no Terminate
                return;
            }
            await client.SendAsync(Wire.Terminate());
        }
        finally
        {
            await client.DisposeAsync();
        }
    }

    /// <summary>Waits until the pooler has no client left, then measures after a full, compacting GC.</summary>
    private static async Task<(long Memory, int Descriptors)> SettleAsync(PoolerHarness pooler)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (pooler.Runtime.Clients.ClientCount > 0 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Equal(0, pooler.Runtime.Clients.ClientCount);
        await Task.Delay(200); // sessions finish their close after the count drops
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        return (GC.GetTotalMemory(forceFullCollection: true), Directory.GetFiles("/proc/self/fd").Length);
    }
}
