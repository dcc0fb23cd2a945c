package fake

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/cloudlb/cloudlb/providers"
)

// ProviderName is the name the fake provider registers under (--cloud-provider=fake).
const ProviderName = "fake"

// Default address pools. 203.0.113.0/24 is TEST-NET-3 (RFC 5737), never routed.
const (
	DefaultIPPool         = "203.0.113.0/24"
	DefaultInternalIPPool = "10.255.0.0/24"
)

// hostnameSuffix follows the load balancer name in hostnames; .invalid never resolves (RFC 2606).
const hostnameSuffix = ".lb.fake.cloudlb.invalid"

// Config is the --cloud-config file of the fake provider (YAML).
type Config struct {
	// StatePath is the JSON file holding the cloud's state, shared by processes under flock;
	// "" keeps the state in memory only.
	StatePath string `json:"statePath"`
	// IPPool is the CIDR external addresses come from (default 203.0.113.0/24).
	IPPool string `json:"ipPool"`
	// InternalIPPool is the CIDR addresses of internal load balancers come from (default
	// 10.255.0.0/24); a Service asks for one through any cloud's internal annotation.
	InternalIPPool string `json:"internalIPPool"`
	// Latency is added to every simulated cloud call.
	Latency metav1.Duration `json:"latency"`
	// Hostnames reports <name>.lb.fake.cloudlb.invalid as the ingress hostname instead of the IP.
	Hostnames bool `json:"hostnames"`
	// Identity names the process in the LastWriter field of every load balancer it writes, so
	// tests can tell which of several controller processes made a change.
	Identity string `json:"identity"`
}

// withDefaults fills the unset pools.
func (c Config) withDefaults() Config {
	if c.IPPool == "" {
		c.IPPool = DefaultIPPool
	}
	if c.InternalIPPool == "" {
		c.InternalIPPool = DefaultInternalIPPool
	}
	return c
}

// pools parses and checks a defaulted Config, naming the offending field on error.
func (c Config) pools() (external, internal netip.Prefix, err error) {
	if external, err = parsePool("ipPool", c.IPPool); err != nil {
		return external, internal, err
	}
	if internal, err = parsePool("internalIPPool", c.InternalIPPool); err != nil {
		return external, internal, err
	}
	if c.Latency.Duration < 0 {
		return external, internal, fmt.Errorf("latency: %s must not be negative", c.Latency.Duration)
	}
	return external, internal, nil
}

func parsePool(field, cidr string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return p, fmt.Errorf("%s: %q is not a CIDR: %w", field, cidr, err)
	}
	return p.Masked(), nil
}

// ParseConfig reads a YAML Config; a nil reader or an empty document gives the defaults.
// Unknown fields are rejected so that a typo does not silently fall back to a default.
func ParseConfig(r io.Reader) (Config, error) {
	var cfg Config
	if r != nil {
		data, err := io.ReadAll(r)
		if err != nil {
			return cfg, fmt.Errorf("reading the %s cloud config: %w", ProviderName, err)
		}
		if len(bytes.TrimSpace(data)) > 0 {
			if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
				return cfg, fmt.Errorf("parsing the %s cloud config: %w", ProviderName, err)
			}
		}
	}
	cfg = cfg.withDefaults()
	if _, _, err := cfg.pools(); err != nil {
		return cfg, fmt.Errorf("%s cloud config: %w", ProviderName, err)
	}
	return cfg, nil
}

// registerOnce guards Register: cloudprovider.RegisterCloudProvider exits the process when a
// name is registered twice, and both the manager's main and tests may call Register.
var registerOnce sync.Once

// Register makes the fake provider available to cloudprovider.InitCloudProvider under
// ProviderName, built from the --cloud-config reader; it is safe to call more than once.
func Register() { providers.Register(&registerOnce, ProviderName, ParseConfig, New) }
