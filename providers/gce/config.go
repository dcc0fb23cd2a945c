package gce

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"

	cloudprovider "k8s.io/cloud-provider"
)

// ProviderName is the name the provider registers under (--cloud-provider=gce).
const ProviderName = "gce"

// CloudConfig is the upstream gce.conf INI file ([global] section, gcfg syntax), so users
// switch without rewriting it. Keys we accept but do not act on are kept for compatibility.
type CloudConfig struct {
	Global struct {
		ProjectID        string
		NetworkProjectID string
		NetworkName      string
		SubnetworkName   string
		// NodeTags are the firewall target tags; empty means computed from the instances.
		NodeTags           []string
		NodeInstancePrefix string
		Regional           bool
		Multizone          bool
		TokenURL           string
		TokenBody          string
		// APIEndpoint overrides the Compute API endpoint (host, or the older base path
		// ending in /compute/v1/, which is accepted too).
		APIEndpoint string
		LocalZone   string
		// Region is a cloudlb extension; default the region of LocalZone.
		Region string
		// ClusterID is a cloudlb extension naming the shared resources (k8s-<id>-node,
		// k8s-ig--<id>); default the controller's --cluster-name, sanitised.
		ClusterID string
	}
}

// ParseCloudConfig reads gce.conf: a [global] section of `key = value` lines, `#` and `;`
// comments; node-tags may repeat or hold a comma list. Unknown sections are errors; unknown
// keys of [global] are accepted (upstream has many we do not need). A nil reader gives the
// zero config.
func ParseCloudConfig(r io.Reader) (*CloudConfig, error) {
	cfg := &CloudConfig{}
	if r == nil {
		return cfg, nil
	}
	sc := bufio.NewScanner(r)
	section, line := "", 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' || text[0] == ';' {
			continue
		}
		if strings.HasPrefix(text, "[") {
			if !strings.HasSuffix(text, "]") {
				return nil, fmt.Errorf("gce cloud config line %d: unterminated section %q", line, text)
			}
			section = strings.ToLower(strings.TrimSpace(text[1 : len(text)-1]))
			if section != "global" {
				return nil, fmt.Errorf("gce cloud config line %d: unknown section [%s]", line, section)
			}
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("gce cloud config line %d: %q outside the [global] section", line, text)
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok {
			return nil, fmt.Errorf("gce cloud config line %d: want key = value, got %q", line, text)
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.Trim(strings.TrimSpace(v), `"`)
		if err := cfg.set(k, v); err != nil {
			return nil, fmt.Errorf("gce cloud config line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the gce cloud config: %w", err)
	}
	return cfg, nil
}

func (c *CloudConfig) set(k, v string) error {
	g := &c.Global
	strs := map[string]*string{
		"project-id": &g.ProjectID, "network-project-id": &g.NetworkProjectID, "network-name": &g.NetworkName,
		"subnetwork-name": &g.SubnetworkName, "node-instance-prefix": &g.NodeInstancePrefix,
		"token-url": &g.TokenURL, "token-body": &g.TokenBody, "api-endpoint": &g.APIEndpoint,
		"local-zone": &g.LocalZone, "region": &g.Region, "cluster-id": &g.ClusterID,
	}
	if p, ok := strs[k]; ok {
		*p = v
		return nil
	}
	switch k {
	case "node-tags":
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				g.NodeTags = append(g.NodeTags, t)
			}
		}
	case "regional", "multizone":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s: %q is not a boolean", k, v)
		}
		if k == "regional" {
			g.Regional = b
		} else {
			g.Multizone = b
		}
	}
	// Other upstream keys (alpha-features, stack-type, secondary-range-name, ...) are accepted.
	return nil
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
	registerOnce.Do(func() {
		cloudprovider.RegisterCloudProvider(ProviderName, newFromReader)
	})
}

func newFromReader(r io.Reader) (cloudprovider.Interface, error) {
	cfg, err := ParseCloudConfig(r)
	if err != nil {
		return nil, err
	}
	c, err := NewFromConfig(context.Background(), cfg)
	if err != nil {
		return nil, err // not c: a nil *Cloud would be a non-nil Interface
	}
	return c, nil
}
