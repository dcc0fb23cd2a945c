package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/fakecloud/fakecore"
)

// fakeAWSOptions are the flags of `cloudlb fakecloud aws`.
type fakeAWSOptions struct {
	listen   string
	topology string
	region   string
	seed     uint64
	// dnsNames is the shape of load balancers' DNS names (fakeaws.DNSFormat).
	dnsNames string
}

const fakecloudUsage = `Usage: cloudlb fakecloud aws   [--listen 127.0.0.1:4566] [--topology FILE] [--region us-east-1] [--dns-names aws|emulator|opaque]
       cloudlb fakecloud azure [--listen 127.0.0.1:8086]
       cloudlb fakecloud gce   [--listen 127.0.0.1:8085]`

const fakecloudAbout = `Serves one cloud's API on loopback, stateful and as strict as the cloud, for the official
SDKs and the controller (--cloud-config pointing at it). It prints its endpoint first, then
serves until Ctrl-C (SIGINT) or SIGTERM. Run "cloudlb fakecloud CLOUD -h" for one cloud's flags.`

// runFakecloud serves a fake cloud on loopback until SIGINT or SIGTERM.
func runFakecloud(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "cloudlb fakecloud: which cloud?\n%s\n", fakecloudUsage)
		return exitUsage
	}
	cloud := args[0]
	switch cloud {
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(stdout, "%s\n\n%s\n", fakecloudUsage, fakecloudAbout)
		return exitOK
	}
	v := newVerb("cloudlb fakecloud "+cloud, "", "") // synopsis and about are per cloud
	var o fakeAWSOptions
	var serve func(ctx context.Context) error
	switch cloud {
	case "aws":
		v.synopsis = "cloudlb fakecloud aws [--listen 127.0.0.1:4566] [--topology FILE] [--region us-east-1] [--dns-names aws|emulator|opaque] [--seed N]"
		v.about = "Serves EC2, ELB, ELBv2, ACM and IAM (server certificates) as fakeaws, LocalStack's port by default."
		v.fs.StringVar(&o.listen, "listen", "127.0.0.1:4566", "address to serve EC2, ELB, ELBv2, ACM and IAM on (LocalStack's port by default)")
		v.fs.StringVar(&o.dnsNames, "dns-names", "aws", "shape of load balancers' DNS names: aws, emulator (<name>.<region>.elb.localhost.localstack.cloud) or opaque")
		v.fs.StringVar(&o.topology, "topology", "", "YAML file declaring a VPC, subnets, security groups and instances to build at start")
		v.fs.StringVar(&o.region, "region", "us-east-1", "region used in ARNs, DNS names and zones")
		v.fs.Uint64Var(&o.seed, "seed", 1, "seed of generated IDs")
		serve = func(ctx context.Context) error { return serveFakeAWS(ctx, o, stdout) }
	case "azure":
		v.synopsis = "cloudlb fakecloud azure [--listen 127.0.0.1:8086]"
		v.about = "Serves the ARM network API (Microsoft.Network) as fakeazure."
		v.fs.StringVar(&o.listen, "listen", "127.0.0.1:8086", "address to serve the ARM network API (Microsoft.Network) on")
		serve = func(ctx context.Context) error { return serveFakeAzure(ctx, o.listen, stdout) }
	case "gce":
		v.synopsis = "cloudlb fakecloud gce [--listen 127.0.0.1:8085]"
		v.about = "Serves the Compute API (v1) as fakegce."
		v.fs.StringVar(&o.listen, "listen", "127.0.0.1:8085", "address to serve the Compute API (v1) on")
		serve = func(ctx context.Context) error { return serveFakeGCE(ctx, o.listen, stdout) }
	default:
		fmt.Fprintf(stderr, "cloudlb fakecloud: unknown cloud %q\n%s\n", cloud, fakecloudUsage)
		return exitUsage
	}
	positional, code, ok := v.parse(args[1:], stdout, stderr)
	if !ok {
		return code
	}
	if len(positional) > 0 {
		return v.usageError(stderr, "unexpected arguments %q", positional)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx); err != nil {
		fmt.Fprintf(stderr, "cloudlb fakecloud %s: %v\n", cloud, err)
		return exitInvalid
	}
	return exitOK
}

// serveFakeAWS builds the topology and serves fakeaws until ctx ends.
func serveFakeAWS(ctx context.Context, o fakeAWSOptions, stdout io.Writer) error {
	var topo *fakeaws.Topology
	if o.topology != "" {
		t, err := fakeaws.LoadTopology(o.topology)
		if err != nil {
			return err
		}
		topo = &t
	}
	dns, err := fakeaws.ParseDNSFormat(o.dnsNames)
	if err != nil {
		return fmt.Errorf("--dns-names: %w", err)
	}
	srv := fakeaws.New(fakeaws.Options{Region: o.region, Seed: o.seed, DNSNames: dns})
	var built *fakeaws.Built
	if topo != nil {
		if built, err = srv.ApplyTopology(*topo); err != nil {
			return fmt.Errorf("topology %s: %w", o.topology, err)
		}
	}
	return serveFake(ctx, "fakeaws", srv, o.listen, stdout, func(url string) {
		fmt.Fprintf(stdout, "fakeaws: serving EC2 (2016-11-15), ELB (2012-06-01), ELBv2 (2015-12-01), ACM (2015-12-08) and IAM (2010-05-08) at %s, region %s\n", url, o.region)
		if built != nil {
			fmt.Fprintf(stdout, "topology: vpc %s\n", built.VPC)
			printIDs(stdout, "subnet", built.Subnets)
			printIDs(stdout, "security group", built.SecurityGroups)
			printIDs(stdout, "instance", built.Instances)
		}
		fmt.Fprintf(stdout, "export AWS_ENDPOINT_URL=%s AWS_REGION=%s AWS_ACCESS_KEY_ID=fake AWS_SECRET_ACCESS_KEY=fake\n", url, o.region)
		fmt.Fprintln(stdout, "Ctrl-C stops it.")
	})
}

// fakeServer is what serveFake needs of a fake cloud: fakecore's listener and counters.
type fakeServer interface {
	Start(addr string) (string, error)
	Close() error
	Tally() fakecore.Tally
}

// serveFake serves srv on listen until ctx ends. banner prints the endpoint first, so that
// scripts can wait for that line; the calls served are printed at the end.
func serveFake(ctx context.Context, name string, srv fakeServer, listen string, stdout io.Writer, banner func(url string)) error {
	url, err := srv.Start(listen)
	if err != nil {
		return err
	}
	banner(url)
	<-ctx.Done()
	fmt.Fprintf(stdout, "%s: calls served:\n%s", name, srv.Tally())
	return srv.Close()
}

func printIDs(w io.Writer, kind string, ids map[string]string) {
	names := make([]string, 0, len(ids))
	for n := range ids {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %s %s: %s\n", kind, n, ids[n])
	}
}
