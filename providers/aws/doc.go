// Package aws is the cloudlb provider for AWS, registered as "aws": Classic Load Balancers
// (the default) and Network Load Balancers with instance targets (aws-load-balancer-type:
// nlb). aws-load-balancer-type external and nlb-ip are answered with
// cloudprovider.ImplementedElsewhere.
//
// The Classic path follows Build -> Observe -> Diff -> Apply: Build (build.go) turns a
// Service into a desired Model without any cloud call; Observe (observe.go) reads the load
// balancer, its tags and, only when needed, its attributes and managed security group; Diff
// (diff.go) is pure; Apply (apply.go) is the only code that writes. The NLB path (nlb*.go)
// has a pure BuildNLB and a reconcile that reads and repairs every part when its hash differs.
//
// # Ownership
//
// Load balancers, target groups and the managed security group k8s-elb-<name> (of a Classic
// Load Balancer, or of an NLB in the Managed security group mode) carry
// kubernetes.io/cluster/<cluster>=owned and kubernetes.io/service-name=<ns>/<name>. One with
// our name but without our cluster tag is never modified or deleted: the Service gets a
// providers.UserError; so is one whose service-name tag names another Service (possible
// with aws-load-balancer-name, which replaces the a<uid> name). The cluster is the cloud
// config's KubernetesClusterID (as upstream), else the controller's --cluster-name.
//
// Nothing is decided from the shape of a name or a DNS name (emulators, other partitions,
// internal and dualstack names all differ from AWS's commercial shape): what a Service owns
// is what carries both tags (ownership.go). AWS cannot rename a load balancer, so when
// nothing exists under the Service's name although its status shows an address, the
// region's load balancers are listed (400 a page, tags 20 a call) and one of the Service's
// under another name makes the change of aws-load-balancer-name a user error.
//
// # Deletion
//
// EnsureLoadBalancerDeleted removes, in an order that lets a retry after any failure find
// what is left: each NLB's rules in the node groups (found by the NLB's name in their
// descriptions, in the groups its tag lists and those of the VPC's instances, so also after
// the NLB itself is gone), the NLB, the Classic Load Balancer (under the annotated and the
// default name, and under any name the tags give when neither exists), then the target groups
// and the managed security groups found by their tags. Only target groups that no load
// balancer uses, or that the Service's own NLB used, have their tags read. A not-found answer
// means already gone; ResourceInUse (a target group right after its load balancer) and
// DependencyViolation (a group while interfaces drain) are transient errors, so the
// finalizer stays until a later attempt finds nothing left. Every create call carries the
// ownership tags, so nothing of ours exists untagged, and every write is safe to repeat after
// an answer was lost: creates of ELBv2 are idempotent, an existing security group with our
// tags is adopted, duplicate rules and listeners count as done.
//
// # Cheap no-op reconciles
//
// Classic: everything DescribeLoadBalancers returns (listeners, listener and backend
// policies, health check, subnets, security groups, instances, scheme) is compared on every
// reconcile, so drift there is repaired. The two parts it does not return, the attributes
// and the rules of the managed security group, are summarised by Model.DeepHash, which Apply
// stores in the tag cloudlb.io/spec-hash after every other write succeeded. When the tag
// equals the desired hash those parts are not read again: an unchanged Service costs
// DescribeLoadBalancers + DescribeTags and no write. When it differs (a changed annotation,
// a crash between writes, a first reconcile) Observe reads them and Diff repairs them.
// Out-of-band edits of attributes or managed rules are therefore not noticed until the
// Service changes; deleting the tag forces a full read.
//
// NLB: the tag holds NLBModel.Hash, which covers the whole model including targets, so an
// unchanged Service costs the same two reads and any change reads and repairs every part,
// and deletes the Service's target groups (found by their tags) that its listeners no
// longer use, including those an earlier attempt failed to delete.
//
// # NLB security groups
//
// An NLB has no security group unless the cloud config sets NLBSecurityGroupMode = Managed
// (as upstream, so existing NLBs keep their shape): then it gets the managed group
// k8s-elb-<name> (owned and service-name tags; each listener port from the source ranges
// and aws-load-balancer-security-group-prefix-lists, ICMP fragmentation-needed), and the
// node rules let that group in on the NodePorts and health-check ports instead of the
// source CIDRs. aws-load-balancer-security-groups attaches the Service's own groups instead
// (no rule is managed in them; node rules only with manage-backend-security-group-rules:
// true, from the first group); aws-load-balancer-disable-nlb-sg: true creates the NLB with
// none; manage-backend-security-group-rules: false leaves the node groups alone. AWS cannot
// give groups to an NLB created without any, nor take the last one away, so that change
// replaces the NLB, like a scheme change. The managed group has the Classic managed group's
// name: a type change hands it over, and deletion removes it after the node rules that
// refer to it.
//
// Also fixed at creation, hence replacements: pinned IPv4 and IPv6 addresses and IPv6 source
// NAT prefixes. ip-address-type (SetIpAddressType), the ALPN policy of TLS listeners
// (ModifyListener) and the PrivateLink setting (SetSecurityGroups) change in place. A
// target-group attribute dropped from the annotations goes back to AWS's default; an
// additional tag dropped is removed (the keys we set are listed in
// cloudlb.io/additional-tag-keys, as on a Classic Load Balancer).
//
// The node security group rules (the load balancer's group let into each instance's group,
// unless DisableSecurityGroupIngress) are keyed by the tag cloudlb.io/node-rules-hash over
// the source group and the instances, so they are read only when those change.
//
// The VPC's subnets (for discovery) are cached per cluster for networkTTL; they are not a
// per-Service cost.
//
// # Throttling
//
// Every call waits on a client-side token bucket of its API (ec2, elb, elbv2; DefaultQPS 20,
// DefaultBurst 40), shared by all Services of one Cloud (retry.go). The SDK clients
// NewFromConfig builds share one adaptive-mode retryer per API, so Throttling (ELB, ELBv2)
// and RequestLimitExceeded (EC2) slow every later call of that API, not just the one that
// was throttled; attempts are bounded (DefaultMaxAttempts 8, DefaultMaxBackoff 10s) and
// counted, throttled ones apart, by Cloud.APIStats.
//
// # Offline plans
//
// DesiredModel (desired.go) runs Build or BuildNLB on a manifest with placeholders for what
// only the cloud or the API server knows (discovered subnets, nodePorts, the UID), for
// `cloudlb plan`.
package aws
