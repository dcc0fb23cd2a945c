// Package aws is the cloudlb provider for AWS, registered as "aws": Classic Load Balancers
// (the default) and Network Load Balancers with instance targets (aws-load-balancer-type:
// nlb). aws-load-balancer-type external and nlb-ip are answered with
// cloudprovider.ImplementedElsewhere.
//
// # Phases
//
// Both kinds follow Build -> Observe -> Diff -> Apply, in files named for their phase:
//
//	Classic Load Balancer: build.go (model.go), observe.go, diff.go + diff_listeners.go
//	    + diff_classic.go, apply.go
//	NLB: build_nlb.go (model_nlb.go), observe_nlb.go, diff_nlb.go + diff_nlb_targets.go,
//	    apply_nlb.go + apply_nlb_targets.go
//	node security group rules: build_noderules.go, observe_noderules.go, diff_noderules.go,
//	    apply_noderules.go + apply_groups.go (the EC2 writes, of the managed groups too)
//	deletion: observe_delete.go, diff_delete.go (its writes are those above)
//	plumbing: plan.go (a plan: writes, refs), apply.go (run: Apply), cache.go,
//	    observe_ownership.go (what a Service owns, by its tags), loadbalancer.go, delete.go,
//	    listing.go (a restart's first pass)
//
// Build is pure: the typed config (annotations.Config, parsed once by the controller),
// the Service, the nodes and the cluster's settings and subnets give a Model or an NLBModel,
// plain data that golden files pin. Observe only reads: the load balancer and its tags, and
// every other part only when the spec-hash tag differs from the model's (see below). Diff
// is pure: from the model and the observation it returns a plan, the ordered writes that
// make the cloud match (plan.go): each a value holding its SDK input, the reason the audit
// trail gives it (providers.WithReason) and, for an object the plan creates first (the NLB
// whose ARN its listeners need, a new target group, the managed security group), the
// object's model name, which Apply resolves from the answer of the write that created it.
// When one write's effect decides a later one (an NLB's rules revoked before a Classic Load
// Balancer's rules are planned, after a type change), Diff plans against a view of the
// security groups as the earlier writes leave them (groupView). Apply (apply.go's run)
// makes the writes in order and decides nothing; it only reacts to AWS's answers to its own
// writes (a duplicate is done, not-found is gone, a group an earlier attempt created is
// adopted, deletion protection is turned off when the annotations no longer ask for it).
// Only apply*.go writes.
//
// The entry points (loadbalancer.go, delete.go) chain the phases: EnsureLoadBalancer is
// build, observe, diff, apply; PlanLoadBalancer (providers.Planner) stops before apply, so
// its providers.Plan reads like the audit trail of the apply (the same operation names,
// objects and reasons); UpdateLoadBalancer takes the node-change fast path (cache.go) when it
// can; EnsureLoadBalancerDeleted observes what the Service owns and diffs it against
// nothing.
//
// For example aws-load-balancer-healthcheck-interval on an NLB: annotations.Parse puts it in
// AWSConfig.HealthCheck.Interval; buildNLBPort (build_nlb.go) copies it into each
// TargetGroup.HealthCheck; observeTargetGroups (observe_nlb.go) reads each target group
// (DescribeTargetGroups); nlbDiff.targetGroups (diff_nlb_targets.go) compares healthCheckOf
// the group with the model's and plans a modifyTargetGroup; its apply
// (apply_nlb_targets.go) calls elbv2.ModifyTargetGroup, and nlbDiff.tags the new spec hash
// (elbv2.AddTags) last. On a Classic Load Balancer: buildHealthCheck (build.go),
// fromDescription (observe.go), Diff's Plan.HealthCheck (diff.go), classicWrites'
// configureHealthCheck (diff_classic.go) and its apply (apply.go), elb.ConfigureHealthCheck.
//
// A load balancer's node rules are planned after its own writes, against what those leave
// (for a Classic Load Balancer they need the managed group's ID and the load balancer's
// tags after the plan). Deletion (delete.go) is planned the same way; every write it makes
// is one of the writes above.
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
// is what carries both tags (observe_ownership.go). AWS cannot rename a load balancer, so when
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
// and the managed security groups found by their tags, and last the NLBs' backend group when
// no load balancer uses it any more. Only target groups that no load
// balancer uses, or that the Service's own NLB used, have their tags read. A not-found answer
// means already gone; ResourceInUse (a target group right after its load balancer) and
// DependencyViolation (a group while interfaces drain) are transient errors, so the
// finalizer stays until a later attempt finds nothing left. Every create call carries the
// ownership tags, so nothing of ours exists untagged, and every write is safe to repeat after
// an answer was lost: creates of ELBv2 are idempotent, an existing security group with our
// tags is adopted, duplicate rules and listeners count as done.
//
// # Taking over from cloud-provider-aws, and the replacement guard
//
// Load balancers cloud-provider-aws made are kept in place (same ARN and DNS name): names
// and tags are upstream's, so they are the Service's. An NLB's listeners keep the target
// groups they forward to whatever their names (upstream's k8s-<ns>-<name>-<hash>) when the
// group is compatible (protocol, port, instance targets, VPC, IPv4), its health check and
// attributes repaired in place (observe_nlb_adopt.go, diff_nlb_move.go). A group that must
// change (a TCP group's health check protocol, the protocol, the NodePort) gets a successor
// with the targets registered; while the old group has healthy targets and the new one's are
// not healthy yet, the listener forwards to both (weights 1 and 0, so AWS checks the new
// targets) and the Service is retried soon (a RetryError); then the listener moves and the
// old group is deleted. In the Managed security-group mode an NLB's existing group with the
// cluster's tag (upstream's k8s-<ns8>-<name8>-<hash>) serves as its managed group; a Classic
// Load Balancer's k8s-elb-<name> is the same name for both. Deletion removes those groups
// too (attached to the load balancer, cluster tag, no service-name tag), as upstream does.
// The cluster's NLB backend group (below) is not such a group: it has the role tag. Handing
// an NLB back to cloud-provider-aws (v1.37) detaches the backend group: upstream then revokes
// every rule that lets it in from the cluster's groups and deletes it (retrying
// DependencyViolation for up to ten minutes while other NLBs hold it) before it authorizes
// its own per-NodePort rules; the other NLBs cloudlb still serves lose the nodes' rule until
// they are handed back too (or cloudlb reconciles them fully again). So the hand-back starts
// with the cloud config's NLBBackendSecurityGroup = PerService (default Shared): the model
// then has per-Service node rules and no backend group, and a full reconcile of an NLB that
// carries it (observeBackendLeaving: the group by its tags, and one listing of the ELBv2 load
// balancers to know whether another holds it) authorizes the NLB's per-Service rules, then
// detaches the group (SetSecurityGroups with the NLB's own groups; the guard only compares
// having groups at all, so nothing is replaced), and, when no other load balancer holds it,
// revokes the shared rules and deletes the group (diff_backend.go's leaveBackend,
// dropBackend). Two last NLBs reconciled at the same instant may each see the other and
// leave the group; the next full reconcile of an NLB, or a deletion, removes it.
//
// What AWS fixes at creation (guard.go: the scheme; an NLB's pinned addresses, compared as
// sets; IPv6 source NAT; having security groups) is replaced only as providers/guard.go
// says: every load balancer carries the tag cloudlb-replace-key, and one without it or with
// the Service's current key is kept with its own values of those fields, everything else
// converged, and a *providers.ReplacementRefused returned (loadbalancer_guard.go). The key
// hashes the Service's choice about NLB groups, not the cloud config's mode, so changing
// NLBSecurityGroupMode replaces no NLB.
//
// The type (aws-load-balancer-type) is one of those fields: a Service whose load balancer
// exists only as the other kind (the Service's by its tags; say one cloud-provider-aws made
// before the annotation was added) gets the other kind, the old one retired, only when the
// guard allows it. Otherwise the existing one is kept and converged as its own kind, from the
// Service read as if the annotation named that kind, with the Service's key recorded; node
// changes reach its instances, and the ReplacementRefused names aws-load-balancer-type
// (loadbalancer_kind.go). The other kind is read only when the Service's kind does not exist
// under its name.
//
// The reads a deletion makes beyond the load balancer are those that keep it from leaking
// what the Service owned: the other kind under the same name (a type change half done), the
// target groups and security groups found by their tags (left by a failed write or a load
// balancer deleted by hand). The backend group's absence is read once per process
// (backendAbsence, observe_backend.go).
//
// # Calls of a create
//
// A create reads the load balancer under the model's name (one of another owner is never
// written to), and, for an NLB, each target group by name and the node groups' rules. The
// look-ups that can only find something of the Service's own (an NLB or a Classic Load
// Balancer of the other kind under the same name, a Classic Load Balancer's managed group)
// are skipped on the Service's first ensure (providers.FirstEnsure: the controller added its
// finalizer in that sync, so nothing was provisioned for it); a group of another owner under
// the managed group's name then makes CreateSecurityGroup fail and is reported as not ours.
// A new NLB with no managed group skips the k8s-elb-<name> look-up on any ensure unless a
// Classic Load Balancer holds its name. The spec hash and the node-rules tag of a Classic
// Load Balancer are written by one AddTags after the node rules (mergeTagWrites). A one-port
// Service costs 8 calls as a Classic Load Balancer and 9 as an NLB on its first ensure
// (TestCreateCallBudget).
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
// A restart's first pass costs less (listing.go, providers.Lister): one listing reads the
// region's Classic Load Balancers and ELBv2 load balancers (400 a page) and their tags (20 a
// call) and keeps the cluster's, by name; each Service's first sync runs Observe and Diff on
// its listed load balancer in place of the two reads, and makes no call when that plan
// writes nothing. Every write is recorded in the Cloud's providers.WriteLog under the load
// balancers the run writes to (apply.go's run), so a load balancer written since the listing
// began is read again, as is one without the spec-hash tag or one the guard keeps.
//
// # NLB security groups
//
// An NLB has no security group unless the cloud config sets NLBSecurityGroupMode = Managed
// (as upstream, so existing NLBs keep their shape): then it gets the managed group
// k8s-elb-<name> (owned and service-name tags; each listener port from the source ranges
// and aws-load-balancer-security-group-prefix-lists, ICMP fragmentation-needed), and the
// node rules let the cluster's backend group in (below) instead of the source CIDRs.
// aws-load-balancer-security-groups attaches the Service's own groups instead (no rule is
// managed in them; node rules only with manage-backend-security-group-rules: true);
// aws-load-balancer-disable-nlb-sg: true creates the NLB with none;
// manage-backend-security-group-rules: false leaves the node groups alone.
//
// Every NLB with security groups whose node rules are managed also gets the cluster's
// shared backend group (build_backend.go, diff_backend.go, observe_backend.go), as
// aws-load-balancer-controller does: k8s-cloudlb-backend-<cluster> in the VPC, tagged
// kubernetes.io/cluster/<cluster>=owned and cloudlb.io/role=nlb-backend and found by those
// tags, created on first need (the tags in CreateSecurityGroup) and attached next to the
// NLB's own groups (in CreateLoadBalancer, or one SetSecurityGroups). The node groups let
// only that group in: TCP over the cluster's NodePort range (cloud config [Global]
// NodePortRange, default 30000-32767), UDP too once an NLB has a UDP listener, and a rule
// per health-check port outside the range; so they hold a constant number of rules however
// many NLB Services there are (AWS allows 60 inbound rules per group, which per-Service
// rules exhausted after a few dozen). The shared rules are only added; they go with the
// group. An NLB created without security groups cannot get one: it keeps per-Service rules
// from the client CIDRs; so does one whose Service lists five groups (AWS's limit per NLB).
// An NLB that had per-Service rules from its own group moves in one reconcile without a
// gap: the shared rules are authorized and the backend group attached before its rules are
// revoked. Attaching the group replaces nothing (the guard only compares having groups at
// all). Deleting a Service (of either kind) removes the backend group once no load
// balancer of the region has it (one listing of the ELBv2 load balancers): the node groups'
// rules from it, then the group, after the NLB; DependencyViolation while the NLB's
// interfaces drain is a transient error like the managed group's. A group that also carries
// another cluster's tag is never deleted. A Service created while the last NLB is deleted
// may find its rules revoked under it; its next full reconcile (a changed Service, or the
// spec-hash tag removed) puts them back. AWS cannot
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
// The VPC's subnets (for discovery) are cached per cluster for networkTTL, and the security
// groups of the VPC's instances likewise (observe_noderules.go): they are read-through caches
// of Observe, shared by every Service, not a per-Service cost.
//
// # Node changes
//
// UpdateLoadBalancer starts from what the last apply of the load balancer left (cache.go,
// one cache per kind): a Classic Load Balancer's instances and tags, an NLB's ARN, tags,
// targets and target groups' ARNs. Observe then reads only the instances' security groups
// (through the shared cache), Diff plans the Register and Deregister calls (and, for an NLB,
// the new spec hash) and Apply makes them: one call per Service and change (per target
// group for an NLB), no read. RegisterInstancesWithLoadBalancer answers with every instance
// registered, so a stale Classic cache is corrected by one more round planned against that
// answer. An NLB falls back to the full reconcile when anything but the instances changed
// or the instances' groups are not those holding its rules.
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
