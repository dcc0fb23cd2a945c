package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudlb/cloudlb/servicecontroller"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cloud-provider/app"
	"k8s.io/cloud-provider/names"
	"k8s.io/cloud-provider/options"
	cliflag "k8s.io/component-base/cli/flag"
)

const (
	// commandName is the binary's name, shown in --help.
	commandName = "cloudlb-controller-manager"

	// defaultConcurrentServiceSyncs replaces upstream's default of 1. With one worker every
	// EnsureLoadBalancer after a restart or a leader change runs one after the other, so a
	// cluster with hundreds of LoadBalancer Services waits minutes for the last one; our
	// reconciles are cheap when nothing changed, so ten workers cost little.
	defaultConcurrentServiceSyncs = 10

	// defaultLeaderElectionLease replaces upstream's "cloud-controller-manager". We usually run
	// next to a provider's own cloud-controller-manager (with its service controller disabled);
	// sharing its Lease would let only one of the two binaries run at a time.
	defaultLeaderElectionLease = "cloudlb-controller-manager"

	// cloudlbFlagSetName names the --help section that holds cloudlb's own flags.
	cloudlbFlagSetName = "cloudlb"
)

// cloudlbOptions holds the flags cloudlb adds to the standard cloud-controller-manager ones.
type cloudlbOptions struct {
	// LoadBalancerClass is the spec.loadBalancerClass served; "" serves Services without a class.
	LoadBalancerClass string
	// NodeBatchWindow collects node changes into one reconcile per affected Service: the
	// changes must be quiet this long.
	NodeBatchWindow time.Duration
	// NodeBatchMaxWait bounds how long a batch of node changes waits while changes keep coming.
	NodeBatchMaxWait time.Duration
	// DriftRepairPeriod is how often every load balancer is re-checked against the cloud; 0 disables.
	DriftRepairPeriod time.Duration

	// clusterNameSet records whether --cluster-name (upstream's flag) was given: without it the
	// cluster identity is discovered (clusterid.go), not taken from the flag's default.
	clusterNameSet bool
}

// newCloudlbOptions returns the defaults of cloudlb's flags.
func newCloudlbOptions() *cloudlbOptions {
	return &cloudlbOptions{
		NodeBatchWindow:   servicecontroller.DefaultNodeBatchWindow,
		NodeBatchMaxWait:  servicecontroller.DefaultNodeBatchMaxWait,
		DriftRepairPeriod: 10 * time.Minute,
	}
}

// addFlags registers cloudlb's flags on fs.
func (o *cloudlbOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.LoadBalancerClass, "load-balancer-class", o.LoadBalancerClass,
		`The spec.loadBalancerClass this controller serves. Empty: only Services without a class, like the upstream service controller. `+
			`Set it (e.g. "example.com/cloudlb") to run next to another load-balancer implementation and serve only Services that ask for this class.`)
	fs.DurationVar(&o.NodeBatchWindow, "node-batch-window", o.NodeBatchWindow,
		"How long node changes must be quiet before the affected Services are reconciled once for the whole batch.")
	fs.DurationVar(&o.NodeBatchMaxWait, "node-batch-max-wait", o.NodeBatchMaxWait,
		"The longest a batch of node changes waits while changes keep coming (a scale-up brings nodes one after the other): "+
			"the affected Services are reconciled this long after the batch's first change at the latest. Below --node-batch-window it acts as a fixed window.")
	fs.DurationVar(&o.DriftRepairPeriod, "drift-repair-period", o.DriftRepairPeriod,
		"How often every load balancer is compared with the cloud and repaired if it drifted (e.g. edited outside Kubernetes). 0 disables drift repair.")
}

// validate reports every invalid cloudlb flag value.
func (o *cloudlbOptions) validate() error {
	var errs []error
	if o.LoadBalancerClass != "" {
		if msgs := validation.IsQualifiedName(o.LoadBalancerClass); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--load-balancer-class %q is not a valid spec.loadBalancerClass: %s", o.LoadBalancerClass, strings.Join(msgs, "; ")))
		}
	}
	if o.NodeBatchWindow < 0 {
		errs = append(errs, fmt.Errorf("--node-batch-window %s must not be negative", o.NodeBatchWindow))
	}
	if o.NodeBatchMaxWait < 0 {
		errs = append(errs, fmt.Errorf("--node-batch-max-wait %s must not be negative", o.NodeBatchMaxWait))
	}
	if o.DriftRepairPeriod < 0 {
		errs = append(errs, fmt.Errorf("--drift-repair-period %s must not be negative (0 disables drift repair)", o.DriftRepairPeriod))
	}
	return errors.Join(errs...)
}

// newCommand builds the cobra command: upstream's cloud-controller-manager command with our
// defaults, our flags, our providers and our service controller. sd stops a running command
// and runs our controllers.
func newCommand(sd *shutdown) (*cobra.Command, error) {
	cmd, _, err := newCommandWithOptions(sd)
	return cmd, err
}

// newCommandWithOptions is newCommand, also returning cloudlb's options the command fills in.
func newCommandWithOptions(sd *shutdown) (*cobra.Command, *cloudlbOptions, error) {
	ccmOptions, err := options.NewCloudControllerManagerOptions()
	if err != nil {
		return nil, nil, fmt.Errorf("initialise cloud-controller-manager options: %w", err)
	}
	// Both defaults must be set before the command is built: the flags take their defaults from here.
	ccmOptions.ServiceController.ConcurrentServiceSyncs = defaultConcurrentServiceSyncs
	ccmOptions.Generic.LeaderElection.ResourceName = defaultLeaderElectionLease
	ccmOptions.Generic.Controllers = defaultControllers()
	ccmOptions.Generic.ClientConnection.QPS = servicecontroller.DefaultKubeAPIQPS
	ccmOptions.Generic.ClientConnection.Burst = servicecontroller.DefaultKubeAPIBurst

	extra := newCloudlbOptions()
	var additional cliflag.NamedFlagSets
	extra.addFlags(additional.FlagSet(cloudlbFlagSetName))

	providers := registerProviders()
	cmd := app.NewCloudControllerManagerCommand(ccmOptions, newCloudInitializer(providers),
		controllerConstructors(extra, sd), names.CCMControllerAliases(), additional, sd.stop())
	cmd.Use = commandName
	cmd.Long = `cloudlb-controller-manager reconciles Services of type LoadBalancer into cloud load balancers.

It is a cloud-controller-manager: the standard flags, leader election on a Lease and the
secure port (10258: /healthz, /metrics) work as in any other one. Its service controller
("service", i.e. service-lb-controller) is cloudlb's; the upstream cloud-node,
cloud-node-lifecycle and route controllers can be enabled with --controllers.`
	// Upstream's RunE validates its own options; ours are checked first so a bad value fails
	// before any connection to the API server is made. --version is answered before both, as
	// upstream answers it before its own validation.
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if versionRequested(cmd) {
			return nil
		}
		extra.clusterNameSet = cmd.Flags().Changed(clusterNameFlag)
		return extra.validate()
	}
	upstreamRunE := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if printVersionIfRequested(cmd, cmd.OutOrStdout()) {
			return nil
		}
		return upstreamRunE(cmd, args)
	}
	if f := cmd.Flags().Lookup("cloud-provider"); f != nil {
		// The same *pflag.Flag is printed by --help. Upstream's text offers "empty for no
		// provider", which this binary, whose only purpose is a provider's load balancers, refuses.
		f.Usage = fmt.Sprintf("The cloud provider that implements load balancers. Required. Registered providers: %s.", strings.Join(providers, ", "))
	}
	if f := cmd.Flags().Lookup(clusterNameFlag); f != nil {
		// Upstream's text says only "The instance prefix for the cluster."; ours is the identity
		// of every cloud object, and its default is not used by the real clouds.
		f.Usage = "The cluster's identity in the cloud objects it owns (ownership tags, shared object names). " +
			"When not given, the aws and gce providers discover it where their upstream providers do, and azure takes azure.json's clusterName; " +
			"the controller refuses to start when none is found. The fake provider uses the default."
	}
	return cmd, extra, nil
}
