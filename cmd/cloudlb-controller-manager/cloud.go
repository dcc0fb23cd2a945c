package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/cloud-provider/app"
	"k8s.io/cloud-provider/app/config"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/annotations"
	"github.com/cloudlb/cloudlb/providers/aws"
	"github.com/cloudlb/cloudlb/providers/azure"
	"github.com/cloudlb/cloudlb/providers/fake"
	"github.com/cloudlb/cloudlb/providers/gce"
)

// registerProviders registers every cloud provider compiled into this binary with
// k8s.io/cloud-provider and returns their names.
//
// To add a provider: call its Register() here, append its name to the returned list, and
// map the name to its annotations.Cloud in annotationCloudFor.
func registerProviders() []string {
	fake.Register()
	aws.Register()
	azure.Register()
	gce.Register()
	return []string{fake.ProviderName, aws.ProviderName, azure.ProviderName, gce.ProviderName}
}

// annotationCloudFor returns the cloud whose annotations the service controller validates
// for the given --cloud-provider. Providers that are not a real cloud (fake) accept the
// annotations of every cloud, so examples written for any cloud run against them.
func annotationCloudFor(provider string) annotations.Cloud {
	switch provider {
	case "aws":
		return annotations.AWS
	case "azure":
		return annotations.Azure
	case "gce":
		return annotations.GCE
	default:
		return annotations.AnyCloud
	}
}

// newCloudInitializer returns the app.InitCloudFunc that builds the --cloud-provider; any
// failure ends the process with a message naming the registered providers.
func newCloudInitializer(registered []string) app.InitCloudFunc {
	return func(completed *config.CompletedConfig) cloudprovider.Interface {
		cp := completed.ComponentConfig.KubeCloudShared.CloudProvider
		cloud, err := initCloud(cp.Name, cp.CloudConfigFile, registered)
		if err != nil {
			klog.ErrorS(err, "Cannot initialise the cloud provider")
			klog.FlushAndExit(klog.ExitFlushTimeout, 1)
		}
		if kv := startupSettings(cp.Name, cp.CloudConfigFile, cloud); kv != nil {
			// Once, at start: what the provider runs with, so a setting that has no effect
			// shows before it surprises anyone.
			klog.InfoS("Cloud provider configured", kv...)
		}
		if !cloud.HasClusterID() {
			// Ownership of cloud resources is decided by tags carrying the cluster name, which the
			// service controller resolves before it starts (clusterid.go); upstream's "ClusterID"
			// check guards in-tree tag schemes we do not use.
			klog.InfoS("Cloud config names no cluster; cloud resources are owned through --cluster-name or the identity the provider discovers",
				"provider", cp.Name)
		}
		return cloud
	}
}

// settingsLister is a provider that lists the settings it runs with, as klog key/value pairs
// with secrets redacted.
type settingsLister interface {
	EffectiveConfig() []any
}

var (
	_ settingsLister = (*aws.Cloud)(nil)
	_ settingsLister = (*azure.Cloud)(nil)
	_ settingsLister = (*gce.Cloud)(nil)
)

// startupSettings is the key/value list of the start-up log line for cloud: the provider,
// its --cloud-config file and the settings it runs with; nil when it lists none.
func startupSettings(name, configFile string, cloud cloudprovider.Interface) []any {
	l, ok := cloud.(settingsLister)
	if !ok {
		return nil
	}
	return append([]any{"provider", name, "cloudConfig", configFile}, l.EffectiveConfig()...)
}

// initCloud creates the named provider from its optional config file; registered lists the
// names this binary knows, for the error messages.
func initCloud(name, configFile string, registered []string) (cloudprovider.Interface, error) {
	known := strings.Join(registered, ", ")
	switch {
	case name == "":
		return nil, fmt.Errorf("--cloud-provider is required; registered providers: %s", known)
	case cloudprovider.IsExternal(name):
		return nil, fmt.Errorf("--cloud-provider=%s names no provider (this binary is the external cloud controller); registered providers: %s", name, known)
	case !slices.Contains(registered, name):
		return nil, fmt.Errorf("unknown --cloud-provider %q; registered providers: %s", name, known)
	}
	if configFile != "" {
		// InitCloudProvider exits the process on an unreadable file; check first to say why.
		f, err := os.Open(configFile)
		if err != nil {
			return nil, fmt.Errorf("--cloud-config for provider %q: %w", name, err)
		}
		f.Close()
	}
	cloud, err := cloudprovider.InitCloudProvider(name, configFile)
	if err != nil {
		return nil, fmt.Errorf("initialise cloud provider %q: %w", name, err)
	}
	if cloud == nil {
		return nil, fmt.Errorf("cloud provider %q returned no cloud; registered providers: %s", name, known)
	}
	return cloud, nil
}
