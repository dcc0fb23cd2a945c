package nodeproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Actuator carries a Desired out: the health check servers, the NodePort proxy, the addresses
// on the dummy interface. Apply is called after every change with the whole desired state and
// must be idempotent; it must not modify d. An error marks the sync failed (retried, and the
// agent turns unhealthy if it keeps failing), so an actuator returns one only when this node
// cannot serve as decided; per-Service trouble is an Event. An actuator that also has a
// Close() method is closed when Run returns.
type Actuator interface {
	Apply(ctx context.Context, d *Desired) error
}

// closer is an Actuator with something to stop when the agent stops.
type closer interface{ Close() }

// DefaultSyncPeriod is kube-proxy's default --sync-period; the agent is unhealthy after no
// successful sync for twice that.
const DefaultSyncPeriod = 30 * time.Second

// retryDelay is how soon a failed sync is retried.
const retryDelay = time.Second

// Options configure the Agent.
type Options struct {
	// NodeName is this node (required).
	NodeName string
	// HealthzBindAddress is the node health server address (/healthz, /livez); empty disables it.
	HealthzBindAddress string
	// NodePortAddresses limit the health check servers to the node addresses in these CIDRs.
	NodePortAddresses []netip.Prefix
	// SyncPeriod is the periodic full sync; default DefaultSyncPeriod.
	SyncPeriod time.Duration
	// ServiceProxyName: see Input.ServiceProxyName.
	ServiceProxyName string
	// BindLoadBalancerIPs: see Input.BindLoadBalancerIPs.
	BindLoadBalancerIPs bool
}

// Deps are the agent's dependencies.
type Deps struct {
	// Client talks to the API server (required).
	Client kubernetes.Interface
	// Actuators run after the built-in health check servers, in order (the proxy, netlink).
	Actuators []Actuator
	// Clock defaults to the real clock.
	Clock clock.WithTicker
}

// Agent watches Services, EndpointSlices and its Node, decides, and drives the actuators.
type Agent struct {
	opts     Options
	deps     Deps
	health   *HealthState
	servers  *ServiceHealthServers
	events   record.EventBroadcaster
	recorder record.EventRecorder
	trigger  chan struct{}

	factories []informers.SharedInformerFactory
	synced    []cache.InformerSynced
	services  corelisters.ServiceLister
	slices    discoverylisters.EndpointSliceLister
	nodes     corelisters.NodeLister
}

// New builds an agent; Run starts it.
func New(opts Options, deps Deps) (*Agent, error) {
	if opts.NodeName == "" {
		return nil, errors.New("node name is required")
	}
	if deps.Client == nil {
		return nil, errors.New("client is required")
	}
	if opts.SyncPeriod <= 0 {
		opts.SyncPeriod = DefaultSyncPeriod
	}
	if deps.Clock == nil {
		deps.Clock = clock.RealClock{}
	}
	RegisterMetrics()
	a := &Agent{
		opts:    opts,
		deps:    deps,
		health:  NewHealthState(deps.Clock, 2*opts.SyncPeriod),
		events:  record.NewBroadcaster(),
		trigger: make(chan struct{}, 1),
	}
	a.recorder = a.events.NewRecorder(scheme.Scheme, v1.EventSource{Component: "cloudlb-nodeproxy", Host: opts.NodeName})
	a.servers = NewServiceHealthServers(HealthServerOptions{
		NodePortAddresses: opts.NodePortAddresses,
		Health:            a.health,
		Events:            a.recorder,
	})

	// Headless Services never have a NodePort; slices without a Service name cannot be joined.
	a.factories = []informers.SharedInformerFactory{
		tweaked(deps.Client, func(o *metav1.ListOptions) { o.LabelSelector = "!" + v1.IsHeadlessService }),
		tweaked(deps.Client, func(o *metav1.ListOptions) { o.LabelSelector = discoveryv1.LabelServiceName }),
		tweaked(deps.Client, func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", opts.NodeName).String()
		}),
	}
	svcInf := a.factories[0].Core().V1().Services()
	sliceInf := a.factories[1].Discovery().V1().EndpointSlices()
	nodeInf := a.factories[2].Core().V1().Nodes()
	a.synced = []cache.InformerSynced{svcInf.Informer().HasSynced, sliceInf.Informer().HasSynced, nodeInf.Informer().HasSynced}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { a.queue() },
		UpdateFunc: func(any, any) { a.queue() },
		DeleteFunc: func(any) { a.queue() },
	}
	for _, inf := range []cache.SharedIndexInformer{svcInf.Informer(), sliceInf.Informer(), nodeInf.Informer()} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, fmt.Errorf("add event handler: %w", err)
		}
	}
	a.services, a.slices, a.nodes = svcInf.Lister(), sliceInf.Lister(), nodeInf.Lister()
	return a, nil
}

// Health is the agent's health state (what /healthz and serviceProxyHealthy report).
func (a *Agent) Health() *HealthState { return a.health }

// Events is the agent's Event recorder, for actuators built after the agent (see AddActuator):
// their Events reach the API server while Run runs.
func (a *Agent) Events() EventRecorder { return a.recorder }

// AddActuator appends an actuator to Deps.Actuators; call it before Run. It lets an actuator
// that records Events be built with Events().
func (a *Agent) AddActuator(act Actuator) { a.deps.Actuators = append(a.deps.Actuators, act) }

// HealthServers are the per-Service health check servers.
func (a *Agent) HealthServers() *ServiceHealthServers { return a.servers }

// queue notes a change and wakes the sync loop; changes coalesce into one sync.
func (a *Agent) queue() {
	a.health.QueuedUpdate()
	select {
	case a.trigger <- struct{}{}:
	default:
	}
}

// Run serves until ctx is done, then stops every server it started, waiting at most stopWait
// for the informers. It returns an error only when the node health server cannot listen.
func (a *Agent) Run(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithValues("node", a.opts.NodeName)
	ctx = klog.NewContext(ctx, logger)

	var nodeSrv *http.Server
	if a.opts.HealthzBindAddress != "" {
		l, err := net.Listen("tcp", a.opts.HealthzBindAddress)
		if err != nil {
			return fmt.Errorf("node health server: %w", err)
		}
		nodeSrv = &http.Server{Handler: NodeHealthHandler(a.health), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = nodeSrv.Serve(l) }()
		logger.Info("Node health server listening", "address", l.Addr().String())
	}
	a.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: a.deps.Client.CoreV1().Events("")})
	defer a.stop(logger, nodeSrv)

	a.queue() // the first sync is pending from the start: no cache sync for 2x the period is unhealthy
	for _, f := range a.factories {
		f.Start(ctx.Done())
	}
	if !cache.WaitForCacheSync(ctx.Done(), a.synced...) {
		return nil // ctx done
	}
	logger.Info("Node agent started", "syncPeriod", a.opts.SyncPeriod)

	ticker := a.deps.Clock.NewTicker(a.opts.SyncPeriod)
	defer ticker.Stop()
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			logger.Info("Node agent stopping")
			return nil
		case <-ticker.C():
			a.queue()
			continue
		case <-retry:
			retry = nil
		case <-a.trigger:
		}
		if err := a.sync(ctx); err != nil {
			logger.Error(err, "Sync failed; retrying", "after", retryDelay)
			retry = a.deps.Clock.After(retryDelay)
		}
	}
}

// stopWait bounds how long Run waits, once ctx is done, for the informers and the Event
// broadcaster to stop. A reflector backing off from an unreachable API server sleeps up to
// 30 s without looking at its stop channel (client-go's watch-list path), while the agent is
// to exit within 2 s of SIGTERM in every state (a DaemonSet rollout waits for each node in
// turn); the process is about to exit anyway, taking whatever is left with it.
const stopWait = 500 * time.Millisecond

// stop closes every server and listener at once (probes then fail fast rather than hang),
// then gives the informers and the Event broadcaster stopWait to finish.
func (a *Agent) stop(logger klog.Logger, nodeSrv *http.Server) {
	if nodeSrv != nil {
		_ = nodeSrv.Close()
	}
	a.servers.Close()
	for i := len(a.deps.Actuators) - 1; i >= 0; i-- { // the reverse of their start, as defers would
		if c, ok := a.deps.Actuators[i].(closer); ok {
			c.Close()
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.events.Shutdown()
		for _, f := range a.factories {
			f.Shutdown()
		}
	}()
	// The real clock, not Deps.Clock: this bounds real time, and a fake clock would never fire.
	select {
	case <-done:
	case <-time.After(stopWait):
		logger.V(2).Info("Not waiting longer for the informers to stop", "waited", stopWait)
	}
}

// sync decides from the caches and applies the result.
func (a *Agent) sync(ctx context.Context) error {
	started := a.deps.Clock.Now()
	in, err := a.input()
	if err != nil {
		syncs.WithLabelValues("error").Inc()
		return err
	}
	d := Decide(in)
	a.health.SetNodeEligibility(d.NodeEligible, d.NodeReason)
	var errs []error
	for _, act := range append([]Actuator{a.servers}, a.deps.Actuators...) {
		if err := act.Apply(ctx, &d); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		syncs.WithLabelValues("error").Inc()
		return err
	}
	a.health.Updated(started)
	syncs.WithLabelValues("ok").Inc()
	lastSync.Set(float64(a.deps.Clock.Now().Unix()))
	klog.FromContext(ctx).V(4).Info("Synced", "services", len(d.Services), "nodeEligible", d.NodeEligible, "reason", d.NodeReason)
	return nil
}

// tweaked is an informer factory whose lists and watches are narrowed by tweak.
func tweaked(client kubernetes.Interface, tweak func(*metav1.ListOptions)) informers.SharedInformerFactory {
	return informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(tweak))
}

func (a *Agent) input() (Input, error) {
	in := Input{NodeName: a.opts.NodeName, ServiceProxyName: a.opts.ServiceProxyName, BindLoadBalancerIPs: a.opts.BindLoadBalancerIPs}
	var err error
	if in.Services, err = a.services.List(labels.Everything()); err != nil {
		return in, fmt.Errorf("list services: %w", err)
	}
	if in.EndpointSlices, err = a.slices.List(labels.Everything()); err != nil {
		return in, fmt.Errorf("list endpointslices: %w", err)
	}
	in.Node, _ = a.nodes.Get(a.opts.NodeName) // not found: nil, the node is not eligible
	return in, nil
}
