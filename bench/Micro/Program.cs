// Runs the micro-benchmarks: dotnet run -c Release --project bench/Micro -- --filter '*'
// BenchmarkDotNet's short job (3 warm-up + 3 measured iterations) with the memory diagnoser, in process: the
// machine is shared, so a long job would not buy precision (allocations are exact anyway), and in process the
// benchmarks run with the pooler's own GC settings (Directory.Build.props) and no generated project to build.
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

var config = DefaultConfig.Instance
    .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
    .AddDiagnoser(MemoryDiagnoser.Default);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
