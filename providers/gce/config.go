package gce

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"

	"github.com/cloudlb/cloudlb/internal/cloudconfig"
	"github.com/cloudlb/cloudlb/providers"
)

// ProviderName is the name the provider registers under (--cloud-provider=gce).
const ProviderName = "gce"

// CloudConfig is the upstream gce.conf, read with gcfg as upstream reads it, so users switch
// without rewriting it: a [global] section, names without case, `;` and `#` comments to the
// end of the line outside double quotes, multi-valued keys (node-tags, alpha-features) given
// once per value. Every key upstream declares is accepted; those tagged `cloudlb:"ignored"`
// are not acted on, and the start-up log names them when they are set.
type CloudConfig struct {
	Global struct {
		ProjectID        string `gcfg:"project-id"`
		NetworkProjectID string `gcfg:"network-project-id"`
		NetworkName      string `gcfg:"network-name"`
		SubnetworkName   string `gcfg:"subnetwork-name"`
		// NodeTags are the firewall target tags; empty means computed from the instances.
		// A value may also hold a comma list, which older cloudlb configs use.
		NodeTags []string `gcfg:"node-tags"`
		// TokenURL "nil" means no credentials (upstream's spelling); other token sources are
		// Application Default Credentials here.
		TokenURL string `gcfg:"token-url"`
		// APIEndpoint overrides the Compute API endpoint (host, or the older base path
		// ending in /compute/v1/, which is accepted too).
		APIEndpoint string `gcfg:"api-endpoint"`
		LocalZone   string `gcfg:"local-zone"`
		// Region is a cloudlb extension; default the region of LocalZone.
		Region string `gcfg:"region"`
		// ClusterID is a cloudlb extension naming the shared resources (k8s-<id>-node,
		// k8s-ig--<id>); default the controller's --cluster-name, sanitised.
		ClusterID string `gcfg:"cluster-id"`

		NodeInstancePrefix   string   `gcfg:"node-instance-prefix" cloudlb:"ignored"`
		Regional             bool     `gcfg:"regional" cloudlb:"ignored"`
		Multizone            bool     `gcfg:"multizone" cloudlb:"ignored"`
		TokenBody            string   `gcfg:"token-body" cloudlb:"ignored"`
		ContainerAPIEndpoint string   `gcfg:"container-api-endpoint" cloudlb:"ignored"`
		StackType            string   `gcfg:"stack-type" cloudlb:"ignored"`
		SecondaryRangeName   string   `gcfg:"secondary-range-name" cloudlb:"ignored"`
		AlphaFeatures        []string `gcfg:"alpha-features" cloudlb:"ignored"`
	} `gcfg:"global"`
}

// ParseCloudConfig reads gce.conf with gcfg. Unknown sections and keys are errors that name
// the file (when r is one), the line, the key and the nearest known key, so a typo is not
// silently ignored (upstream ignores them). A nil reader gives the zero config.
func ParseCloudConfig(r io.Reader) (*CloudConfig, error) {
	cfg := &CloudConfig{}
	if r == nil {
		return cfg, nil
	}
	if _, err := cloudconfig.ReadINI(cfg, r); err != nil {
		return nil, fmt.Errorf("gce cloud config: %w", err)
	}
	var tags []string
	for _, v := range cfg.Global.NodeTags {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
	}
	cfg.Global.NodeTags = tags
	return cfg, nil
}

// region is Region, else LocalZone without its last "-x" ("us-central1-b" -> "us-central1").
func (c *CloudConfig) region() string {
	if c.Global.Region != "" {
		return c.Global.Region
	}
	if i := strings.LastIndexByte(c.Global.LocalZone, '-'); i > 0 {
		return c.Global.LocalZone[:i]
	}
	return ""
}

// networkProject is the project of the network (Shared VPC), else the project.
func (c *CloudConfig) networkProject() string {
	if c.Global.NetworkProjectID != "" {
		return c.Global.NetworkProjectID
	}
	return c.Global.ProjectID
}

// networkURL is the network's partial URL; network-name may already be a URL.
func (c *CloudConfig) networkURL() string {
	n := c.Global.NetworkName
	if n == "" {
		n = "default"
	}
	if strings.Contains(n, "/") {
		return trimURL(n)
	}
	return "projects/" + c.networkProject() + "/global/networks/" + n
}

// subnetworkURL is the partial URL of a subnetwork of the region; "" when name is empty.
func (c *CloudConfig) subnetworkURL(name string) string {
	if name == "" {
		return ""
	}
	if strings.Contains(name, "/") {
		return trimURL(name)
	}
	return "projects/" + c.networkProject() + "/regions/" + c.region() + "/subnetworks/" + name
}

// endpoint is the API host to use ("" for the default), from api-endpoint: the older form
// with a /compute/v1/ base path is cut to its host.
func (c *CloudConfig) endpoint() string {
	e := c.Global.APIEndpoint
	if e == "" {
		return ""
	}
	if u, err := url.Parse(e); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return e
}

// noAuth reports whether calls go without credentials: token-url "nil" (upstream's spelling
// for "no token source") or an http endpoint on loopback (a fake).
func (c *CloudConfig) noAuth() bool {
	if c.Global.TokenURL == "nil" {
		return true
	}
	u, err := url.Parse(c.Global.APIEndpoint)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var registerOnce sync.Once

// Register makes the provider available to cloudprovider.InitCloudProvider as "gce"; it is
// safe to call more than once.
func Register() {
	providers.Register(&registerOnce, ProviderName, ParseCloudConfig, func(cc *CloudConfig) (*Cloud, error) {
		return NewFromConfig(context.Background(), cc)
	})
}

// UnknownKeyError is a section or key of the cloud config that the provider does not know.
type UnknownKeyError = cloudconfig.UnknownKeyError
