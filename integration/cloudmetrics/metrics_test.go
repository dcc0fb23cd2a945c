package cloudmetrics_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/cloudlb/cloudlb/integration/controllermanager"
	"github.com/cloudlb/cloudlb/integration/controlplane"
)

// pollTimeout bounds each wait: an ingress, and /metrics agreeing with the fake.
const pollTimeout = 90 * time.Second

func TestAzureCallsOnMetrics(t *testing.T) {
	t.Parallel()
	cfg := fmt.Sprintf(`{"cloud": "AzurePublicCloud", "subscriptionId": %q, "resourceGroup": %q, "location": %q,
  "vnetName": "vnet", "subnetName": "nodes", "securityGroupName": %q, "resourceManagerEndpoint": %q}`,
		azureSub, azureRG, azureLocation, azureNSG, shared.azureURL)
	checkCloudCalls(t, "azure", cfg, shared.azure.Calls, "LoadBalancers.CreateOrUpdate")
}

func TestGCECallsOnMetrics(t *testing.T) {
	t.Parallel()
	cfg := fmt.Sprintf("[global]\nproject-id = %s\nlocal-zone = %s-a\nnode-tags = %s\ncluster-id = %s\nsubnetwork-name = default\napi-endpoint = %s\n",
		gceProject, gceRegion, gceNodeTag, clusterName, shared.gceURL)
	checkCloudCalls(t, "gce", cfg, shared.gce.Calls, "ForwardingRules.Insert")
}

// checkCloudCalls runs the controller manager with --cloud-provider=cloud and cloudConfig,
// waits for one Service's ingress, and then requires /metrics to count, per operation, the
// calls the fake served (calls), write among them with result="ok", and its latency.
func checkCloudCalls(t *testing.T, cloud, cloudConfig string, calls func() map[string]int, write string) {
	began := time.Now()
	cs, err := kubernetes.NewForConfig(shared.cp.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ns := controlplane.CreateNamespace(t, cs, cloud)
	class := "cloudmetrics.cloudlb.io/" + cloud
	ccm := controllermanager.StartForTest(t, controllermanager.Options{
		Kubeconfig:     shared.cp.KubeconfigPath(),
		CloudProvider:  cloud,
		RawCloudConfig: cloudConfig,
		ClusterName:    clusterName,
		ExtraArgs:      []string{"--load-balancer-class=" + class},
	})
	started := time.Now()
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: v1.ServiceSpec{
			Type: v1.ServiceTypeLoadBalancer, LoadBalancerClass: &class, Selector: map[string]string{"app": "web"},
			Ports: []v1.ServicePort{{Name: "http", Protocol: v1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if _, err := cs.CoreV1().Services(ns).Create(t.Context(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the Service's ingress", func(ctx context.Context) (bool, string, error) {
		s, err := cs.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return len(s.Status.LoadBalancer.Ingress) > 0, fmt.Sprint(s.Status.LoadBalancer), nil
	})
	provisioned := time.Now()

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // self-signed serving cert
	var body string
	var series []sample
	// The controller may still be calling (the status write, a resync): the fake's counts and
	// the metrics agree once it is quiet, and never if a call is missed or misnamed.
	poll(t, "/metrics counting the calls the fake served", func(ctx context.Context) (bool, string, error) {
		want := calls()
		var err error
		if body, err = scrape(ctx, client, ccm.URL()+"/metrics", shared.cp.RESTConfig().BearerToken); err != nil {
			return false, "", nil // the previous state, or the timeout, says more
		}
		series = samples(body, "cloudlb_cloud_api_calls_total", cloud)
		got := map[string]int{}
		for _, s := range series {
			got[s.labels["operation"]] += int(s.value)
		}
		return maps.Equal(got, want), fmt.Sprintf("metrics %v, fake %v", got, want), nil
	})
	if !slices.ContainsFunc(series, func(s sample) bool {
		return s.labels["operation"] == write && s.labels["result"] == "ok" && s.value >= 1
	}) {
		t.Errorf("no cloudlb_cloud_api_calls_total{cloud=%q,operation=%q,result=\"ok\"}", cloud, write)
	}
	for _, s := range series {
		t.Logf("%s", s.line)
		if !operationName.MatchString(s.labels["operation"]) {
			t.Errorf("operation %q is not \"<Resource>.<Method>\"", s.labels["operation"])
		}
	}
	if latencies := samples(body, "cloudlb_cloud_api_call_duration_seconds_count", cloud); !slices.ContainsFunc(latencies, func(s sample) bool {
		return s.labels["operation"] == write && s.value >= 1
	}) {
		t.Errorf("no cloudlb_cloud_api_call_duration_seconds sample for %s", write)
	}
	t.Logf("%s: controller manager up in %v, ingress after %v, metrics agreed after %v more",
		cloud, started.Sub(began).Round(time.Millisecond), provisioned.Sub(started).Round(time.Millisecond), time.Since(provisioned).Round(time.Millisecond))
}

// poll calls cond until it is done, fails or pollTimeout passes; the last state it reported
// is in the failure.
func poll(t *testing.T, what string, cond func(ctx context.Context) (done bool, state string, err error)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, pollTimeout, true, func(ctx context.Context) (bool, error) {
		done, state, err := cond(ctx)
		if state != "" {
			last = state
		}
		return done, err
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v; last: %s", what, err, last)
	}
}

// scrape GETs url with a bearer token (/metrics is behind delegated authorization).
func scrape(ctx context.Context, c *http.Client, url, token string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return string(body), nil
}

// sample is one line of the Prometheus text format.
type sample struct {
	line   string
	labels map[string]string
	value  float64
}

var (
	// operationName is the shape of every operation label of Azure and GCE: no resource name,
	// group, project, region or zone.
	operationName = regexp.MustCompile(`^[A-Z][A-Za-z]*\.[A-Z][A-Za-z]*$`)
	sampleLine    = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} (\S+)$`)
	labelPair     = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// samples returns the samples of metric whose cloud label is cloud.
func samples(body, metric, cloud string) []sample {
	var out []sample
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		m := sampleLine.FindStringSubmatch(line)
		if m == nil || m[1] != metric {
			continue
		}
		s := sample{line: line, labels: map[string]string{}}
		for _, l := range labelPair.FindAllStringSubmatch(m[2], -1) {
			s.labels[l[1]] = l[2]
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil || s.labels["cloud"] != cloud {
			continue
		}
		s.value = v
		out = append(out, s)
	}
	return out
}
