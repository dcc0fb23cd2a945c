package aws

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The shared backend security group (as aws-load-balancer-controller's): one group per
// cluster and VPC, attached to every NLB that has security groups, and the only source the
// node groups let in for those NLBs. The node groups then hold a constant number of rules
// (the NodePort range over TCP, over UDP once an NLB has a UDP listener, and the health-check
// ports outside the range), however many NLB Services there are; AWS's default quota is 60
// inbound rules per group. Found by its tags, never by its name alone.
const (
	// tagRole marks a group cloudlb made for a purpose of the whole cluster.
	tagRole = "cloudlb.io/role"
	// roleBackend is tagRole's value on the backend group.
	roleBackend = "nlb-backend"
	// backendGroupRef stands, in a plan's rules and groups, for the backend group's ID when
	// the plan creates it.
	backendGroupRef = "$backend"
	// ruleBackend starts the descriptions of the shared node rules.
	ruleBackend = "cloudlb: NLB backend group"
	// maxNLBGroups is AWS's limit of security groups per NLB: an NLB whose user lists that
	// many keeps its per-Service node rules.
	maxNLBGroups = 5
)

// PortRange is an inclusive range of ports.
type PortRange struct {
	From int32 `json:"from"`
	To   int32 `json:"to"`
}

// defaultNodePorts is Kubernetes' default --service-node-port-range.
var defaultNodePorts = PortRange{From: 30000, To: 32767}

// contains reports whether port is in the range.
func (p PortRange) contains(port int32) bool { return port >= p.From && port <= p.To }

// parseNodePortRange reads "from-to"; "" is the default range.
func parseNodePortRange(s string) (PortRange, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return defaultNodePorts, nil
	}
	a, b, ok := strings.Cut(s, "-")
	from, err1 := strconv.Atoi(strings.TrimSpace(a))
	to, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return PortRange{}, errors.New(`want "from-to", e.g. 30000-32767`)
	}
	if from < 1 || to > 65535 || from > to {
		return PortRange{}, errors.New("want 1 <= from <= to <= 65535")
	}
	return PortRange{From: int32(from), To: int32(to)}, nil
}

// BackendGroup is the cluster's shared backend group as one NLB needs it.
type BackendGroup struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Tags        map[string]string `json:"tags"`
	// NodeRules are the shared rules this NLB needs in each node group, from the backend
	// group (backendGroupRef). Other NLBs may need more of them (UDP, a health-check port),
	// so rules are only added; they go with the group, when the last NLB is deleted.
	NodeRules []Rule `json:"nodeRules"`
}

// usesBackendGroup says whether the NLB's node rules come from the backend group: it has
// security groups (an NLB created without cannot get one), node rules are managed, and AWS's
// limit of groups per NLB leaves room for one more; and the cloud config does not ask for
// per-Service rules (NLBBackendSecurityGroup = PerService).
func usesBackendGroup(m *NLBModel, s Settings) bool {
	return m.hasGroups() && !s.DisableSecurityGroupIngress && !s.PerServiceNodeRules && len(m.SecurityGroups) < maxNLBGroups
}

// buildBackendGroup is the backend group with the rules m needs: the NodePort range over TCP
// (and UDP when m has a UDP listener), and each health-check port outside the range.
func buildBackendGroup(m *NLBModel, s Settings) *BackendGroup {
	ports := s.NodePorts
	if ports == (PortRange{}) {
		ports = defaultNodePorts
	}
	b := &BackendGroup{
		Name:        backendGroupName(m.Cluster),
		Description: fmt.Sprintf("Shared backend security group of the NLBs of Kubernetes cluster %s (cloudlb)", m.Cluster),
		Tags:        map[string]string{clusterTag(m.Cluster): tagOwned, tagRole: roleBackend},
	}
	protos := map[string]bool{"tcp": true}
	for _, tg := range m.TargetGroups {
		for _, p := range ruleProtocols(tg.Protocol) {
			protos[p] = true
		}
		if hc := healthCheckPort(tg); !ports.contains(hc) {
			b.NodeRules = append(b.NodeRules, Rule{Protocol: "tcp", FromPort: hc, ToPort: hc, Group: backendGroupRef, Description: ruleBackend + ": health checks"})
		}
	}
	for _, p := range slices.Sorted(maps.Keys(protos)) {
		b.NodeRules = append(b.NodeRules, Rule{Protocol: p, FromPort: ports.From, ToPort: ports.To, Group: backendGroupRef, Description: ruleBackend + ": NodePorts"})
	}
	b.NodeRules = sortedRules(b.NodeRules)
	return b
}

// backendGroupName is k8s-cloudlb-backend-<cluster>, the cluster ID reduced to the
// characters AWS allows in a VPC group's name and the whole to its 255 characters.
func backendGroupName(cluster string) string {
	const allowed = "._-:/()#,@[]+=&;{}!$* "
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(allowed, r) {
			return r
		}
		return '-'
	}, cluster)
	name := "k8s-cloudlb-backend-" + clean
	if len(name) > 255 {
		name = name[:255]
	}
	return name
}

// foreignCluster reports whether tags mark the resource as another cluster's too.
func foreignCluster(tags map[string]string, cluster string) bool {
	for k := range tags {
		if strings.HasPrefix(k, tagClusterPrefix) && k != clusterTag(cluster) {
			return true
		}
	}
	return false
}
