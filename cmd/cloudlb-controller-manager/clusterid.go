package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"k8s.io/client-go/kubernetes"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/providers"
	"github.com/cloudlb/cloudlb/providers/azure"
)

// clusterNameFlag is k8s.io/cloud-provider's flag naming the cluster in cloud objects.
const clusterNameFlag = "cluster-name"

// discoveryTimeout bounds the look-up of the cluster identity: an instance metadata service
// that does not answer (not on EC2) must not hold the start for long.
const discoveryTimeout = 30 * time.Second

// clusterIdentity is what decides the cluster name the service controller passes to every
// cloud call.
type clusterIdentity struct {
	// provider is --cloud-provider.
	provider string
	// flagValue is --cluster-name's value, and flagSet whether it was given on the command line.
	flagValue string
	flagSet   bool
	// discoverer finds the identity where the upstream provider finds it; nil for a provider
	// whose objects carry no identity: the fake, whose objects live in its own memory or state
	// file, shared with no other controller.
	discoverer providers.ClusterIDDiscoverer
	// configNamesCluster is cloudprovider.Interface.HasClusterID: the cloud config names the
	// cluster, and the provider uses that name over --cluster-name.
	configNamesCluster bool
}

// newClusterIdentity gathers the inputs of the decision for cloud.
func newClusterIdentity(provider, configFile, flagValue string, flagSet bool, cloud cloudprovider.Interface) clusterIdentity {
	ci := clusterIdentity{provider: provider, flagValue: flagValue, flagSet: flagSet, configNamesCluster: cloud.HasClusterID()}
	switch d, ok := cloud.(providers.ClusterIDDiscoverer); {
	case ok:
		ci.discoverer = d
	case provider == azure.ProviderName:
		ci.discoverer = azureIdentity{configFile: configFile}
	}
	return ci
}

// resolve returns the cluster name to run with. Without --cluster-name it is the identity the
// provider discovers, and a provider that finds none is an error (rather than owning every
// object tagged with the default "kubernetes"); the fake needs none and keeps the default.
// With --cluster-name the flag is used; a different discovered identity is logged.
func (ci clusterIdentity) resolve(ctx context.Context, logger klog.Logger, client kubernetes.Interface) (string, error) {
	if ci.discoverer == nil {
		return ci.flagValue, nil
	}
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	id, source, err := ci.discoverer.DiscoverClusterID(ctx, client)
	if !ci.flagSet {
		if err != nil {
			return "", fmt.Errorf("no cluster identity for --cloud-provider=%s: %w; set --%s=<name> to the identity its cloud objects carry (docs/deploying.md, \"Cluster identity\")",
				ci.provider, err, clusterNameFlag)
		}
		logger.Info("Cluster identity discovered", "clusterName", id, "source", source)
		return id, nil
	}
	switch {
	case err != nil:
		logger.V(2).Info("Cluster identity not discovered; --cluster-name gives it", "clusterName", ci.flagValue, "reason", err.Error())
	case id != ci.flagValue && ci.configNamesCluster:
		logger.Info("WARNING: --cluster-name differs from the cluster the cloud config names; the provider owns cloud objects through the cloud config's",
			"clusterName", ci.flagValue, "discovered", id, "source", source)
	case id != ci.flagValue:
		logger.Info("WARNING: --cluster-name differs from the cluster identity the provider discovered; --cluster-name is used",
			"clusterName", ci.flagValue, "discovered", id, "source", source)
	}
	return ci.flagValue, nil
}

// azureIdentity is Azure's identity: upstream cloud-provider-azure discovers none; it names
// the load balancers (<name>, <name>-internal) and tags public IPs with --cluster-name, whose
// default "kubernetes" is also AKS's. A default taken silently would adopt another cluster's
// load balancer of that name, so cloudlb wants it said: --cluster-name, or azure.json's
// clusterName (which the provider uses over --cluster-name).
type azureIdentity struct{ configFile string }

var _ providers.ClusterIDDiscoverer = azureIdentity{}

// DiscoverClusterID returns azure.json's clusterName.
func (a azureIdentity) DiscoverClusterID(context.Context, kubernetes.Interface) (string, string, error) {
	if a.configFile != "" {
		f, err := os.Open(a.configFile)
		if err != nil {
			return "", "", fmt.Errorf("azure: reading the cloud config: %w", err)
		}
		defer f.Close()
		cc, err := azure.ParseCloudConfig(f)
		if err != nil {
			return "", "", err
		}
		if cc.ClusterName != "" {
			return cc.ClusterName, "azure.json clusterName", nil
		}
	}
	return "", "", fmt.Errorf("azure: azure.json sets no clusterName, and upstream cloud-provider-azure discovers none: the load balancers are named after the cluster name (AKS's is \"kubernetes\"): %w",
		providers.ErrNoClusterID)
}
