package azure

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/cloudlb/cloudlb/providers"
)

// ProviderName is the name the provider registers under (--cloud-provider=azure).
const ProviderName = "azure"

// Probe modes of clusterServiceLoadBalancerHealthProbeMode.
const (
	ProbeModeServiceNodePort = "servicenodeport"
	ProbeModeShared          = "shared"
)

// CloudConfig is the upstream azure.json, so users switch without rewriting it. Keys
// cloudlb does not act on (VM types, route tables, per-resource rate limits, ...) are ignored as upstream
// ignores unknown keys.
type CloudConfig struct {
	Cloud          string `json:"cloud,omitempty"`
	TenantID       string `json:"tenantId,omitempty"`
	SubscriptionID string `json:"subscriptionId,omitempty"`
	ResourceGroup  string `json:"resourceGroup,omitempty"`
	Location       string `json:"location,omitempty"`

	// Credentials, chosen as upstream chooses them (see credentials.go).
	AADClientID           string `json:"aadClientId,omitempty"`
	AADClientSecret       string `json:"aadClientSecret,omitempty" datapolicy:"token"`
	AADClientCertPath     string `json:"aadClientCertPath,omitempty"`
	AADClientCertPassword string `json:"aadClientCertPassword,omitempty" datapolicy:"password"`
	// UseManagedIdentityExtension authenticates with the node's managed identity; which one
	// is UserAssignedIdentityID (a client ID or a resource ID), "" meaning system-assigned.
	UseManagedIdentityExtension bool   `json:"useManagedIdentityExtension,omitempty"`
	UserAssignedIdentityID      string `json:"userAssignedIdentityID,omitempty"`
	// UseFederatedWorkloadIdentityExtension exchanges the service account token in
	// AADFederatedTokenFile for an Entra ID token (workload identity).
	UseFederatedWorkloadIdentityExtension bool   `json:"useFederatedWorkloadIdentityExtension,omitempty"`
	AADFederatedTokenFile                 string `json:"aadFederatedTokenFile,omitempty"`

	VNetName                   string `json:"vnetName,omitempty"`
	VNetResourceGroup          string `json:"vnetResourceGroup,omitempty"`
	SubnetName                 string `json:"subnetName,omitempty"`
	SecurityGroupName          string `json:"securityGroupName,omitempty"`
	SecurityGroupResourceGroup string `json:"securityGroupResourceGroup,omitempty"`
	// PrivateLinkServiceResourceGroup holds Private Link Services without
	// azure-pls-resource-group; "" means resourceGroup.
	PrivateLinkServiceResourceGroup string `json:"privateLinkServiceResourceGroup,omitempty"`

	LoadBalancerSKU           string `json:"loadBalancerSku,omitempty"`
	LoadBalancerResourceGroup string `json:"loadBalancerResourceGroup,omitempty"`
	// LoadBalancerName is the base name of the load balancers; "" means the cluster name.
	LoadBalancerName string `json:"loadBalancerName,omitempty"`
	// ClusterName overrides the controller's --cluster-name for tags and names.
	ClusterName         string `json:"clusterName,omitempty"`
	DisableOutboundSNAT bool   `json:"disableOutboundSNAT,omitempty"`
	// ExcludeMasterFromStandardLB keeps control-plane nodes out of the pool; nil means true.
	ExcludeMasterFromStandardLB *bool `json:"excludeMasterFromStandardLB,omitempty"`

	// ResourceManagerEndpoint overrides the cloud's ARM endpoint (Azure Stack, or the fake).
	ResourceManagerEndpoint string `json:"resourceManagerEndpoint,omitempty"`

	ClusterServiceLoadBalancerHealthProbeMode       string `json:"clusterServiceLoadBalancerHealthProbeMode,omitempty"`
	ClusterServiceSharedLoadBalancerHealthProbePort int32  `json:"clusterServiceSharedLoadBalancerHealthProbePort,omitempty"`
	ClusterServiceSharedLoadBalancerHealthProbePath string `json:"clusterServiceSharedLoadBalancerHealthProbePath,omitempty"`

	// Client-side rate limits, upstream's keys and meaning: with CloudProviderRateLimit,
	// QPS and Bucket bound the reads and QPSWrite and BucketWrite the writes and, in a bucket
	// of their own as ARM meters them, the deletes (upstream's write limiter covers both).
	// Unlike upstream, a zero key takes cloudlb's default for its kind (see Limits), not
	// upstream's 1/s burst 5 or, for the write keys, the read keys; and without
	// CloudProviderRateLimit cloudlb keeps its defaults rather than not limiting at all.
	// Upstream's per-resource limits (loadBalancerRateLimit, ...) are accepted and ignored.
	CloudProviderRateLimit            bool    `json:"cloudProviderRateLimit,omitempty"`
	CloudProviderRateLimitQPS         float64 `json:"cloudProviderRateLimitQPS,omitempty"`
	CloudProviderRateLimitBucket      int     `json:"cloudProviderRateLimitBucket,omitempty"`
	CloudProviderRateLimitQPSWrite    float64 `json:"cloudProviderRateLimitQPSWrite,omitempty"`
	CloudProviderRateLimitBucketWrite int     `json:"cloudProviderRateLimitBucketWrite,omitempty"`
}

// rateLimits are the rates the cloudProviderRateLimit keys ask of each kind of request;
// zero where they ask nothing.
func (cc *CloudConfig) rateLimits() kindRates {
	if !cc.CloudProviderRateLimit {
		return kindRates{}
	}
	write := Rate{QPS: cc.CloudProviderRateLimitQPSWrite, Burst: cc.CloudProviderRateLimitBucketWrite}
	return kindRates{reads: Rate{QPS: cc.CloudProviderRateLimitQPS, Burst: cc.CloudProviderRateLimitBucket}, writes: write, deletes: write}
}

// ParseCloudConfig reads azure.json, applies upstream's defaults and validates what cloudlb
// relies on. A nil reader gives the defaults.
func ParseCloudConfig(r io.Reader) (*CloudConfig, error) {
	cc := &CloudConfig{}
	if r != nil {
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("reading the azure cloud config: %w", err)
		}
		if len(bytes.TrimSpace(data)) > 0 {
			// Unknown keys are refused: upstream ignores them, and a typo would go unnoticed.
			if err := checkKeys(r, data); err != nil {
				return nil, fmt.Errorf("azure cloud config: %w", err)
			}
			if err := json.Unmarshal(data, cc); err != nil {
				return nil, fmt.Errorf("azure cloud config: %w", err)
			}
		}
	}
	if err := cc.complete(); err != nil {
		return nil, err
	}
	return cc, nil
}

// complete applies upstream's defaults and rejects what cloudlb cannot serve.
func (cc *CloudConfig) complete() error {
	switch strings.ToLower(cc.LoadBalancerSKU) {
	case "", "standard":
		cc.LoadBalancerSKU = "standard"
	case "basic":
		return errors.New(`azure cloud config: loadBalancerSku "basic" is not supported: cloudlb serves Standard load balancers only (Azure retired Basic load balancers); set "loadBalancerSku": "standard"`)
	default:
		return fmt.Errorf("azure cloud config: loadBalancerSku %q: want \"standard\"", cc.LoadBalancerSKU)
	}
	if cc.VNetResourceGroup == "" {
		cc.VNetResourceGroup = cc.ResourceGroup
	}
	if cc.SecurityGroupResourceGroup == "" {
		cc.SecurityGroupResourceGroup = cc.ResourceGroup
	}
	if cc.LoadBalancerResourceGroup == "" {
		cc.LoadBalancerResourceGroup = cc.ResourceGroup
	}
	if cc.PrivateLinkServiceResourceGroup == "" {
		cc.PrivateLinkServiceResourceGroup = cc.ResourceGroup
	}
	switch strings.ToLower(cc.ClusterServiceLoadBalancerHealthProbeMode) {
	case "", ProbeModeServiceNodePort:
		cc.ClusterServiceLoadBalancerHealthProbeMode = ProbeModeServiceNodePort
	case ProbeModeShared:
		cc.ClusterServiceLoadBalancerHealthProbeMode = ProbeModeShared
	default:
		return fmt.Errorf("azure cloud config: clusterServiceLoadBalancerHealthProbeMode %q: want %q or %q",
			cc.ClusterServiceLoadBalancerHealthProbeMode, ProbeModeServiceNodePort, ProbeModeShared)
	}
	if cc.ClusterServiceSharedLoadBalancerHealthProbePort == 0 {
		cc.ClusterServiceSharedLoadBalancerHealthProbePort = defaultSharedProbe
	}
	if p := cc.ClusterServiceSharedLoadBalancerHealthProbePort; p < 1 || p > 65535 {
		return fmt.Errorf("azure cloud config: clusterServiceSharedLoadBalancerHealthProbePort %d: want 1-65535", p)
	}
	if cc.ClusterServiceSharedLoadBalancerHealthProbePath == "" {
		cc.ClusterServiceSharedLoadBalancerHealthProbePath = defaultSharedPath
	}
	for _, k := range []struct {
		name string
		v    float64
	}{{"cloudProviderRateLimitQPS", cc.CloudProviderRateLimitQPS}, {"cloudProviderRateLimitBucket", float64(cc.CloudProviderRateLimitBucket)},
		{"cloudProviderRateLimitQPSWrite", cc.CloudProviderRateLimitQPSWrite}, {"cloudProviderRateLimitBucketWrite", float64(cc.CloudProviderRateLimitBucketWrite)}} {
		if k.v < 0 {
			return fmt.Errorf("azure cloud config: %s %v: want 0 (cloudlb's default) or more", k.name, k.v)
		}
	}
	if e := cc.ResourceManagerEndpoint; e != "" {
		u, err := url.Parse(e)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return fmt.Errorf("azure cloud config: resourceManagerEndpoint %q: want an http(s) URL", e)
		}
		if u.Scheme == "http" && !isLoopback(u.Hostname()) {
			return fmt.Errorf("azure cloud config: resourceManagerEndpoint %q: plain http is allowed on loopback only (a local fake); use https", e)
		}
	}
	return nil
}

// validateForCloud checks the keys every ARM call needs.
func (cc *CloudConfig) validateForCloud() error {
	var missing []string
	for k, v := range map[string]string{"subscriptionId": cc.SubscriptionID, "resourceGroup": cc.ResourceGroup, "location": cc.Location,
		"vnetName": cc.VNetName, "subnetName": cc.SubnetName} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("azure cloud config: missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// insecureLoopback reports whether the ARM endpoint is plain http on loopback: a local
// fake, which gets a static test credential so no real token is ever sent over http.
func (cc *CloudConfig) insecureLoopback() bool {
	u, err := url.Parse(cc.ResourceManagerEndpoint)
	return err == nil && u.Scheme == "http" && isLoopback(u.Hostname())
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// settings are Build's cluster-wide inputs for the controller's cluster name.
func (cc *CloudConfig) settings(clusterName string) Settings {
	cluster := clusterName
	if cc.ClusterName != "" {
		cluster = cc.ClusterName
	}
	if cluster == "" {
		cluster = "kubernetes"
	}
	base := cc.LoadBalancerName
	if base == "" {
		base = cluster
	}
	s := Settings{
		SubscriptionID: cc.SubscriptionID, ResourceGroup: cc.ResourceGroup, LoadBalancerResourceGroup: cc.LoadBalancerResourceGroup,
		Location: cc.Location, Cluster: cluster, LoadBalancerName: base,
		VNetName: cc.VNetName, VNetResourceGroup: cc.VNetResourceGroup, SubnetName: cc.SubnetName,
		SecurityGroupName: cc.SecurityGroupName, SecurityGroupResourceGroup: cc.SecurityGroupResourceGroup,
		PLSResourceGroup:    cc.PrivateLinkServiceResourceGroup,
		DisableOutboundSNAT: cc.DisableOutboundSNAT,
		KeepControlPlane:    cc.ExcludeMasterFromStandardLB != nil && !*cc.ExcludeMasterFromStandardLB,
	}
	if cc.ClusterServiceLoadBalancerHealthProbeMode == ProbeModeShared {
		s.SharedProbe = &SharedProbe{Port: cc.ClusterServiceSharedLoadBalancerHealthProbePort, Path: cc.ClusterServiceSharedLoadBalancerHealthProbePath}
	}
	return s
}

var registerOnce sync.Once

// Register makes the provider available to cloudprovider.InitCloudProvider as "azure"; it
// is safe to call more than once.
func Register() { providers.Register(&registerOnce, ProviderName, ParseCloudConfig, NewFromConfig) }
