package servicecontroller

import (
	"errors"
	"fmt"
	"time"

	"github.com/cloudlb/cloudlb/annotations"
)

// Defaults applied by New to zero-valued Options fields.
const (
	// DefaultWorkers is higher than upstream's --concurrent-service-syncs default of 1: with one
	// worker, a restart or leader change with N Services takes N x Ensure latency before a new
	// Service is looked at (hours on large clusters, see cloud-provider-azure#5909 and
	// oci-cloud-controller-manager#210). Ten is what Gardener runs in production.
	DefaultWorkers = 10
	// DefaultNodeBatchWindow is how long node events must stay quiet before one node pass.
	DefaultNodeBatchWindow = time.Second
	// DefaultNodeBatchMaxWait bounds how long a batch of node events is held while events keep
	// coming: a cluster autoscaler's scale-up brings its nodes Ready one after the other over
	// several seconds, and each pass costs every load balancer a write; 15 s covers a burst of
	// 100 nodes within 10 s (issue 16) with one pass, while a node still reaches the load
	// balancers in at most 15 s during continuous churn.
	DefaultNodeBatchMaxWait = 15 * time.Second
	// DefaultDriftRepairPeriod is the drift repair period callers (flags) should default to.
	// New does not apply it: a zero DriftRepairPeriod disables drift repair.
	DefaultDriftRepairPeriod = 10 * time.Minute
	// DefaultMinRetryDelay is the first per-Service backoff after a transient error (as upstream).
	DefaultMinRetryDelay = 5 * time.Second
	// DefaultMaxRetryDelay caps the per-Service backoff (as upstream).
	DefaultMaxRetryDelay = 5 * time.Minute

	// DefaultKubeAPIQPS and DefaultKubeAPIBurst are the controller manager's client-side limit
	// towards the kube-apiserver (--kube-api-qps, --kube-api-burst), replacing upstream's 20 and
	// 30. A new Service costs the controller two writes (finalizer, status) and two Events, so
	// 20/s bounded convergence at about 5 Services/s whatever the cloud allowed: 1,000 Services
	// took 109 s, of which 1,069 s of summed waiting were the token bucket. At 100/s the bound is
	// about 25 Services/s, far above what a cloud's write limit allows (AWS's ELB APIs: about
	// 10 calls/s for a dozen calls per load balancer), so the cloud, not the client, bounds a
	// cold start. The kube-apiserver is protected by API Priority and Fairness: the
	// controller's service account falls in the workload-high level, where 100 short requests
	// a second hold about one seat.
	DefaultKubeAPIQPS   = 100
	DefaultKubeAPIBurst = 200
)

// Options configures a Controller.
type Options struct {
	// ClusterName is passed to every cloud call (--cluster-name).
	ClusterName string
	// LoadBalancerClass is the spec.loadBalancerClass served: "" serves only Services without a
	// class, any other value only Services whose class equals it.
	LoadBalancerClass string
	// AnnotationCloud is the cloud whose annotations annotations.Parse checks.
	AnnotationCloud annotations.Cloud
	// Workers is the number of Services reconciled in parallel (--concurrent-service-syncs);
	// 0 means DefaultWorkers. It also bounds the parallelism of a node pass.
	Workers int
	// NodeBatchWindow is how long node events must stay quiet before one node pass runs for
	// all of them; 0 means DefaultNodeBatchWindow.
	NodeBatchWindow time.Duration
	// NodeBatchMaxWait bounds how long after the first event of a batch its pass runs, however
	// many events follow; 0 means DefaultNodeBatchMaxWait. Values below NodeBatchWindow act as
	// NodeBatchWindow (a fixed window).
	NodeBatchMaxWait time.Duration
	// DriftRepairPeriod is how often every Service is re-ensured, spread over the period;
	// 0 disables drift repair (flags default to DefaultDriftRepairPeriod).
	DriftRepairPeriod time.Duration
	// MinRetryDelay is the first backoff after a transient error; 0 means DefaultMinRetryDelay.
	MinRetryDelay time.Duration
	// MaxRetryDelay caps the backoff; 0 means DefaultMaxRetryDelay.
	MaxRetryDelay time.Duration
}

// withDefaults fills zero fields and rejects inconsistent values.
func (o Options) withDefaults() (Options, error) {
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.NodeBatchWindow == 0 {
		o.NodeBatchWindow = DefaultNodeBatchWindow
	}
	if o.NodeBatchMaxWait == 0 {
		o.NodeBatchMaxWait = DefaultNodeBatchMaxWait
	}
	if o.MinRetryDelay == 0 {
		o.MinRetryDelay = DefaultMinRetryDelay
	}
	if o.MaxRetryDelay == 0 {
		o.MaxRetryDelay = DefaultMaxRetryDelay
	}
	var errs []error
	if o.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers must be positive, got %d", o.Workers))
	}
	if o.NodeBatchWindow < 0 {
		errs = append(errs, fmt.Errorf("node batch window must not be negative, got %s", o.NodeBatchWindow))
	}
	if o.NodeBatchMaxWait < 0 {
		errs = append(errs, fmt.Errorf("node batch max wait must not be negative, got %s", o.NodeBatchMaxWait))
	}
	if o.DriftRepairPeriod < 0 {
		errs = append(errs, fmt.Errorf("drift repair period must not be negative (0 disables it), got %s", o.DriftRepairPeriod))
	}
	if o.MinRetryDelay < 0 || o.MaxRetryDelay < o.MinRetryDelay {
		errs = append(errs, fmt.Errorf("retry delays must satisfy 0 < min <= max, got min %s, max %s", o.MinRetryDelay, o.MaxRetryDelay))
	}
	if _, err := annotations.ParseCloud(string(o.AnnotationCloud)); err != nil {
		errs = append(errs, fmt.Errorf("annotation cloud: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("invalid service controller options: %w", err)
	}
	return o, nil
}
