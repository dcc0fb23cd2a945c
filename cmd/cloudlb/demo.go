package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cloudlb/cloudlb/fakecloud/fakeaws"
	"github.com/cloudlb/cloudlb/internal/controllermanager"
	"github.com/cloudlb/cloudlb/internal/controlplane"
	"github.com/cloudlb/cloudlb/providers/fake"
)

// ensuredEventGrace bounds the wait for the EnsuredLoadBalancer Events once every Service has
// settled; see waitEnsuredEvents.
const ensuredEventGrace = 3 * time.Second

// demoOptions are the flags of `cloudlb demo`.
type demoOptions struct {
	// keep leaves everything running until Ctrl-C.
	keep bool
	// timeout bounds the demo from start until every Service has settled.
	timeout time.Duration
	// verbose copies the controller manager's log to stderr.
	verbose bool
	// cloud is the provider: fake, or aws against the in-process fakeaws.
	cloud string
}

const demoAbout = `Starts etcd, kube-apiserver and cloudlb-controller-manager on loopback, applies the Services
of examples/demo and prints what the controller made of each (one of them is invalid on
purpose). Exit codes: 0 every Service settled as expected, 1 it did not, 2 usage error.`

// runDemo runs the embedded demo: a real control plane, cloudlb-controller-manager with the
// fake cloud, and the Services of examples/demo.
func runDemo(args []string, stdout, stderr io.Writer) int {
	v := newVerb("cloudlb demo", "cloudlb demo [--keep] [--timeout 90s] [--cloud fake|aws] [-v]", demoAbout)
	var o demoOptions
	v.fs.BoolVar(&o.keep, "keep", false, "keep the control plane and controller running until Ctrl-C, to explore with kubectl")
	v.fs.DurationVar(&o.timeout, "timeout", 90*time.Second, "give up when the Services have not settled within this time from start")
	v.fs.BoolVar(&o.verbose, "v", false, "copy the controller manager's log to stderr")
	v.fs.StringVar(&o.cloud, "cloud", "fake", "cloud provider: fake, or aws (against an in-process fake AWS endpoint)")
	positional, code, ok := v.parse(args, stdout, stderr)
	if !ok {
		return code
	}
	if len(positional) > 0 {
		return v.usageError(stderr, "unexpected arguments %q", positional)
	}
	if o.cloud != "fake" && o.cloud != "aws" {
		return v.usageError(stderr, "--cloud must be fake or aws, not %q", o.cloud)
	}
	if o.timeout <= 0 {
		return v.usageError(stderr, "--timeout must be positive")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := demo(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "cloudlb demo: %v\n", err)
		return exitInvalid
	}
	return exitOK
}

// demoRun is one run of the demo: what it started, so that shutdown stops exactly that.
type demoRun struct {
	opts      demoOptions
	out, err  io.Writer
	dir       string // holds the fake cloud's state and the controller manager's log
	statePath string
	cp        *controlplane.ControlPlane
	ccm       *controllermanager.Process
	client    kubernetes.Interface
	cloud     demoCloud
	aws       *fakeaws.Server // the fake AWS endpoint of --cloud aws
	awsURL    string
	awsBuilt  *fakeaws.Built
}

// demo runs the phases, prints the result and shuts everything down; the error says what went
// wrong, including a valid Service without an ingress.
func demo(ctx context.Context, o demoOptions, out, errOut io.Writer) (err error) {
	began := time.Now()
	svcs, invalid, err := demoManifests()
	if err != nil {
		return err
	}
	binDir := demoBinDir()
	if err := checkTestbin(binDir); err != nil {
		return err
	}
	if _, err := controllermanager.ResolveBinary(""); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "cloudlb-demo-")
	if err != nil {
		return fmt.Errorf("create a working directory: %w", err)
	}
	d := &demoRun{opts: o, out: out, err: errOut, dir: dir, statePath: filepath.Join(dir, "fake-cloud.json")}
	defer func() {
		stopBegan := time.Now()
		stopErr := d.shutdown()
		fmt.Fprintf(out, "Stopped everything in %s (total %s).\n", since(stopBegan), since(began))
		err = errors.Join(err, stopErr)
	}()

	if o.cloud == "aws" {
		fmt.Fprintf(out, "cloudlb demo: etcd, kube-apiserver, a fake AWS endpoint and cloudlb-controller-manager with the aws provider, on loopback.\n\n")
	} else {
		fmt.Fprintf(out, "cloudlb demo: etcd, kube-apiserver and cloudlb-controller-manager with the fake cloud, on loopback.\n\n")
	}
	setupCtx, cancel := context.WithTimeoutCause(ctx, o.timeout, fmt.Errorf("not settled within --timeout %s", o.timeout))
	defer cancel()
	snap, err := d.setUp(setupCtx, binDir, svcs, invalid)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return errors.New("interrupted")
	}
	if snap != nil {
		if reportErr := d.report(*snap, invalid); reportErr != nil {
			err = errors.Join(err, reportErr)
		}
	}
	if err != nil {
		if d.ccm != nil {
			fmt.Fprintf(errOut, "--- last 20 lines of the controller manager's log ---\n%s\n", d.ccm.Tail(20))
		}
		return err
	}
	if o.keep {
		d.keepRunning(ctx)
	}
	return nil
}

// setUp starts everything and waits for the Services to settle. It returns the last
// snapshot once the Services exist, also when they did not settle.
func (d *demoRun) setUp(ctx context.Context, binDir string, svcs []*v1.Service, invalid map[string]bool) (*demoSnapshot, error) {
	err := d.phase("control plane (etcd, kube-apiserver)", func() error {
		cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: binDir})
		if err != nil {
			return err
		}
		d.cp = cp
		d.client, err = kubernetes.NewForConfig(cp.RESTConfig())
		return err
	})
	if err != nil {
		return nil, err
	}
	var providerIDs map[string]string
	if d.opts.cloud == "aws" {
		err = d.phase("fake AWS endpoint (VPC, 4 subnets, 3 instances)", func() error {
			srv := fakeaws.New(fakeaws.Options{Region: demoAWSRegion})
			built, err := srv.ApplyTopology(demoAWSTopology())
			if err != nil {
				return err
			}
			url, err := srv.Start("127.0.0.1:0")
			if err != nil {
				return err
			}
			d.aws, d.awsURL, d.awsBuilt = srv, url, built
			return nil
		})
		if err != nil {
			return nil, err
		}
		providerIDs = demoAWSProviderIDs(d.awsBuilt)
	}
	nodes := demoNodes()
	err = d.phase(fmt.Sprintf("%d nodes (%s excluded from load balancers)", len(nodes), nodes[len(nodes)-1].Name), func() error {
		return createNodes(ctx, d.client, providerIDs)
	})
	if err != nil {
		return nil, err
	}
	err = d.phase(fmt.Sprintf("cloudlb-controller-manager (--cloud-provider=%s)", d.opts.cloud), func() error {
		opts := controllermanager.Options{
			Kubeconfig:  d.cp.KubeconfigPath(),
			CloudConfig: fake.Config{StatePath: d.statePath, Identity: "cloudlb-demo"},
			LogPath:     filepath.Join(d.dir, "cloudlb-controller-manager.log"),
			ExtraArgs:   []string{"--v=2"},
		}
		if d.opts.cloud == "aws" {
			opts.CloudProvider = "aws"
			opts.RawCloudConfig = demoAWSCloudConfig(d.awsBuilt)
			opts.Env = demoAWSEnv(d.awsURL)
			opts.ClusterName = demoAWSCluster
		}
		if d.opts.verbose {
			opts.Stderr, opts.Stdout = d.err, d.err
		}
		ccm, err := controllermanager.Start(ctx, opts)
		if err != nil {
			return err
		}
		d.ccm = ccm
		if d.opts.cloud == "aws" {
			d.cloud = newAWSDemoCloud(d.aws, d.awsBuilt)
			return nil
		}
		d.cloud, err = fake.New(fake.Config{StatePath: d.statePath})
		return err
	})
	if err != nil {
		return nil, err
	}
	err = d.phase(fmt.Sprintf("%d Services applied in namespace %s", len(svcs), demoNamespace), func() error {
		return applyServices(ctx, d.client, svcs)
	})
	if err != nil {
		return nil, err
	}
	want := make([]string, 0, len(svcs))
	for _, s := range svcs {
		want = append(want, s.Namespace+"/"+s.Name)
	}
	var snap demoSnapshot
	err = d.phase(fmt.Sprintf("%d ingresses, %d refusal (InvalidAnnotation Event)", len(want)-len(invalid), len(invalid)), func() error {
		var err error
		snap, err = waitConverged(ctx, d.client, d.cloud, want, invalid)
		return err
	})
	if err == nil {
		snap = waitEnsuredEvents(ctx, d.client, d.cloud, snap, ensuredEventGrace)
	}
	return &snap, err
}

// phase runs fn and prints its name and wall time, or that it failed.
func (d *demoRun) phase(name string, fn func() error) error {
	began := time.Now()
	err := fn()
	status := "ok"
	if err != nil {
		status = "FAILED"
	}
	fmt.Fprintf(d.out, "  %-60s %-6s %8s\n", name, status, since(began))
	return err
}

// report prints the table, the refusal messages and the backends; it returns an error for a
// refused Service without its Event or an excluded node that backs a load balancer.
func (d *demoRun) report(s demoSnapshot, invalid map[string]bool) error {
	fmt.Fprintln(d.out)
	if err := writeDemoTable(d.out, demoRows(s)); err != nil {
		return fmt.Errorf("print the table: %w", err)
	}
	fmt.Fprintln(d.out)
	var errs []error
	keys := make([]string, 0, len(invalid))
	for k := range invalid {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		if e, ok := invalidEvent(s.Events, key); ok {
			fmt.Fprintf(d.out, "%s was refused (%s %s):\n  %s\n\n", key, e.Type, e.Reason, e.Message)
		} else {
			errs = append(errs, fmt.Errorf("%s: no InvalidAnnotation Event", key))
		}
	}
	where := "the fake cloud"
	if d.opts.cloud == "aws" {
		where = "fake AWS (Classic ELB instances)"
	}
	summary, err := backendSummaryIn(where, s.LBs)
	fmt.Fprintf(d.out, "%s\n\n", summary)
	return errors.Join(append(errs, err)...)
}

// keepRunning prints how to explore the running demo and waits for Ctrl-C.
func (d *demoRun) keepRunning(ctx context.Context) {
	kc := d.cp.KubeconfigPath()
	fmt.Fprintf(d.out, "The demo keeps running. Explore it with:\n")
	fmt.Fprintf(d.out, "  kubectl --kubeconfig %s get svc -A\n", kc)
	fmt.Fprintf(d.out, "  kubectl --kubeconfig %s -n %s get events\n", kc, demoNamespace)
	if d.aws != nil {
		fmt.Fprintf(d.out, "  AWS_ENDPOINT_URL=%s AWS_REGION=%s AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws elb describe-load-balancers\n", d.awsURL, demoAWSRegion)
	} else {
		fmt.Fprintf(d.out, "  cat %s    # the fake cloud's load balancers\n", d.statePath)
	}
	fmt.Fprintf(d.out, "  less %s\n", d.ccm.LogPath())
	fmt.Fprintf(d.out, "Press Ctrl-C to stop.\n")
	<-ctx.Done()
	fmt.Fprintln(d.out)
}

// shutdown stops the controller manager, then the control plane, and removes the working
// directory; every step runs even if an earlier one failed.
func (d *demoRun) shutdown() error {
	var errs []error
	if d.ccm != nil {
		errs = append(errs, d.ccm.Stop())
	}
	if d.cp != nil {
		errs = append(errs, d.cp.Stop())
	}
	if d.aws != nil {
		errs = append(errs, d.aws.Close())
	}
	if err := os.RemoveAll(d.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", d.dir, err))
	}
	return errors.Join(errs...)
}

// since renders the time elapsed since t, rounded for people.
func since(t time.Time) string {
	d := time.Since(t)
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
