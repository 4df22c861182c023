// deploy/kubernetes checked the way a reviewer would: probes on the metrics port, the config mounted where
// the image reads it, secrets only by reference, limits set, drain on stop, selectors that match, and the
// server-connection budget respected. The ConfigMap's pooler.yaml is loaded by the pooler's own loader.
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;
using Tuki.Pool.Pooler.Configuration;
using static Tuki.Pool.Backend.Tests.Deploy.KubernetesManifests;

namespace Tuki.Pool.Backend.Tests.Deploy;

public sealed partial class KubernetesManifestTests
{
    const string ConfigPath = "/etc/tuki-pool/pooler.yaml";

    readonly KubernetesManifests _manifests = new();

    YamlMappingNode Deployment => _manifests.Single("Deployment");
    YamlMappingNode Container => Assert.Single(Items(Deployment, "spec.template.spec.containers"));

    string PoolerYaml => Scalar(_manifests.Single("ConfigMap"), "data.pooler.yaml");

    PoolerConfig LoadPoolerYaml()
    {
        // Any value will do for the secret: the test is about the file's shape, not the password.
        var loaded = YamlConfigLoader.Parse(PoolerYaml, name => name == "APP_DB_PASSWORD" ? "from-the-secret" : null);
        Assert.True(loaded.Success, string.Join("; ", loaded.Errors));
        return loaded.Config!;
    }

    [Fact]
    public void ConfigMap_PoolerYaml_LoadsWithThePoolersOwnLoader()
    {
        var config = LoadPoolerYaml();
        Assert.Equal("0.0.0.0", config.Listen.Address);
        Assert.Equal("0.0.0.0", config.Metrics.Address);
    }

    [Fact]
    public void Deployment_Probes_HealthzAndReadyzOnTheMetricsPort()
    {
        var metricsPort = LoadPoolerYaml().Metrics.Port;
        var ports = Items(Container, "ports").ToDictionary(p => Scalar(p, "name"), p => int.Parse(Scalar(p, "containerPort")));
        Assert.Equal(metricsPort, ports["metrics"]);
        Assert.Equal(LoadPoolerYaml().Listen.Port, ports["postgres"]);

        foreach (var (probe, path) in new[] { ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz") })
        {
            Assert.Equal(path, Scalar(Container, $"{probe}.httpGet.path"));
            var port = Scalar(Container, $"{probe}.httpGet.port");
            Assert.Equal(metricsPort, int.TryParse(port, out var number) ? number : ports[port]);
        }
    }

    [Fact]
    public void Deployment_Config_MountedReadOnlyWhereTheImageReadsIt()
    {
        var mount = Assert.Single(Items(Container, "volumeMounts"), m => Scalar(m, "mountPath") == Path.GetDirectoryName(ConfigPath));
        Assert.Equal("true", Scalar(mount, "readOnly"));
        var volume = Assert.Single(Items(Deployment, "spec.template.spec.volumes"), v => Scalar(v, "name") == Scalar(mount, "name"));
        Assert.Equal(Scalar(_manifests.Single("ConfigMap"), "metadata.name"), Scalar(volume, "configMap.name"));
        var item = Assert.Single(Items(volume, "configMap.items"));
        Assert.Equal(Path.GetFileName(ConfigPath), Scalar(item, "path"));

        // The container relies on the image's ENTRYPOINT; that ENTRYPOINT must read this very path.
        Assert.Null(TryNode(Container, "command"));
        Assert.Null(TryNode(Container, "args"));
        Assert.Contains($"\"--config\", \"{ConfigPath}\"", File.ReadAllText(RepositoryFiles.PathOf("Dockerfile.pooler")));
    }

    [Fact]
    public void Deployment_EveryEnvironmentReferenceOfPoolerYaml_ComesFromASecret()
    {
        var referenced = EnvReference().Matches(PoolerYaml).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.NotEmpty(referenced);
        var env = Items(Container, "env").ToDictionary(e => Scalar(e, "name"));
        foreach (var name in referenced)
        {
            Assert.True(env.TryGetValue(name, out var entry), $"${{{name}}} is used in pooler.yaml but not set in the container");
            Assert.Null(TryNode(entry!, "value")); // never a literal secret in the manifest
            Assert.NotEmpty(Scalar(entry!, "valueFrom.secretKeyRef.name"));
        }
        Assert.Empty(_manifests.OfKind("Secret")); // created out of band, never committed
    }

    [Fact]
    public void Deployment_Resources_RequestsAndLimitsForCpuAndMemory()
    {
        foreach (var kind in new[] { "requests", "limits" })
        {
            Assert.NotEmpty(Scalar(Container, $"resources.{kind}.cpu"));
            Assert.NotEmpty(Scalar(Container, $"resources.{kind}.memory"));
        }
    }

    [Fact]
    public void Deployment_Stop_PreStopDrainFitsInTheGracePeriod()
    {
        var command = Assert.IsType<YamlSequenceNode>(Node(Container, "lifecycle.preStop.exec.command")).Children.Select(c => c.ToString()).ToList();
        Assert.Equal(2, command.Count);
        Assert.Equal("sleep", command[0]);
        var preStopSeconds = int.Parse(command[1]);
        const int poolerShutdownSeconds = 30; // Program.cs: HostOptions.ShutdownTimeout
        var grace = int.Parse(Scalar(Deployment, "spec.template.spec.terminationGracePeriodSeconds"));
        Assert.True(grace > preStopSeconds + poolerShutdownSeconds, $"terminationGracePeriodSeconds {grace} leaves no time to shut down after preStop {preStopSeconds}s");
    }

    [Fact]
    public void Deployment_Security_NonRootReadOnly()
    {
        Assert.Equal("true", Scalar(Deployment, "spec.template.spec.securityContext.runAsNonRoot"));
        Assert.Equal("false", Scalar(Container, "securityContext.allowPrivilegeEscalation"));
        Assert.Equal("true", Scalar(Container, "securityContext.readOnlyRootFilesystem"));
    }

    [Fact]
    public void Budget_ReplicasTimesServerConnections_FitTheServerBudget()
    {
        var config = LoadPoolerYaml();
        var replicas = int.Parse(Scalar(Deployment, "spec.replicas"));
        var maxSurge = int.Parse(Scalar(Deployment, "spec.strategy.rollingUpdate.maxSurge"));
        var budget = int.Parse(Scalar(Deployment, "metadata.annotations.tuki-pool/server-connection-budget"));
        foreach (var (name, database) in config.Databases)
        {
            // Per replica a database gets at most its cap (or, uncapped, one pool per user).
            var perReplica = database.MaxConnections > 0 ? database.MaxConnections : database.Pool.Size * config.Users.Count;
            Assert.True((replicas + maxSurge) * perReplica <= budget,
                $"databases.{name}: ({replicas} replicas + {maxSurge} surge) x {perReplica} server connections > budget {budget}");
        }
    }

    [Fact]
    public void Selectors_ServicesAndDisruptionBudget_MatchThePods()
    {
        var podLabels = Labels(Deployment, "spec.template.metadata.labels");
        var containerPorts = Items(Container, "ports").Select(p => Scalar(p, "name")).ToHashSet();
        var services = _manifests.OfKind("Service").ToList();
        Assert.Contains(services, s => Scalar(s, "spec.type") == "LoadBalancer");
        foreach (var service in services)
        {
            Assert.All(Labels(service, "spec.selector"), l => Assert.Equal(l.Value, podLabels[l.Key]));
            Assert.All(Items(service, "spec.ports"), p => Assert.Contains(Scalar(p, "targetPort"), containerPorts));
        }
        var pdb = _manifests.Single("PodDisruptionBudget");
        Assert.All(Labels(pdb, "spec.selector.matchLabels"), l => Assert.Equal(l.Value, podLabels[l.Key]));
        Assert.True(int.Parse(Scalar(pdb, "spec.maxUnavailable")) < int.Parse(Scalar(Deployment, "spec.replicas")));
    }

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex EnvReference();
}
