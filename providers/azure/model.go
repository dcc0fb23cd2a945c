package azure

// Model is the desired state of one Service on Azure: its parts of the cluster's Standard
// load balancer, its public IP and its rules in the cluster's network security group. It is
// pure data built by Build; it marshals to stable JSON (the golden files pin it).
type Model struct {
	// Service is "namespace/name".
	Service string `json:"service"`
	// Prefix is "a<uid>": every LB part and security rule whose name starts with it is ours.
	Prefix string `json:"prefix"`
	// Cluster is the cluster name of the tags, the backend pool and managed public IP names.
	Cluster string `json:"cluster"`
	// Internal says the Service is on the internal load balancer.
	Internal bool `json:"internal"`

	LoadBalancer LoadBalancer `json:"loadBalancer"`
	Frontend     Frontend     `json:"frontend"`
	Rules        []Rule       `json:"rules"`
	Probes       []Probe      `json:"probes,omitempty"`
	Pool         Pool         `json:"pool"`
	// PublicIP is the public frontend's address; nil for internal Services.
	PublicIP *PublicIP `json:"publicIP,omitempty"`
	// Security is the Service's part of the cluster NSG; nil when the cloud config names no NSG.
	Security *Security `json:"security,omitempty"`
	// AdditionalPublicIPs are reported in the status and allowed by the NSG rules.
	AdditionalPublicIPs []string `json:"additionalPublicIPs,omitempty"`
	// PLS is the Private Link Service attached to the frontend; nil without azure-pls-create.
	PLS *PrivateLinkService `json:"privateLinkService,omitempty"`
	// IPv6 is the second frontend of a dual-stack Service; nil for single-stack ones.
	IPv6 *Family `json:"ipv6,omitempty"`
	// ReplaceKey is the Service's replacement key (providers.ReplaceKey, replace.go), recorded
	// on its managed public IP or, when KeyOnLB, on its load balancer; "" records nothing.
	// Set at reconcile, not by Build.
	ReplaceKey string `json:"-"`
	KeyOnLB    bool   `json:"-"`
}

// Family is the IPv6 half of a dual-stack Service on the same load balancer: the frontend
// <frontend>-IPv6, rules and probes named as the IPv4 ones plus "-IPv6" (upstream's names),
// the cluster's IPv6 pool <cluster>-IPv6 and, for public Services, an IPv6 public IP.
type Family struct {
	Frontend Frontend  `json:"frontend"`
	Rules    []Rule    `json:"rules"`
	Probes   []Probe   `json:"probes,omitempty"`
	Pool     Pool      `json:"pool"`
	PublicIP *PublicIP `json:"publicIP,omitempty"`
}

// PrivateLinkService is the Service's Private Link Service: a
// Microsoft.Network/privateLinkServices resource attached to its frontend, tagged as
// cloudlb's (k8s-azure-cluster-name and k8s-azure-owner-service).
type PrivateLinkService struct {
	Name          string `json:"name"`
	ResourceGroup string `json:"resourceGroup"`
	Location      string `json:"location"`
	// FrontendID is the frontend IP configuration it serves.
	FrontendID string `json:"frontendID"`
	// SubnetID holds the NAT IP configurations.
	SubnetID string `json:"subnetID"`
	// IPCount is the number of NAT IP configurations, the first being primary.
	IPCount int32 `json:"ipCount"`
	// IPAddresses are the static addresses of the first configurations; the others are Dynamic.
	IPAddresses   []string          `json:"ipAddresses,omitempty"`
	FQDNs         []string          `json:"fqdns,omitempty"`
	ProxyProtocol bool              `json:"proxyProtocol"`
	Visibility    []string          `json:"visibility,omitempty"`
	AutoApproval  []string          `json:"autoApproval,omitempty"`
	Tags          map[string]string `json:"tags"`
}

// LoadBalancer is the cluster's load balancer that hosts the Service.
type LoadBalancer struct {
	Name          string `json:"name"`
	ResourceGroup string `json:"resourceGroup"`
	Location      string `json:"location"`
	// Tags are set when cloudlb creates the load balancer; they mark it as the cluster's.
	Tags map[string]string `json:"tags"`
}

// Frontend is the Service's frontend IP configuration.
type Frontend struct {
	Name string `json:"name"`
	// PublicIPID is the public IP's ID; "" for internal Services and for a public IP chosen by
	// address, which is looked up at apply.
	PublicIPID string `json:"publicIPID,omitempty"`
	// SubnetID is the internal frontend's subnet.
	SubnetID string `json:"subnetID,omitempty"`
	// PrivateIP is the static private address of an internal frontend; "" means Dynamic.
	PrivateIP string `json:"privateIP,omitempty"`
}

// Rule is one load balancing rule.
type Rule struct {
	Name string `json:"name"`
	// Protocol is Tcp, Udp or All (SCTP and HA ports).
	Protocol     string `json:"protocol"`
	FrontendPort int32  `json:"frontendPort"`
	BackendPort  int32  `json:"backendPort"`
	FloatingIP   bool   `json:"floatingIP"`
	// TCPReset is enableTcpReset, set on Tcp and All rules only.
	TCPReset            *bool  `json:"tcpReset,omitempty"`
	IdleTimeoutMinutes  int32  `json:"idleTimeoutMinutes"`
	LoadDistribution    string `json:"loadDistribution"`
	DisableOutboundSNAT bool   `json:"disableOutboundSNAT,omitempty"`
	// Probe names the rule's probe; "" for none.
	Probe string `json:"probe,omitempty"`
}

// Probe is one health probe.
type Probe struct {
	Name string `json:"name"`
	// Protocol is Tcp, Http or Https.
	Protocol        string `json:"protocol"`
	Port            int32  `json:"port"`
	RequestPath     string `json:"requestPath,omitempty"`
	IntervalSeconds int32  `json:"intervalSeconds"`
	Threshold       int32  `json:"threshold"`
	// Shared marks the cluster-wide shared probe, which other Services may use too.
	Shared bool `json:"shared,omitempty"`
}

// Pool is the cluster's IP-based backend pool: every eligible node's InternalIP.
type Pool struct {
	Name           string        `json:"name"`
	VirtualNetwork string        `json:"virtualNetwork"`
	Addresses      []PoolAddress `json:"addresses"`
}

// PoolAddress is one node in the pool.
type PoolAddress struct {
	Name string `json:"name"`
	IP   string `json:"ip"`
}

// PublicIP is the address of a public frontend.
type PublicIP struct {
	// Name is the public IP's name; "" when it is chosen by Address.
	Name          string `json:"name,omitempty"`
	ResourceGroup string `json:"resourceGroup"`
	// Managed says cloudlb creates, tags and deletes it; other public IPs are the user's and
	// are never modified.
	Managed bool `json:"managed"`
	// Address selects an existing public IP by address (loadBalancerIP, azure-load-balancer-ipv4).
	Address string `json:"address,omitempty"`
	// The rest applies to managed public IPs only.
	Location string            `json:"location,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
	// IPv6 makes a managed public IP an IPv6 one.
	IPv6 bool `json:"ipv6,omitempty"`
	// IPTags are set when the public IP is created.
	IPTags map[string]string `json:"ipTags,omitempty"`
	// DNSLabel: nil leaves the DNS settings alone, "" removes them.
	DNSLabel *string `json:"dnsLabel,omitempty"`
	PrefixID string  `json:"prefixID,omitempty"`
}

// Security is the Service's rules in the cluster's network security group.
type Security struct {
	Group         string         `json:"group"`
	ResourceGroup string         `json:"resourceGroup"`
	Rules         []SecurityRule `json:"rules"`
}

// SecurityRule is one inbound rule. Priorities are allocated at apply: allow rules take the
// lowest free number from 500, deny rules the highest free one from 4096.
type SecurityRule struct {
	Name string `json:"name"`
	// Access is Allow or Deny.
	Access string `json:"access"`
	// Protocol is Tcp, Udp or *.
	Protocol string   `json:"protocol"`
	Sources  []string `json:"sources"`
	Ports    []string `json:"ports"`
	// Destinations are fixed addresses (node IPs when floating IP is disabled, additional
	// public IPs); ToFrontend adds the frontend's address, known at apply.
	Destinations []string `json:"destinations,omitempty"`
	ToFrontend   bool     `json:"toFrontend,omitempty"`
	// IPv6 marks a rule of the IPv6 frontend: ToFrontend adds its IPv6 address.
	IPv6 bool `json:"ipv6,omitempty"`
}
