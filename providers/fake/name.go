package fake

import (
	"strings"

	v1 "k8s.io/api/core/v1"
)

// maxNameLength is the longest load balancer name the upstream providers produce.
const maxNameLength = 32

// LoadBalancerName is the name of svc's load balancer: "a" followed by the Service UID without
// dashes, cut to 32 characters, the same name the upstream providers give it.
func LoadBalancerName(svc *v1.Service) string {
	name := "a" + strings.ReplaceAll(string(svc.UID), "-", "")
	return name[:min(len(name), maxNameLength)]
}
