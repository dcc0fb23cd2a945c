package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"

	"github.com/cloudlb/cloudlb/internal/version"
	"github.com/cloudlb/cloudlb/metrics"
	"github.com/cloudlb/cloudlb/nodeproxy"
)

// defaultMetricsBindAddress serves /metrics. kube-proxy's metrics port is 10249 and both may
// run on one node (hostNetwork), so the agent takes 10263, next to the control-plane
// components' 10257-10259 range and free of the well-known node ports. Loopback, as
// kube-proxy's default: /metrics has no authentication, and with hostNetwork 0.0.0.0 would
// serve it to anyone who can reach the node.
const defaultMetricsBindAddress = "127.0.0.1:10263"

// serverStopTimeout is how long a scrape in flight at SIGTERM may finish; the agent exits
// within 2 s of SIGTERM.
const serverStopTimeout = 500 * time.Millisecond

// options are the command's flags.
type options struct {
	Kubeconfig          string
	NodeName            string
	HealthzBindAddress  string
	MetricsBindAddress  string
	NodePortAddresses   []string
	SyncPeriod          time.Duration
	ServiceProxyName    string
	KubeAPIQPS          float32
	KubeAPIBurst        int
	ProxyNodePorts      bool
	ProxyProtocol       int
	BindLoadBalancerIPs bool
	DummyInterface      string
	Logging             *logsapi.LoggingConfiguration
	nodePortAddressesIP []netip.Prefix
}

func newOptions() *options {
	return &options{
		NodeName:           os.Getenv("NODE_NAME"),
		HealthzBindAddress: nodeproxy.DefaultHealthzBindAddress,
		MetricsBindAddress: defaultMetricsBindAddress,
		SyncPeriod:         nodeproxy.DefaultSyncPeriod,
		KubeAPIQPS:         5,
		KubeAPIBurst:       10,
		DummyInterface:     nodeproxy.DefaultDummyInterface,
		Logging:            logsapi.NewLoggingConfiguration(),
	}
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to a kubeconfig file; empty uses the in-cluster service account.")
	fs.StringVar(&o.NodeName, "node-name", o.NodeName, "This node's name (required; default $NODE_NAME, set from the downward API spec.nodeName).")
	fs.StringVar(&o.HealthzBindAddress, "healthz-bind-address", o.HealthzBindAddress, "Address of the node health server (/healthz, /livez), as kube-proxy's; empty disables it.")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress, "Address of the Prometheus /metrics server, which has no authentication: the default serves loopback only, as kube-proxy's; 0.0.0.0:10263 exposes it to everyone who can reach the node (hostNetwork), the operator's choice; empty disables it.")
	fs.StringSliceVar(&o.NodePortAddresses, "nodeport-addresses", o.NodePortAddresses, "CIDRs of the node addresses the healthCheckNodePort servers listen on (e.g. 10.0.0.0/8,fd00::/8); empty listens on every address.")
	fs.DurationVar(&o.SyncPeriod, "sync-period", o.SyncPeriod, "Period of the full sync; the agent reports itself unhealthy after twice this without a successful sync.")
	fs.StringVar(&o.ServiceProxyName, "service-proxy-name", o.ServiceProxyName, "Serve only Services labelled service.kubernetes.io/service-proxy-name=<this> (kube-proxy then leaves them alone); empty serves the Services without that label, as kube-proxy does.")
	fs.Float32Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS, "Client-side QPS limit towards the API server.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "Client-side burst towards the API server.")
	fs.BoolVar(&o.ProxyNodePorts, "proxy-nodeports", o.ProxyNodePorts, "Listen on the NodePorts (TCP, UDP) of the served Services, on the --nodeport-addresses addresses, and forward to the local endpoints only; for nodes where no kube-proxy serves them. Also on for every Service when --service-proxy-name is set, since kube-proxy skips those Services.")
	fs.IntVar(&o.ProxyProtocol, "proxy-protocol", o.ProxyProtocol, "PROXY protocol version (1 or 2) the NodePort proxy sends to TCP backends so they see the client address; 0 sends none.")
	fs.BoolVar(&o.BindLoadBalancerIPs, "bind-load-balancer-ips", o.BindLoadBalancerIPs, "Put the served Services' status.loadBalancer.ingress IPs on the --dummy-interface link (created if missing), so traffic to them from this node is delivered locally; needs NET_ADMIN.")
	fs.StringVar(&o.DummyInterface, "dummy-interface", o.DummyInterface, "Dummy link for --bind-load-balancer-ips; every other address on it is removed.")
	// --logging-format, -v, --vmodule, --log-flush-frequency and the format options, as
	// kube-proxy and the controller manager take them.
	logsapi.AddFlags(o.Logging, fs)
}

// validate checks the flags and parses the CIDRs.
func (o *options) validate() error {
	var errs []error
	if o.NodeName == "" {
		errs = append(errs, errors.New("--node-name is required (or set NODE_NAME)"))
	}
	if o.SyncPeriod <= 0 {
		errs = append(errs, fmt.Errorf("--sync-period must be positive, got %s", o.SyncPeriod))
	}
	for _, addr := range []struct{ flag, v string }{{"--healthz-bind-address", o.HealthzBindAddress}, {"--metrics-bind-address", o.MetricsBindAddress}} {
		if addr.v == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr.v); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", addr.flag, addr.v, err))
		}
	}
	if o.ProxyProtocol < 0 || o.ProxyProtocol > 2 {
		errs = append(errs, fmt.Errorf("--proxy-protocol must be 0, 1 or 2, got %d", o.ProxyProtocol))
	}
	if err := nodeproxy.ValidateInterfaceName(o.DummyInterface); err != nil {
		errs = append(errs, fmt.Errorf("--dummy-interface: %w", err))
	}
	// No feature gate: the agent has no --feature-gates, so the alpha logging options (split
	// streams) stay off and contextual logging on, as in kube-proxy without --feature-gates.
	if fieldErrs := logsapi.Validate(o.Logging, nil, nil); len(fieldErrs) > 0 {
		errs = append(errs, fmt.Errorf("logging flags: %w", fieldErrs.ToAggregate()))
	}
	o.nodePortAddressesIP = nil
	for _, c := range o.NodePortAddresses {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("--nodeport-addresses %q: not a CIDR: %w", c, err))
			continue
		}
		o.nodePortAddressesIP = append(o.nodePortAddressesIP, p.Masked())
	}
	return errors.Join(errs...)
}

// agentOptions are the nodeproxy.Options of validated flags.
func (o *options) agentOptions() nodeproxy.Options {
	return nodeproxy.Options{
		NodeName:            o.NodeName,
		HealthzBindAddress:  o.HealthzBindAddress,
		NodePortAddresses:   o.nodePortAddressesIP,
		SyncPeriod:          o.SyncPeriod,
		ServiceProxyName:    o.ServiceProxyName,
		BindLoadBalancerIPs: o.BindLoadBalancerIPs,
	}
}

// proxiesNodePorts: with --service-proxy-name, kube-proxy skips the Services the agent serves,
// so nothing else would forward their NodePorts.
func (o *options) proxiesNodePorts() bool { return o.ProxyNodePorts || o.ServiceProxyName != "" }

// actuators are the optional actuators the flags turn on; the agent closes them when Run
// returns.
func (o *options) actuators(events nodeproxy.EventRecorder) ([]nodeproxy.Actuator, error) {
	var acts []nodeproxy.Actuator
	if o.proxiesNodePorts() {
		p, err := nodeproxy.NewNodePortProxies(nodeproxy.NodePortProxyOptions{
			NodePortAddresses: o.nodePortAddressesIP,
			ProxyProtocol:     o.ProxyProtocol,
			Events:            events,
		})
		if err != nil {
			return nil, err
		}
		acts = append(acts, p)
	}
	if o.BindLoadBalancerIPs {
		l, err := nodeproxy.NewLoadBalancerIPs(nodeproxy.LoadBalancerIPOptions{Interface: o.DummyInterface})
		if err != nil {
			return nil, fmt.Errorf("--bind-load-balancer-ips: %w", err)
		}
		acts = append(acts, l)
	}
	return acts, nil
}

func newCommand() *cobra.Command {
	o := newOptions()
	cmd := &cobra.Command{
		Use:   "cloudlb-nodeproxy",
		Short: "Node agent for externalTrafficPolicy: Local Services: kube-proxy-compatible health checks, an optional NodePort proxy and load balancer IPs on a dummy interface",
		Args:  cobra.NoArgs,
		// --version prints this and exits before the flags are validated (no --node-name needed).
		Version: version.Get().String(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			if err := logsapi.ValidateAndApply(o.Logging, nil); err != nil { // nil: see validate
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			// After the first signal, a second one kills at once, as without a handler.
			context.AfterFunc(ctx, stop)
			return run(ctx, o)
		},
	}
	cmd.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	o.addFlags(cmd.Flags())
	return cmd
}

// run serves until ctx is done (SIGTERM), then stops the servers.
func run(ctx context.Context, o *options) error {
	logger := klog.FromContext(ctx)
	cfg, err := restConfig(o.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = o.KubeAPIQPS, o.KubeAPIBurst
	cfg.UserAgent = "cloudlb-nodeproxy"
	apiMonitor := nodeproxy.NewAPIServerMonitor(cfg.Host, nil)
	cfg.Wrap(apiMonitor.WrapTransport)
	go apiMonitor.Run(ctx)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	agent, err := nodeproxy.New(o.agentOptions(), nodeproxy.Deps{Client: client})
	if err != nil {
		return err
	}
	acts, err := o.actuators(agent.Events())
	if err != nil {
		return err
	}
	for _, act := range acts {
		agent.AddActuator(act)
	}
	if o.MetricsBindAddress != "" {
		metrics.RegisterBuildInfo()
		l, err := net.Listen("tcp", o.MetricsBindAddress)
		if err != nil {
			return fmt.Errorf("metrics server: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", legacyregistry.Handler())
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(l) }()
		logger.Info("Metrics server listening", "address", l.Addr().String())
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), serverStopTimeout)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				_ = srv.Close() // a scrape still running: cut it
			}
		}()
	}
	return agent.Run(ctx)
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster config (pass --kubeconfig outside a cluster): %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load --kubeconfig: %w", err)
	}
	return cfg, nil
}
