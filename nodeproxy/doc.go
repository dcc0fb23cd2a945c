// Package nodeproxy is the node agent behind cloudlb-nodeproxy: a pure decision plus thin
// actuators.
//
//   - decision.go: Decide, from Services, EndpointSlices, this Node and flags, computes what the
//     node does: per served Service (LoadBalancer, externalTrafficPolicy Local) the ready local
//     endpoints the health probe counts, the NodePort backends (ready local endpoints, else the
//     serving-terminating ones), affinity and load balancer IPs; node eligibility; the addresses
//     that belong on the dummy interface. Each answer carries a reason string.
//   - healthserver.go: the per-Service healthCheckNodePort servers, answering as kube-proxy does
//     byte for byte; nodehealth.go: /healthz and /livez (default 0.0.0.0:10256); health.go: the
//     agent's own health (stale after 2x the sync period without a successful sync).
//   - agent.go: informers for Services, EndpointSlices and the agent's own Node, a coalescing
//     sync loop, and the Actuator interface the NodePort proxy and netlink plug into: pass
//     them in Deps.Actuators; each gets the whole Desired after every change (PortDecision
//     has the NodePorts, protocols, local backends and affinity; Desired.LoadBalancerIPs the
//     addresses for the dummy interface) and returns an error only when the node cannot
//     serve as decided (the agent then retries and, if it persists, reports itself unhealthy).
//   - nodeportproxy.go: the NodePort proxy actuator (--proxy-nodeports): one proxy.Proxy per
//     NodePort, protocol and bind address, fed the decision's local backends and affinity.
//   - netlinkactuator*.go: the load balancer IPs on a dummy interface (--bind-load-balancer-ips),
//     through github.com/vishvananda/netlink behind NetlinkHandle; Linux only.
//   - bindaddr.go: the --nodeport-addresses listen addresses, shared by the health check
//     servers and the NodePort proxy; events.go: Event reasons.
//   - apimonitor.go: APIServerMonitor, which sees the clients' requests through their transport
//     and warns while the API server cannot be reached (client-go's informers retry quietly).
//   - metrics.go: Prometheus metrics in component-base's legacy registry.
package nodeproxy
