package aws

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
)

// tagsOnly answers DescribeTags from a table, TargetGroupNotFound when an ARN is unknown
// (as ELBv2 does when one of the ARNs was deleted since it was listed).
type tagsOnly struct {
	elbv2API
	tags  map[string]map[string]string
	calls int
}

func (s *tagsOnly) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	s.calls++
	out := &elbv2.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		tags, ok := s.tags[arn]
		if !ok {
			return nil, &smithy.GenericAPIError{Code: "TargetGroupNotFound", Message: "One or more target groups not found"}
		}
		d := v2types.TagDescription{ResourceArn: aws.String(arn)}
		for k, v := range tags {
			d.Tags = append(d.Tags, v2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		out.TagDescriptions = append(out.TagDescriptions, d)
	}
	return out, nil
}

func TestV2OwnedSkipsWhatVanished(t *testing.T) {
	t.Parallel()
	ours := map[string]string{clusterTag("c"): tagOwned, tagServiceName: "ns/svc"}
	theirs := map[string]string{clusterTag("c"): tagOwned, tagServiceName: "ns/other"}
	tests := []struct {
		name string
		arns []string
		want []string
	}{
		{"all there", []string{"tg-1", "tg-2"}, []string{"tg-1"}},
		{"one vanished", []string{"tg-1", "gone", "tg-2"}, []string{"tg-1"}},
		{"the only one vanished", []string{"gone"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stub := &tagsOnly{tags: map[string]map[string]string{"tg-1": ours, "tg-2": theirs}}
			c := New(Options{ELBv2: stub})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			got, err := c.v2Owned(ctx, tt.arns, "c", "ns/svc")
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("v2Owned = %v, %v; want %v", got, err, tt.want)
			}
			if stub.calls > len(tt.arns)+1 {
				t.Errorf("%d DescribeTags calls for %d ARNs", stub.calls, len(tt.arns))
			}
		})
	}
}
