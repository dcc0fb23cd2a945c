package nodeproxy

import (
	"fmt"
	"strings"
)

// DefaultDummyInterface is the --dummy-interface default: the link that carries the load
// balancer IPs with --bind-load-balancer-ips.
const DefaultDummyInterface = "cloudlb0"

// LoadBalancerIPOptions configure LoadBalancerIPs (--bind-load-balancer-ips).
type LoadBalancerIPOptions struct {
	// Interface is the dummy link the addresses go on; default DefaultDummyInterface. Every
	// address on it other than the kernel's IPv6 link-local one is the agent's: addresses not
	// in Desired.LoadBalancerIPs are removed.
	Interface string
}

// ValidateInterfaceName checks a link name as the kernel does (IFNAMSIZ, no '/', no
// whitespace, not "." or "..").
func ValidateInterfaceName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("interface name must not be empty")
	case len(name) > 15:
		return fmt.Errorf("interface name %q is longer than 15 bytes", name)
	case name == "." || name == "..", strings.ContainsAny(name, "/: \t\n"):
		return fmt.Errorf("interface name %q is not valid", name)
	}
	return nil
}
