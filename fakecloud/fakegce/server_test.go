package fakegce

import (
	"context"
	"net/http"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"
)

func TestStartServesRealClientsUntilClose(t *testing.T) {
	t.Parallel()
	srv := New(Options{Project: "p2", Region: "europe-west1"})
	url, err := srv.Start("127.0.0.1:0")
	ok(t, "start", err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := compute.NewForwardingRulesRESTClient(ctx, option.WithEndpoint(url), option.WithoutAuthentication())
	ok(t, "client", err)
	defer c.Close()
	tp, err := compute.NewTargetPoolsRESTClient(ctx, option.WithEndpoint(url), option.WithoutAuthentication())
	ok(t, "client", err)
	defer tp.Close()
	op, err := tp.Insert(ctx, &computepb.InsertTargetPoolRequest{Project: "p2", Region: "europe-west1", TargetPoolResource: &computepb.TargetPool{Name: proto.String("tp")}})
	ok(t, "insert pool", err)
	ok(t, "wait", op.Wait(ctx))
	op, err = c.Insert(ctx, &computepb.InsertForwardingRuleRequest{Project: "p2", Region: "europe-west1",
		ForwardingRuleResource: &computepb.ForwardingRule{Name: proto.String("fr"), Target: proto.String("regions/europe-west1/targetPools/tp")}})
	ok(t, "insert rule", err)
	ok(t, "wait", op.Wait(ctx))

	it := c.AggregatedList(ctx, &computepb.AggregatedListForwardingRulesRequest{Project: "p2"})
	pair, err := it.Next()
	ok(t, "aggregated list", err)
	if pair.Key != "regions/europe-west1" || len(pair.Value.GetForwardingRules()) != 1 || pair.Value.GetForwardingRules()[0].GetTarget() != url+"/compute/v1/projects/p2/regions/europe-west1/targetPools/tp" {
		t.Errorf("aggregated = %s %v", pair.Key, pair.Value)
	}
	if _, err := it.Next(); err != iterator.Done {
		t.Errorf("aggregated list has more than one scope: %v", err)
	}
	_, err = c.Get(ctx, &computepb.GetForwardingRuleRequest{Project: "test-project", Region: "europe-west1", ForwardingRule: "fr"})
	wantCode(t, "another project", err, http.StatusNotFound, "notFound")

	ok(t, "close", srv.Close())
	if resp, err := http.Get(url + "/compute/v1/projects/p2/global/networks/default"); err == nil {
		resp.Body.Close()
		t.Error("server still answers after Close")
	}
}
